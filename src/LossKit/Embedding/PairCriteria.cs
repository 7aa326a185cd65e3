using System.Buffers;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Embedding;

/// <summary>
/// PyTorch's <c>MarginRankingLoss</c>, spec <c>margin_ranking(margin=0)</c>: <c>ℓ = max(0, −y·(x₁ − x₂) + margin)</c> per
/// element, y = ±1 (+1: x₁ should rank higher). Inputs and target have one shape (N). At the hinge's corner the
/// gradient is PyTorch's (<c>clamp_min</c> passes it at 0). Reference: <c>torch.nn.MarginRankingLoss</c>.
/// </summary>
public sealed class MarginRankingLoss : PairCriterion
{
    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "the margin by which x₁ should exceed x₂ when y = +1") { Default = 0 };

    public static LossCard Definition { get; } = PairCard("margin_ranking", "Margin ranking loss (PyTorch)",
        "ℓ = max(0, −y·(x₁ − x₂) + margin), y = ±1",
        "∂ℓ/∂x₁ = −y, ∂ℓ/∂x₂ = y where −y·(x₁ − x₂) + margin ≥ 0, else 0",
        "torch.nn.MarginRankingLoss", LossProperties.NonNegative | LossProperties.ConvexInLogits,
        "Targets other than ±1 are an error (PyTorch gives them 0 loss).", Margin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new MarginRankingLoss(a.Number(Margin), a.Reduction()));

    /// <param name="margin">The margin (null: 0).</param>
    /// <param name="reduction">mean, sum or none.</param>
    public MarginRankingLoss(double? margin = null, Reduction reduction = Reduction.Mean) : base(Margin, margin, reduction, PairKind.Pairs, vectorRows: false) { }

    public override LossCard Card => Definition;

    /// <summary>The loss of N pairs of scores.</summary>
    /// <param name="input1">x₁, N scores.</param>
    /// <param name="input2">x₂, N scores.</param>
    /// <param name="target">N values, each +1 or −1.</param>
    /// <param name="unreduced">Empty, or N: each pair's loss.</param>
    /// <param name="grad1">Empty, or N: ∂(reduced loss)/∂x₁.</param>
    /// <param name="grad2">Empty, or N: ∂(reduced loss)/∂x₂.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    public T Compute<T>(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, ReadOnlySpan<T> target,
        Span<T> unreduced = default, Span<T> grad1 = default, Span<T> grad2 = default) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(input1.Length, 1, input1, input2, default, target, unreduced, grad1, grad2, default);

    private protected override void Evaluate(PairBatch p, Span<double> loss, Span<double> gradA, Span<double> gradB, Span<double> gradC)
    {
        for (int i = 0; i < p.Count; i++)
        {
            double u = -p.Target[i] * (p.A[i] - p.B[i]) + MarginValue;
            loss[i] = Math.Max(u, 0);
            if (u >= 0) (gradA[i], gradB[i]) = (-p.Target[i], p.Target[i]);
        }
    }
}

/// <summary>
/// PyTorch's <c>CosineEmbeddingLoss</c>, spec <c>cosine_embedding(margin=0)</c>: per pair of rows,
/// <c>ℓ = 1 − cos(x₁, x₂)</c> for y = +1 and <c>max(0, cos(x₁, x₂) − margin)</c> for y = −1, with PyTorch's
/// <c>cos = x₁·x₂ / √((‖x₁‖² + ε)(‖x₂‖² + ε))</c>, ε = 1e-12 (as a float, <see cref="Epsilon"/>) — so a zero row gives cos = 0 and finite gradients.
/// Reference: <c>torch.nn.CosineEmbeddingLoss</c>.
/// </summary>
public sealed class CosineEmbeddingLoss : PairCriterion
{
    /// <summary>PyTorch's ε added to each squared norm: 1e-12 rounded to float (PyTorch declares it a C++ <c>float</c>),
    /// 9.999999960041972e-13 — the exact value matters for a zero row, whose gradient is the other row / √(ε·(‖x‖² + ε)).</summary>
    public const double Epsilon = (double)1e-12f;

    public static readonly LossParameter Margin = new("margin", ParameterKind.Number,
        "for dissimilar pairs (y = −1), the cosine below which the loss is 0; PyTorch suggests 0 to 0.5") { Default = 0, Min = -1, Max = 1 };

