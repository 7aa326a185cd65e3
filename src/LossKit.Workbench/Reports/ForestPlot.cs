using LossKit.Workbench.Experiments;
using ScottPlot;

namespace LossKit.Workbench.Reports;

/// <summary>Forest plots of paired differences against a baseline (<see cref="PairedComparison.Compare"/>), one figure per
/// metric, saved as PNG and SVG through <see cref="Plots.Save(string, string, Plot, int)"/>.</summary>
internal static class ForestPlot
{
    /// <summary>Vertical distance between the rows of one loss at neighbouring noise settings (rows of different losses
    /// are 1 apart), and the most the rows of one loss may spread in all.</summary>
    private const double NoiseStep = 0.2, NoiseSpreadMax = 0.6;

    /// <summary>
    /// One figure per metric: one row per loss (top to bottom in the order the losses first appear in
    /// <paramref name="byNoise"/>), a marker at the mean paired difference and a horizontal line for its 95% interval;
    /// one colour per noise setting (Category10, in the given order), the rows of a loss offset slightly so that the
    /// noise settings sit side by side, the first on top; a vertical line at 0 labelled with the baseline. The marker says
    /// the verdict: filled = <see cref="Verdict.Better"/> or <see cref="Verdict.Worse"/> after Holm, open circle =
    /// <see cref="Verdict.NoEvidence"/>, open diamond = <see cref="Verdict.TooFewSeeds"/>. A row with fewer than 2 seeds
    /// has no interval (NaN) and is drawn as its marker alone; a row with no paired seed is not drawn (its loss keeps its
    /// tick). The axis names the difference and its direction: "→ better" when higher is better, "← better" otherwise.
    /// </summary>
    public static Plot Create(string metric, string baseline, IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> byNoise,
        bool higherIsBetter)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(byNoise);
        var losses = Losses(byNoise);
        var plt = new Plot();
        var palette = new ScottPlot.Palettes.Category10();

        var zero = plt.Add.VerticalLine(0, 1.5f, Colors.Gray);
        zero.LabelText = baseline;
        zero.LabelOppositeAxis = true;
        zero.ExcludeFromLegend = true;
        plt.Axes.Top.MinimumSize = 28; // room for that label between the title and the data area

        int k = byNoise.Count;
        double step = k > 1 ? Math.Min(NoiseStep, NoiseSpreadMax / (k - 1)) : 0;
        double xMin = 0, xMax = 0;
        for (int j = 0; j < k; j++)
        {
            var (noise, rows) = byNoise[j];
            var colour = palette.GetColor(j);
            double offset = ((k - 1) / 2.0 - j) * step;
            foreach (var row in rows)
            {
                double y = RowPosition(losses, row.Loss) + offset;
                if (double.IsFinite(row.CiLow) && double.IsFinite(row.CiHigh))
                {
                    var line = plt.Add.Line(row.CiLow, y, row.CiHigh, y);
                    line.Color = colour;
                    line.LineWidth = 2;
                    line.MarkerSize = 0;
                    (xMin, xMax) = (Math.Min(xMin, row.CiLow), Math.Max(xMax, row.CiHigh));
                }
                if (double.IsFinite(row.DiffMean))
                {
                    var marker = plt.Add.Marker(row.DiffMean, y, Shape(row.Verdict), 9);
                    marker.Color = colour;
                    (xMin, xMax) = (Math.Min(xMin, row.DiffMean), Math.Max(xMax, row.DiffMean));
                }
            }
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = $"noise {noise}", LineColor = colour, LineWidth = 2, MarkerShape = MarkerShape.FilledCircle, MarkerFillColor = colour, MarkerLineColor = colour, MarkerSize = 7 });
        }
        plt.Legend.ManualItems.Add(VerdictItem(MarkerShape.FilledCircle, "better/worse (Holm p < α)"));
        plt.Legend.ManualItems.Add(VerdictItem(MarkerShape.OpenCircle, "no evidence"));
        plt.Legend.ManualItems.Add(VerdictItem(MarkerShape.OpenDiamond, $"< {PairedComparison.MinSeedsForVerdict} seeds: no verdict"));

        // Y: one labelled tick per loss, the first on top. X: the data and 0 (the baseline), with a margin.
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < losses.Count; i++) ticks.AddMajor(RowPosition(losses, losses[i]), losses[i]);
        plt.Axes.Left.TickGenerator = ticks;
        plt.Axes.Left.MajorTickStyle.Length = 0;
        plt.Grid.YAxisStyle.IsVisible = false;
        double margin = xMax > xMin ? 0.08 * (xMax - xMin) : 1;
        double spread = Math.Max(losses.Count - 1, 0);
        plt.Axes.SetLimits(xMin - margin, xMax + margin, -0.5 - (k > 1 ? (k - 1) * step / 2 : 0), spread + 0.5 + (k > 1 ? (k - 1) * step / 2 : 0) + 0.3);

        string better = higherIsBetter ? "→ better" : "← better";
        plt.Title($"{metric}: paired difference against {baseline} over seeds ({better})");
        plt.XLabel($"paired difference in {metric} (loss − {baseline}), 95% CI   {better}");
        plt.Axes.Title.FullFigureCenter = true;
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>Number of legend entries of <see cref="Create"/>'s figure: one per noise setting and three for the verdicts.</summary>
    public static int LegendEntries(IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> byNoise) => byNoise.Count + 3;

    /// <summary>
    /// Creates the figure and writes it as <c>name.png</c> and <c>name.svg</c> in <paramref name="dir"/> through
    /// <see cref="Plots.Save(string, string, Plot, int)"/> (atomic writes); returns the two paths. The legend is always
    /// outside on the right, where it cannot hide an interval, so the figure is sized as
    /// <see cref="Plots.SizeFor"/> sizes one with a legend outside: 720×480 widened by the legend's width.
    /// </summary>
    public static string[] Write(string dir, string name, string metric, string baseline,
        IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> byNoise, bool higherIsBetter) =>
        Plots.Save(dir, name, Create(metric, baseline, byNoise, higherIsBetter), Math.Max(LegendEntries(byNoise), Plots.LegendInsideMax + 1));

    /// <summary>The losses in order of first appearance across the noise settings.</summary>
    internal static IReadOnlyList<string> Losses(IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> byNoise)
    {
        var seen = new List<string>();
        foreach (var (_, rows) in byNoise)
            foreach (var row in rows)
                if (!seen.Contains(row.Loss)) seen.Add(row.Loss);
        return seen;
    }

    private static double RowPosition(IReadOnlyList<string> losses, string loss) => losses.Count - 1 - IndexOf(losses, loss);

    private static int IndexOf(IReadOnlyList<string> losses, string loss)
    {
        for (int i = 0; i < losses.Count; i++)
            if (losses[i] == loss) return i;
        return -1;
    }

    private static MarkerShape Shape(Verdict verdict) => verdict switch
    {
        Verdict.Better or Verdict.Worse => MarkerShape.FilledCircle,
        Verdict.NoEvidence => MarkerShape.OpenCircle,
        _ => MarkerShape.OpenDiamond,
    };

    private static LegendItem VerdictItem(MarkerShape shape, string text) => new()
    {
        LabelText = text, MarkerShape = shape, MarkerFillColor = Colors.Black, MarkerLineColor = Colors.Black, MarkerSize = 8,
    };
}
