using System.CommandLine;
using System.Text;
using Spectre.Console;

namespace LossKit.Cli;

/// <summary>How a command prints its tables (<c>--format</c>, on every command).</summary>
internal enum TableFormat
{
    /// <summary>Boxed text tables (Spectre.Console), as wide as their content: a cell is never wrapped or cut, whatever
    /// the terminal's width or when the output is piped (a terminal narrower than a table wraps whole lines).</summary>
    Text,

    /// <summary>GitHub Markdown tables.</summary>
    Markdown,

    /// <summary>Tab-separated values with a header line (tabs and line breaks inside cells become spaces).</summary>
    Tsv,
}

/// <summary>One cell: its text, an optional note printed below it (text) or after it (Markdown, TSV), and whether it is
/// marked best (bold and <c>*</c>).</summary>
internal readonly record struct TableCell(string Text, string? Note = null, bool Best = false)
{
    public static implicit operator TableCell(string text) => new(text);
}

/// <summary>A table of plain text, printed in any <see cref="TableFormat"/>.</summary>
internal sealed class TextTable(params string[] headers)
{
    public string? Title { get; init; }
    public IReadOnlyList<string> Headers { get; } = headers;
    /// <summary>Indices of right-aligned columns (numbers).</summary>
    public HashSet<int> RightAligned { get; init; } = [];
    public List<TableCell[]> Rows { get; } = [];

    public TextTable Add(params TableCell[] cells)
    {
        if (cells.Length != Headers.Count) throw new InvalidOperationException($"a row of {cells.Length} cells in a table of {Headers.Count} columns.");
        Rows.Add(cells);
        return this;
    }
}

internal static class Tables
{
    /// <summary>The option every command takes (recursive from the root).</summary>
    public static Option<string> FormatOption() => new("--format")
    {
        Description = "How tables are printed: text (boxed, never wrapped), markdown or tsv.",
        DefaultValueFactory = _ => "text",
        Recursive = true,
    };

    /// <summary>The <c>--format</c> of the invocation.</summary>
    public static TableFormat Format(ParseResult p)
    {
        string text = p.GetValue<string>("--format") ?? "text";
        return text.Trim().ToLowerInvariant() switch
        {
            "text" or "table" => TableFormat.Text,
            "markdown" or "md" => TableFormat.Markdown,
            "tsv" => TableFormat.Tsv,
            _ => throw new ArgumentException($"--format {text}: expected text, markdown or tsv."),
        };
    }

    /// <summary>Writes <paramref name="table"/> to <paramref name="output"/> in <paramref name="format"/>.</summary>
    public static void Write(TextWriter output, TextTable table, TableFormat format)
    {
        switch (format)
        {
            case TableFormat.Markdown:
                output.Write(Markdown(table));
                break;
            case TableFormat.Tsv:
                output.Write(Tsv(table));
                break;
            default:
                WideConsole(output).Write(Spectre(table));
                break;
        }
    }

    /// <summary>A Spectre console on <paramref name="output"/> so wide that no table is ever squeezed (tables are not
    /// expanded, so they take their content's width); colours only on a terminal.</summary>
    public static IAnsiConsole WideConsole(TextWriter output)
    {
        var console = CatalogCommands.Console(output);
        console.Profile.Width = 100_000;
        return console;
    }

    public static Table Spectre(TextTable t)
    {
        var table = new Table();
        if (t.Title is not null) table.Title = new TableTitle(Markup.Escape(t.Title));
        for (int c = 0; c < t.Headers.Count; c++)
        {
            var column = new TableColumn(Markup.Escape(t.Headers[c]));
            if (t.RightAligned.Contains(c)) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in t.Rows)
            table.AddRow(row.Select(cell =>
            {
                string text = Markup.Escape(cell.Text);
                if (cell.Best) text = $"[bold green]{text} *[/]";
                return cell.Note is { Length: > 0 } note ? text + "\n[grey]" + Markup.Escape(note) + "[/]" : text;
            }).ToArray());
        return table;
    }

    public static string Markdown(TextTable t)
    {
        var sb = new StringBuilder();
        if (t.Title is not null) sb.AppendLine($"**{t.Title}**").AppendLine();
        sb.Append('|');
        foreach (string h in t.Headers) sb.Append(' ').Append(MarkdownCell(h)).Append(" |");
        sb.AppendLine().Append('|');
        for (int c = 0; c < t.Headers.Count; c++) sb.Append(t.RightAligned.Contains(c) ? "---:|" : "---|");
        sb.AppendLine();
        foreach (var row in t.Rows)
        {
            sb.Append('|');
            foreach (var cell in row)
            {
                string text = MarkdownCell(cell.Text);
                if (cell.Best && text.Length > 0) text = $"**{text}**";
                if (cell.Note is { Length: > 0 } note) text += " " + MarkdownCell(note);
                sb.Append(' ').Append(text).Append(" |");
            }
            sb.AppendLine();
        }
        return sb.AppendLine().ToString();
    }

    public static string Tsv(TextTable t)
    {
        var sb = new StringBuilder();
        if (t.Title is not null) sb.Append("# ").AppendLine(TsvCell(t.Title));
        sb.AppendLine(string.Join('\t', t.Headers.Select(TsvCell)));
        foreach (var row in t.Rows)
            sb.AppendLine(string.Join('\t', row.Select(cell =>
                TsvCell(cell.Text + (cell.Best ? " *" : "") + (cell.Note is { Length: > 0 } note ? " " + note : "")))));
        return sb.ToString();
    }

    private static string MarkdownCell(string text) => text.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    private static string TsvCell(string text) => text.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');
}
