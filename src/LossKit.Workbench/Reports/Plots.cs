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
    public List<string> Files { get; } = [];
}

/// <summary>ScottPlot 5 figures of a <see cref="Summary"/>, each saved as PNG and SVG.</summary>
internal static class Plots
{
    private const int Width = 720, Height = 480;

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
            Save(dir, curves, LearningCurves(rows, noise, colours), set);
            set.Curves[(s, noise)] = curves;
            string rel = prefix + "reliability-" + Slug(noise);
            Save(dir, rel, ReliabilityDiagram(rows, noise, colours), set);
            set.Reliability[(s, noise)] = rel;
        }
        for (int s = 0; s < summary.Scenarios.Count; s++)
        {
            var rows = summary.Rows.Where(r => r.ScenarioIndex == s).ToArray();
            if (rows.Select(r => r.NoiseRate).Distinct().Count() < 2) continue;
            string name = (many ? $"s{s + 1}-" : "") + "accuracy-vs-noise";
            Save(dir, name, AccuracyVsNoise(rows, colours), set);
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
    /// pooled over seeds; one line per loss, the diagonal is perfect calibration.</summary>
    public static Plot ReliabilityDiagram(IReadOnlyList<SummaryRow> rows, string noise, IReadOnlyDictionary<string, Color> colours)
    {
        var plt = new Plot();
        var diagonal = plt.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.Color = Colors.Gray;
        diagonal.LegendText = "perfect calibration";
        foreach (var row in rows)
        {
            var (conf, acc) = Pool(row.Runs);
            if (conf.Length == 0) continue;
            var sc = plt.Add.Scatter(conf, acc);
            sc.LegendText = row.Loss;
            sc.Color = colours[row.Loss];
            sc.MarkerSize = 5;
            sc.LineWidth = 1.5f;
        }
        plt.Axes.SetLimits(0, 1, 0, 1);
        plt.Title($"Test reliability (before temperature scaling), noise {noise}");
        plt.XLabel("mean confidence in bin");
        plt.YLabel("accuracy in bin");
        Legend(plt, rows.Count + 1, Alignment.UpperLeft);
        return plt;
    }

    /// <summary>Pools the reliability bins of several runs: per bin, count-weighted confidence and accuracy; empty bins dropped.</summary>
    public static (double[] Confidence, double[] Accuracy) Pool(IReadOnlyList<RunRecord> runs)
    {
        int bins = runs.Max(r => r.Reliability.Count);
        var conf = new List<double>();
        var acc = new List<double>();
        for (int b = 0; b < bins; b++)
        {
            double n = 0, c = 0, a = 0;
            foreach (var r in runs)
            {
                if (b >= r.Reliability.Count) continue;
                var bin = r.Reliability[b];
                if (bin.Count == 0 || bin.Confidence is not { } bc || bin.Accuracy is not { } ba) continue;
                n += bin.Count;
                c += bin.Count * bc;
                a += bin.Count * ba;
            }
            if (n == 0) continue;
            conf.Add(c / n);
            acc.Add(a / n);
        }
        return (conf.ToArray(), acc.ToArray());
    }

    /// <summary>Mean test accuracy against noise rate, ± one standard deviation over seeds; one line per loss and noise kind.</summary>
    public static Plot AccuracyVsNoise(IReadOnlyList<SummaryRow> rows, IReadOnlyDictionary<string, Color> colours)
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
        return plt;
    }

    /// <summary>A legend inside the plot at <paramref name="corner"/> for a few series; outside on the right for more,
    /// where it cannot hide the data.</summary>
    private static void Legend(Plot plt, int series, Alignment corner)
    {
        if (series > 6) plt.ShowLegend(Edge.Right);
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

    private static void Save(string dir, string name, Plot plot, PlotSet set)
    {
        string png = Path.Combine(dir, name + ".png");
        string svg = Path.Combine(dir, name + ".svg");
        AtomicFile.Write(png, tmp => plot.SavePng(tmp, Width, Height));
        AtomicFile.Write(svg, tmp => plot.SaveSvg(tmp, Width, Height));
        set.Files.Add(png);
        set.Files.Add(svg);
    }

    internal static string Invariant(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
