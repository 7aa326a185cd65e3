using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LossKit.Workbench.Data;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Cli;

/// <summary>train and compare on the regression sets (the UCI benchmark and diabetes; docs/regression.md).</summary>
internal static partial class WorkbenchCommands
{
    /// <summary>The losses compare runs on a regression set when none are given.</summary>
    public static IReadOnlyList<string> DefaultRegressionLosses { get; } = ["mse", "huber", "gaussian_nll", "laplace_nll", "gg_nll", "barron"];

    /// <summary>The data sets of <c>--data</c> (a list separated by ';' or ','), when every one is a regression set.</summary>
    private static string[] RegressionData(ParseResult p, WorkbenchOptions o) =>
        p.GetValue(o.Data) is { } d ? d.Split([';', ','], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];

    private static bool IsRegressionData(ParseResult p, WorkbenchOptions o) => RegressionData(p, o) is { Length: > 0 } sets && sets.All(UciRegression.IsName);

    /// <summary>The regression run the options describe; options that do not apply are one-line errors.</summary>
    private static RegressionRunConfig RegressionConfig(ParseResult p, WorkbenchOptions o, params Option[] others)
    {
        var d = new RegressionRunConfig();
        RefuseGiven(p, [.. o.ClassificationTrainingOnly, o.Patience, .. others],
            $"does not apply to the regression set {p.GetValue(o.Data)}: regression runs train with AdamW at a constant rate for the set's epochs and test the last epoch (docs/regression.md).");
        return d with
        {
            Model = p.GetValue(o.Model),
            Epochs = p.GetValue(o.Epochs),
            BatchSize = p.GetValue(o.BatchSize) ?? d.BatchSize,
            Lr = p.GetValue(o.Lr) ?? d.Lr,
            WeightDecay = p.GetValue(o.WeightDecay) ?? d.WeightDecay,
        };
    }

    /// <summary>A one-line error "OPTION WHY" for the first of <paramref name="options"/> given on the command line.</summary>
    private static void RefuseGiven(ParseResult p, IEnumerable<Option> options, string why)
    {
        foreach (Option option in options)
            if (p.GetResult(option) is { Implicit: false }) throw new ArgumentException($"{option.Name} {why}");
    }

    private static object MetricJson(MeanStats s) => new
    {
        mean = Finite(s.Mean), sd = Finite(s.Std), se = Finite(s.Std / Math.Sqrt(s.N)), ci = new[] { Finite(s.CiLow), Finite(s.CiHigh) },
    };

    private static int TrainRegression(ParseResult p, WorkbenchOptions o, Option<string?> loss, Option<int?> seed, Option<bool> json, Option<string?> noise, params Option[] unsupported)
    {
        var sets = RegressionData(p, o);
        if (sets.Length > 1) throw new ArgumentException($"train takes one data set, not {sets.Length}; compare takes several.");
        var set = UciRegression.Load(sets[0]);
        var c = RegressionConfig(p, o, unsupported) with
        {
            Data = set.Name, Loss = p.GetValue(loss) ?? "mse", Seed = p.GetValue(seed) ?? 0, Noise = p.GetValue(noise) ?? "none",
        };
        RegressionNoise.Parse(c.Noise);
        var splits = RegressionComparison.ParseSplits(p.GetValue(o.Split) ?? "standard:0") ?? [.. Enumerable.Range(0, set.Splits.Count)];
        foreach (int s in splits)
            if (s >= set.Splits.Count) throw new ArgumentException($"--split standard:{s}: {set.Name} has splits 0..{set.Splits.Count - 1}.");
        var output = p.InvocationConfiguration.Output;
        bool quiet = p.GetValue(json);
        if (!quiet)
            output.WriteLine($"train: {set.Name} ({set.Rows} rows, {set.FeatureCount} features; {set.SplitsNote}), loss {c.Loss}, model {c.Model ?? "mlp:" + set.Hidden}, " +
                $"AdamW lr={G(c.Lr)}, {c.Epochs ?? set.Epochs} epochs of batch {c.BatchSize}, last epoch tested; noise {c.Noise}; {splits.Count} split(s)");
        var records = new List<RegressionRunRecord>();
        foreach (int s in splits)
        {
            var r = RegressionTrainer.Run(c with { Split = s }, set, splits.Count == 1 && !quiet
                ? (e, l) => output.WriteLine(FormattableString.Invariant($"epoch {e,3}/{c.Epochs ?? set.Epochs}  train loss {l:0.0000}"))
                : null);
            records.Add(r);
            if (!quiet)
                output.WriteLine(FormattableString.Invariant($"split {s}: {r.TrainRows} train / {r.HoldoutRows} held out / {r.TestRows} test rows, head {r.Head}") +
                    (r.Noise.Spec == "none" ? "" : FormattableString.Invariant($", noise {r.Noise.Spec}: {r.Noise.Changed} of {r.Noise.Rows} training targets changed (realised {r.Noise.RealisedFraction:0.0000}, rms change {r.Noise.RealisedRms:G4})")) +
                    FormattableString.Invariant($"; test RMSE {r.Test["rmse"]:G4}, NLL {r.Test["nll"]:G4} ({r.Seconds:0.0} s)"));
        }
        var stats = RegressionMetrics.Names.ToDictionary(m => m, m => MeanStats.Of(records.Select(r => r.Test[m]).ToList()));
        if (quiet)
        {
            if (records.Count == 1) output.WriteLine(records[0].ToJson());
            else output.WriteLine(JsonSerializer.Serialize(new
            {
                data = set.Name, loss = records[0].LossSpec, splits = splits, noise = c.Noise,
                test = stats.ToDictionary(m => m.Key, m => Finite(m.Value.Mean)),
                metrics = MetricsJson(stats),
                runs = records.Select(r => JsonDocument.Parse(r.ToJson()).RootElement),
            }));
            return 0;
        }
        var table = new TextTable([.. RegressionMetrics.Names]) { Title = records.Count == 1 ? "test" : $"test, mean ± SE over {records.Count} splits", RightAligned = [.. Enumerable.Range(0, RegressionMetrics.Names.Count)] };
        table.Add([.. RegressionMetrics.Names.Select(m => (TableCell)RegressionComparison.Cell(stats[m]))]);
        Tables.Write(output, table, Tables.Format(p));
        return 0;
    }

