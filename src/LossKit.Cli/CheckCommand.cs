using System.CommandLine;
using Spectre.Console;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;

namespace LossKit.Cli;

/// <summary><c>losskit check SPEC</c>: the conformance suite (<see cref="Conformance.Run"/>) for any registered loss.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "A loss spec, e.g. gce(q=0.5), bce(pos_weight=[2]) or linear_ce(shift=true)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 0 };
        var only = new Option<string[]>("--only")
        {
            Description = "Run only these groups of checks: " + string.Join(", ", ConformanceChecks.All.Select(c => $"'{c}'")) + ".",
            AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("check",
            "Run the conformance suite: finite-difference gradients of every differentiable input at several scales, reductions, " +
            "1 vs 2 threads, extreme and bad inputs, and the card's claimed properties; exit 1 on failure.") { spec, seed, only };
        cmd.SetAction(p =>
        {
            ILoss loss = LossRegistry.Create(p.GetValue(spec)!);
            string[]? groups = p.GetValue(only) is { Length: > 0 } g ? g : null;
            IReadOnlyList<ConformanceResult> results = Conformance.Run(loss, p.GetValue(seed), checks: groups);
            var con = CatalogCommands.Console(p.InvocationConfiguration.Output);
            var table = new TextTable("check", "worst", "tolerance", "result");
            foreach (var r in results)
                table.Add($"{r.Check}: {r.Name} ({r.Detail})", r.Skipped ? "" : $"{r.Worst:E2}", r.Skipped ? "" : $"{r.Tolerance:E0}",
                    r.Skipped ? "skipped" : r.Passed ? "pass" : "FAIL");
            Tables.Write(p.InvocationConfiguration.Output, table, Tables.Format(p));
            int failed = results.Count(r => !r.Passed), skipped = results.Count(r => r.Skipped);
            string skips = skipped > 0 ? $" ({skipped} skipped)" : "";
            con.WriteLine(failed == 0 ? $"{loss.Spec}: all {results.Count - skipped} checks passed{skips}" : $"{loss.Spec}: {failed} check(s) FAILED{skips}");
            return failed == 0 ? 0 : 1;
        });
        return cmd;
    }
}