    public static LossCard Definition { get; } = PairCard("cosine_embedding", "Cosine embedding loss (PyTorch)",
        "ℓ = 1 − cos(x₁, x₂) if y = 1, max(0, cos(x₁, x₂) − margin) if y = −1; cos = x₁·x₂ / √((‖x₁‖² + ε)(‖x₂‖² + ε)), ε = float(1e-12)",
        "∂cos/∂x₁ = x₂/D − cos·x₁/(‖x₁‖² + ε), D = √((‖x₁‖² + ε)(‖x₂‖² + ε)); likewise for x₂",
        "torch.nn.CosineEmbeddingLoss", LossProperties.NonNegative | LossProperties.Bounded,
        "ε keeps a zero row finite (cos = 0). Targets other than ±1 are an error (PyTorch gives them 0 loss).", Margin)
        with { UpperBound = (l, _) => Math.Max(2, 1 - ((CosineEmbeddingLoss)l).MarginValue) };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CosineEmbeddingLoss(a.Number(Margin), a.Reduction()));

    /// <param name="margin">The margin in [−1, 1] (null: 0).</param>
    /// <param name="reduction">mean, sum or none.</param>
    public CosineEmbeddingLoss(double? margin = null, Reduction reduction = Reduction.Mean) : base(Margin, margin, reduction, PairKind.Pairs, vectorRows: true) { }

    public override LossCard Card => Definition;

    /// <summary>The loss of N pairs of d-vectors.</summary>
    /// <param name="input1">x₁, N×d row-major.</param>
    /// <param name="input2">x₂, N×d.</param>
    /// <param name="dim">d ≥ 1.</param>
    /// <param name="target">N values, each +1 or −1.</param>
    /// <param name="unreduced">Empty, or N.</param>
    /// <param name="grad1">Empty, or N×d: ∂(reduced loss)/∂x₁.</param>
    /// <param name="grad2">Empty, or N×d: ∂(reduced loss)/∂x₂.</param>
    public T Compute<T>(ReadOnlySpan<T> input1, ReadOnlySpan<T> input2, int dim, ReadOnlySpan<T> target,
        Span<T> unreduced = default, Span<T> grad1 = default, Span<T> grad2 = default) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(target.Length, dim, input1, input2, default, target, unreduced, grad1, grad2, default);

    private protected override void Evaluate(PairBatch p, Span<double> loss, Span<double> gradA, Span<double> gradB, Span<double> gradC)
    {
        int d = p.Dim;
        for (int i = 0; i < p.Count; i++)
        {
            ReadOnlySpan<double> x1 = p.A.Slice(i * d, d), x2 = p.B.Slice(i * d, d);
            double dot = 0, s1 = 0, s2 = 0;
            for (int j = 0; j < d; j++) (dot, s1, s2) = (dot + x1[j] * x2[j], s1 + x1[j] * x1[j], s2 + x2[j] * x2[j]);
            (s1, s2) = (s1 + Epsilon, s2 + Epsilon);   // after the sums, as PyTorch
            double denominator = Math.Sqrt(s1 * s2), cos = dot / denominator;
            double slope;   // ∂ℓ/∂cos
            if (p.Target[i] == 1) (loss[i], slope) = (1 - cos, -1);
            else (loss[i], slope) = cos - MarginValue >= 0 ? (cos - MarginValue, 1.0) : (0.0, 0.0);
            if (slope == 0) continue;
            Span<double> g1 = gradA.Slice(i * d, d), g2 = gradB.Slice(i * d, d);
            for (int j = 0; j < d; j++)
            {
                g1[j] = slope * (x2[j] / denominator - cos * x1[j] / s1);
                g2[j] = slope * (x1[j] / denominator - cos * x2[j] / s2);
            }
        }
    }
}

/// <summary>
/// PyTorch's <c>HingeEmbeddingLoss</c>, spec <c>hinge_embedding(margin=1)</c>: per element, <c>ℓ = x</c> for y = +1 and
/// <c>max(0, margin − x)</c> for y = −1, where x is usually a distance between the pair's members (e.g. an L1
/// distance). Element-wise over any shape (target of the same shape). Reference: <c>torch.nn.HingeEmbeddingLoss</c>.
/// </summary>
public sealed class HingeEmbeddingLoss : PairCriterion
{
    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "the distance dissimilar pairs should exceed") { Default = 1 };

    public static LossCard Definition { get; } = PairCard("hinge_embedding", "Hinge embedding loss (PyTorch)",
        "ℓ = x if y = 1, max(0, margin − x) if y = −1",
        "∂ℓ/∂x = 1 if y = 1; −1 if y = −1 and margin − x ≥ 0; else 0",
        "torch.nn.HingeEmbeddingLoss", LossProperties.ConvexInLogits,
        "Not claimed non-negative: for y = +1 the loss is x itself, negative for a negative input (PyTorch expects distances). " +
        "Targets other than ±1 are an error (PyTorch treats any target ≠ 1 as dissimilar and ≠ −1 as similar, so other values add both terms).",
        Margin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new HingeEmbeddingLoss(a.Number(Margin), a.Reduction()));

    /// <param name="margin">The margin (null: 1).</param>
    /// <param name="reduction">mean, sum or none.</param>
    public HingeEmbeddingLoss(double? margin = null, Reduction reduction = Reduction.Mean) : base(Margin, margin, reduction, PairKind.Distances, vectorRows: false) { }

    public override LossCard Card => Definition;

    /// <summary>The loss of N values (pair distances).</summary>
    /// <param name="input">x, N values.</param>
    /// <param name="target">N values, each +1 or −1.</param>
    /// <param name="unreduced">Empty, or N.</param>
    /// <param name="gradient">Empty, or N: ∂(reduced loss)/∂x.</param>
    public T Compute<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> unreduced = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(input.Length, 1, input, default, default, target, unreduced, gradient, default, default);

    private protected override void Evaluate(PairBatch p, Span<double> loss, Span<double> gradA, Span<double> gradB, Span<double> gradC)
    {
        for (int i = 0; i < p.Count; i++)
        {
            if (p.Target[i] == 1) (loss[i], gradA[i]) = (p.A[i], 1);
            else
            {
                double u = MarginValue - p.A[i];
                (loss[i], gradA[i]) = u >= 0 ? (u, -1.0) : (0.0, 0.0);
            }
        }
    }
}

