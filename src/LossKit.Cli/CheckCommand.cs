using System.CommandLine;
using Spectre.Console;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Distillation;
using LossKit.Softmax;

namespace LossKit.Cli;

/// <summary><c>losskit check SPEC</c>: gradient check at several scales plus the card's property checks.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "A loss spec, e.g. gce(q=0.5) or bce(pos_weight=[2])." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random inputs.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("check", "Run the finite-difference gradient check and the card's property checks; exit 1 on failure.") { spec, seed };
        cmd.SetAction(p =>
        {
            string text = p.GetValue(spec)!;
            ILoss loss = LossRegistry.Create(text);
            IReadOnlyList<GradientCheckResult> grads;
            IReadOnlyList<PropertyCheckResult> props;
            switch (loss)
            {
                case IClassificationLoss classification:
                    grads = GradientCheck.CheckRandom(classification, seed: p.GetValue(seed));
                    props = LossChecks.Run(classification, p.GetValue(seed));
                    break;
                case IBinaryLoss binary:
                    grads = GradientCheck.CheckRandom(binary, seed: p.GetValue(seed));
                    props = LossChecks.Run(binary, p.GetValue(seed));
                    break;
                case IDistillationLoss distillation:
                    grads = GradientCheck.CheckRandomDistillation(distillation, seed: p.GetValue(seed));
                    props = LossChecks.Run(distillation, p.GetValue(seed));
                    break;
                case IMultiPositiveLoss multiPositive:
                    grads = GradientCheck.CheckRandomMultiPositive(multiPositive, seed: p.GetValue(seed));
                    props = LossChecks.Run(multiPositive, p.GetValue(seed));
                    break;
                default:
                    throw new ArgumentException($"'{text}' is not a multi-class, binary, distillation or multi-positive loss; check cannot run it yet.", "spec");
            }
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
