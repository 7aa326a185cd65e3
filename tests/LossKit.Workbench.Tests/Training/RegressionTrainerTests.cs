using LossKit.Workbench.Data;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class RegressionDataTests
{
    [Theory]
    [InlineData("concrete", 1030, 8, 20, 50, 40)]
    [InlineData("energy", 768, 8, 20, 50, 40)]
    [InlineData("kin8nm", 8192, 8, 20, 50, 40)]
    [InlineData("naval-propulsion-plant", 11934, 16, 20, 50, 40)]
    [InlineData("power-plant", 9568, 4, 20, 50, 40)]
    [InlineData("protein-tertiary-structure", 45730, 9, 5, 100, 20)]
    [InlineData("wine-quality-red", 1599, 11, 20, 50, 40)]
    [InlineData("yacht", 308, 6, 20, 50, 40)]
    [InlineData("diabetes", 442, 10, 20, 50, 40)]
    public void EverySetLoadsWithItsSplits(string name, int rows, int features, int splits, int hidden, int epochs)
    {
        var set = UciRegression.Load(name);
        Assert.Equal(rows, set.Rows);
        Assert.Equal(features, set.FeatureCount);
        Assert.Equal(rows * features, set.Features.Length);
        Assert.Equal(splits, set.Splits.Count);
        Assert.Equal((hidden, epochs), (set.Hidden, set.Epochs));
        foreach (var (train, test) in set.Splits)
        {
            Assert.Empty(train.Intersect(test));
            Assert.Equal(rows, train.Length + test.Length);
        }
    }

    [Fact]
    public void SplitSizesAreThoseOfTheFiles()
    {
        var set = UciRegression.Load("concrete");
        // index_train_0.txt has 927 lines and index_test_0.txt 103 (a 90/10 split of 1030 rows).
        Assert.Equal(927, set.Splits[0].Train.Length);
        Assert.Equal(103, set.Splits[0].Test.Length);
        Assert.Equal(339, set.Splits[0].Train[0]);
        Assert.Equal("protein-tertiary-structure", UciRegression.Resolve("protein"));
    }

    [Fact]
    public void UnknownSetsAndSplitsAreRefused()
    {
        Assert.Contains("unknown regression data set", Assert.Throws<ArgumentException>(() => UciRegression.Load("boston")).Message);
        Assert.Contains("splits 0..4", Assert.ThrowsAny<ArgumentException>(() => RegressionTrainer.Run(new RegressionRunConfig { Data = "protein", Split = 5 })).Message);
    }
}

public class RegressionTrainerTests
{
    private static readonly RegressionRunConfig Short = new() { Data = "yacht", Epochs = 10, Model = "mlp:16" };

    [Fact]
    public void AShortRunBeatsAConstantPredictor()
    {
        var r = RegressionTrainer.Run(Short with { Loss = "mse" });
        var set = UciRegression.Load("yacht");
        var (train, test) = set.Splits[0];
        double mean = train.Average(i => (double)set.Targets[i]);
        double constantRmse = Math.Sqrt(test.Average(i => (set.Targets[i] - mean) * (set.Targets[i] - mean)));
        Assert.True(r.Test["rmse"] < 0.6 * constantRmse, $"rmse {r.Test["rmse"]} vs constant {constantRmse}");
        Assert.Equal(RegressionMetrics.Names, r.Test.Keys);
        Assert.Equal(set.Splits[0].Test.Length, r.TestRows);
        Assert.Equal(train.Length, r.TrainRows + r.HoldoutRows);
    }

