using System.Globalization;
using System.Text;
using LossKit.Workbench.Data;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;
using ScottPlot;

namespace LossKit.Workbench.Experiments;

/// <summary>One (data set, loss, noise) of a regression comparison: each test metric's statistics over the splits.</summary>
public sealed record RegressionSummaryRow(string Data, string Loss, string Noise, int Splits, IReadOnlyDictionary<string, MeanStats> Metrics,
    double RealisedNoise, int[] PitHistogram, IReadOnlyList<(double Nominal, double Observed)> Calibration)
{
    /// <summary>The standard error of the mean over the splits of <paramref name="metric"/> (NaN with one split).</summary>
    public double Se(string metric) => Metrics[metric].Std / Math.Sqrt(Metrics[metric].N);
}

/// <summary>
/// Compares regression losses: every data set × loss × noise × split is a <see cref="RegressionTrainer"/> run, and each
/// test metric is summarised over the splits as the literature reports this benchmark (mean ± standard error; the
/// 95% interval of the mean, Student t). Writes <c>results.jsonl</c>, <c>summary.md</c> and PNG + SVG plots (predicted
/// vs true on split 0, PIT histogram and central-interval calibration pooled over the splits, and test RMSE against the
/// outlier fraction when there are outlier settings) to the output folder.
/// </summary>
public static class RegressionComparison
{
    /// <summary>Runs the comparison; <paramref name="onRun"/> is told of each finished run.</summary>
    public static IReadOnlyList<RegressionSummaryRow> Run(RegressionRunConfig baseConfig, IReadOnlyList<string> data, IReadOnlyList<string> losses,
        IReadOnlyList<string> noise, IReadOnlyList<int>? splits, string outDir, Action<RegressionRunRecord>? onRun = null)
    {
        foreach (string n in noise) RegressionNoise.Parse(n);
        Directory.CreateDirectory(outDir);
        string partial = Path.Combine(outDir, "results.partial.jsonl");   // the runs so far, one per line, while the comparison runs
        File.Delete(partial);
        var runs = new List<RegressionRunRecord>();
        var lines = new StringBuilder();
        foreach (string d in data)
        {
            var set = UciRegression.Load(d);
            foreach (int s in splits ?? Enumerable.Range(0, set.Splits.Count))
                if (s < 0 || s >= set.Splits.Count) throw new ArgumentException($"--split standard:{s}: {set.Name} has splits 0..{set.Splits.Count - 1}.");
            foreach (string loss in losses)
                foreach (string nz in noise)
                    foreach (int s in splits ?? Enumerable.Range(0, set.Splits.Count))
                    {
                        var record = RegressionTrainer.Run(baseConfig with { Data = set.Name, Loss = loss, Noise = nz, Split = s }, set);
                        runs.Add(record);
                        lines.AppendLine(record.ToJson());
                        File.AppendAllText(partial, record.ToJson() + "\n");
                        onRun?.Invoke(record);
                    }
        }
        File.WriteAllText(Path.Combine(outDir, "results.jsonl"), lines.ToString());
        File.Delete(partial);
        var rows = runs.GroupBy(r => (r.Config.Data, r.Config.Loss, r.Config.Noise)).Select(g =>
        {
            var mine = g.ToList();
            var metrics = RegressionMetrics.Names.ToDictionary(m => m, m => MeanStats.Of(mine.Select(r => r.Test[m]).ToList()));
            var pooled = mine.SelectMany(r => r.Evaluation.Pit).ToArray();
            var calibration = RegressionMetrics.CalibrationLevels.Select((level, k) => (level, mine.Average(r => r.Evaluation.Calibration[k].Observed))).ToList();
            return new RegressionSummaryRow(g.Key.Data, g.Key.Loss, g.Key.Noise, mine.Count, metrics, mine.Average(r => r.Noise.RealisedFraction),
                RegressionMetrics.PitHistogram(pooled), calibration);
        }).ToList();
        WritePlots(outDir, rows, runs);
        // Paired over the benchmark's standard splits against the first loss listed.
        string paired = PairedReport.MarkdownSection(
            runs.Select(r => ($"{r.Config.Data}, noise {r.Config.Noise}", r.Config.Loss, r.Config.Split, r.Test)).ToArray(),
            losses[0], PairedMetrics.Select(m => (m, false)).ToArray(), "split");
        SeedGrid.WriteSummary(outDir, Markdown(baseConfig, rows), paired);
        return rows;
    }