    private static int CompareRegression(ParseResult p, WorkbenchOptions o, GridOptions g, Option<bool> json)
    {
        var c = RegressionConfig(p, o, [g.Seeds, g.Append, g.Parallel, g.Force, .. g.ClassificationOnly]);
        var sets = RegressionData(p, o).Select(UciRegression.Resolve).Distinct().ToList();
        var losses = WorkbenchOptions.SplitList(p.GetValue(g.Losses), commas: false);
        if (losses.Length == 0) losses = [.. DefaultRegressionLosses];
        var noise = WorkbenchOptions.SplitList(p.GetValue(g.Noise), commas: true);
        if (noise.Length == 0) noise = ["none"];
        var splits = RegressionComparison.ParseSplits(p.GetValue(o.Split));
        string dir = p.GetValue(g.Out) ?? OutputFolder.Default(sets[0], DateTime.Now);
        var output = p.InvocationConfiguration.Output;
        bool quiet = p.GetValue(json);
        var rows = RegressionComparison.Run(c, sets, losses, noise, splits, dir, r =>
        {
            if (!quiet) output.WriteLine(FormattableString.Invariant($"  {r.Config.Data} {r.LossSpec} [{r.Config.Noise}] split {r.Config.Split}: RMSE {r.Test["rmse"]:G4}, NLL {r.Test["nll"]:G4} ({r.Seconds:0.0} s)"));
        });
        if (quiet)
        {
            output.WriteLine(JsonSerializer.Serialize(rows.Select(r => new
            {
                data = r.Data, loss = r.Loss, noise = r.Noise, realised_noise = r.RealisedNoise, splits = r.Splits,
                metrics = MetricsJson(r.Metrics),
            })));
            return 0;
        }
        var table = new TextTable(["data", "loss", "noise", "splits", .. RegressionMetrics.Names]) { RightAligned = [.. Enumerable.Range(3, RegressionMetrics.Names.Count + 1)] };
        foreach (var r in rows)
            table.Add([r.Data, r.Loss, r.Noise == "none" ? "none" : r.Noise + FormattableString.Invariant($" ({r.RealisedNoise:0.000})"), r.Splits.ToString(CultureInfo.InvariantCulture),
                .. RegressionMetrics.Names.Select(m => (TableCell)RegressionComparison.Cell(r.Metrics[m]))]);
        Tables.Write(output, table, Tables.Format(p));
        output.WriteLine("mean ± standard error over the splits; metrics on the clean test split in the target's units");
        output.WriteLine($"report: {Path.Combine(dir, "summary.md")} (predicted-vs-true, pit-histogram, calibration .png/.svg; results.jsonl)");
        return 0;
    }
}
