using System.Numerics;
using LossKit.Core;

namespace LossKit.Metrics;

/// <summary>
/// Classification metrics over row-major logits <c>[rows, classes]</c> with one integer label per row.
/// Logits may be <see cref="float"/>, <see cref="double"/> or <see cref="Half"/>; every result is a <see cref="double"/>
/// accumulated in double precision.
/// </summary>
/// <remarks>
/// <para><b>Predictions.</b> The predicted class of a row is the arg-max of its logits, ties going to the lowest class
/// index (as numpy's <c>argmax</c>). Softmax is monotone, so this is also the arg-max of the probabilities.</para>
/// <para><b>Probabilities</b> are computed from the logits converted to double with the max-subtracted
/// <see cref="LossKit.Kernels.StableMath"/> softmax / log-softmax, so logits of ±1e30 and −∞ entries give finite
/// results (except the negative log-likelihood of a row whose true-class logit is −∞, which is +∞).</para>
/// <para><b>NaN and +∞.</b> Any NaN logit makes every metric that depends on that row NaN (accuracy, top-k accuracy and
/// macro-F1 included: the prediction of such a row is undefined). A +∞ logit, or a row that is entirely −∞, has no
/// defined softmax (∞ − ∞), so probability-based metrics (NLL, Brier and the calibration errors) are NaN; arg-max based
/// metrics still treat +∞ as the largest value.</para>
/// <para><b>Bad input</b> throws an <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is
/// the offending argument and whose message gives the value, the row (where there is one; the exception is then a
/// <see cref="RowException"/>) and what was expected: <c>classes</c> &lt; 1, empty <c>logits</c>, a logits length that
/// is not a multiple of <c>classes</c>, a label count different from the row count, a label outside
/// [0, classes), <c>k</c> &lt; 1 or <c>bins</c> &lt; 1.</para>
/// </remarks>
public static class ClassificationMetrics
{
    /// <summary>Top-1 accuracy: (1/N) Σ_i [argmax_j z_ij = y_i].</summary>
    /// <returns>A value in [0, 1], or NaN if any logit is NaN.</returns>
    public static double Accuracy<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = MetricInput.Validate(logits, classes, labels);
        return CountTopK(logits, classes, labels, rows, 1);
    }

    /// <summary>Top-k accuracy: the fraction of rows whose true class is among the k largest logits.</summary>
    /// <remarks>Ties are broken by class index exactly as for the arg-max: the true class y of a row has rank
    /// #{j : z_j &gt; z_y} + #{j &lt; y : z_j = z_y} and counts as correct when that rank is below k. Hence
    /// <c>TopKAccuracy(k: 1)</c> equals <see cref="Accuracy{T}"/>, and k ≥ classes gives 1.</remarks>
    /// <returns>A value in [0, 1], or NaN if any logit is NaN.</returns>
    public static double TopKAccuracy<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = MetricInput.Validate(logits, classes, labels);
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"k is {k}; expected at least 1.");
        return CountTopK(logits, classes, labels, rows, k);
    }

    /// <summary>Mean negative log-likelihood (cross-entropy) of the true class:
    /// NLL = −(1/N) Σ_i log softmax(z_i)_{y_i} = (1/N) Σ_i (logsumexp(z_i) − z_{i,y_i}).</summary>
    /// <remarks>Computed from the stable log-softmax, never as log(p), so it stays finite for logits of ±1e30 and
    /// −∞ entries in other classes. A row whose true-class logit is −∞ contributes +∞. NaN or +∞ logits give NaN.</remarks>
    public static double NegativeLogLikelihood<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        MetricInput.Validate(logits, classes, labels);
        return ProbabilityPass.Run(logits, classes, labels, 1, ProbabilityPass.Needs.Nll).MeanNll;
    }

    /// <summary>Brier score in its multi-class sum form: (1/N) Σ_i Σ_k (p_ik − [y_i = k])², p_i = softmax(z_i).</summary>
    /// <remarks>Ranges over [0, 2]. This is Brier's original multi-class definition; binary literature often uses
    /// (p − y)² for the positive class only, which is half of this value for two classes.
    /// NaN if any row has no defined softmax (NaN or +∞ logit, or all −∞).</remarks>
    public static double Brier<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        MetricInput.Validate(logits, classes, labels);
        return ProbabilityPass.Run(logits, classes, labels, 1, ProbabilityPass.Needs.Brier).MeanBrier;
    }

    /// <summary>Macro-averaged F1 of the arg-max predictions: the unweighted mean over classes c of
    /// F1_c = 2·TP_c / (2·TP_c + FP_c + FN_c).</summary>
    /// <remarks>Follows scikit-learn's <c>f1_score(average="macro")</c> with its default label set: the average runs over
    /// the union of classes that occur in the labels or in the predictions. Classes that occur in neither are left out
    /// (they would otherwise be 0/0); a class in the union with TP = 0 scores 0 (scikit-learn's default
    /// <c>zero_division</c> outcome). NaN if any logit is NaN.</remarks>
    public static double MacroF1<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = MetricInput.Validate(logits, classes, labels);
        if (MetricInput.AnyNaN(logits)) return double.NaN;
        var tp = new long[classes];
        var fp = new long[classes];
        var fn = new long[classes];
        for (int r = 0; r < rows; r++)
        {
            int pred = MetricInput.ArgMax(logits.Slice(r * classes, classes)), y = labels[r];
            if (pred == y) tp[y]++;
            else { fp[pred]++; fn[y]++; }
        }
        double sum = 0;
        int present = 0;
        for (int c = 0; c < classes; c++)
        {
            long denominator = 2 * tp[c] + fp[c] + fn[c];
            if (denominator == 0) continue; // neither a label nor a prediction
            present++;
            sum += 2.0 * tp[c] / denominator;
        }
        return sum / present;
    }

    /// <summary>Area under the ROC curve of binary scores, computed from ranks (the Mann–Whitney U statistic):
    /// AUROC = P(s⁺ &gt; s⁻) + ½·P(s⁺ = s⁻) over all (positive, negative) pairs (Hanley &amp; McNeil 1982, "The meaning
    /// and use of the area under a receiver operating characteristic (ROC) curve").</summary>
    /// <remarks>O(n log n): one sort, then each group of tied scores counts ½ for its positive–negative pairs. The pair
    /// counts are exact 64-bit integers. Positive class is label 1. Scores may be ±∞ (equal infinities tie); any NaN
    /// score gives NaN.</remarks>
    /// <exception cref="ArgumentException">Empty input, length mismatch, a label other than 0 or 1, or only one class
    /// present (AUROC is undefined then).</exception>
    public static double Auroc<T>(ReadOnlySpan<T> scores, ReadOnlySpan<int> binaryLabels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (scores.IsEmpty) throw new ArgumentException("scores is empty; expected at least one score per row.", nameof(scores));
        if (binaryLabels.Length != scores.Length)
            throw new ArgumentException(
                $"binaryLabels has {binaryLabels.Length} values but scores has {scores.Length}; expected one label per score ({scores.Length}).",
                nameof(binaryLabels));
        var keys = new double[scores.Length];
        for (int i = 0; i < scores.Length; i++) keys[i] = double.CreateTruncating(scores[i]);
        return AurocCore(keys, binaryLabels, nameof(binaryLabels));
    }

    /// <summary>AUROC of two-class logits <c>[rows, 2]</c>, scoring each row by z₁ − z₀ (the log-odds of class 1, a
    /// monotone function of softmax p₁), with labels in {0, 1}. See <see cref="Auroc{T}(ReadOnlySpan{T}, ReadOnlySpan{int})"/>.</summary>
    /// <remarks>The difference is taken in double. A row with z₀ = z₁ = ±∞ has an undefined score and gives NaN.</remarks>
    public static double Auroc<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (classes != 2)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes is {classes}; AUROC from logits expects exactly 2 classes.");
        int rows = MetricInput.Validate(logits, classes, labels);
        var keys = new double[rows];
        for (int r = 0; r < rows; r++)
            keys[r] = double.CreateTruncating(logits[2 * r + 1]) - double.CreateTruncating(logits[2 * r]);
        return AurocCore(keys, labels, nameof(labels));
    }

    internal static double AurocCore(double[] keys, ReadOnlySpan<int> labels, string labelsName)
    {
        int n = keys.Length;
        var isPositive = new int[n];
        long positives = 0;
        for (int i = 0; i < n; i++)
        {
            int v = labels[i];
            if (v is not (0 or 1))
                throw new RowException(labelsName, i, $"{labelsName}[{i}] = {v} (row {i}) is not a binary label; expected 0 or 1.");
            isPositive[i] = v;
            positives += v;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
            throw new ArgumentException(
                $"{labelsName} contains only class {(positives == 0 ? 0 : 1)} ({n} rows); AUROC needs at least one row of each class (0 and 1).",
                labelsName);
        foreach (double k in keys)
            if (double.IsNaN(k)) return double.NaN;

        Array.Sort(keys, isPositive);
        // twice the Mann–Whitney U: each (positive, negative) pair with s⁺ > s⁻ counts 2, each tie counts 1.
        long twiceU = 0, negativesBelow = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            long pos = 0;
            while (j < n && keys[j] == keys[i]) pos += isPositive[j++];
            long neg = j - i - pos;
            twiceU += 2 * pos * negativesBelow + pos * neg;
            negativesBelow += neg;
            i = j;
        }
        return twiceU / (2.0 * positives * negatives);
    }

    private static double CountTopK<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int rows, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (MetricInput.AnyNaN(logits)) return double.NaN;
        long correct = 0;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> row = logits.Slice(r * classes, classes);
            int y = labels[r];
            T zy = row[y];
            int rank = 0;
            for (int j = 0; j < classes && rank < k; j++)
                if (row[j] > zy || (j < y && row[j] == zy)) rank++;
            if (rank < k) correct++;
        }
        return (double)correct / rows;
    }
}
