using System.CommandLine;
using System.Text.Json;

namespace LossKit.Cli;

/// <summary>The <c>losskit</c> command: builds the command tree and turns every failure into one line and exit code 1.</summary>
public static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("LossKit: loss functions with exact fused gradients, and a workbench to compare them on real data.");
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
            error.WriteLine("losskit: " + string.Join("; ", parsed.Errors.Select(x => x.Message)) + " (see 'losskit --help')");
            return 1;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            error.WriteLine("losskit: " + OneLine(e));
            return 1;
        }
    }

    /// <summary>An exception as one readable line (no stack trace); unexpected exception types are named.</summary>
    public static string OneLine(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        string msg = e switch
        {
            ArgumentException or IOException or InvalidDataException or FormatException or UnauthorizedAccessException or JsonException or NotSupportedException => e.Message,
            _ => $"{e.GetType().Name}: {e.Message}",
        };
        return msg.Replace("\r", " ").Replace("\n", " ");
    }
}
