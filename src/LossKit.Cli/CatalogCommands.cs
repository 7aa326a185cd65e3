using System.CommandLine;
using Spectre.Console;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Cli;

internal static class CatalogCommands
{
    public static Command List()
    {
        var markdown = new Option<bool>("--markdown") { Description = "Write the catalog as Markdown (the text of docs/losses.md)." };
        var json = new Option<bool>("--json") { Description = "Write the catalog as JSON: one object per loss with spec, kind, family, title, parameters (type, default, range), properties and reference." };
        var cmd = new Command("list", "A table of every loss: spec name, family, parameters with defaults, reference (--json, --markdown: the full catalog).") { markdown, json };
        cmd.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(markdown) && p.GetValue(json)) throw new ArgumentException("list: give --markdown or --json, not both.");
            if (p.GetValue(markdown)) { output.Write(CatalogMarkdown.Render()); return 0; }
            if (p.GetValue(json)) { output.Write(CatalogJson.Render()); return 0; }
            var table = new TextTable("spec", "family", "parameters (default)", "reference");
            foreach (var d in LossRegistry.All)
                table.Add(d.Card.Name, d.Card.Family, string.Join(", ", d.Card.Parameters.Select(x => $"{x.Name}={x.DefaultText}")), d.Card.Reference);
            Tables.Write(output, table, Tables.Format(p));
            return 0;
        });
        return cmd;
    }

    public static Command Describe()
    {
        var spec = new Argument<string>("spec") { Description = "A loss spec, e.g. focal(gamma=2)." };
        var cmd = new Command("describe", "Print a loss's card: formula, gradient, parameters, properties as configured, reference.") { spec };
        cmd.SetAction(p =>
        {
            var loss = LossRegistry.Create(p.GetValue(spec)!);
            var c = loss.Card;
            var con = Console(p.InvocationConfiguration.Output);
            con.MarkupLine($"[bold]{Markup.Escape(c.Name)}[/] — {Markup.Escape(c.Title)}");
            con.WriteLine($"configured: {loss.Spec}");
            con.WriteLine($"kind:       {loss.Kind.Name}");
            con.WriteLine($"family:     {c.Family}");
            con.WriteLine($"loss:       {c.Formula}");
            if (c.Gradient.Length > 0) con.WriteLine($"gradient:   {c.Gradient}");
            con.WriteLine($"properties: {LossCard.PropertiesText(loss.Properties)}");
            foreach (string line in CatalogMarkdown.PropertyLines(loss)) con.WriteLine($"  {line}");
            con.WriteLine($"reference:  {c.Reference}");
            if (c.Notes.Length > 0) con.WriteLine($"notes:      {c.Notes}");
            var values = loss.ParameterValues.ToDictionary(v => v.Parameter.Name, v => v.Text ?? "none");
            var table = new TextTable("parameter", "value", "default", "valid", "meaning");
            foreach (var x in c.Parameters)
                table.Add(x.Name, values.GetValueOrDefault(x.Name, x.DefaultText), x.DefaultText, x.RangeText, x.Description);
            Tables.Write(p.InvocationConfiguration.Output, table, Tables.Format(p));
            return 0;
        });
        return cmd;
    }

    /// <summary>A Spectre console writing to the invocation's output (plain text when redirected).</summary>
    public static IAnsiConsole Console(TextWriter output) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = output == System.Console.Out && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = output == System.Console.Out && !System.Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
    });
}
