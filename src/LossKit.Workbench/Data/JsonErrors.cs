using System.Text.Json;
using System.Text.RegularExpressions;

namespace LossKit.Workbench.Data;

/// <summary>JSON syntax errors as one line naming the file and the 1-based line and column.</summary>
public static partial class JsonErrors
{
    /// <summary>A <see cref="DataFormatException"/>-style message for a JSON reader error in <paramref name="source"/>:
    /// <c>FILE:LINE:COLUMN: what is wrong</c> (1-based; the column counts UTF-8 bytes, which is characters for ASCII).
    /// <paramref name="firstLine"/> is the file line the parsed text starts on (JSON Lines parse one line at a time).</summary>
    public static FormatException At(string source, JsonException e, long firstLine = 1)
    {
        ArgumentNullException.ThrowIfNull(e);
        string what = Text(e);
        return e.LineNumber is { } line
            ? new FormatException($"{source}:{line + firstLine}:{(e.BytePositionInLine ?? 0) + 1}: {what}", e)
            : new FormatException($"{source}: {what}", e);
    }

    /// <summary>The reader's message without its 0-based "LineNumber: … | BytePositionInLine: …" suffix and path.</summary>
    public static string Text(JsonException e) => Position().Replace(e.Message, "").Trim();

    [GeneratedRegex(@"\s*(Path: \S*\s*\|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?")]
    private static partial Regex Position();
}