    /// <summary>The metrics of the paired comparison (all lower-is-better; interval coverage and width are not
    /// compared: a wider interval is not worse when the narrower one under-covers).</summary>
    public static IReadOnlyList<string> PairedMetrics { get; } = ["rmse", "mae", "nll", "crps"];

    /// <summary>Parses <c>standard</c> (null: every split), <c>standard:i</c>, <c>standard:a-b</c> or <c>standard:i,j,...</c>.</summary>
    public static IReadOnlyList<int>? ParseSplits(string? text)
    {
        if (text is null || text == "standard") return null;
        const string prefix = "standard:";
        string Bad() => $"--split {text}: the regression sets take standard (every standard split), standard:i, standard:a-b or standard:i,j (0-based).";
        if (!text.StartsWith(prefix, StringComparison.Ordinal)) throw new ArgumentException(Bad());
        var result = new List<int>();
        foreach (string part in text[prefix.Length..].Split(','))
        {
            string[] ends = part.Split('-');
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _))) throw new ArgumentException(Bad());
            int a = int.Parse(ends[0], CultureInfo.InvariantCulture), b = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (b < a) throw new ArgumentException(Bad());
            for (int i = a; i <= b; i++) result.Add(i);
        }
        return result;
    }

    /// <summary><c>5.234 ± 0.12</c> (mean to 4 significant digits ± standard error to 2; the mean alone with one split).</summary>
    public static string Cell(MeanStats s)
    {
        double se = s.Std / Math.Sqrt(s.N);
        string mean = s.Mean.ToString("G4", CultureInfo.InvariantCulture);
        return double.IsFinite(se) ? mean + " ± " + se.ToString("G2", CultureInfo.InvariantCulture) : mean;
    }

    private static string Label(RegressionSummaryRow r, bool data, bool noise) =>
        (data ? r.Data + " " : "") + r.Loss + (noise ? $" [{r.Noise}]" : "");

    private static void WritePlots(string dir, IReadOnlyList<RegressionSummaryRow> rows, IReadOnlyList<RegressionRunRecord> runs)
    {
        bool manyData = rows.Select(r => r.Data).Distinct().Count() > 1, manyNoise = rows.Select(r => r.Noise).Distinct().Count() > 1;
        var colours = Plots.LossColours(rows.Select(r => Label(r, manyData, manyNoise)));
        void Save(string name, Plot plot, int series) => Plots.Save(dir, name, plot, series);
        void Finish(Plot plt, string title, string x, string y, int series, Alignment corner)
        {
            plt.Title(title);
            plt.XLabel(x);
            plt.YLabel(y);
            plt.Axes.Title.FullFigureCenter = true;
            if (series > Plots.LegendInsideMax) plt.ShowLegend(Edge.Right); else plt.ShowLegend(corner);
        }

        // Predicted vs true: the first split of each row.
        var scatter = new Plot();
        foreach (var r in rows)
        {
            var run = runs.First(x => x.Config.Data == r.Data && x.Config.Loss == r.Loss && x.Config.Noise == r.Noise);
            var sc = scatter.Add.ScatterPoints(run.TestTargets, run.TestMeans);
            sc.Color = colours[Label(r, manyData, manyNoise)];
            sc.MarkerSize = 4;
            sc.LegendText = Label(r, manyData, manyNoise);
        }
        double lo = runs.Min(r => r.TestTargets.Min()), hi = runs.Max(r => r.TestTargets.Max());
        var diagonal = scatter.Add.Line(lo, lo, hi, hi);
        diagonal.Color = Colors.Gray;
        diagonal.LinePattern = LinePattern.Dashed;
        Finish(scatter, $"Predicted vs true (test, split {runs[0].Config.Split})", "true target", "predicted mean", rows.Count, Alignment.UpperLeft);
        Save("predicted-vs-true", scatter, rows.Count);

        // PIT histogram, pooled over the splits: a calibrated model is flat at 1.
        var pit = new Plot();
        int bins = rows[0].PitHistogram.Length;
        for (int k = 0; k < rows.Count; k++)
        {
            var r = rows[k];
            double total = r.PitHistogram.Sum();
            double[] xs = [.. Enumerable.Range(0, bins).Select(b => (b + 0.5) / bins)];
            double[] ys = [.. r.PitHistogram.Select(c => c / total * bins)];
            var sc = pit.Add.Scatter(xs, ys);
            sc.Color = colours[Label(r, manyData, manyNoise)];
            sc.ConnectStyle = ConnectStyle.StepHorizontal;
            sc.LegendText = Label(r, manyData, manyNoise);
        }
        var flat = pit.Add.HorizontalLine(1);
        flat.Color = Colors.Gray;
        flat.LinePattern = LinePattern.Dashed;
        Finish(pit, "PIT histogram (test, pooled over splits; flat = calibrated)", "PIT F(y)", "density", rows.Count, Alignment.UpperCenter);
        Save("pit-histogram", pit, rows.Count);

        // Calibration of central intervals.
        var cal = new Plot();
        foreach (var r in rows)
        {
            var sc = cal.Add.Scatter(r.Calibration.Select(c => c.Nominal).ToArray(), r.Calibration.Select(c => c.Observed).ToArray());
            sc.Color = colours[Label(r, manyData, manyNoise)];
            sc.LegendText = Label(r, manyData, manyNoise);
        }
        var ideal = cal.Add.Line(0, 0, 1, 1);
        ideal.Color = Colors.Gray;
        ideal.LinePattern = LinePattern.Dashed;
        Finish(cal, "Central-interval calibration (test, mean over splits)", "nominal coverage", "observed coverage", rows.Count, Alignment.UpperLeft);
        Save("calibration", cal, rows.Count);

        // Test RMSE against the outlier fraction, one line per (data,) loss.
        var outlierRows = rows.Where(r => r.Noise == "none" || r.Noise.StartsWith("outliers:", StringComparison.Ordinal)).ToList();
        if (outlierRows.Select(r => r.Noise).Distinct().Count() > 1)
        {
            var plt = new Plot();
            var groups = outlierRows.GroupBy(r => Label(r, manyData, false)).ToList();
            var lineColours = Plots.LossColours(groups.Select(g => g.Key));
            foreach (var g in groups)
            {
                var pts = g.Select(r => (X: r.Noise == "none" ? 0 : double.Parse(r.Noise["outliers:".Length..], CultureInfo.InvariantCulture), Y: r.Metrics["rmse"].Mean, E: r.Se("rmse")))
                    .OrderBy(p => p.X).ToList();
                var sc = plt.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray());
                sc.Color = lineColours[g.Key];
                sc.LegendText = g.Key;
                var eb = plt.Add.ErrorBar(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), pts.Select(p => double.IsFinite(p.E) ? p.E : 0).ToArray());
                eb.Color = lineColours[g.Key];
            }
            Finish(plt, "Test RMSE vs outlier fraction in the training targets (± SE over splits)", "outlier fraction", "test RMSE", groups.Count, Alignment.UpperLeft);
            Save("rmse-vs-outliers", plt, groups.Count);
        }
    }

    private static string Markdown(RegressionRunConfig c, IReadOnlyList<RegressionSummaryRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Regression comparison");
        sb.AppendLine();
        sb.AppendLine(FormattableString.Invariant($"Model {c.Model ?? "mlp:n_hidden of the set"}, AdamW lr {c.Lr} (constant), weight decay {c.WeightDecay}, batch {c.BatchSize}, {(c.Epochs is { } e ? e + " epochs" : "the set's n_epochs")}, last epoch tested; {c.Holdout:0.##} of the training split held out (point losses fit their predictive variance on it). Metrics on the clean test split in the target's units, mean ± standard error over the splits."));
        sb.AppendLine();
        sb.AppendLine("| data | loss | noise (realised) | splits | " + string.Join(" | ", RegressionMetrics.Names) + " |");
        sb.AppendLine("|---|---|---|---:|" + string.Concat(RegressionMetrics.Names.Select(_ => "---:|")));
        foreach (var r in rows)
            sb.AppendLine(FormattableString.Invariant($"| {r.Data} | {r.Loss} | {r.Noise}{(r.Noise == "none" ? "" : $" ({r.RealisedNoise:0.000})")} | {r.Splits} | ") +
                string.Join(" | ", RegressionMetrics.Names.Select(m => Cell(r.Metrics[m]))) + " |");
        sb.AppendLine();
        sb.AppendLine("Plots: predicted-vs-true, pit-histogram, calibration (and rmse-vs-outliers with outlier settings), .png and .svg; runs: results.jsonl.");
        return sb.ToString();
    }
}
