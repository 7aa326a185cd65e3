using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Tests.Experiments;
using LossKit.Workbench.Training;
using ScottPlot;

namespace LossKit.Workbench.Tests.Reports;

/// <summary>Titles and legends are drawn inside the figure whatever the number of losses, and the reliability diagram
/// shows how many samples each bin holds.</summary>
public class PlotLayoutTests
{
    private static readonly Lazy<IReadOnlyList<RunRecord>> s_records = new(() =>
    {
        using var tmp = new TempDir();
        var spec = SweepTests.TinySpec(1) with { Losses = ["ce"], Noise = ["none", "symmetric:0.3"] };
        return ExperimentRunner.Run(spec.Expand(), tmp.Path).Records;
    });

    /// <summary>The tiny runs copied under <paramref name="losses"/> loss names of realistic length.</summary>
    private static Summary WithLosses(int losses)
    {
        var records = new List<RunRecord>();
        for (int i = 0; i < losses; i++)
            foreach (var r in s_records.Value)
                records.Add(r with { Key = r.Key + i, Config = r.Config with { Loss = $"focal(gamma={i + 1}, alpha=[0.25, 0.75])" } });
        return Summary.Build(records);
    }

    public static TheoryData<int> LossCounts => new() { 1, 3, 6, 7, 12, 24 };

    [Theory]
    [MemberData(nameof(LossCounts))]
    public void Titles_and_legends_stay_inside_the_figure(int losses)
    {
        var summary = WithLosses(losses);
        var colours = Plots.LossColours(summary.Rows.Select(r => r.Loss));
        var rows = summary.ByNoise().Last().ToArray();
        var plots = new (string Name, Plot Plot, int Series)[]
        {
            ("reliability", Plots.ReliabilityDiagram(rows, "symmetric:0.3", colours), rows.Length + 2),
            ("curves", Plots.LearningCurves(rows, "symmetric:0.3", colours), rows.Length),
            ("accuracy-vs-noise", Plots.AccuracyVsNoise(summary.Rows, colours, out int series), series),
        };
        foreach (var (name, plot, n) in plots)
        {
            var (width, height) = Plots.SizeFor(plot, n);
            byte[] png = plot.GetImage(width, height).GetImageBytes(ImageFormat.Png);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            var render = plot.RenderManager.LastRender;
            Assert.Equal(width, render.FigureRect.Width);
            Assert.Equal(height, render.FigureRect.Height);

            // The title: measured, and centred where the title panel centres it.
            using var paint = Paint.NewDisposablePaint();
            var title = plot.Axes.Title.Label.Measure(paint);
            float centre = plot.Axes.Title.FullFigureCenter ? render.FigureRect.HorizontalCenter : render.DataRect.HorizontalCenter;
            Assert.True(centre - title.Width / 2 >= 0 && centre + title.Width / 2 <= width,
                $"{name} with {losses} losses: title [{centre - title.Width / 2:0}, {centre + title.Width / 2:0}] px is cut off by the figure [0, {width}]");

            // The legend: inside the data area for a few entries, else in the panel right of it, which must hold it.
            var legend = plot.Legend.GetImage();
            Assert.True(legend.Width <= width && legend.Height <= height, $"{name} with {losses} losses: legend {legend.Width}×{legend.Height} px in a {width}×{height} px figure");
            if (n > Plots.LegendInsideMax)
                Assert.True(legend.Width <= render.FigureRect.Right - render.DataRect.Right && render.DataRect.Width >= 500,
                    $"{name} with {losses} losses: legend {legend.Width} px wide right of a data area ending at {render.DataRect.Right} of {width} px");
            else
                Assert.True(legend.Width <= render.DataRect.Width && legend.Height <= render.DataRect.Height,
                    $"{name} with {losses} losses: legend {legend.Width}×{legend.Height} px in a data area of {render.DataRect.Width}×{render.DataRect.Height} px");
        }
    }

    [Fact]
    public void Reliability_diagram_draws_the_count_of_each_bin_and_marks_sparse_bins()
    {
        var summary = WithLosses(2);
        var rows = summary.ByNoise().First().ToArray();
        var plot = Plots.ReliabilityDiagram(rows, "none", Plots.LossColours(rows.Select(r => r.Loss)));
        var pooled = rows.Select(r => Plots.Pool(r.Runs)).ToArray();
        var bars = plot.GetPlottables<ScottPlot.Plottables.BarPlot>().SelectMany(b => b.Bars).ToArray();
        Assert.Equal(pooled.Sum(p => p.Length), bars.Length);
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(1.0, pooled[i].Sum(b => b.Count) / (double)rows[i].Runs.Sum(r => r.Dataset.TestRows), 12);
        Assert.Equal(0.25 * pooled.Length, bars.Sum(b => b.Value), 9);    // each loss's bars add up to 0.25: all its samples
        int sparse = pooled.Zip(rows).Sum(x => x.First.Count(b => b.Count < Plots.MinBinSamplesPerRun * x.Second.Runs.Count));
        Assert.True(sparse > 0, "the tiny runs have bins with few samples");
        var markers = plot.GetPlottables<ScottPlot.Plottables.Marker>().ToArray();
        Assert.Equal(sparse + 1, markers.Length);                         // one per sparse bin, and the legend's key
        Assert.Contains(markers, m => m.LegendText.Contains("samples per run"));
    }
}
