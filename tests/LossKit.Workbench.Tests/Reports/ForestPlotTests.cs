using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Tests.Experiments;
using ScottPlot;

namespace LossKit.Workbench.Tests.Reports;

public class ForestPlotTests
{
    private static PairedDifference Row(string loss, double mean, double halfWidth, Verdict verdict, int n = 5) =>
        new(loss, "ce", "accuracy", n, mean, mean - halfWidth, mean + halfWidth, 0.01, 0.0625, 0.03, verdict);

    private static IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> TwoNoiseSettings() =>
    [
        ("none", [Row("mae", -0.01, 0.004, Verdict.Worse), Row("gce", 0.001, 0.003, Verdict.NoEvidence), Row("focal(gamma=2)", 0.0, 0.002, Verdict.NoEvidence)]),
        ("symmetric:0.4", [Row("mae", 0.07, 0.02, Verdict.Better), Row("gce", 0.05, 0.03, Verdict.Better), Row("focal(gamma=2)", -0.03, 0.05, Verdict.TooFewSeeds, n: 3)]),
    ];

    [Fact]
    public void Saves_PNG_and_SVG()
    {
        using var tmp = new TempDir();
        string[] files = ForestPlot.Write(tmp.Path, "forest-accuracy", "accuracy", "ce", TwoNoiseSettings(), higherIsBetter: true);
        Assert.Equal([Path.Combine(tmp.Path, "forest-accuracy.png"), Path.Combine(tmp.Path, "forest-accuracy.svg")], files);
        byte[] png = File.ReadAllBytes(files[0]);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        string svg = File.ReadAllText(files[1]);
        Assert.Contains("<svg", svg);
        Assert.Contains("mae", svg);
        Assert.Equal(2, Directory.GetFiles(tmp.Path).Length); // no temporary files left
    }

    [Fact]
    public void Has_one_labelled_tick_per_loss_top_to_bottom_in_order()
    {
        var plot = ForestPlot.Create("accuracy", "ce", TwoNoiseSettings(), higherIsBetter: true);
        plot.GetImage(720, 480);
        var labelled = plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor && t.Label.Length > 0).OrderByDescending(t => t.Position);
        Assert.Equal(["mae", "gce", "focal(gamma=2)"], labelled.Select(t => t.Label));
    }

    [Theory]
    [InlineData(true, "→ better")]
    [InlineData(false, "← better")]
    public void Axis_names_the_difference_and_the_better_side(bool higherIsBetter, string better)
    {
        var plot = ForestPlot.Create("nll", "ce", TwoNoiseSettings(), higherIsBetter);
        string label = plot.Axes.Bottom.Label.Text;
        Assert.StartsWith("paired difference in nll (loss − ce), 95% CI", label);
        Assert.Contains(better, label);
        Assert.Contains(better, plot.Axes.Title.Label.Text);
    }

    [Fact]
    public void Marks_the_verdicts_and_one_colour_per_noise_setting()
    {
        var plot = ForestPlot.Create("accuracy", "ce", TwoNoiseSettings(), higherIsBetter: true);
        var markers = plot.GetPlottables<ScottPlot.Plottables.Marker>().ToArray();
        Assert.Equal(6, markers.Length);
        Assert.Equal(3, markers.Count(m => m.MarkerShape == MarkerShape.FilledCircle));  // Worse, Better, Better
        Assert.Equal(2, markers.Count(m => m.MarkerShape == MarkerShape.OpenCircle));
        Assert.Single(markers, m => m.MarkerShape == MarkerShape.OpenDiamond);
        Assert.Equal(2, markers.Select(m => m.Color).Distinct().Count());
        // The rows of a loss sit side by side, within its band, the first noise setting on top.
        var mae = markers.Where(m => Math.Abs(m.Location.Y - 2) < 0.5).OrderByDescending(m => m.Location.Y).ToArray();
        Assert.Equal([-0.01, 0.07], mae.Select(m => m.Location.X));
        var zero = Assert.Single(plot.GetPlottables<ScottPlot.Plottables.VerticalLine>());
        Assert.Equal(0, zero.X);
        Assert.Equal("ce", zero.LabelText);
    }

    [Fact]
    public void A_single_seed_row_with_a_NaN_interval_does_not_throw()
    {
        IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> byNoise =
        [
            ("none", [new PairedDifference("mae", "ce", "accuracy", 1, 0.02, double.NaN, double.NaN, double.NaN, 1, double.NaN, Verdict.TooFewSeeds),
                      new PairedDifference("gce", "ce", "accuracy", 0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, Verdict.TooFewSeeds)]),
        ];
        using var tmp = new TempDir();
        string[] files = ForestPlot.Write(tmp.Path, "forest", "accuracy", "ce", byNoise, higherIsBetter: true);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0));
        var plot = ForestPlot.Create("accuracy", "ce", byNoise, true);
        plot.GetImage(720, 480);
        Assert.Equal(2, plot.Axes.Left.TickGenerator.Ticks.Count(t => t.IsMajor && t.Label.Length > 0));
        var limits = plot.Axes.GetLimits();
        Assert.True(double.IsFinite(limits.Left) && double.IsFinite(limits.Right) && limits.Left < 0.02 && limits.Right > 0.02);
    }

    [Fact]
    public void Draws_what_PairedComparison_computes()
    {
        var values = new Dictionary<string, IReadOnlyDictionary<int, double>>
        {
            ["ce"] = Enumerable.Range(0, 6).ToDictionary(s => s, s => 0.8 + 0.01 * s),
            ["mae"] = Enumerable.Range(0, 6).ToDictionary(s => s, s => 0.85 + 0.01 * s + 0.001 * (s % 2)),
        };
        var rows = PairedComparison.Compare(values, "ce", "accuracy", higherIsBetter: true);
        using var tmp = new TempDir();
        string[] files = ForestPlot.Write(tmp.Path, "forest", "accuracy", "ce", [("symmetric:0.4", rows)], higherIsBetter: true);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0));
    }
}
