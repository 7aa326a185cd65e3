using System.Numerics;
using LossKit.Core;

namespace LossKit.Metrics;

/// <summary>One bin of a reliability diagram: the confidence interval (<paramref name="Lower"/>, <paramref name="Upper"/>]
/// (bin 0 also holds confidence 0), how many rows fell in it, their mean confidence and their accuracy.</summary>
/// <param name="Lower">Lower edge b/B (exclusive, except that bin 0 also takes confidence exactly 0).</param>
/// <param name="Upper">Upper edge (b+1)/B (inclusive).</param>
/// <param name="Count">Rows whose top-label confidence falls in the bin.</param>
/// <param name="MeanConfidence">Mean max-probability of those rows; NaN when <paramref name="Count"/> is 0.</param>
/// <param name="Accuracy">Fraction of those rows predicted correctly; NaN when <paramref name="Count"/> is 0.</param>
public readonly record struct ReliabilityBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>
/// Calibration errors of softmax classifiers over row-major logits <c>[rows, classes]</c> and integer labels.
/// </summary>
/// <remarks>
/// <para><b>Top-label confidence.</b> For row i, p_i = softmax(z_i), the prediction ŷ_i is the arg-max (ties to the lowest
/// index), the confidence is c_i = max_k p_ik and the row is a hit when ŷ_i = y_i. Probabilities are computed in double
/// with the stable (max-subtracted) softmax, so ±1e30 and −∞ logits are fine.</para>
/// <para><b>Equal-width bins.</b> With B bins, bin b (0 ≤ b &lt; B) is the half-open interval (b/B, (b+1)/B], the edges
/// being the doubles <c>(double)b / B</c>; a confidence of exactly 0 goes into the first bin. Empty bins contribute
/// nothing.</para>
/// <para><b>NaN.</b> If any row has no defined softmax (a NaN or +∞ logit, or all logits −∞) the scalar errors are NaN
/// and <see cref="ReliabilityDiagram{T}"/> throws, since such a row cannot be placed in a bin.</para>
/// <para>Bad arguments throw as described on <see cref="ClassificationMetrics"/>; <c>bins</c> &lt; 1 throws an
/// <see cref="ArgumentOutOfRangeException"/> naming <c>bins</c>.</para>
/// </remarks>
public static class Calibration
{
    /// <summary>Expected calibration error with equal-width confidence bins:
    /// ECE = Σ_b (n_b / N)·|acc_b − conf_b|, acc_b and conf_b being the hit rate and mean top-label confidence of the
    /// n_b rows in bin b (Naeini, Cooper &amp; Hauskrecht 2015, "Obtaining well calibrated probabilities using Bayesian
    /// binning"; Guo, Pleiss, Sun &amp; Weinberger 2017, "On calibration of modern neural networks").</summary>
    /// <returns>A value in [0, 1]; NaN if a row has no defined softmax.</returns>
    public static double ExpectedCalibrationError<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins = 15)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        return Pass(logits, classes, labels, bins, ProbabilityPass.Needs.TopLabelBins).Ece;
    }

    /// <summary>Adaptive (equal-mass) top-label calibration error: the ECE formula Σ_b (n_b / N)·|acc_b − conf_b| over
    /// bins that each hold (nearly) the same number of rows, as proposed by Nixon, Dusenberry, Zhang, Jerfel &amp; Tran
    /// 2019, "Measuring calibration in deep learning".</summary>
    /// <remarks>Rows are sorted by confidence (ties by row index) and cut into B contiguous groups, group b holding the
    /// sorted positions [⌊bN/B⌋, ⌊(b+1)N/B⌋); rows with equal confidence may therefore straddle two groups. When N &lt; B
    /// some groups are empty and skipped. This is the top-label variant (often called "adaptive ECE"); Nixon et al.'s ACE
    /// additionally averages equal-mass bins over every class. O(N log N).</remarks>
    /// <returns>A value in [0, 1]; NaN if a row has no defined softmax.</returns>
    public static double AdaptiveCalibrationError<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins = 15)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        return Pass(logits, classes, labels, bins, ProbabilityPass.Needs.Confidences).AdaptiveEce;
    }

    /// <summary>Maximum calibration error: MCE = max_b |acc_b − conf_b| over the non-empty equal-width top-label bins
    /// (Naeini et al. 2015; Guo et al. 2017).</summary>
    /// <returns>A value in [0, 1]; NaN if a row has no defined softmax.</returns>
    public static double MaximumCalibrationError<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins = 15)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        return Pass(logits, classes, labels, bins, ProbabilityPass.Needs.TopLabelBins).Mce;
    }

    /// <summary>Class-wise (static) calibration error: for each class k, the equal-width-bin ECE of p_ik against
    /// [y_i = k] over all N rows, averaged over all K classes:
    /// (1/K) Σ_k Σ_b (n_kb / N)·|acc_kb − conf_kb| (the SCE of Nixon et al. 2019, "Measuring calibration in deep
    /// learning").</summary>
    /// <remarks>Every class counts in the average, including classes that never occur (their probabilities are then
    /// judged against an all-zero frequency). Bins as for <see cref="ExpectedCalibrationError{T}"/>; here probabilities
    /// of exactly 0 (underflow from −∞ or very negative logits) do occur and go into the first bin. O(N·K).</remarks>
    /// <returns>A value in [0, 1]; NaN if a row has no defined softmax.</returns>
    public static double ClasswiseCalibrationError<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins = 15)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        return Pass(logits, classes, labels, bins, ProbabilityPass.Needs.ClasswiseBins).ClasswiseEce;
    }

    /// <summary>Per-bin statistics of the top-label confidence for a reliability diagram (Guo et al. 2017): one
    /// <see cref="ReliabilityBin"/> per equal-width bin, in order, empty bins included (their mean confidence and accuracy
    /// are NaN). <see cref="ExpectedCalibrationError{T}"/> equals Σ_b (Count_b / N)·|Accuracy_b − MeanConfidence_b| over
    /// the non-empty bins.</summary>
    /// <exception cref="RowException">A row has no defined softmax (a NaN or +∞ logit, or all −∞), so its confidence
    /// cannot be binned; <see cref="ArgumentException.ParamName"/> is <c>logits</c>.</exception>
    public static ReliabilityBin[] ReliabilityDiagram<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins = 15)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pass = Pass(logits, classes, labels, bins, ProbabilityPass.Needs.TopLabelBins);
        if (pass.FirstUndefinedRow >= 0)
        {
            int r = pass.FirstUndefinedRow;
            throw new RowException(nameof(logits), r,
                $"logits row {r} has no defined softmax (it holds a NaN or +∞ logit, or is all −∞), so its confidence cannot be binned; expected finite logits or −∞ entries.");
        }
        return pass.Diagram();
    }

    /// <summary>Checks the arguments, then one probability pass computing what <paramref name="needs"/> asks for.</summary>
    private static ProbabilityPass Pass<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins, ProbabilityPass.Needs needs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        MetricInput.Validate(logits, classes, labels);
        MetricInput.Bins(bins);
        return ProbabilityPass.Run(logits, classes, labels, bins, needs);
    }
}
