using LossKit.Metrics;
using static LossKit.Tests.Metrics.MetricReference;

namespace LossKit.Tests.Metrics;

public class ClassificationReportTests
{
    [Fact]
    public void HandComputedCase()
    {
        // The 4-row, 3-class case worked out in ClassificationMetricsTests / CalibrationTests, with B = 4.
        var report = ClassificationReport.Evaluate(ClassificationMetricsTests.HandLogits, 3, ClassificationMetricsTests.HandLabels, bins: 4);
        Assert.Equal((4, 3, 4), (report.Rows, report.Classes, report.Bins));
        Assert.Equal(0.5, report.Accuracy, 1e-15);
        Assert.Equal(0.848307, report.NegativeLogLikelihood, 1e-6);
        Assert.Equal(0.495, report.Brier, 1e-12);
        Assert.Equal(0.225, report.ExpectedCalibrationError, 1e-12);
        Assert.Equal(0.4, report.MaximumCalibrationError, 1e-12);
        // Equal-mass with B = 4 on 4 rows: one row per group → mean |hit − conf| = (0.3 + 0.6 + 0.2 + 0.4)/4.
        Assert.Equal(0.375, report.AdaptiveCalibrationError, 1e-12);
        Assert.Equal(0.95 / 3, report.ClasswiseCalibrationError, 1e-12);
        Assert.Equal(4.0 / 9, report.MacroF1, 1e-15);
        Assert.Null(report.TopFiveAccuracy);
        Assert.Null(report.Auroc);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(5, 2)]
    [InlineData(6, 3)]
    [InlineData(12, 4)]
    public void AgreesWithTheIndividualMetrics(int classes, int seed)
    {
        var (logits, labels) = Calibrated(new Random(seed), 700, classes, 2.0);
        labels[0] = 0;
        labels[1] = 1;
        float[] f = ToFloat(logits);
        const int bins = 10;
        var report = ClassificationReport.Evaluate(f, classes, labels, bins);

        Assert.Equal(ClassificationMetrics.Accuracy(f, classes, labels), report.Accuracy);
        Assert.Equal(ClassificationMetrics.NegativeLogLikelihood(f, classes, labels), report.NegativeLogLikelihood);
        Assert.Equal(ClassificationMetrics.Brier(f, classes, labels), report.Brier);
        Assert.Equal(Calibration.ExpectedCalibrationError(f, classes, labels, bins), report.ExpectedCalibrationError);
        Assert.Equal(Calibration.AdaptiveCalibrationError(f, classes, labels, bins), report.AdaptiveCalibrationError);
        Assert.Equal(Calibration.MaximumCalibrationError(f, classes, labels, bins), report.MaximumCalibrationError);
        Assert.Equal(Calibration.ClasswiseCalibrationError(f, classes, labels, bins), report.ClasswiseCalibrationError);
        Assert.Equal(ClassificationMetrics.MacroF1(f, classes, labels), report.MacroF1);

        if (classes > 5) Assert.Equal(ClassificationMetrics.TopKAccuracy(f, classes, labels, 5), report.TopFiveAccuracy);
        else Assert.Null(report.TopFiveAccuracy);

        if (classes == 2)
        {
            Assert.NotNull(report.Auroc);
            Assert.Equal(ClassificationMetrics.Auroc(f, 2, labels), report.Auroc);
            // Against the pairwise reference on z1 − z0.
            double[] scores = Enumerable.Range(0, labels.Length).Select(r => (double)f[2 * r + 1] - f[2 * r]).ToArray();
            Assert.Equal(PairwiseAuroc(scores, labels), report.Auroc!.Value, 1e-12);
        }
        else Assert.Null(report.Auroc);
    }

    [Fact]
    public void TwoClasses_WithOnlyOneClassInLabels_HasNullAuroc()
    {
        var report = ClassificationReport.Evaluate(new float[] { 0f, 1f, 2f, 0f }, 2, [1, 1]);
        Assert.Null(report.Auroc);
        Assert.Equal(0.5, report.Accuracy);
    }

    [Fact]
    public void ExtremeLogits_GiveAFiniteReport()
    {
        float[] logits =
        [
            1e30f, -1e30f, float.NegativeInfinity, 0f, 0f, 0f,
            -1e30f, 1e30f, 0f, 0f, 0f, float.NegativeInfinity,
            float.NegativeInfinity, 0f, float.NegativeInfinity, 1e30f, -1e30f, 0f,
        ];
        var report = ClassificationReport.Evaluate(logits, 6, [0, 2, 3]);
        double[] values =
        [
            report.Accuracy, report.NegativeLogLikelihood, report.Brier, report.ExpectedCalibrationError,
            report.AdaptiveCalibrationError, report.MaximumCalibrationError, report.ClasswiseCalibrationError,
            report.MacroF1, report.TopFiveAccuracy!.Value,
        ];
        Assert.All(values, v => Assert.True(double.IsFinite(v), $"{v} is not finite"));
        // Predictions 0, 1, 3 vs labels 0, 2, 3 → 2/3; row 1: only class 1 beats its true logit 0 (rank 1 < 5) → top-5 = 1.
        Assert.Equal(2.0 / 3, report.Accuracy, 1e-15);
        Assert.Equal(1.0, report.TopFiveAccuracy);
    }
}
