using System.Globalization;
using LossKit.Workbench.Training;
using ScottPlot;

namespace LossKit.Workbench.Reports;

/// <summary>The plots of a report: base names (without extension) by scenario and noise setting, and every file written.</summary>
internal sealed class PlotSet
{
    public Dictionary<(int Scenario, string Noise), string> Curves { get; } = [];
    public Dictionary<(int Scenario, string Noise), string> Reliability { get; } = [];
    public Dictionary<int, string> AccuracyVsNoise { get; } = [];
    /// <summary>Forest plots of paired differences per scenario: (metric, base name) pairs.</summary>
    public Dictionary<int, List<(string Metric, string Name)>> Forest { get; } = [];
    public List<string> Files { get; } = [];
}

/// <summary>ScottPlot 5 figures of a <see cref="Summary"/>, each saved as PNG and SVG.</summary>
internal static class Plots
{
    private const int Width = 720, Height = 480;

    /// <summary>Legend entries beyond which the legend moves to the right of the plot and the figure grows to hold it.</summary>
    internal const int LegendInsideMax = 6;

    /// <summary>A reliability bin pooled over the seeds of a row with fewer test samples per run than this is drawn as an
    /// open marker: its accuracy rests on too few samples to read.</summary>
    public const int MinBinSamplesPerRun = 10;

    /// <summary>The figure's size: 720×480, widened by the legend's width when the legend is outside the data area
    /// (more than <see cref="LegendInsideMax"/> entries), and heightened when the legend is taller than that.</summary>
    internal static (int Width, int Height) SizeFor(Plot plot, int series)
    {
        if (series <= LegendInsideMax) return (Width, Height);
        var legend = PlotFiles.Draw(() => plot.Legend.GetImage());
        return (Width + legend.Width + 10, Math.Max(Height, legend.Height + 60));
    }

    public static PlotSet WriteAll(string dir, Summary summary)
    {
        var set = new PlotSet();
        var colours = LossColours(summary.Rows.Select(r => r.Loss));
        bool many = summary.Scenarios.Count > 1;
        foreach (var group in summary.ByNoise())
        {
            var (s, noise) = group.Key;
            string prefix = many ? $"s{s + 1}-" : "";
            var rows = group.ToArray();
            string curves = prefix + "curves-" + Slug(noise);
            Save(dir, curves, LearningCurves(rows, noise, colours), set, rows.Length);
            set.Curves[(s, noise)] = curves;
            string rel = prefix + "reliability-" + Slug(noise);
            Save(dir, rel, ReliabilityDiagram(rows, noise, colours), set, rows.Length + 2);
            set.Reliability[(s, noise)] = rel;
        }
        for (int s = 0; s < summary.Scenarios.Count; s++)
        {
            var rows = summary.Rows.Where(r => r.ScenarioIndex == s).ToArray();
            if (rows.Select(r => r.NoiseRate).Distinct().Count() < 2) continue;
            string name = (many ? $"s{s + 1}-" : "") + "accuracy-vs-noise";
            Save(dir, name, AccuracyVsNoise(rows, colours, out int series), set, series);
            set.AccuracyVsNoise[s] = name;
        }
        return set;
    }

    /// <summary>Mean validation accuracy per epoch over seeds, one line per loss.</summary>
    public static Plot LearningCurves(IReadOnlyList<SummaryRow> rows, string noise, IReadOnlyDictionary<string, Color> colours)
    {
        var plt = new Plot();
        foreach (var row in rows)
        {
            int maxEpoch = row.Runs.Max(r => r.Epochs.Count == 0 ? 0 : r.Epochs[^1].Epoch);
            var xs = new List<double>();
            var ys = new List<double>();
            for (int e = 1; e <= maxEpoch; e++)
            {
                var values = row.Runs.SelectMany(r => r.Epochs.Where(x => x.Epoch == e)).Select(x => x.ValAccuracy).Where(double.IsFinite).ToArray();
                if (values.Length == 0) continue;
                xs.Add(e);
                ys.Add(values.Average());
            }
            if (xs.Count == 0) continue;
            var sc = plt.Add.Scatter(xs.ToArray(), ys.ToArray());
            sc.LegendText = row.Loss;
            sc.Color = colours[row.Loss];
            sc.MarkerSize = xs.Count > 30 ? 0 : 4;
            sc.LineWidth = 2;
        }
        plt.Title($"Validation accuracy per epoch (seed mean), noise {noise}");
        plt.XLabel("epoch");
        plt.YLabel("validation accuracy");
        Legend(plt, rows.Count, Alignment.LowerRight);
        return plt;
    }