/// <summary>
/// PyTorch's <c>TripletMarginLoss</c>, spec <c>triplet_margin(margin=1, p=2, eps=1e-6, swap=false)</c>: per triplet,
/// <c>ℓ = max(0, margin + d(a, p) − d(a, n))</c> with PyTorch's <c>pairwise_distance</c>
/// <c>d(x, y) = ‖x − y + ε‖_p</c> (ε added to the difference, as PyTorch); with <c>swap</c> (Balntas et al. 2016)
/// d(a, n) becomes min(d(a, n), d(p, n)). A zero difference has gradient 0 (as PyTorch's norm). The p-norm is computed
/// scaled by the largest |component|, so it neither overflows nor underflows. Reference: <c>torch.nn.TripletMarginLoss</c>;
/// Balntas et al. 2016, Learning local feature descriptors with triplets and shallow convolutional neural networks.
/// </summary>
public sealed class TripletMarginLoss : PairCriterion
{
    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "the margin by which d(a, n) should exceed d(a, p)") { Default = 1, Min = 0 };
    public static readonly LossParameter P = new("p", ParameterKind.Number, "the norm's degree (PyTorch allows p > 0; LossKit p ≥ 1, where the norm's gradient is finite at 0)") { Default = 2, Min = 1 };
    public static readonly LossParameter Eps = new("eps", ParameterKind.Number, "ε added to each difference x − y before the norm (PyTorch's pairwise_distance)") { Default = 1e-6, Min = 0 };
    public static readonly LossParameter Swap = new("swap", ParameterKind.Choice, "use min(d(a, n), d(p, n)) as the negative distance (distance swap)") { Choices = ["false", "true"] };

    public static LossCard Definition { get; } = PairCard("triplet_margin", "Triplet margin loss (PyTorch)",
        "ℓ = max(0, margin + d(a, p) − d(a, n)), d(x, y) = ‖x − y + ε‖_p; swap: d(a, n) ← min(d(a, n), d(p, n))",
        "∂‖v‖_p/∂v = sign(v)·(|v|/‖v‖_p)^(p−1) (0 at v = 0), through d(a, p) (+) and the chosen negative distance (−)",
        "torch.nn.TripletMarginLoss; Balntas et al. 2016 (swap)", LossProperties.NonNegative,
        "At a tie d(a, n) = d(p, n) under swap the gradient is split evenly between the two, as PyTorch's min.", Margin, P, Eps, Swap);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition,
        a => new TripletMarginLoss(a.Number(Margin), a.Number(P), a.Number(Eps), a.Flag(Swap), a.Reduction()));

    /// <param name="margin">margin ≥ 0 (null: 1).</param>
    /// <param name="p">the norm's degree ≥ 1 (null: 2).</param>
    /// <param name="eps">ε ≥ 0 (null: 1e-6).</param>
    /// <param name="swap">the distance swap.</param>
    /// <param name="reduction">mean, sum or none.</param>
    public TripletMarginLoss(double? margin = null, double? p = null, double? eps = null, bool swap = false, Reduction reduction = Reduction.Mean)
        : base(Margin, margin, reduction, PairKind.Triplets, vectorRows: true) => (PValue, EpsValue, SwapValue) = (P.Resolve(p), Eps.Resolve(eps), swap);

    /// <summary>p.</summary>
    public double PValue { get; }

    /// <summary>ε.</summary>
    public double EpsValue { get; }

    /// <summary>The distance swap.</summary>
    public bool SwapValue { get; }

    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [P.Of(PValue), Eps.Of(EpsValue), Swap.Of(SwapValue)];

    /// <summary>The loss of N triplets of d-vectors.</summary>
    /// <param name="anchor">N×d row-major.</param>
    /// <param name="positive">N×d.</param>
    /// <param name="negative">N×d.</param>
    /// <param name="dim">d ≥ 1.</param>
    /// <param name="unreduced">Empty, or N.</param>
    /// <param name="gradAnchor">Empty, or N×d.</param>
    /// <param name="gradPositive">Empty, or N×d.</param>
    /// <param name="gradNegative">Empty, or N×d.</param>
    public T Compute<T>(ReadOnlySpan<T> anchor, ReadOnlySpan<T> positive, ReadOnlySpan<T> negative, int dim, Span<T> unreduced = default,
        Span<T> gradAnchor = default, Span<T> gradPositive = default, Span<T> gradNegative = default) where T : unmanaged, IFloatingPointIeee754<T> =>
        Run(anchor.Length / Math.Max(dim, 1), dim, anchor, positive, negative, default, unreduced, gradAnchor, gradPositive, gradNegative);

    private protected override void Evaluate(PairBatch t, Span<double> loss, Span<double> gradA, Span<double> gradB, Span<double> gradC)
    {
        int d = t.Dim;
        double[] units = ArrayPool<double>.Shared.Rent(3 * d);   // each distance's gradient by its first member
        try
        {
            // Rented: old values, possibly NaN. Without swap the third (d(p, n)'s) is never written but is multiplied by a
            // zero share, and 0·NaN is NaN: it must hold zeros.
            units.AsSpan(0, 3 * d).Clear();
            Triplets(t, loss, gradA, gradB, gradC, units.AsSpan(0, d), units.AsSpan(d, d), units.AsSpan(2 * d, d));
        }
        finally { ArrayPool<double>.Shared.Return(units); }
    }

    /// <summary>The triplets' losses and gradients, with <paramref name="up"/>, <paramref name="un"/>, <paramref name="us"/>
    /// (d each) for the gradients of d(a, p), d(a, n), d(p, n) by their first member.</summary>
    private void Triplets(PairBatch t, Span<double> loss, Span<double> gradA, Span<double> gradB, Span<double> gradC, Span<double> up, Span<double> un, Span<double> us)
    {
        int d = t.Dim;
        for (int i = 0; i < t.Count; i++)
        {
            ReadOnlySpan<double> a = t.A.Slice(i * d, d), p = t.B.Slice(i * d, d), n = t.C.Slice(i * d, d);
            double dp = Distance(a, p, up), dn = Distance(a, n, un);
            double negativeShare = 1, swapShare = 0;
            if (SwapValue)
            {
                double ds = Distance(p, n, us);
                if (ds < dn) (dn, negativeShare, swapShare) = (ds, 0, 1);
                else if (ds == dn) (negativeShare, swapShare) = (0.5, 0.5);
            }
            double u = MarginValue + dp - dn;
            loss[i] = Math.Max(u, 0);
            if (u < 0) continue;
            Span<double> ga = gradA.Slice(i * d, d), gp = gradB.Slice(i * d, d), gn = gradC.Slice(i * d, d);
            for (int j = 0; j < d; j++)
            {
                // d(a, p): +∂/∂a, −∂/∂p; d(a, n): −(+∂/∂a, −∂/∂n); d(p, n): −(+∂/∂p, −∂/∂n).
                ga[j] = up[j] - negativeShare * un[j];
                gp[j] = -up[j] - swapShare * us[j];
                gn[j] = negativeShare * un[j] + swapShare * us[j];
            }
        }
    }

    /// <summary>‖x − y + ε‖_p, and its gradient by x into <paramref name="unit"/> (0 when the norm is 0).</summary>
    private double Distance(ReadOnlySpan<double> x, ReadOnlySpan<double> y, Span<double> unit)
    {
        double largest = 0;
        for (int j = 0; j < x.Length; j++) largest = Math.Max(largest, Math.Abs(x[j] - y[j] + EpsValue));
        if (largest == 0 || !double.IsFinite(largest)) { unit.Clear(); return largest; }
        double p = PValue, sum = 0;
        for (int j = 0; j < x.Length; j++)
        {
            double r = Math.Abs(x[j] - y[j] + EpsValue) / largest;
            sum += p == 2 ? r * r : p == 1 ? r : Math.Pow(r, p);
        }
        double norm = largest * (p == 2 ? Math.Sqrt(sum) : p == 1 ? sum : Math.Pow(sum, 1 / p));
        for (int j = 0; j < x.Length; j++)
        {
            double v = x[j] - y[j] + EpsValue, r = Math.Abs(v) / norm;
            unit[j] = Math.Sign(v) * (p == 2 ? r : p == 1 ? 1 : Math.Pow(r, p - 1));
        }
        return norm;
    }
}
