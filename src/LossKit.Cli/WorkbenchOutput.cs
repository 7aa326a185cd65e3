using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;
using Spectre.Console;

namespace LossKit.Cli;

/// <summary>Text and table output of the workbench commands.</summary>
internal static class WorkbenchOutput
{
    public static bool IsTerminal(TextWriter output) => output == System.Console.Out && !System.Console.IsOutputRedirected;

    /// <summary>A Spectre console on <paramref name="output"/> that never squeezes a table (<see cref="Tables.WideConsole"/>).</summary>
    public static IAnsiConsole Console(TextWriter output) => Tables.WideConsole(output);

    /// <summary>Class names with their indices: <c>0 = setosa, 1 = versicolor, …</c> (the first 20, then a count).</summary>
    public static string ClassList(IReadOnlyList<string> names) => ReportWriter.ClassList(names);

    public static string EpochLine(EpochRecord e, int epochs) => FormattableString.Invariant(
        $"epoch {e.Epoch.ToString().PadLeft(epochs.ToString().Length)}/{epochs}  train_loss {e.TrainLoss:0.0000}  val_loss {e.ValLoss:0.0000}  val_acc {e.ValAccuracy:0.0000}  lr {e.Lr:0.####e0}  {e.Seconds:0.00} s");

    public static string RunLine(RunProgress p)
    {
        var r = p.Record;
        return FormattableString.Invariant(
            $"[{p.Done.ToString().PadLeft(p.Total.ToString().Length)}/{p.Total}] {r.Config.Loss,-18} {r.Config.Noise,-15} seed {r.Config.Seed}  test acc {r.Test.Accuracy:0.0000}  ece {r.Test.Ece:0.0000}  ({r.TotalSeconds:0.0} s){(r.Diverged ? "  DIVERGED" : "")}");
    }

    /// <summary>A run's test metrics before and after temperature scaling.</summary>
    public static void WriteRunTable(TextWriter output, IAnsiConsole console, RunRecord r, TableFormat format)
    {
        if (r.Divergence is { } d)
            console.WriteLine($"training diverged: {DivergenceText(d)}; metrics are of the parameters before that step.");
        console.WriteLine($"tested model: epoch {r.BestEpoch} of {r.Epochs.Count}" + (r.Divergence is not null ? " trained" : "") + " (" + (
            r.StoppedEarly ? $"stopped early on {r.Config.EarlyStop}; its best epoch"
            : r.Config.EarlyStop != "none" ? $"best {r.Config.EarlyStop}"
            : r.Config.ModelEpoch == "best" ? "best validation accuracy; --model-epoch last tests the last epoch"
            : "the last epoch") + ")");
        var t = new TextTable("test metric", "value", $"after temperature scaling (T = {r.Temperature:0.000})") { RightAligned = [1, 2] };
        foreach (var (name, _, get) in TestMetrics.Columns)
        {
            if (get(r.Test) is not { } v) continue;
            string after = get(r.TestCalibrated) is { } w ? w.ToString("0.0000", CultureInfo.InvariantCulture) : "";
            t.Add(name, v.ToString("0.0000", CultureInfo.InvariantCulture), after);
        }
        Tables.Write(output, t, format);
        console.WriteLine($"training time {r.TrainSeconds:0.00} s ({r.TrainSeconds / Math.Max(1, r.Epochs.Count):0.000} s per epoch), total {r.TotalSeconds:0.00} s");
    }

    /// <summary>Where a run diverged, in words: <c>the loss became NaN at epoch 3, step 12 (step 76 of training)</c>.</summary>
    public static string DivergenceText(DivergenceInfo d) =>
        $"the loss became {d.Value} at epoch {d.Epoch}, step {d.Step} (step {d.GlobalStep} of training)";

    /// <summary>One table per scenario and noise setting: mean ± std with the 95% interval below; best per column in bold.</summary>
    public static void WriteSummaryTables(TextWriter output, IAnsiConsole console, Summary summary, TableFormat format)
    {
        foreach (var group in summary.ByNoise())
        {
            var rows = group.ToArray();
            var cols = summary.Present([.. Summary.MainColumns, "top5", "auroc"]);
            var t = new TextTable(["loss", "n", .. cols.Select(c => Summary.Column(c).Title)])
            {
                Title = $"{summary.Scenarios[group.Key.Scenario]} — noise {group.Key.Noise}",
                RightAligned = [.. Enumerable.Range(1, cols.Count + 1)],
            };
            foreach (var r in rows)
            {
                var cells = new List<TableCell> { r.Loss, r.N.ToString(CultureInfo.InvariantCulture) };
                foreach (string c in cols)
                {
                    if (!r.Metrics.TryGetValue(c, out var m)) { cells.Add("–"); continue; }
                    string ci = Summary.Interval(m, Summary.FormatOf(c));
                    cells.Add(new TableCell(Summary.Cell(m, Summary.FormatOf(c)), ci.Length > 0 ? ci : null, summary.IsBest(r, c)));
                }
                t.Add([.. cells]);
            }
            Tables.Write(output, t, format);
        }
        console.WriteLine("mean ± std over seeds, [95% CI of the mean: Student t on the logit scale for metrics in [0, 1] (Brier [0, 2]), log scale for NLL and epoch]; " +
            "* = best in its noise setting; (TS) = after temperature scaling; epoch = the epoch tested.");
    }

