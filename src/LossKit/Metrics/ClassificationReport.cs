using System.Numerics;

namespace LossKit.Metrics;

/// <summary>
/// The standard accuracy and calibration numbers of a classifier on one labelled set of logits, gathered by
/// <see cref="Evaluate{T}"/> in a single softmax pass. Each value is defined exactly as by the method of the same name on
/// <see cref="ClassificationMetrics"/> or <see cref="Calibration"/> (NaN rules included).
/// </summary>
/// <param name="Rows">Number of rows N.</param>
/// <param name="Classes">Number of classes K.</param>
/// <param name="Bins">Number of calibration bins B.</param>
/// <param name="Accuracy">Top-1 accuracy.</param>
/// <param name="NegativeLogLikelihood">Mean −log softmax(z)_y.</param>
/// <param name="Brier">Multi-class Brier score Σ_k (p_k − [y = k])², averaged over rows.</param>
/// <param name="ExpectedCalibrationError">Equal-width top-label ECE.</param>
/// <param name="AdaptiveCalibrationError">Equal-mass top-label ECE.</param>
/// <param name="MaximumCalibrationError">Largest per-bin gap of the equal-width top-label bins.</param>
/// <param name="ClasswiseCalibrationError">Class-wise ECE averaged over classes.</param>
/// <param name="MacroF1">Macro-averaged F1 over the classes present in labels or predictions.</param>
/// <param name="TopFiveAccuracy">Top-5 accuracy when K &gt; 5, otherwise null.</param>
/// <param name="Auroc">AUROC of z₁ − z₀ when K = 2 and both classes occur in the labels, otherwise null.</param>
public sealed record ClassificationReport(
    int Rows,
    int Classes,
    int Bins,
    double Accuracy,
    double NegativeLogLikelihood,
    double Brier,
    double ExpectedCalibrationError,
    double AdaptiveCalibrationError,
    double MaximumCalibrationError,
    double ClasswiseCalibrationError,
    double MacroF1,
    double? TopFiveAccuracy,
    double? Auroc)
{
    /// <summary>Evaluates all the report's metrics on <paramref name="logits"/> <c>[rows, classes]</c> and
    /// <paramref name="labels"/> with <paramref name="bins"/> calibration bins (default 15).</summary>
    /// <exception cref="ArgumentException">Bad shape, labels or bins, as for the individual metrics.</exception>
    public static ClassificationReport Evaluate<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins = 15)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = MetricInput.Validate(logits, classes, labels);
        MetricInput.Bins(bins);
        const ProbabilityPass.Needs all = ProbabilityPass.Needs.Nll | ProbabilityPass.Needs.Brier |
            ProbabilityPass.Needs.TopLabelBins | ProbabilityPass.Needs.ClasswiseBins | ProbabilityPass.Needs.Confidences;
        var pass = ProbabilityPass.Run(logits, classes, labels, bins, all);

        double? auroc = null;
        if (classes == 2)
        {
            int positives = 0;
            foreach (int y in labels) positives += y;
            if (positives > 0 && positives < rows) auroc = ClassificationMetrics.Auroc(logits, classes, labels);
        }

        return new ClassificationReport(
            rows,
            classes,
            bins,
            ClassificationMetrics.Accuracy(logits, classes, labels),
            pass.MeanNll,
            pass.MeanBrier,
            pass.Ece,
            pass.AdaptiveEce,
            pass.Mce,
            pass.ClasswiseEce,
            ClassificationMetrics.MacroF1(logits, classes, labels),
            classes > 5 ? ClassificationMetrics.TopKAccuracy(logits, classes, labels, 5) : null,
            auroc);
    }
}
