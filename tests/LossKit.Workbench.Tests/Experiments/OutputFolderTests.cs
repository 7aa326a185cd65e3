using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;

namespace LossKit.Workbench.Tests.Experiments;

public class OutputFolderTests
{
    [Fact]
    public void Each_invocation_gets_its_own_folder_named_after_data_and_time()
    {
        using var tmp = new TempDir();
        var time = new DateTime(2026, 12, 6, 21, 5, 9);
        string first = OutputFolder.Default("iris", time, tmp.Path);
        Assert.Equal(Path.Combine(tmp.Path, "iris-20261206-210509"), first);
        Directory.CreateDirectory(first);
        Assert.Equal(first + "-2", OutputFolder.Default("iris", time, tmp.Path));
        Assert.Equal(Path.Combine(tmp.Path, "my_data-20261206-210509"), OutputFolder.Default("/data/my data.csv", time, tmp.Path));
    }

    [Fact]
    public void A_folder_with_runs_of_another_configuration_is_refused_unless_appending_a_matching_one()
    {
        using var tmp = new TempDir();
        var a = SweepTests.TinySpec(1) with { Losses = ["ce"] };
        ExperimentRunner.Run(a.Expand(), tmp.Path);
        Assert.Single(OutputFolder.Check(tmp.Path, a.Expand(), append: false));            // the same grid: a resume

        var other = a with { Losses = ["mae"] };
        var e = Assert.Throws<ArgumentException>(() => OutputFolder.Check(tmp.Path, other.Expand(), append: false));
        Assert.Contains("--append", e.Message);
        Assert.Single(OutputFolder.Check(tmp.Path, other.Expand(), append: true));          // only the loss differs

        var otherModel = a with { Base = a.Base with { Model = "linear" }, Losses = ["mae"] };
        var m = Assert.Throws<ArgumentException>(() => OutputFolder.Check(tmp.Path, otherModel.Expand(), append: true));
        Assert.Contains("model \"mlp:8\" there, \"linear\" here", m.Message);
    }

    [Fact]
    public void Intervals_of_bounded_metrics_stay_in_range()
    {
        // The cases: MCE over 3 seeds, top-5 near 1, NLL near 0; a t-interval leaves [0, 1] or goes below 0.
        var mce = MeanStats.Of([0.1, 0.5, 0.9], 0, 1);
        Assert.True(MeanStats.Of([0.1, 0.5, 0.9]).CiLow < 0);
        Assert.InRange(mce.CiLow, 0, mce.Mean);
        Assert.InRange(mce.CiHigh, mce.Mean, 1);
        Assert.Equal(0.5, mce.Mean, 12);
        Assert.Equal(0.4, mce.Std, 12);

        var top5 = MeanStats.Of([0.994, 1.0, 0.998], 0, 1);
        Assert.True(top5.CiHigh <= 1 && top5.CiLow >= 0 && top5.CiLow < top5.Mean);
        var nll = MeanStats.Of([0.01, 0.2, 0.05], 0, double.PositiveInfinity);
        Assert.True(nll.CiLow > 0 && nll.CiHigh > nll.Mean);
        var all = MeanStats.Of([1.0, 1.0, 1.0], 0, 1);
        Assert.Equal(1.0, all.CiHigh, 5);
        // Top-5 of 1, 0.9972, 0.9972 on 362 test rows: with half a sample of margin the interval stays near the values.
        var near = MeanStats.Of([1.0, 0.9972, 0.9972], 0, 1, margin: 0.5 / 362);
        Assert.InRange(near.CiLow, 0.98, near.Mean);
        Assert.InRange(near.CiHigh, near.Mean, 1);

        foreach (var (name, lo, hi) in new[] { ("accuracy", 0.0, 1.0), ("mce", 0, 1), ("top5", 0, 1), ("brier", 0, 2), ("nll", 0, double.PositiveInfinity), ("ece_ts", 0, 1) })
        {
            var col = Summary.Column(name);
            Assert.Equal((lo, hi), (col.Lower, col.Upper));
        }
    }
}