    /// <summary>Per noise setting, the paired comparison against the baseline: a row per loss, a column per metric (the
    /// difference with its interval below, then the Holm-corrected p and the verdict).</summary>
    public static void WritePairedTables(TextWriter output, IAnsiConsole console, Summary summary, IReadOnlyList<PairedGroup> paired, string baseline, TableFormat format)
    {
        if (paired.Count == 0)
        {
            if (summary.Rows.Select(r => r.Loss).Distinct().Count() > 1)
                console.WriteLine($"no paired comparison: no loss is the baseline '{baseline}' (--baseline names one of the compared losses).");
            return;
        }
        foreach (var g in paired)
        {
            var metrics = PairedReport.Metrics.Where(g.ByMetric.ContainsKey).ToArray();
            if (metrics.Length == 0) continue;
            var t = new TextTable(["loss", "n", .. metrics.Select(m => "Δ " + Summary.Column(m).Title)])
            {
                Title = $"{summary.Scenarios[g.Scenario]} — noise {g.Noise} — paired against {g.Baseline}",
                RightAligned = [.. Enumerable.Range(1, metrics.Length + 1)],
            };
            foreach (var first in g.ByMetric[metrics[0]])
            {
                var cells = new List<TableCell> { first.Loss, first.N.ToString(CultureInfo.InvariantCulture) };
                foreach (string m in metrics)
                {
                    var d = g.ByMetric[m].FirstOrDefault(x => x.Loss == first.Loss);
                    if (d is null) { cells.Add("–"); continue; }
                    string ci = double.IsNaN(d.CiLow) ? "" : $"[{ReportWriter.Signed(d.CiLow)}, {ReportWriter.Signed(d.CiHigh)}]";
                    string verdict = d.Verdict == Verdict.TooFewSeeds ? "" : " " + PairedReport.VerdictText(d.Verdict);
                    cells.Add(new TableCell($"{ReportWriter.Signed(d.DiffMean)} p_H {ReportWriter.P(d.PHolm)}{verdict}",
                        ci.Length > 0 ? ci : null, d.Verdict is Verdict.Better or Verdict.Worse));
                }
                t.Add([.. cells]);
            }
            Tables.Write(output, t, format);
            if (g.Unpaired > 0) console.WriteLine($"warning: {g.Unpaired} run(s) left unpaired (their split, labels, initial weights or batch order differ from the baseline's).");
        }
        int n = paired.SelectMany(g => g.ByMetric.Values).SelectMany(x => x).Select(d => d.N).DefaultIfEmpty(0).Min();
        console.WriteLine($"Δ = mean paired difference (loss − {paired[0].Baseline}) over seeds [95% t interval]; p_H = paired t test's p, Holm-corrected " +
            "across the losses; verdict at p_H < 0.05" + (n < PairedComparison.MinSeedsForVerdict
                ? $". With {n} seed(s) no verdict is given: the signed-rank test cannot reach p < 0.05 below 6 pairs and a t test on so few differences " +
                  $"rests on a normality assumption nobody can check; run --seeds {PairedComparison.MinSeedsForVerdict} or more (6 or more for the signed-rank test too)."
                : "."));
    }

    /// <summary>The summary as a JSON array: one object per row with mean, std, ci_low, ci_high per metric, and, when a
    /// baseline is compared, <c>paired: {vs, METRIC: {n, diff_mean, ci, p, p_wilcoxon, p_holm, verdict}}</c>.</summary>
    public static string SummaryJson(Summary summary, IReadOnlyList<PairedGroup>? paired = null)
    {
        var array = new JsonArray();
        foreach (var r in summary.Rows)
        {
            var metrics = new JsonObject();
            foreach (var (name, m) in r.Metrics)
                metrics[name] = new JsonObject { ["n"] = m.N, ["mean"] = Num(m.Mean), ["std"] = Num(m.Std), ["ci_low"] = Num(m.CiLow), ["ci_high"] = Num(m.CiHigh) };
            array.Add(new JsonObject
            {
                ["scenario"] = r.Scenario,
                ["loss"] = r.Loss,
                ["noise"] = r.Noise,
                ["noise_rate"] = r.NoiseRate,
                ["realised_noise"] = r.RealisedNoise,
                ["seeds"] = new JsonArray(r.Seeds.Select(s => (JsonNode)s).ToArray()),
                ["metrics"] = metrics,
                ["best"] = new JsonArray(summary.Present(Summary.Columns.Select(c => c.Name)).Where(c => summary.IsBest(r, c)).Select(c => (JsonNode)c!).ToArray()),
            });
            var row = (JsonObject)array[^1]!;
            if (r.Runs[0].Config.Tuning is { } tuning)
                row["tuning"] = new JsonObject
                {
                    ["trials"] = tuning.Trials, ["select"] = tuning.Select, ["value"] = Num(tuning.Value), ["chosen"] = tuning.Chosen,
                    ["spec"] = r.Runs[0].Config.Loss, ["lr"] = r.Runs[0].Config.Lr,
                };
            if (paired?.FirstOrDefault(g => g.Scenario == r.ScenarioIndex && g.Noise == r.Noise) is { } group && r.Loss != group.Baseline)
            {
                var obj = new JsonObject { ["vs"] = group.Baseline };
                foreach (var (metric, diffs) in group.ByMetric)
                    if (diffs.FirstOrDefault(d => d.Loss == r.Loss) is { } d)
                        obj[metric] = new JsonObject
                        {
                            ["n"] = d.N, ["diff_mean"] = Num(d.DiffMean), ["ci"] = new JsonArray(Num(d.CiLow), Num(d.CiHigh)),
                            ["p"] = Num(d.PT), ["p_wilcoxon"] = Num(d.PWilcoxon), ["p_holm"] = Num(d.PHolm),
                            ["verdict"] = PairedReport.VerdictText(d.Verdict),
                        };
                row["paired"] = obj;
            }
        }
        return array.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
}
