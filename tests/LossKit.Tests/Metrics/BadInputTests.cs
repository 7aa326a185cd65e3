using LossKit.Core;
using LossKit.Metrics;

namespace LossKit.Tests.Metrics;

public class BadInputTests
{
    private delegate void Metric(float[] logits, int classes, int[] labels);

    private static readonly Dictionary<string, Metric> Metrics = new()
    {
        ["Accuracy"] = (z, c, y) => ClassificationMetrics.Accuracy(z, c, y),
        ["TopKAccuracy"] = (z, c, y) => ClassificationMetrics.TopKAccuracy(z, c, y, 2),
        ["NegativeLogLikelihood"] = (z, c, y) => ClassificationMetrics.NegativeLogLikelihood(z, c, y),
        ["Brier"] = (z, c, y) => ClassificationMetrics.Brier(z, c, y),
        ["MacroF1"] = (z, c, y) => ClassificationMetrics.MacroF1(z, c, y),
        ["ExpectedCalibrationError"] = (z, c, y) => Calibration.ExpectedCalibrationError(z, c, y),
        ["AdaptiveCalibrationError"] = (z, c, y) => Calibration.AdaptiveCalibrationError(z, c, y),
        ["MaximumCalibrationError"] = (z, c, y) => Calibration.MaximumCalibrationError(z, c, y),
        ["ClasswiseCalibrationError"] = (z, c, y) => Calibration.ClasswiseCalibrationError(z, c, y),
        ["ReliabilityDiagram"] = (z, c, y) => Calibration.ReliabilityDiagram(z, c, y),
        ["TemperatureScaling.Fit"] = (z, c, y) => TemperatureScaling.Fit(z, c, y),
        ["TemperatureScaling.NegativeLogLikelihood"] = (z, c, y) => TemperatureScaling.NegativeLogLikelihood(z, c, y, 1.5),
        ["ClassificationReport.Evaluate"] = (z, c, y) => ClassificationReport.Evaluate(z, c, y),
    };

    private delegate void BinnedMetric(float[] logits, int classes, int[] labels, int bins);

    private static readonly Dictionary<string, BinnedMetric> Binned = new()
    {
        ["ExpectedCalibrationError"] = (z, c, y, b) => Calibration.ExpectedCalibrationError(z, c, y, b),
        ["AdaptiveCalibrationError"] = (z, c, y, b) => Calibration.AdaptiveCalibrationError(z, c, y, b),
        ["MaximumCalibrationError"] = (z, c, y, b) => Calibration.MaximumCalibrationError(z, c, y, b),
        ["ClasswiseCalibrationError"] = (z, c, y, b) => Calibration.ClasswiseCalibrationError(z, c, y, b),
        ["ReliabilityDiagram"] = (z, c, y, b) => Calibration.ReliabilityDiagram(z, c, y, b),
        ["ClassificationReport.Evaluate"] = (z, c, y, b) => ClassificationReport.Evaluate(z, c, y, b),
    };

    public static TheoryData<string> MetricNames => new(Metrics.Keys);
    public static TheoryData<string> BinnedNames => new(Binned.Keys);

    // Two rows of three classes.
    private static readonly float[] Good = [1f, 2f, 3f, 0f, -1f, 5f];

    [Theory, MemberData(nameof(MetricNames))]
    public void ClassesBelowOne_Throws(string name)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Metrics[name](Good, 0, [0, 1]));
        Assert.Equal("classes", e.ParamName);
        Assert.Contains("classes is 0", e.Message);
        Assert.Contains("at least 1", e.Message);
    }

    [Theory, MemberData(nameof(MetricNames))]
    public void EmptyLogits_Throws(string name)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Metrics[name]([], 3, []));
        Assert.Equal("logits", e.ParamName);
        Assert.Contains("empty", e.Message);
        Assert.Contains("at least one row", e.Message);
    }

    [Theory, MemberData(nameof(MetricNames))]
    public void RaggedLogits_Throws(string name)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Metrics[name]([.. Good, 9f], 3, [0, 1]));
        Assert.Equal("logits", e.ParamName);
        Assert.Contains("7 values", e.Message);
        Assert.Contains("multiple of 3", e.Message);
    }

    [Theory, MemberData(nameof(MetricNames))]
    public void LabelCountMismatch_Throws_WithBothLengths(string name)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Metrics[name](Good, 3, [0, 1, 2]));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("labels has 3 values", e.Message);
        Assert.Contains("2 rows", e.Message);
    }

    [Theory, MemberData(nameof(MetricNames))]
    public void LabelOutOfRange_Throws_WithRowAndValue(string name)
    {
        var high = Assert.Throws<RowException>(() => Metrics[name](Good, 3, [0, 3]));
        Assert.Equal("labels", high.ParamName);
        Assert.Equal(1, high.Row);
        Assert.Contains("labels[1] = 3", high.Message);
        Assert.Contains("row 1", high.Message);
        Assert.Contains("[0, 3)", high.Message);

        var negative = Assert.Throws<RowException>(() => Metrics[name](Good, 3, [-1, 0]));
        Assert.Equal(0, negative.Row);
        Assert.Contains("labels[0] = -1", negative.Message);
    }

    [Theory, MemberData(nameof(BinnedNames))]
    public void BinsBelowOne_Throws(string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Binned[name](Good, 3, [0, 1], 0));
        Assert.Equal("bins", e.ParamName);
        Assert.Contains("bins is 0", e.Message);
        Assert.Contains("at least 1", e.Message);
        Assert.Equal(-2, Assert.Throws<ArgumentOutOfRangeException>(() => Binned[name](Good, 3, [0, 1], -2)).ActualValue);
    }

    [Fact]
    public void KBelowOne_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.TopKAccuracy(Good, 3, [0, 1], k: 0));
        Assert.Equal("k", e.ParamName);
        Assert.Contains("k is 0", e.Message);
        Assert.Contains("at least 1", e.Message);
    }

    [Fact]
    public void Auroc_BadInputs_Throw()
    {
        var empty = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Auroc(Array.Empty<float>(), []));
        Assert.Equal("scores", empty.ParamName);
        Assert.Contains("empty", empty.Message);

        var mismatch = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Auroc(new[] { 1f, 2f, 3f }, [0, 1]));
        Assert.Equal("binaryLabels", mismatch.ParamName);
        Assert.Contains("binaryLabels has 2 values", mismatch.Message);
        Assert.Contains("scores has 3", mismatch.Message);

        var notBinary = Assert.Throws<RowException>(() => ClassificationMetrics.Auroc(new[] { 1f, 2f, 3f }, [0, 1, 2]));
        Assert.Equal("binaryLabels", notBinary.ParamName);
        Assert.Equal(2, notBinary.Row);
        Assert.Contains("binaryLabels[2] = 2", notBinary.Message);
        Assert.Contains("expected 0 or 1", notBinary.Message);

        var oneClass = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Auroc(new[] { 1f, 2f }, [1, 1]));
        Assert.Equal("binaryLabels", oneClass.ParamName);
        Assert.Contains("only class 1", oneClass.Message);

        var threeClasses = Assert.Throws<ArgumentOutOfRangeException>(() => ClassificationMetrics.Auroc(Good, 3, [0, 1]));
        Assert.Equal("classes", threeClasses.ParamName);
        Assert.Contains("exactly 2", threeClasses.Message);

        var badLabel = Assert.Throws<RowException>(() => ClassificationMetrics.Auroc(Good, 2, [0, 1, 2]));
        Assert.Equal("labels", badLabel.ParamName);
        Assert.Equal(2, badLabel.Row);
    }
}