    /// <summary>Test reliability before temperature scaling: per equal-width confidence bin, accuracy against mean confidence,
    /// pooled over seeds; one line per loss, the diagonal is perfect calibration. Bars along the bottom show each loss's
    /// share of test samples per bin (side by side within the bin; a bar 0.25 high holds them all); a bin holding fewer
    /// than <see cref="MinBinSamplesPerRun"/> samples per run is an open marker.</summary>
    public static Plot ReliabilityDiagram(IReadOnlyList<SummaryRow> rows, string noise, IReadOnlyDictionary<string, Color> colours)
    {
        var plt = new Plot();
        var diagonal = plt.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.Color = Colors.Gray;
        diagonal.LegendText = "perfect calibration";
        const double barScale = 0.25;
        var bars = new List<Bar>();
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var pooled = Pool(row.Runs);
            if (pooled.Length == 0) continue;
            var colour = colours[row.Loss];
            var sc = plt.Add.Scatter(pooled.Select(b => b.Confidence).ToArray(), pooled.Select(b => b.Accuracy).ToArray());
            sc.LegendText = row.Loss;
            sc.Color = colour;
            sc.MarkerSize = 5;
            sc.LineWidth = 1.5f;
            double total = pooled.Sum(b => b.Count);
            foreach (var b in pooled)
            {
                double width = (b.Upper - b.Lower) / rows.Count;
                bars.Add(new Bar
                {
                    Position = b.Lower + width * (i + 0.5), Value = barScale * b.Count / total, Size = width * 0.9,
                    FillColor = colour.WithAlpha(0.45), LineWidth = 0,
                });
                if (b.Count < MinBinSamplesPerRun * row.Runs.Count)
                {
                    var m = plt.Add.Marker(b.Confidence, b.Accuracy, MarkerShape.OpenCircle, 11);
                    m.Color = colour;
                }
            }
        }
        if (bars.Count > 0) plt.Add.Bars(bars);
        var sparse = plt.Add.Marker(-1, -1, MarkerShape.OpenCircle, 11);
        sparse.Color = Colors.Gray;
        sparse.LegendText = $"< {MinBinSamplesPerRun} samples per run in the bin";
        plt.Axes.SetLimits(0, 1, 0, 1);
        plt.Title($"Test reliability (before temperature scaling), noise {noise}");
        plt.XLabel("mean confidence in bin (bars: share of test samples per bin, 0.25 = all)");
        plt.YLabel("accuracy in bin");
        Legend(plt, rows.Count + 2, Alignment.UpperLeft);
        return plt;
    }

    /// <summary>One reliability bin pooled over runs: its range, count-weighted confidence and accuracy, and its count.</summary>
    public readonly record struct PooledBin(double Lower, double Upper, double Confidence, double Accuracy, int Count);

    /// <summary>Pools the reliability bins of several runs: per bin, count-weighted confidence and accuracy and the total
    /// count; empty bins dropped.</summary>
    public static PooledBin[] Pool(IReadOnlyList<RunRecord> runs)
    {
        int bins = runs.Max(r => r.Reliability.Count);
        var pooled = new List<PooledBin>();
        for (int b = 0; b < bins; b++)
        {
            double c = 0, a = 0, lower = double.NaN, upper = double.NaN;
            int n = 0;
            foreach (var r in runs)
            {
                if (b >= r.Reliability.Count) continue;
                var bin = r.Reliability[b];
                (lower, upper) = (bin.Lower, bin.Upper);
                if (bin.Count == 0 || bin.Confidence is not { } bc || bin.Accuracy is not { } ba) continue;
                n += bin.Count;
                c += bin.Count * bc;
                a += bin.Count * ba;
            }
            if (n == 0) continue;
            pooled.Add(new PooledBin(lower, upper, c / n, a / n, n));
        }
        return [.. pooled];
    }

    /// <summary>Mean test accuracy against noise rate, ± one standard deviation over seeds; one line per loss and noise kind.</summary>
    public static Plot AccuracyVsNoise(IReadOnlyList<SummaryRow> rows, IReadOnlyDictionary<string, Color> colours) => AccuracyVsNoise(rows, colours, out _);

    /// <summary>The same, with the number of legend entries.</summary>
    public static Plot AccuracyVsNoise(IReadOnlyList<SummaryRow> rows, IReadOnlyDictionary<string, Color> colours, out int series)
    {
        var plt = new Plot();
        var kinds = rows.Where(r => r.NoiseRate > 0).Select(r => Kind(r.Noise)).Distinct().ToArray();
        if (kinds.Length == 0) kinds = ["none"];
        int colour = 0;
        foreach (string loss in rows.Select(r => r.Loss).Distinct())
        {
            foreach (string kind in kinds)
            {
                var points = rows.Where(r => r.Loss == loss && (r.NoiseRate == 0 || Kind(r.Noise) == kind))
                    .Where(r => r.Metrics.ContainsKey("accuracy")).OrderBy(r => r.NoiseRate).ToArray();
                if (points.Length == 0) continue;
                double[] xs = points.Select(r => r.NoiseRate).ToArray();
                double[] ys = points.Select(r => r.Metrics["accuracy"].Mean).ToArray();
                double[] err = points.Select(r => double.IsNaN(r.Metrics["accuracy"].Std) ? 0 : r.Metrics["accuracy"].Std).ToArray();
                var color = colours[loss];
                colour++;
                var sc = plt.Add.Scatter(xs, ys);
                sc.Color = color;
                sc.MarkerSize = 6;
                sc.LineWidth = 2;
                // Pair-flip lines: open squares and a thinner line (a dashed scatter line makes Skia's SVG backend
                // print a warning per line on stderr).
                if (kind == "pairflip") { sc.MarkerShape = MarkerShape.OpenSquare; sc.LineWidth = 1; }
                sc.LegendText = kinds.Length > 1 ? $"{loss} ({kind})" : loss;
                var eb = plt.Add.ErrorBar(xs, ys, err);
                eb.Color = color;
            }
        }
        plt.Title("Test accuracy vs training-label noise (± 1 std)");
        plt.XLabel("noise rate");
        plt.YLabel("test accuracy");
        Legend(plt, colour, Alignment.LowerLeft);
        series = colour;
        return plt;
    }

    /// <summary>A legend inside the plot at <paramref name="corner"/> for a few series; outside on the right for more,
    /// where it cannot hide the data, in a figure widened to hold it (<see cref="SizeFor"/>). The title is centred on the
    /// whole figure, not on the data area, so a wide legend cannot push it off the figure.</summary>
    private static void Legend(Plot plt, int series, Alignment corner)
    {
        plt.Axes.Title.FullFigureCenter = true;
        if (series > LegendInsideMax) plt.ShowLegend(Edge.Right);
        else plt.ShowLegend(corner);
    }

    /// <summary>One colour per loss (Category10, in order of first appearance), the same in every plot of a report.</summary>
    public static IReadOnlyDictionary<string, Color> LossColours(IEnumerable<string> losses)
    {
        var palette = new ScottPlot.Palettes.Category10();
        var map = new Dictionary<string, Color>(StringComparer.Ordinal);
        foreach (string loss in losses)
            if (!map.ContainsKey(loss)) map[loss] = palette.GetColor(map.Count);
        return map;
    }

    private static string Kind(string noise)
    {
        int colon = noise.IndexOf(':');
        return colon < 0 ? noise : noise[..colon];
    }

    /// <summary>File-name form of a noise setting: <c>none</c>, <c>symmetric-0.4</c>.</summary>
    public static string Slug(string text)
    {
        var chars = text.Select(ch => char.IsLetterOrDigit(ch) || ch == '.' ? char.ToLowerInvariant(ch) : '-').ToArray();
        return new string(chars).Trim('-');
    }

    private static void Save(string dir, string name, Plot plot, PlotSet set, int series) => set.Files.AddRange(Save(dir, name, plot, series));

    /// <summary>Writes <paramref name="plot"/> as <c>name.png</c> and <c>name.svg</c> in <paramref name="dir"/>, sized for
    /// <paramref name="series"/> legend entries; returns the two paths.</summary>
    internal static string[] Save(string dir, string name, Plot plot, int series)
    {
        string png = Path.Combine(dir, name + ".png");
        string svg = Path.Combine(dir, name + ".svg");
        var (width, height) = SizeFor(plot, series);
        return PlotFiles.Write(plot, png, svg, width, height);
    }

    /// <summary>A metric at several cut-offs k, one line per loss (mean over seeds, ± 1 std); baselines drawn thin with
    /// open markers. <paramref name="metric"/> maps k to the metric's name (<c>ndcg_at_5</c>, <c>recall_at_2</c>, ...).</summary>
    public static Plot AtK(IEnumerable<(string Loss, bool Baseline, IReadOnlyDictionary<string, Experiments.MeanStats> Metrics)> rows,
        IReadOnlyList<int> cutoffs, Func<int, string> metric, string title, string yLabel)
    {
        var list = rows.ToList();
        var plt = new Plot();
        var colours = LossColours(list.Select(r => r.Loss));
        double[] ks = [.. cutoffs.Select(k => (double)k)];
        foreach (var row in list)
        {
            double[] ys = [.. cutoffs.Select(k => row.Metrics[metric(k)].Mean)];
            double[] err = [.. cutoffs.Select(k => row.Metrics[metric(k)].Std is var s && double.IsFinite(s) ? s : 0)];
            var sc = plt.Add.Scatter(ks, ys);
            sc.Color = colours[row.Loss];
            sc.LineWidth = row.Baseline ? 1 : 2;
            sc.MarkerSize = 6;
            if (row.Baseline) sc.MarkerShape = MarkerShape.OpenCircle;
            sc.LegendText = row.Baseline ? row.Loss + " (baseline)" : row.Loss;
            var eb = plt.Add.ErrorBar(ks, ys, err);
            eb.Color = colours[row.Loss];
        }
        plt.Title(title);
        plt.XLabel("k");
        plt.YLabel(yLabel);
        plt.Axes.Title.FullFigureCenter = true;
        if (list.Count > LegendInsideMax) plt.ShowLegend(Edge.Right);
        else plt.ShowLegend(Alignment.LowerRight);
        return plt;
    }

    internal static string Invariant(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
