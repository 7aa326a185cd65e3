using FsCheck.Xunit;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Metrics;
using static LossKit.Tests.Metrics.MetricReference;

namespace LossKit.Tests.Metrics;

public class TemperatureScalingTests
{
    [Fact]
    public void Fit_HandComputed_BinaryCase()
    {
        // Four rows with logits [4, 0]; labels 0, 0, 0, 1. With u = 1/T and p = σ(4u),
        // NLL(u) = −(3 ln p + ln(1 − p))/4 is minimised where p = 3/4, i.e. 4u = ln 3, so T = 4/ln 3 = 3.6409569…
        float[] logits = [4f, 0f, 4f, 0f, 4f, 0f, 4f, 0f];
        double t = TemperatureScaling.Fit(logits, 2, [0, 0, 0, 1]);
        Assert.Equal(4 / Math.Log(3), t, 1e-9);
        Assert.Equal(3.6409569, t, 1e-6);
    }

    [Fact]
    public void Fit_FindsTheScaleOfOverConfidentLogits()
    {
        // Calibrated logits (labels drawn from their own softmax) should give T ≈ 1; the same logits × 3 give T ≈ 3.
        var (logits, labels) = Calibrated(new Random(7), 20_000, 5, 1.0);
        double t1 = TemperatureScaling.Fit(logits, 5, labels);
        Assert.InRange(t1, 0.9, 1.1);

        float[] sharp = ToFloat(logits.Select(v => 3 * v).ToArray());
        double t3 = TemperatureScaling.Fit(sharp, 5, labels);
        Assert.True(t3 > 1);
        Assert.InRange(t3, 2.7, 3.3);

        // Rescaling with the fitted T repairs most of the calibration error.
        float[] fixedLogits = new float[sharp.Length];
        TemperatureScaling.Apply(sharp, t3, fixedLogits);
        Assert.True(Calibration.ExpectedCalibrationError(fixedLogits, 5, labels) < 0.02);
        Assert.True(Calibration.ExpectedCalibrationError(sharp, 5, labels) > 0.1);
    }

    [Property(MaxTest = 40)]
    public void Fit_NeverIncreasesNll_AndBeatsAGridOfTemperatures(int seed)
    {
        var rng = new Random(seed);
        int classes = rng.Next(2, 7), rows = rng.Next(1, 150);
        var (logits, labels) = rng.Next(2) == 0 ? Uniform(rng, rows, classes, 5) : Calibrated(rng, rows, classes, rng.NextDouble() * 4);
        double t = TemperatureScaling.Fit(logits, classes, labels);
        Assert.InRange(t, TemperatureScaling.MinTemperature, TemperatureScaling.MaxTemperature);

        double fitted = TemperatureScaling.NegativeLogLikelihood(logits, classes, labels, t);
        double atOne = TemperatureScaling.NegativeLogLikelihood(logits, classes, labels, 1);
        Assert.True(fitted <= atOne + 1e-12 * Math.Abs(atOne), $"NLL at fitted T={t}: {fitted} > NLL at T=1: {atOne}");
        // Independent check of NLL(T) with the reference on the rescaled logits.
        double[] scaled = logits.Select(v => v / t).ToArray();
        Assert.Equal(Nll(scaled, classes, labels), fitted, 1e-10);

        for (double logT = -3; logT <= 3; logT += 0.25)
        {
            double other = TemperatureScaling.NegativeLogLikelihood(logits, classes, labels, Math.Pow(10, logT));
            Assert.True(fitted <= other + 1e-12 * Math.Abs(other), $"NLL at fitted T={t}: {fitted} > NLL at T=10^{logT}: {other}");
        }
    }

    [Fact]
    public void Fit_HitsTheInterval_EndsOrReturnsOneWhenFlat()
    {
        // Perfectly separated: NLL keeps falling as T → 0.
        float[] logits = [2f, 0f, 0f, 2f];
        Assert.Equal(TemperatureScaling.MinTemperature, TemperatureScaling.Fit(logits, 2, [0, 1]));
        // Every label is the smaller logit: NLL keeps falling as T → ∞.
        Assert.Equal(TemperatureScaling.MaxTemperature, TemperatureScaling.Fit(logits, 2, [1, 0]));
        // Equal logits: NLL = ln 2 at every T.
        Assert.Equal(1.0, TemperatureScaling.Fit(new float[] { 1f, 1f, -3f, -3f }, 2, [0, 1]));
    }