    [Theory]
    [InlineData("gaussian_nll", "mean+var")]
    [InlineData("laplace_nll", "mean+scale")]
    [InlineData("gg_nll", "mean+alpha+beta")]
    [InlineData("huber", "point")]
    [InlineData("quantile(tau=[0.05,0.5,0.95])", "3 quantiles")]
    public void TheLossDecidesTheHead(string loss, string head)
    {
        var r = RegressionTrainer.Run(Short with { Loss = loss, Epochs = 2 });
        Assert.Equal(head, r.Head);
        Assert.All(r.Test.Values, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void RunsAreDeterministic()
    {
        var a = RegressionTrainer.Run(Short with { Loss = "gaussian_nll", Epochs = 3, Seed = 2, Split = 3 });
        var b = RegressionTrainer.Run(Short with { Loss = "gaussian_nll", Epochs = 3, Seed = 2, Split = 3 });
        Assert.Equal(a.Test, b.Test);
        Assert.Equal(a.TrainLoss, b.TrainLoss);
    }

    [Theory]
    [InlineData("gaussian_nll")]
    [InlineData("laplace_nll")]
    [InlineData("gg_nll(predict=both)")]
    [InlineData("quantile(tau=[0.1,0.9])")]
    public void TheHeadsGradientMatchesFiniteDifferences(string loss)
    {
        var head = RegressionHead.For(loss);
        int rows = 3, k = head.Outputs;
        float[] output = [.. Enumerable.Range(0, rows * k).Select(i => (float)(0.3 * Math.Sin(i + 1)))];
        float[] y = [0.5f, -0.7f, 1.2f];
        var grad = new float[rows * k];
        head.LossAndGradient(output, y, grad);
        for (int i = 0; i < output.Length; i++)
        {
            const float h = 1e-2f;
            float[] plus = (float[])output.Clone(), minus = (float[])output.Clone();
            plus[i] += h;
            minus[i] -= h;
            double numeric = (head.LossAndGradient(plus, y, new float[rows * k]) - head.LossAndGradient(minus, y, new float[rows * k])) / (2.0 * h);
            Assert.True(Math.Abs(numeric - grad[i]) < 2e-3 + 2e-2 * Math.Abs(numeric), $"{loss} output {i}: analytic {grad[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void NoiseOnlyTouchesTrainingTargetsAndIsReported()
    {
        var clean = RegressionTrainer.Run(Short with { Epochs = 1 });
        var noisy = RegressionTrainer.Run(Short with { Epochs = 1, Noise = "outliers:0.2" });
        Assert.Equal(clean.TestTargets, noisy.TestTargets);
        Assert.Equal(clean.TrainRows + clean.HoldoutRows, noisy.Noise.Rows);
        Assert.InRange(noisy.Noise.RealisedFraction, 0.12, 0.28);
        Assert.Equal(noisy.Noise.Changed / (double)noisy.Noise.Rows, noisy.Noise.RealisedFraction);
    }
}

public class RegressionNoiseTests
{
    [Fact]
    public void OutliersReplaceTheGivenFractionFarFromTheMean()
    {
        var y = Enumerable.Range(0, 10000).Select(i => (float)(i % 100) / 100).ToArray();
        var clean = (float[])y.Clone();
        double mean = clean.Average(v => (double)v), sd = Math.Sqrt(clean.Sum(v => (v - mean) * (v - mean)) / (clean.Length - 1));
        var report = RegressionNoise.Apply(y, "outliers:0.2", 7);
        Assert.Equal(y.Zip(clean).Count(p => p.First != p.Second), report.Changed);
        Assert.InRange(report.RealisedFraction, 0.19, 0.21);
        foreach (var (v, c) in y.Zip(clean))
            if (v != c) Assert.InRange(Math.Abs(v - mean) / sd, RegressionNoise.OutlierMin - 1e-4, RegressionNoise.OutlierMax + 1e-4);
    }

    [Theory]
    [InlineData("gaussian:0.5", 0.5)]
    [InlineData("student_t:5:0.5", 0.5 * 1.2909944)]   // sd of t_5 is √(5/3)
    public void AdditiveNoiseHasTheRequestedSpread(string spec, double expectedRmsInSd)
    {
        var y = Enumerable.Range(0, 20000).Select(i => (float)(i % 2)).ToArray();
        double sd = Math.Sqrt(0.5 * 0.5 * 20000 / 19999.0);
        var report = RegressionNoise.Apply(y, spec, 1);
        Assert.Equal(20000, report.Changed);
        Assert.InRange(report.RealisedRms / sd, 0.95 * expectedRmsInSd, 1.05 * expectedRmsInSd);
    }

    [Theory]
    [InlineData("outliers")]
    [InlineData("outliers:1.5")]
    [InlineData("student_t:0:1")]
    [InlineData("symmetric:0.2")]
    public void BadSpecsAreRefused(string spec) =>
        Assert.StartsWith($"--noise {spec}:", Assert.Throws<ArgumentException>(() => RegressionNoise.Parse(spec)).Message);
}

public class RegressionMetricsTests
{
    [Fact]
    public void GaussianMetricsMatchHandComputedValues()
    {
        // N(0, 1) and N(1, 2²) predictions of targets 0 and 3.
        var p = new GaussianPredictive([0, 1], [1, 2]);
        var e = RegressionMetrics.Evaluate([0.0, 3.0], p);
        Assert.Equal(Math.Sqrt((0 + 4) / 2.0), e.Test["rmse"], 12);
        Assert.Equal(1.0, e.Test["mae"], 12);
        double nll0 = 0.5 * Math.Log(2 * Math.PI), nll1 = 0.5 * Math.Log(2 * Math.PI) + Math.Log(2) + 0.5;
        Assert.Equal((nll0 + nll1) / 2, e.Test["nll"], 9);
        // CRPS of N(0,1) at 0: 2φ(0) − 1/√π = 0.2336950; of N(1,4) at 3 (z = 1): 2·[1·(2Φ(1) − 1) + 2φ(1) − 1/√π].
        double crps0 = 2 / Math.Sqrt(2 * Math.PI) - 1 / Math.Sqrt(Math.PI);
        double crps1 = 2 * (0.6826894921 + 2 * 0.2419707245 - 1 / Math.Sqrt(Math.PI));
        Assert.Equal((crps0 + crps1) / 2, e.Test["crps"], 6);
        // 90% intervals: ±1.6449 and ±3.2897: 0 is inside, 3 (2 from the mean 1) is inside too.
        Assert.Equal(1.0, e.Test["coverage_90"]);
        Assert.Equal((2 * 1.6448536 + 2 * 3.2897073) / 2, e.Test["width_90"], 5);
        Assert.Equal(0.5, e.Pit[0], 6);
    }

    [Fact]
    public void LaplaceCrpsAndIntervalMatchTheClosedForm()
    {
        var p = new LaplacePredictive([0, 0], [1, 1]);
        var e = RegressionMetrics.Evaluate([0.0, 3.0], p);
        // CRPS of Laplace(0, 1) at y: |y| + e^{−|y|} − 3/4.
        Assert.Equal(((1 - 0.75) + (3 + Math.Exp(-3) - 0.75)) / 2, e.Test["crps"], 12);
        // 90% half-width ln 10 = 2.3026: 3 is outside.
        Assert.Equal(0.5, e.Test["coverage_90"]);
        Assert.Equal(2 * Math.Log(10), e.Test["width_90"], 12);
        Assert.Equal(Math.Log(2) + 1.5, e.Test["nll"], 12);
    }

    [Fact]
    public void TheGeneralizedGaussianReducesToGaussianAndLaplace()
    {
        double[] mean = [0.3];
        var gauss = new GaussianPredictive(mean, [1.5]);
        var gg2 = new GeneralizedGaussianPredictive(mean, [1.5 * Math.Sqrt(2)], [2]);
        var laplace = new LaplacePredictive(mean, [0.8]);
        var gg1 = new GeneralizedGaussianPredictive(mean, [0.8], [1]);
        foreach (double y in new[] { -2.0, 0.3, 1.1, 4 })
        {
            Assert.Equal(gauss.LogPdf(0, y), gg2.LogPdf(0, y), 9);
            Assert.Equal(gauss.Cdf(0, y), gg2.Cdf(0, y), 6);
            Assert.Equal(gauss.Crps(0, y), gg2.Crps(0, y), 3);
            Assert.Equal(laplace.Cdf(0, y), gg1.Cdf(0, y), 9);
            Assert.Equal(laplace.Crps(0, y), gg1.Crps(0, y), 3);
        }
        Assert.Equal(gauss.HalfWidth(0, 0.9), gg2.HalfWidth(0, 0.9), 6);
    }

    [Fact]
    public void CalibrationCountsTargetsInsideTheCentralIntervals()
    {
        var p = new GaussianPredictive([0, 0, 0, 0], [1, 1, 1, 1]);
        var e = RegressionMetrics.Evaluate([0.0, 0.5, 1.0, 3.0], p);
        // |2Φ(y) − 1|: 0, 0.383, 0.683, 0.997.
        Assert.Equal(new[] { 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 0.75, 0.75 }, e.Calibration.Select(c => c.Observed));
        Assert.Equal(new[] { 0, 0, 0, 0, 0, 1, 1, 0, 1, 1 }, RegressionMetrics.PitHistogram(e.Pit));
    }

    [Fact]
    public void SplitsParse()
    {
        Assert.Null(RegressionComparison.ParseSplits("standard"));
        Assert.Equal([3], RegressionComparison.ParseSplits("standard:3"));
        Assert.Equal([0, 1, 2, 7], RegressionComparison.ParseSplits("standard:0-2,7"));
        Assert.Contains("standard:i", Assert.Throws<ArgumentException>(() => RegressionComparison.ParseSplits("0.8/0.1/0.1")).Message);
    }
}
