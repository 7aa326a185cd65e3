using System.Buffers;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>The confusion-matrix metric <see cref="AnyLoss"/> turns into a loss.</summary>
public enum AnyLossMetric
{
    /// <summary>F1 = 2TP / (2TP + FP + FN).</summary>
    F1,
    /// <summary>(TP + TN) / N.</summary>
    Accuracy,
    /// <summary>F_β = (1 + β²)TP / ((1 + β²)TP + β²FN + FP).</summary>
    FBeta,
    /// <summary>½(TP/(TP + FN) + TN/(TN + FP)).</summary>
    BalancedAccuracy,
    /// <summary>√(TP/(TP + FN) · TN/(TN + FP)).</summary>
    GMean,
}

/// <summary>
/// AnyLoss, spec <c>anyloss(metric=f1, L=73, beta=1)</c> (Han, Moniz &amp; Chawla 2024, AnyLoss: transforming
/// classification metrics into loss functions, KDD): a batch-level loss <c>ℓ = 1 − metric</c> on a soft confusion matrix.
/// </summary>
/// <remarks>
/// <para>With p_i = σ(s_i) and the approximation function <c>A(p) = 1/(1 + exp(−L(p − ½)))</c>, the soft counts are
/// TP = Σ t·A, FN = Σ t(1 − A), FP = Σ (1 − t)A, TN = Σ (1 − t)(1 − A), and the metric is accuracy, F1, F_β,
/// balanced accuracy or G-mean (√(TPR·TNR), as in the authors' original experiments; their later extension drops the
/// square root). On confident predictions (|s| large) A is within e^{−L/2} of 0 or 1, so the loss equals 1 − the
/// exact metric of the hard predictions.</para>
/// <para><b>L's default is 73</b>: the value the authors' experiment notebooks set (<c>L = 73</c> in
/// github.com/doheonhan/anyloss_extension, "[Section 3.3] AnyLoss_org" notebooks); their extension's README gives
/// [2, 70] as the useful range. Valid here: 0 &lt; L ≤ 1000 (above, A underflows to exactly 0 or 1 in double).</para>
/// <para>Gradient: ∂ℓ/∂s_i = −∂metric/∂A_i · L·A_i(1 − A_i) · p_i(1 − p_i), exact. No epsilon is added to denominators
/// (the reference code adds 1e-5); balanced accuracy and G-mean need at least one positive and one negative target
/// (Σt &gt; 0 and Σ(1 − t) &gt; 0), otherwise an <see cref="ArgumentException"/>. Soft targets are allowed.
/// The reduction is fixed (the batch metric); the per-element losses are equal shares ℓ/N that add up to ℓ.</para>
/// </remarks>
public sealed class AnyLoss : BinaryLoss
{
    public static readonly LossParameter MetricParameter = new("metric", ParameterKind.Choice, "the confusion-matrix metric to optimise")
    { Choices = ["f1", "accuracy", "fbeta", "balanced_accuracy", "gmean"] };
    public static readonly LossParameter LParameter = new("L", ParameterKind.Number, "amplifying scale L of A(p) = 1/(1+exp(−L(p−½))) (authors' experiments: 73)")
    { Default = 73, Min = 0, MinExclusive = true, Max = 1000 };
    public static readonly LossParameter BetaParameter = new("beta", ParameterKind.Number, "β of F_β (metric=fbeta only)") { Default = 1, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = new()
    {
        Name = "anyloss",
        Family = "batch-level binary (soft confusion matrix)",
        Title = "AnyLoss (metric as a loss)",
        Formula = "ℓ = 1 − metric(TP, FN, FP, TN); TP = Σt·A, FN = Σt(1−A), FP = Σ(1−t)A, TN = Σ(1−t)(1−A), A = 1/(1+exp(−L(σ(s)−½)))",
        Gradient = "∂ℓ/∂s_i = −∂metric/∂A_i · L·A_i(1−A_i) · σ(s_i)(1−σ(s_i))",
        Reference = "Han, Moniz & Chawla 2024, AnyLoss: transforming classification metrics into loss functions (KDD); L = 73 from the authors' notebooks",
        Parameters = [MetricParameter, LParameter, BetaParameter],
        Properties = LossProperties.NonNegative | LossProperties.Bounded,
        UpperBound = (_, _) => 1,
        Notes = "metric ∈ f1, accuracy, fbeta (with beta), balanced_accuracy, gmean (√(TPR·TNR)). Per-element losses are equal shares ℓ/N.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new AnyLoss(ParseMetric(a.Choice(MetricParameter)),
        a.Number(LParameter), a.Number(BetaParameter)));

