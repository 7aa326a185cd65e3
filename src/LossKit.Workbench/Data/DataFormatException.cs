using System.Text;

namespace LossKit.Workbench.Data;

/// <summary>One bad line of a text data file: its 1-based line number, what is wrong with it, and the 1-based column
/// (field of a CSV line, character of a JSON line) where that is known, else 0.</summary>
public readonly record struct LineProblem(int Line, string Problem, int Column = 0);

/// <summary>
/// A text data file has rows that cannot be loaded. Nothing is loaded when any row is bad. <see cref="Problems"/>
/// lists every bad line; the one-line message names the file, the count, the first few lines and their problems.
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>How many problems the message spells out before summarising the rest.</summary>
    public const int ProblemsShown = 5;

    /// <summary>Creates the exception for <paramref name="source"/> (a file or resource name) and its bad lines.</summary>
    public DataFormatException(string source, IReadOnlyList<LineProblem> problems)
        : base(BuildMessage(source, problems))
    {
        Source = source;
        Problems = problems;
    }

    /// <summary>The file or resource that failed to load.</summary>
    public new string Source { get; }

    /// <summary>Every bad line, in file order.</summary>
    public IReadOnlyList<LineProblem> Problems { get; }

    /// <summary>The 1-based line numbers of the bad lines.</summary>
    public IReadOnlyList<int> Lines => Problems.Select(p => p.Line).ToArray();

    private static string BuildMessage(string source, IReadOnlyList<LineProblem> problems)
    {
        var sb = new StringBuilder();
        sb.Append(source).Append(": ").Append(problems.Count).Append(problems.Count == 1 ? " bad line" : " bad lines")
          .Append(", nothing loaded: ");
        for (int i = 0; i < Math.Min(ProblemsShown, problems.Count); i++)
        {
            if (i > 0) sb.Append("; ");
            sb.Append("line ").Append(problems[i].Line);
            if (problems[i].Column > 0) sb.Append(", column ").Append(problems[i].Column);
            sb.Append(": ").Append(problems[i].Problem);
        }
        if (problems.Count > ProblemsShown)
        {
            int more = problems.Count - ProblemsShown;
            sb.Append("; and ").Append(more).Append(" more (lines ");
            var rest = problems.Skip(ProblemsShown).Take(10).Select(p => p.Line.ToString(System.Globalization.CultureInfo.InvariantCulture));
            sb.Append(string.Join(", ", rest));
            if (more > 10) sb.Append(", …");
            sb.Append(')');
        }
        sb.Append('.');
        return sb.ToString();
    }
}