    [Fact]
    public void Fit_IgnoresRowsWhoseTrueLogitIsMinusInfinity_AndHandlesExtremeLogits()
    {
        var (logits, labels) = Calibrated(new Random(3), 500, 3, 2.0);
        double t = TemperatureScaling.Fit(logits, 3, labels);

        // Append a row whose label's logit is −∞ (infinite NLL at every T): the fit does not move.
        double[] more = [.. logits, 0, double.NegativeInfinity, 1];
        int[] moreLabels = [.. labels, 1];
        Assert.Equal(t, TemperatureScaling.Fit(more, 3, moreLabels), 1e-12);
        Assert.Equal(double.PositiveInfinity, TemperatureScaling.NegativeLogLikelihood(more, 3, moreLabels, t));

        // ±1e30 and −∞ entries elsewhere: a finite T inside the interval that still does not increase the NLL.
        double[] extreme = [.. logits, 1e30, -1e30, double.NegativeInfinity, -1e30, 0, 1e30];
        int[] extremeLabels = [.. labels, 0, 2];
        double te = TemperatureScaling.Fit(extreme, 3, extremeLabels);
        Assert.InRange(te, TemperatureScaling.MinTemperature, TemperatureScaling.MaxTemperature);
        double fitted = TemperatureScaling.NegativeLogLikelihood(extreme, 3, extremeLabels, te);
        Assert.True(double.IsFinite(fitted));
        Assert.True(fitted <= TemperatureScaling.NegativeLogLikelihood(extreme, 3, extremeLabels, 1));
    }

    [Fact]
    public void Fit_IsTheSameForAnyThreadCount()
    {
        var (logits, labels) = Calibrated(new Random(11), 30_000, 4, 2.0);
        float[] f = ToFloat(logits.Select(v => 2 * v).ToArray());
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            double single = TemperatureScaling.Fit(f, 4, labels);
            Parallelism.MaxThreads = 4;
            double multi = TemperatureScaling.Fit(f, 4, labels);
            Assert.Equal(single, multi);
            Assert.InRange(single, 1.8, 2.2);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Fact]
    public void Apply_DividesByT()
    {
        float[] logits = [2f, float.NegativeInfinity, -4f, 1e30f];
        float[] result = new float[4];
        TemperatureScaling.Apply(logits, 2.0, result);
        Assert.Equal(new[] { 1f, float.NegativeInfinity, -2f, 5e29f }, result);
        // In place.
        TemperatureScaling.Apply(logits, 0.5, logits);
        Assert.Equal(new[] { 4f, float.NegativeInfinity, -8f, 2e30f }, logits);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Apply_RejectsBadTemperature(double temperature)
    {
        float[] logits = [1f, 2f];
        var e = Assert.ThrowsAny<ArgumentException>(() => TemperatureScaling.Apply(logits, temperature, new float[2]));
        Assert.Equal("temperature", e.ParamName);
        Assert.Contains("greater than 0", e.Message);
        Assert.Contains(temperature.ToString(), e.Message);
    }

    [Fact]
    public void Apply_RejectsLengthMismatch()
    {
        var e = Assert.Throws<ArgumentException>(() => TemperatureScaling.Apply(new float[] { 1f, 2f, 3f }, 1.5, new float[2]));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("2", e.Message);
        Assert.Contains("3", e.Message);
    }

    [Fact]
    public void Fit_RejectsNaNAndPositiveInfinity()
    {
        var e = Assert.Throws<RowException>(() => TemperatureScaling.Fit(new float[] { 0f, 1f, 2f, float.NaN }, 2, [0, 1]));
        Assert.Equal("logits", e.ParamName);
        Assert.Equal(1, e.Row);
        Assert.Contains("row 1, class 1", e.Message);
        Assert.Contains("NaN", e.Message);

        var inf = Assert.Throws<RowException>(() => TemperatureScaling.Fit(new double[] { double.PositiveInfinity, 1 }, 2, [0]));
        Assert.Equal(0, inf.Row);
        Assert.Contains(double.PositiveInfinity.ToString(), inf.Message);
    }
}