    /// <param name="metric">The metric (null: the card's default, F1).</param>
    /// <param name="l">Amplifying scale L, 0 &lt; L ≤ 1000 (null: the card's default, the authors' 73).</param>
    /// <param name="beta">β &gt; 0 for <see cref="AnyLossMetric.FBeta"/>; must stay at its default for the other metrics.</param>
    public AnyLoss(AnyLossMetric? metric = null, double? l = null, double? beta = null) : base(Reduction.Mean)
    {
        if (metric is { } m && !Enum.IsDefined(m)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "metric must be F1, Accuracy, FBeta, BalancedAccuracy or GMean.");
        Metric = metric ?? ParseMetric(MetricParameter.Choices[0]);
        L = LParameter.Resolve(l);
        Beta = BetaParameter.Resolve(beta);
        if (Metric != AnyLossMetric.FBeta && Beta != BetaParameter.Default)
            throw new ArgumentException($"beta = {LossParameter.FormatNumber(Beta)} applies to metric=fbeta only; metric is {MetricName(Metric)}.", nameof(beta));
    }

    /// <summary>The metric.</summary>
    public AnyLossMetric Metric { get; }
    /// <summary>The amplifying scale L.</summary>
    public double L { get; }
    /// <summary>β of F_β (1 otherwise).</summary>
    public double Beta { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;
    /// <inheritdoc/>
    public override bool IsBatchLevel => true;

    /// <summary>The spec identifier of a metric.</summary>
    public static string MetricName(AnyLossMetric metric) => Definition.Parameters[0].Choices[(int)metric];

    /// <summary>The metric for a spec identifier (<c>f1</c>, <c>accuracy</c>, <c>fbeta</c>, <c>balanced_accuracy</c>, <c>gmean</c>).</summary>
    public static AnyLossMetric ParseMetric(string name)
    {
        int i = MetricParameter.Choices.ToList().IndexOf(name);
        if (i < 0) throw new ArgumentException($"metric = {name} is not valid: expected one of {string.Join(", ", MetricParameter.Choices)}.", "metric");
        return (AnyLossMetric)i;
    }

    /// <summary>metric, L and beta (the reduction is fixed: the batch metric).</summary>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [MetricParameter.Of(MetricName(Metric)), LParameter.Of(L), BetaParameter.Of(Beta)];

    /// <summary>The metric of exact (soft or hard) confusion counts, the same formula the loss uses.</summary>
    public double MetricValue(double tp, double fn, double fp, double tn)
    {
        double n1 = tp + fn, n0 = fp + tn;
        switch (Metric)
        {
            case AnyLossMetric.Accuracy: return (tp + tn) / (n1 + n0);
            case AnyLossMetric.F1:
            case AnyLossMetric.FBeta:
            {
                double b2 = Beta * Beta, d = b2 * n1 + tp + fp;
                return d > 0 ? (1 + b2) * tp / d : 0;
            }
            case AnyLossMetric.BalancedAccuracy: return 0.5 * (tp / n1 + tn / n0);
            default: return Math.Sqrt(tp / n1 * (tn / n0));
        }
    }

    /// <inheritdoc/>
    public override unsafe T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
    {
        BinaryInput.CheckShape(logits.Length, targets.Length, elementLosses.Length, gradient.Length);
        int n = logits.Length;
        double n1 = 0;
        for (int i = 0; i < n; i++) n1 += BinaryInput.Target(targets, i);
        double n0 = n - n1;
        if (Metric is AnyLossMetric.BalancedAccuracy or AnyLossMetric.GMean && !(n1 > 0 && n0 > 0))
            throw new ArgumentException($"{MetricName(Metric)} needs both classes in the batch, but the targets sum to {n1:G6} of {n} " +
                $"({(n1 > 0 ? "no negatives" : "no positives")}).", nameof(targets));
        double l = L;
        int blocks = BatchBlocks.Count(n);
        double[] partial = ArrayPool<double>.Shared.Rent(2 * blocks);
        try
        {
            fixed (T* ps = logits, pt = targets, pl = elementLosses, pg = gradient)
            {
                T* s = ps, tt = pt, lo = elementLosses.IsEmpty ? null : pl, g = gradient.IsEmpty ? null : pg;
                // Pass 1: TP = Σ t·A and ΣA (the other counts follow from n1 and n0).
                BatchBlocks.For(n, new CountBlocks<T>(s, tt, l, partial));
                double tpSum = 0, aSum = 0;
                for (int k = 0; k < blocks; k++) { tpSum += partial[2 * k]; aSum += partial[2 * k + 1]; }
                double fp = aSum - tpSum, fn = n1 - tpSum, tn = n0 - fp;
                double metric = MetricValue(tpSum, fn, fp, tn);
                double loss = 1 - metric;
                // ∂metric/∂A_i = cPos·t_i + cNeg·(1 − t_i).
                var (cPos, cNeg) = Sensitivities(tpSum, aSum, tn, n1, n0, n, metric);
                if (lo is not null || g is not null) BatchBlocks.For(n, new OutputBlocks<T>(s, tt, lo, g, l, loss, n, cPos, cNeg));
                return T.CreateTruncating(loss);
            }
        }
        finally { ArrayPool<double>.Shared.Return(partial); }
    }

    /// <summary>Pass 1's block: Σt·A and ΣA of the block's elements into <paramref name="partial"/>[2·block ..]. A struct
    /// body of the elements driver, so a call allocates nothing.</summary>
    private readonly unsafe struct CountBlocks<T>(T* s, T* tt, double l, double[] partial) : Parallelism.IBlockBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Run(int block, int start, int end)
        {
            double tp = 0, sa = 0;
            for (int i = start; i < end; i++)
            {
                double a = Approximation(double.CreateTruncating(s[i]), l, out _);
                tp += double.CreateTruncating(tt[i]) * a;
                sa += a;
            }
            partial[2 * block] = tp;
            partial[2 * block + 1] = sa;
            return 0;
        }
    }

