using System.CommandLine;
using LossKit.Catalog;
using Spectre.Console;

namespace LossKit.Cli;

/// <summary><c>losskit check SPEC</c>: gradient check at several scales plus the card's property checks.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "A loss spec, e.g. gce(q=0.5)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("check", "Run the finite-difference gradient check and the card's property checks; exit 1 on failure.") { spec, seed };
        cmd.SetAction(p =>
        {
            var loss = LossRegistry.CreateClassification(p.GetValue(spec)!);
            var grads = GradientCheck.CheckRandom(loss, seed: p.GetValue(seed));
            var props = LossChecks.Run(loss, p.GetValue(seed));
            var con = CatalogCommands.Console(p.InvocationConfiguration.Output);
            var table = new Table().AddColumns("check", "worst", "tolerance", "result");
            foreach (var g in grads)
                table.AddRow(Markup.Escape("gradient: " + g.Case), $"{g.MaxError:E2}", $"{g.Tolerance:E0}", g.Passed ? "pass" : "[red]FAIL[/]");
            foreach (var r in props)
                table.AddRow(Markup.Escape($"{r.Name} ({r.Detail})"), $"{r.Worst:E2}", $"{r.Tolerance:E0}", r.Passed ? "pass" : "[red]FAIL[/]");
            con.Write(table);
            int failed = grads.Count(g => !g.Passed) + props.Count(r => !r.Passed);
            con.WriteLine(failed == 0 ? $"{loss.Spec}: all {grads.Count + props.Count} checks passed" : $"{loss.Spec}: {failed} check(s) FAILED");
            return failed == 0 ? 0 : 1;
        });
        return cmd;
    }
}
