using System.CommandLine;
using System.CommandLine.Help;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LossKit.Cli;

/// <summary>The <c>losskit</c> command: builds the command tree and turns every failure into one line and exit code 1.</summary>
public static partial class Cli
{
    /// <summary>The command's name, in help and usage lines whatever the executable is called (<c>dotnet run</c>, the
    /// installed tool, a test host).</summary>
    public const string Name = "losskit";

    /// <summary>The command tree. The root is a plain command named <see cref="Name"/> with help and version options, not a
    /// <see cref="RootCommand"/>, whose name is the executable's file name.</summary>
    public static Command Build()
    {
        var root = new Command(Name, "LossKit: loss functions with exact fused gradients, and a workbench to compare them on real data.")
        {
            new HelpOption(),
            new VersionOption(),
            Tables.FormatOption(),
        };
        foreach (var c in new[] { CatalogCommands.List(), CatalogCommands.Describe(), EvalCommand.Create(), CheckCommand.Create(), BenchCommand.Create() })
            root.Subcommands.Add(c);
        foreach (var c in WorkbenchCommands.All()) root.Subcommands.Add(c);
        root.Subcommands.Add(FitCommand.Create());
        return root;
    }

    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = Build();
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"{Name}: " + string.Join("; ", parsed.Errors.Select(x => ParseError(x.Message))) + $" (see '{Name} --help')");
            return 1;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            error.WriteLine($"{Name}: " + OneLine(e));
            return 1;
        }
    }

    /// <summary>An exception as one readable line: no stack trace, no exception type, none of .NET's additions to the
    /// message (<c>(Parameter 'x')</c>, <c>Actual value was …</c>); a JSON syntax error names its file and 1-based
    /// line:column where the reader gave them.</summary>
    public static string OneLine(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        while (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
        string msg = e switch
        {
            ArgumentOutOfRangeException x => Strip(x.Message, x.ParamName, x.ActualValue),
            ArgumentException x => Strip(x.Message, x.ParamName, null),
            JsonException x => LossKit.Workbench.Data.JsonErrors.At("the JSON input", x).Message,
            OutOfMemoryException => "out of memory: the problem does not fit in this machine's memory; try fewer rows, classes or runs at once.",
            FileNotFoundException x when x.FileName is { } f && x.Message.Contains("Could not find file", StringComparison.Ordinal) => $"file not found: {f}",
            DirectoryNotFoundException x when x.Message.StartsWith("Could not find a part of the path", StringComparison.Ordinal) =>
                "folder not found: " + x.Message[(x.Message.IndexOf('\'') is int q and >= 0 ? q : 0)..].Trim('\'', '.', ' '),
            _ => e.Message,
        };
        return msg.Replace("\r", " ").Replace("\n", " ").Trim();
    }

    /// <summary>A parser message in the user's terms: <c>--epochs abc: expected a whole number</c> instead of
    /// "Cannot parse argument 'abc' for option '--epochs' as expected type 'System.Nullable`1[System.Int32]'".</summary>
    internal static string ParseError(string message)
    {
        var m = CannotParse().Match(message);
        if (!m.Success) return message;
        string type = m.Groups["type"].Value;
        string expected =
            type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : "another value";
        return $"{m.Groups["option"].Value} {m.Groups["value"].Value}: expected {expected}.";
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']*)' as expected type '(?<type>[^']*)'\.?$")]
    private static partial Regex CannotParse();

    /// <summary>A message without what <see cref="ArgumentException"/> and <see cref="ArgumentOutOfRangeException"/> append.</summary>
    private static string Strip(string message, string? paramName, object? actual)
    {
        // Also when an out-of-range message was wrapped in another exception's (a nested spec's error): the tail then
        // follows a line break inside the message.
        int at = message.LastIndexOf("Actual value was", StringComparison.Ordinal);
        if (at >= 0 && (actual is not null || (at > 0 && message[at - 1] == '\n'))) message = message[..at];
        message = message.TrimEnd();
        if (paramName is not null && message.EndsWith($"(Parameter '{paramName}')", StringComparison.Ordinal))
            message = message[..^$"(Parameter '{paramName}')".Length];
        return ParameterSuffix().Replace(message, "").TrimEnd();
    }

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();

}