    /// <summary>Pass 2's block: each element's share loss/n (into <paramref name="lo"/>, when there) and
    /// ∂loss/∂s = −(cPos·t + cNeg·(1 − t))·dA/ds (into <paramref name="g"/>, when there). A struct body of the elements driver.</summary>
    private readonly unsafe struct OutputBlocks<T>(T* s, T* tt, T* lo, T* g, double l, double loss, int n, double cPos, double cNeg)
        : Parallelism.IBlockBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Run(int block, int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                if (lo is not null) lo[i] = T.CreateTruncating(loss / n);
                if (g is null) continue;
                double t = double.CreateTruncating(tt[i]);
                Approximation(double.CreateTruncating(s[i]), l, out double dads);
                g[i] = T.CreateTruncating(-(cPos * t + cNeg * (1 - t)) * dads);
            }
            return 0;
        }
    }

    /// <summary>A(σ(s)) and dA/ds = L·A(1 − A)·σ(s)(1 − σ(s)), each factor formed without cancellation.</summary>
    private static double Approximation(double s, double l, out double derivative)
    {
        var (p, pc) = Scalar.Sigmoid(s);
        var (a, ac) = Scalar.Sigmoid(l * (p - 0.5));
        derivative = l * (a * ac) * (p * pc);
        return a;
    }

    /// <summary>∂metric/∂A_i for a positive (t = 1) and a negative (t = 0) element; soft targets mix them linearly.</summary>
    private (double Pos, double Neg) Sensitivities(double tp, double sumA, double tn, double n1, double n0, int n, double metric)
    {
        switch (Metric)
        {
            case AnyLossMetric.Accuracy: return (1.0 / n, -1.0 / n);             // d(TP + TN)/dA = t − (1 − t)
            case AnyLossMetric.F1:
            case AnyLossMetric.FBeta:
            {
                double b2 = Beta * Beta, d = b2 * n1 + sumA;                     // metric = (1+β²)TP/d
                if (!(d > 0)) return (0, 0);
                double k = (1 + b2) / (d * d);
                return (k * (d - tp), -k * tp);                                   // t·d − TP·1
            }
            case AnyLossMetric.BalancedAccuracy: return (0.5 / n1, -0.5 / n0);
            default:
            {
                // metric = √(R·S), R = TP/n1, S = TN/n0: ∂/∂A = (t·S/n1 − (1−t)·R/n0) / (2·metric).
                if (!(metric > 0)) return (0, 0);
                double r = tp / n1, sv = tn / n0;
                return (sv / n1 / (2 * metric), -r / n0 / (2 * metric));
            }
        }
    }
}
