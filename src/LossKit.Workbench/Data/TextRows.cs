using System.Globalization;
using System.Text;

namespace LossKit.Workbench.Data;

/// <summary>Line and field helpers shared by the CSV and embedded-set loaders.</summary>
internal static class TextRows
{
    /// <summary>
    /// Reads all lines of a (possibly gzip) stream. Blank lines at the end are dropped; the returned count is the
    /// number of lines up to and including the last non-blank one, so line numbers stay 1-based file lines.
    /// </summary>
    public static List<string> ReadLines(Stream stream)
    {
        var lines = new List<string>();
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        string? line;
        while ((line = reader.ReadLine()) is not null) lines.Add(line);
        int end = lines.Count;
        while (end > 0 && string.IsNullOrWhiteSpace(lines[end - 1])) end--;
        lines.RemoveRange(end, lines.Count - end);
        return lines;
    }

    /// <summary>
    /// Splits one CSV line on <paramref name="separator"/>. Fields may be wrapped in double quotes, inside which the
    /// separator is literal and <c>""</c> is one quote; fields are trimmed of surrounding white space.
    /// A separator of <c>' '</c> splits on runs of white space instead. Returns null and sets
    /// <paramref name="error"/> for an unterminated quote.
    /// </summary>
    public static List<string>? Split(string line, char separator, out string? error)
    {
        error = null;
        var fields = new List<string>();
        if (separator == ' ')
        {
            fields.AddRange(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            return fields;
        }
        var field = new StringBuilder();
        int i = 0;
        while (true)
        {
            field.Clear();
            // skip leading white space
            while (i < line.Length && line[i] != separator && char.IsWhiteSpace(line[i])) i++;
            if (i < line.Length && line[i] == '"')
            {
                i++;
                bool closed = false;
                while (i < line.Length)
                {
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        closed = true;
                        break;
                    }
                    field.Append(line[i++]);
                }
                if (!closed) { error = "unterminated quoted field"; return null; }
                while (i < line.Length && line[i] != separator)
                {
                    if (!char.IsWhiteSpace(line[i])) { error = "text after a closing quote"; return null; }
                    i++;
                }
                fields.Add(field.ToString());
            }
            else
            {
                int start = i;
                while (i < line.Length && line[i] != separator) i++;
                fields.Add(line[start..i].Trim());
            }
            if (i >= line.Length) break;
            i++; // skip separator
        }
        return fields;
    }

    /// <summary>Parses a finite number in invariant culture (e.g. <c>1.5</c>, <c>-2e-3</c>); NaN and infinities are rejected.</summary>
    public static bool TryParseFinite(string text, out float value)
    {
        if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && float.IsFinite(value))
            return true;
        value = 0;
        return false;
    }

    /// <summary>A short, quoted rendering of a field value for error messages.</summary>
    public static string Show(string value) =>
        value.Length <= 40 ? $"'{value}'" : $"'{value[..37]}...'";

    /// <summary>Why <paramref name="text"/> is not a usable number, for error messages.</summary>
    public static string NotANumber(string column, string text) =>
        text.Length == 0
            ? $"column '{column}' is empty"
            : float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                ? $"column '{column}' value {Show(text)} is not finite (NaN and infinities are not allowed)"
                : $"column '{column}' value {Show(text)} is not a number";
}
