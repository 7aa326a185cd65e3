using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Divergence;

/// <summary>
/// PyTorch's <c>KLDivLoss</c>, spec <c>kl(log_target=false, reduction=mean)</c>: element-wise
/// <c>ℓ_ij = p_ij·(log p_ij − x_ij)</c> (0 where p_ij = 0), so Σ_j ℓ_ij = KL(p_i ‖ q_i) for normalised rows;
/// <c>∂ℓ_ij/∂x_ij = −p_ij</c>. Unreduced N×K as PyTorch; <c>mean</c> divides by N·K (PyTorch's default, which is not the
/// KL per row), <c>batchmean</c> by N. Reference: Kullback &amp; Leibler 1951; PyTorch <c>torch.nn.KLDivLoss</c>.
/// </summary>
public sealed class KlDivergenceLoss(bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<KlDivergenceLoss.Kl>(Definition, default, logTarget, reduction)
{
    public static LossCard Definition { get; } = DivergenceCard("kl", "Kullback–Leibler divergence (PyTorch KLDivLoss)",
        "ℓ_ij = p_ij·(log p_ij − x_ij), x = log q; Σ_j ℓ_ij = KL(p_i ‖ q_i)", "∂ℓ_ij/∂x_ij = −p_ij",
        "Kullback & Leibler 1951, On information and sufficiency; PyTorch torch.nn.KLDivLoss",
        "Unreduced is element-wise (N×K), as PyTorch. A zero target gives 0 (PyTorch gives NaN for log_target with target −∞). Linear in x: " +
        "finite for |x| ≤ 1e30, though the conformance suite checks it at ±80 as the other divergences (a central difference cannot resolve " +
        "a gradient of p beside values of 1e30).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new KlDivergenceLoss(t, r)));


    /// <inheritdoc/>
    public override bool ElementwiseUnreduced => true;

    private protected override VectorPath<Kl> Vector => ElementPath<Kl>.Instance;

    public readonly struct Kl : IDivergenceRow, IElementDivergence
    {
        ElementInputs IElementDivergence.Inputs => new(P: true, LogP: true);

        TV IElementDivergence.LogArgument<TV, TOps>(TV x, TV p, TV logP, TV q) => x;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        bool IElementDivergence.Element<TV, TOps>(TV x, TV p, TV logP, TV q, TV aux, bool rare, out TV term, out TV slope)
        {
            term = DivergenceLanes<TV, TOps>.PLogPOverQ(p, logP, x);
            slope = DivergenceLanes<TV, TOps>.Negate(p);
            return true;
        }

        public double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            double sum = 0;
            for (int j = 0; j < x.Length; j++)
            {
                double term = Divergences.PLogPOverQ(p[j], logP[j], x[j]);
                if (!elements.IsEmpty) elements[j] = term;
                if (!gradient.IsEmpty) gradient[j] = -p[j];
                sum += term;
            }
            return sum;
        }
    }
}

/// <summary>
/// Reverse KL, spec <c>reverse_kl</c>: <c>ℓ = KL(q ‖ p) = Σ_j q_j·(x_j − log p_j)</c> with q = exp(x) (mode-seeking, as
/// in on-policy distillation), <c>∂ℓ/∂x_j = q_j·(x_j − log p_j + 1)</c>. +∞ where the target has no mass and the
/// model has some. Reference: Gu et al. 2024, MiniLLM: knowledge distillation of large language models.
/// </summary>
public sealed class ReverseKlDivergenceLoss(bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<Jsd>(Definition, new Jsd(1, false), logTarget, reduction)
{
    public static LossCard Definition { get; } = DivergenceCard("reverse_kl", "Reverse Kullback–Leibler divergence KL(q ‖ p)",
        "ℓ = Σ_j q_j·(x_j − log p_j), q = exp(x)", "∂ℓ/∂x_j = q_j·(x_j − log p_j + 1)",
        "Gu, Dong, Wei & Huang 2024, MiniLLM: knowledge distillation of large language models",
        "+∞ (and an infinite gradient) where p_j = 0 < q_j. Finite for x ≤ 80.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new ReverseKlDivergenceLoss(t, r)));

    private protected override VectorPath<Jsd> Vector => ElementPath<Jsd>.Instance;

}

/// <summary>
/// Generalised Jensen–Shannon divergence, spec <c>jsd(beta=0.5, scaled=false)</c>, with Liger Kernel's semantics:
/// <c>ℓ = β·KL(p ‖ m) + (1 − β)·KL(q ‖ m)</c>, m = β·p + (1 − β)·q, and <c>∂ℓ/∂x_j = (1 − β)·q_j·(x_j − log m_j)</c>.
/// β = 0 is defined as KL(p ‖ q) and β = 1 as KL(q ‖ p), as Liger does — but the formula tends to 0 at both ends, so
/// this ℓ jumps there. <c>scaled=true</c> divides by β(1 − β) for 0 &lt; β &lt; 1: that ℓ is continuous on [0, 1],
/// tending to KL(p ‖ q) as β → 0 and to KL(q ‖ p) as β → 1 (β = ½ gives 4·JSD).
/// Reference: Lin 1991, Divergence measures based on the Shannon entropy; Agarwal et al. 2024, On-policy distillation
/// of language models (GKD); Liger Kernel <c>LigerJSD</c>.
/// </summary>
/// <param name="beta">β in [0, 1] (null: ½).</param>
/// <param name="scaled">Divide by β(1 − β) (continuous in β).</param>
/// <param name="logTarget">Target holds log-probabilities.</param>
/// <param name="reduction">The reduction.</param>
public sealed class JsdLoss(double? beta = null, bool scaled = false, bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<Jsd>(Definition, new Jsd(Beta.Resolve(beta), scaled), logTarget, reduction)
{
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number,
        "mixture weight of the target: m = β·p + (1 − β)·q; 0 is KL(p ‖ q), 1 is KL(q ‖ p)") { Default = 0.5, Min = 0, Max = 1 };

    public static readonly LossParameter Scaled = new("scaled", ParameterKind.Choice,
        "true: divide by β(1 − β), continuous in β with KL(p ‖ q) and KL(q ‖ p) at the ends") { Choices = ["false", "true"] };

    public static LossCard Definition { get; } = DivergenceCard("jsd", "Generalised Jensen–Shannon divergence (Liger semantics)",
        "ℓ = β·KL(p ‖ m) + (1 − β)·KL(q ‖ m), m = β·p + (1 − β)·q, q = exp(x)", "∂ℓ/∂x_j = (1 − β)·q_j·(x_j − log m_j)",
        "Lin 1991, Divergence measures based on the Shannon entropy; Agarwal et al. 2024, On-policy distillation of language models; Liger Kernel LigerJSD",
        "β = 0 is KL(p ‖ q) and β = 1 is KL(q ‖ p) (Liger), though the formula tends to 0 there; scaled=true divides by β(1 − β) and is " +
        "continuous on [0, 1] with those ends. log m by log-sum-exp of (log β + log p, log(1 − β) + x). Finite for x ≤ 80.",
        Beta, Scaled);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new JsdLoss(a.Number(Beta), a.Flag(Scaled), t, r)));

    /// <summary>β.</summary>
    public double BetaValue => RowMath.Beta;

    /// <summary>True when the loss is divided by β(1 − β).</summary>
    public bool IsScaled => RowMath.Scaled;


    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Beta.Of(BetaValue), Scaled.Of(IsScaled), .. base.ParameterValues];

    private protected override VectorPath<Jsd> Vector => ElementPath<Jsd>.Instance;

}

/// <summary>The generalised JSD row (also <c>reverse_kl</c>, its β = 1).</summary>
public readonly struct Jsd(double beta, bool scaled) : IDivergenceRow, IElementDivergence
{
    /// <summary>The factor of the row value: 1/(β(1 − β)) when scaled (0 &lt; β &lt; 1), else 1. A field, computed once: the
    /// vector element reads it for every vector, where a property's division (and the call the JIT left it as) sat in the loop.</summary>
    private readonly double factor = scaled && beta > 0 && beta < 1 ? 1 / (beta * (1 - beta)) : 1;

    private double Factor => factor;

    ElementInputs IElementDivergence.Inputs => new(P: beta != 1, LogP: true, QScale: beta == 0 ? 0 : 1, Aux: beta > 0 && beta < 1, RowFactor: Factor);

    /// <summary>m = β·p + (1 − β)·q: in float lanes its log is taken directly (one log, where the double reference
    /// uses log-sum-exp of log β + log p and log(1 − β) + x to keep values below double's range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    TV IElementDivergence.LogArgument<TV, TOps>(TV x, TV p, TV logP, TV q) =>
        TOps.Add(TOps.Multiply(DivergenceLanes<TV, TOps>.C(beta), p), TOps.Multiply(DivergenceLanes<TV, TOps>.C(1 - beta), q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool IElementDivergence.Element<TV, TOps>(TV x, TV p, TV logP, TV q, TV aux, bool rare, out TV term, out TV slope)
    {
        if (beta == 0)
        {
            term = DivergenceLanes<TV, TOps>.PLogPOverQ(p, logP, x);
            slope = DivergenceLanes<TV, TOps>.Negate(p);
        }
        else
        {
            TV zero = DivergenceLanes<TV, TOps>.C(0.0), positive = TOps.GreaterThan(q, zero);
            if (beta == 1)
            {
                term = DivergenceLanes<TV, TOps>.PLogPOverQ(q, x, logP);
                slope = TOps.Select(positive, TOps.Multiply(q, TOps.Add(TOps.Subtract(x, logP), DivergenceLanes<TV, TOps>.C(1.0))), zero);
            }
            else
            {
                TV logM = aux;
                slope = TOps.Select(positive, TOps.Multiply(TOps.Multiply(DivergenceLanes<TV, TOps>.C(1 - beta), q), TOps.Subtract(x, logM)), zero);
                term = TOps.Add(TOps.Multiply(DivergenceLanes<TV, TOps>.C(beta), DivergenceLanes<TV, TOps>.PLogPOverQ(p, logP, logM)), slope);
            }
        }
        slope = TOps.Multiply(DivergenceLanes<TV, TOps>.C(Factor), slope);
        return true;
    }

    /// <summary>Offered: β = 0 is KL(p ‖ q), ∂/∂p_j = log p_j − x_j + 1; β = 1 is KL(q ‖ p), ∂/∂p_j = −q_j/p_j; otherwise
    /// ∂/∂p_j = β·(log p_j − log m_j); times 1/(β(1 − β)) when scaled.</summary>
    public bool HasTargetGradient => true;

    /// <inheritdoc cref="IDivergenceRow.TargetGradient"/>
    public void TargetGradient(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient)
    {
        double logBeta = Math.Log(beta), logRest = Math.Log(1 - beta), factor = Factor;
        for (int j = 0; j < x.Length; j++)
        {
            double g;
            if (beta == 0) g = logP[j] - x[j] + 1;
            else if (beta == 1) g = -Math.Exp(x[j]) / p[j];
            else g = beta * (logP[j] - Divergences.LogAddExp(logBeta + logP[j], logRest + x[j]));
            gradient[j] = factor * g;
        }
    }

    /// <summary>β.</summary>
    public double Beta => beta;

    /// <summary>True when divided by β(1 − β).</summary>
    public bool Scaled => scaled;

    public double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch)
    {
        double sum = 0, logBeta = Math.Log(beta), logRest = Math.Log(1 - beta);
        for (int j = 0; j < x.Length; j++)
        {
            double q = Math.Exp(x[j]), term, slope;
            if (beta == 0) (term, slope) = (Divergences.PLogPOverQ(p[j], logP[j], x[j]), -p[j]);
            else if (beta == 1)
            {
                term = Divergences.PLogPOverQ(q, x[j], logP[j]);
                slope = q > 0 ? q * (x[j] - logP[j] + 1) : 0;
            }
            else
            {
                double logM = Divergences.LogAddExp(logBeta + logP[j], logRest + x[j]);
                slope = q > 0 ? (1 - beta) * q * (x[j] - logM) : 0;
                term = beta * Divergences.PLogPOverQ(p[j], logP[j], logM) + slope;
            }
            if (!gradient.IsEmpty) gradient[j] = factor * slope;
            sum += term;
        }
        return factor * sum;
    }
}

/// <summary>
/// Total variation distance, spec <c>tvd</c>: <c>ℓ = ½·Σ_j |q_j − p_j|</c>, q = exp(x); <c>∂ℓ/∂x_j = ½·sign(q_j − p_j)·q_j</c>
/// (0 where q_j = p_j). Reference: Liger Kernel <c>LigerTVDLoss</c>; Wen et al. 2023, f-divergence minimization for
/// sequence-level knowledge distillation.
/// </summary>
public sealed class TvdLoss(bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<TvdLoss.Tvd>(Definition, default, logTarget, reduction)
{
    public static LossCard Definition { get; } = DivergenceCard("tvd", "Total variation distance",
        "ℓ = ½·Σ_j |q_j − p_j|, q = exp(x)", "∂ℓ/∂x_j = ½·sign(q_j − p_j)·q_j (0 where q_j = p_j)",
        "Wen, Li, Du & Mou 2023, f-Divergence minimization for sequence-level knowledge distillation; Liger Kernel LigerTVDLoss",
        "In [0, 1] for normalised rows. Finite for x ≤ 80.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new TvdLoss(t, r)));

    private protected override VectorPath<Tvd> Vector => ElementPath<Tvd>.Instance;

    public readonly struct Tvd : IDivergenceRow, IElementDivergence
    {
        ElementInputs IElementDivergence.Inputs => new(P: true, LogP: false, QScale: 1);

        TV IElementDivergence.LogArgument<TV, TOps>(TV x, TV p, TV logP, TV q) => x;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        bool IElementDivergence.Element<TV, TOps>(TV x, TV p, TV logP, TV q, TV aux, bool rare, out TV term, out TV slope)
        {
            TV d = TOps.Subtract(q, p), half = DivergenceLanes<TV, TOps>.C(0.5), zero = DivergenceLanes<TV, TOps>.C(0);
            term = TOps.Multiply(half, TOps.Abs(d));
            // A tie (q = p in float) is resolved as the reference does, except where p = 0: then q = 0 and the slope is 0 either way.
            TV resolved = TOps.GreaterThan(TOps.Add(TOps.Abs(d), TOps.Select(TOps.EqualTo(p, zero), DivergenceLanes<TV, TOps>.C(1), zero)), zero);
            if (!TOps.AllTrue(resolved))
            {
                // Rare: out of line, and only where the kernel asks for it (outside its loop).
                if (!rare)
                {
                    slope = default;
                    return false;
                }
                d = TiedDifferences<TV, TOps>(x, p, d);
            }
            slope = TOps.Multiply(TOps.Multiply(half, DivergenceLanes<TV, TOps>.Sign(d)), q);
            return true;
        }

        /// <summary>d = q − p, where a lane's q and p rounded to the same float (or d is NaN) recomputed as the reference
        /// does, Math.Exp(x) − p in double: only the sign of d is used, and at q ≈ p it is decided below the float's
        /// resolution (e^{−1e−17} against 1). Rare, so out of line and scalar.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static TV TiedDifferences<TV, TOps>(TV x, TV p, TV d) where TV : struct where TOps : ISimd<TV, float>
        {
            int w = TOps.Count;
            Span<float> lanes = stackalloc float[3 * w];
            TOps.Store(x, ref lanes[0], 0);
            TOps.Store(p, ref lanes[0], (nuint)w);
            TOps.Store(d, ref lanes[0], (nuint)(2 * w));
            for (int j = 0; j < w; j++)
                if (!(Math.Abs(lanes[2 * w + j]) > 0)) lanes[2 * w + j] = Divergences.SignOf(Math.Exp(lanes[j]) - lanes[w + j]);
            return TOps.Load(ref lanes[0], (nuint)(2 * w));
        }

        public double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            double sum = 0;
            for (int j = 0; j < x.Length; j++)
            {
                double q = Math.Exp(x[j]), d = q - p[j];
                sum += 0.5 * Math.Abs(d);
                if (!gradient.IsEmpty) gradient[j] = 0.5 * Divergences.Sign(d) * q;
            }
            return sum;
        }
    }
}

/// <summary>
/// Squared Hellinger distance, spec <c>hellinger</c>: <c>ℓ = ½·Σ_j (√p_j − √q_j)² = 1 − Σ_j √(p_j q_j)</c> for normalised
/// rows, √q = exp(x/2); <c>∂ℓ/∂x_j = ½·√q_j·(√q_j − √p_j)</c>. The squared distance is smooth where the distance itself
/// (its square root) has an infinite gradient at p = q. Reference: Hellinger 1909; Le Cam &amp; Yang 2000, Asymptotics in statistics.
/// </summary>
public sealed class HellingerLoss(bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<HellingerLoss.Hellinger>(Definition, default, logTarget, reduction)
{
    public static LossCard Definition { get; } = DivergenceCard("hellinger", "Squared Hellinger distance",
        "ℓ = ½·Σ_j (√p_j − √q_j)², √q = exp(x/2)", "∂ℓ/∂x_j = ½·√q_j·(√q_j − √p_j)",
        "Hellinger 1909, Neue Begründung der Theorie quadratischer Formen; Le Cam & Yang 2000, Asymptotics in statistics",
        "The squared distance H² (in [0, 1] for normalised rows); H itself has an infinite gradient at p = q. Finite for x ≤ 80.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new HellingerLoss(t, r)));

    private protected override VectorPath<Hellinger> Vector => ElementPath<Hellinger>.Instance;

    public readonly struct Hellinger : IDivergenceRow, IElementDivergence
    {
        ElementInputs IElementDivergence.Inputs => new(P: true, LogP: false, QScale: 0.5);

        TV IElementDivergence.LogArgument<TV, TOps>(TV x, TV p, TV logP, TV q) => x;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        bool IElementDivergence.Element<TV, TOps>(TV x, TV p, TV logP, TV rootQ, TV aux, bool rare, out TV term, out TV slope)
        {
            TV half = DivergenceLanes<TV, TOps>.C(0.5);
            TV d = TOps.Subtract(rootQ, DivergenceLanes<TV, TOps>.Sqrt(p));
            term = TOps.Multiply(TOps.Multiply(half, d), d);
            slope = TOps.Multiply(TOps.Multiply(half, rootQ), d);
            return true;
        }

        public double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            double sum = 0;
            for (int j = 0; j < x.Length; j++)
            {
                double rootQ = Math.Exp(0.5 * x[j]), d = rootQ - Math.Sqrt(p[j]);
                sum += 0.5 * d * d;
                if (!gradient.IsEmpty) gradient[j] = 0.5 * rootQ * d;
            }
            return sum;
        }
    }
}

/// <summary>
/// Cauchy–Schwarz divergence, spec <c>cauchy_schwarz</c>: <c>ℓ = −log((Σ_j p_j q_j)² / (Σ_j p_j² · Σ_j q_j²))</c>,
/// q = exp(x); <c>∂ℓ/∂x_j = q_j·(2q_j/Σq² − 2p_j/Σpq)</c>. Invariant to the scale of q, so computed with x shifted by
/// its row maximum: finite for any finite x. Reference: Principe, Xu &amp; Fisher 2000, Information theoretic learning;
/// Jenssen et al. 2006, The Cauchy–Schwarz divergence and Parzen windowing.
/// </summary>
public sealed class CauchySchwarzLoss(bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<CauchySchwarzLoss.CauchySchwarz>(Definition, default, logTarget, reduction)
{
    public static LossCard Definition { get; } = DivergenceCard("cauchy_schwarz", "Cauchy–Schwarz divergence",
        "ℓ = −log((Σ_j p_j q_j)² / (Σ_j p_j² · Σ_j q_j²)), q = exp(x)", "∂ℓ/∂x_j = q_j·(2q_j/Σq² − 2p_j/Σpq)",
        "Principe, Xu & Fisher 2000, Information theoretic learning; Jenssen, Principe, Erdogmus & Eltoft 2006, The Cauchy–Schwarz divergence and Parzen windowing",
        "≥ 0, and 0 exactly when q ∝ p; unchanged by adding a constant to a row of x. +∞ when Σpq = 0.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new CauchySchwarzLoss(t, r)));


    /// <inheritdoc/>
    public override double FiniteInputScale => 1e30;

    /// <inheritdoc/>
    public override bool FiniteOnDisjointSupports => false;

    private protected override VectorPath<CauchySchwarz> Vector => RowPath<CauchySchwarz>.Instance;

    public readonly struct CauchySchwarz : IDivergenceRow, IRowDivergence
    {
        /// <summary>q = exp(x − max) in float lanes; Σpq, Σp², Σq² and the gradient q·(2q/Σq² − 2p/Σpq) in double lanes.</summary>
        double IRowDivergence.Row<TVf, TFOps, TV, TOps, TW>(int k, Span<float> x, Span<float> p, Span<float> gradient)
        {
            int n = x.Length, c = TFOps.Count;
            ref float rx = ref x[0], rp = ref p[0];
            TVf maxV = TFOps.Broadcast(float.NegativeInfinity);
            for (int i = 0; i < n; i += c) maxV = TFOps.MaxPropagateNaN(maxV, TFOps.Load(ref rx, (nuint)i));
            TVf max = TFOps.Broadcast(TFOps.MaxAcross(maxV));
            TV pq = TOps.Broadcast(0.0), pp = pq, qq = pq;
            bool keep = !gradient.IsEmpty;
            for (int i = 0; i < n; i += c)
            {
                TVf qf = DivergenceLanes<TVf, TFOps>.Exp(TFOps.Subtract(TFOps.Load(ref rx, (nuint)i), max));
                TW.Widen(qf, out TV q0, out TV q1);
                TW.Widen(TFOps.Load(ref rp, (nuint)i), out TV p0, out TV p1);
                pq = TOps.Add(TOps.Add(pq, TOps.Multiply(p0, q0)), TOps.Multiply(p1, q1));
                pp = TOps.Add(TOps.Add(pp, TOps.Multiply(p0, p0)), TOps.Multiply(p1, p1));
                qq = TOps.Add(TOps.Add(qq, TOps.Multiply(q0, q0)), TOps.Multiply(q1, q1));
                if (keep) TFOps.Store(qf, ref gradient[0], (nuint)i);
            }
            double spq = TOps.Sum(pq), spp = TOps.Sum(pp), sqq = TOps.Sum(qq);
            if (keep)
            {
                TV two = TOps.Broadcast(2.0), vqq = TOps.Broadcast(sqq), vpq = TOps.Broadcast(spq);
                for (int i = 0; i < n; i += c)
                {
                    TW.Widen(TFOps.Load(ref gradient[0], (nuint)i), out TV q0, out TV q1);
                    TW.Widen(TFOps.Load(ref rp, (nuint)i), out TV p0, out TV p1);
                    TV g0 = TOps.Multiply(q0, TOps.Subtract(TOps.Divide(TOps.Multiply(two, q0), vqq), TOps.Divide(TOps.Multiply(two, p0), vpq)));
                    TV g1 = TOps.Multiply(q1, TOps.Subtract(TOps.Divide(TOps.Multiply(two, q1), vqq), TOps.Divide(TOps.Multiply(two, p1), vpq)));
                    TFOps.Store(TW.Narrow(g0, g1), ref gradient[0], (nuint)i);
                }
            }
            return -2 * Math.Log(spq) + Math.Log(spp) + Math.Log(sqq);
        }

        public double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            int k = x.Length;
            Span<double> q = scratch[..k];
            double max = double.NegativeInfinity;
            foreach (double v in x) max = double.IsNaN(v) ? v : Math.Max(max, v);
            double pq = 0, pp = 0, qq = 0;
            for (int j = 0; j < k; j++)
            {
                q[j] = Math.Exp(x[j] - max);
                pq += p[j] * q[j];
                pp += p[j] * p[j];
                qq += q[j] * q[j];
            }
            for (int j = 0; j < gradient.Length; j++) gradient[j] = q[j] * (2 * q[j] / qq - 2 * p[j] / pq);
            return -2 * Math.Log(pq) + Math.Log(pp) + Math.Log(qq);
        }
    }
}

/// <summary>
/// Wasserstein-1 distance between distributions over ordered classes, spec <c>wasserstein1</c>:
/// <c>ℓ = Σ_{k&lt;K−1} |Q_k − P_k|</c> with the cumulative sums Q_k = Σ_{j≤k} q_j, P_k = Σ_{j≤k} p_j and q = exp(x) (unit
/// spacing between classes); <c>∂ℓ/∂x_j = q_j·Σ_{j≤k&lt;K−1} sign(Q_k − P_k)</c>. The last cumulative sum is 1 for both
/// normalised rows and is left out: kept, it would put a kink (rounding noise's sign) at every normalised pair. Reference: Ramdas, García Trillos &amp; Cuturi 2017,
/// On Wasserstein two-sample testing; Hou, Yu &amp; Samaras 2016, Squared Earth Mover's distance-based loss for training deep neural networks.
/// </summary>
public sealed class Wasserstein1Loss(bool logTarget = false, DivergenceReduction reduction = DivergenceReduction.Mean)
    : DivergenceLoss<Wasserstein1Loss.Wasserstein1>(Definition, default, logTarget, reduction)
{
    public static LossCard Definition { get; } = DivergenceCard("wasserstein1", "Wasserstein-1 distance on ordered classes",
        "ℓ = Σ_{k<K−1} |Q_k − P_k|, Q_k = Σ_{j≤k} q_j, P_k = Σ_{j≤k} p_j, q = exp(x)", "∂ℓ/∂x_j = q_j·Σ_{j≤k<K−1} sign(Q_k − P_k)",
        "Ramdas, García Trillos & Cuturi 2017, On Wasserstein two-sample testing and related families of nonparametric tests; " +
        "Hou, Yu & Samaras 2016, Squared Earth Mover's distance-based loss for training deep neural networks",
        "Classes are ordered with unit spacing. The last cumulative sum (1 for both normalised rows) is left out: it would only add a kink " +
        "at every normalised pair, so a difference in total mass is not penalised. sign(0) = 0. Finite for x ≤ 80.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => FromSpec(a, (t, r) => new Wasserstein1Loss(t, r)));

    private protected override VectorPath<Wasserstein1> Vector => RowPath<Wasserstein1>.Instance;

    public readonly struct Wasserstein1 : IDivergenceRow, IRowDivergence
    {
        /// <summary>q = exp(x) in float lanes; the cumulative differences Q_k − P_k in double, as four chains over the four
        /// quarters of the row run side by side (each quarter starts from the sum of the quarters before it, so the
        /// additions overlap instead of waiting on one another); |Q_k − P_k| summed per quarter, the quarters added in
        /// order. The gradient's suffix sums of signs are integers, exact in float, the same in any order.</summary>
        double IRowDivergence.Row<TVf, TFOps, TV, TOps, TW>(int k, Span<float> x, Span<float> p, Span<float> gradient)
        {
            int n = x.Length, c = TFOps.Count;
            ref float rx = ref x[0];
            for (int i = 0; i < n; i += c) TFOps.Store(DivergenceLanes<TVf, TFOps>.Exp(TFOps.Load(ref rx, (nuint)i)), ref rx, (nuint)i);   // x becomes q
            ReadOnlySpan<float> q = x, pr = p;
            int m = k - 1, len = m / 4, q1 = len, q2 = 2 * len, q3 = 3 * len;   // differences 0..m−1: quarters [0, q1), [q1, q2), [q2, q3), [q3, m)
            double total0 = 0, total1 = 0, total2 = 0;
            for (int i = 0; i < len; i++)
            {
                total0 += (double)q[i] - pr[i];
                total1 += (double)q[q1 + i] - pr[q1 + i];
                total2 += (double)q[q2 + i] - pr[q2 + i];
            }
            double c0 = 0, c1 = total0, c2 = c1 + total1, c3 = c2 + total2, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            bool keep = !gradient.IsEmpty;
            for (int i = 0; i < len; i++)
            {
                c0 += (double)q[i] - pr[i];
                c1 += (double)q[q1 + i] - pr[q1 + i];
                c2 += (double)q[q2 + i] - pr[q2 + i];
                c3 += (double)q[q3 + i] - pr[q3 + i];
                s0 += Math.Abs(c0);
                s1 += Math.Abs(c1);
                s2 += Math.Abs(c2);
                s3 += Math.Abs(c3);
                if (keep)
                {
                    gradient[i] = Divergences.SignOf(c0);
                    gradient[q1 + i] = Divergences.SignOf(c1);
                    gradient[q2 + i] = Divergences.SignOf(c2);
                    gradient[q3 + i] = Divergences.SignOf(c3);
                }
            }
            for (int j = q3 + len; j < m; j++)
            {
                c3 += (double)q[j] - pr[j];
                s3 += Math.Abs(c3);
                if (keep) gradient[j] = Divergences.SignOf(c3);
            }
            if (keep)
            {
                // ∂ℓ/∂x_j = q_j·Σ_{j≤i<m} sign_i: each quarter's suffix starts from the signs of the quarters after it.
                gradient[m] = 0;
                float r3 = 0;
                for (int j = m; j >= q3 + len; j--)
                {
                    r3 += gradient[j];
                    gradient[j] = q[j] * r3;
                }
                float total3 = r3, sum3 = 0, sum2 = 0, sum1 = 0;
                for (int i = 0; i < len; i++) (sum3, sum2, sum1) = (sum3 + gradient[q3 + i], sum2 + gradient[q2 + i], sum1 + gradient[q1 + i]);
                float r2 = total3 + sum3, r1 = r2 + sum2, r0 = r1 + sum1;
                r3 = total3;
                for (int i = len - 1; i >= 0; i--)
                {
                    r3 += gradient[q3 + i];
                    gradient[q3 + i] = q[q3 + i] * r3;
                    r2 += gradient[q2 + i];
                    gradient[q2 + i] = q[q2 + i] * r2;
                    r1 += gradient[q1 + i];
                    gradient[q1 + i] = q[q1 + i] * r1;
                    r0 += gradient[i];
                    gradient[i] = q[i] * r0;
                }
            }
            return ((s0 + s1) + s2) + s3;
        }

        public double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            int k = x.Length;
            Span<double> sign = scratch[..k];
            double cumulative = 0, sum = 0;
            for (int j = 0; j < k - 1; j++)
            {
                cumulative += Math.Exp(x[j]) - p[j];
                sum += Math.Abs(cumulative);
                sign[j] = Divergences.Sign(cumulative);
            }
            if (k > 0) sign[k - 1] = 0;
            double suffix = 0;
            for (int j = gradient.Length - 1; j >= 0; j--)
            {
                suffix += sign[j];
                gradient[j] = Math.Exp(x[j]) * suffix;
            }
            return sum;
        }
    }
}

/// <summary>Scalar helpers of the divergence rows.</summary>
internal static class Divergences
{
    /// <summary>a·(log a − log b) with the convention 0·(anything) = 0 (a = 0 contributes nothing, as xlogy).</summary>
    public static double PLogPOverQ(double a, double logA, double logB) => a > 0 ? a * (logA - logB) : a == 0 ? 0 : double.NaN;

    /// <summary>log(eᵃ + eᵇ), exact when either is −∞.</summary>
    public static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double max = Math.Max(a, b);
        return max + Math.Log(1 + Math.Exp(-Math.Abs(a - b)));
    }

    /// <summary>−1, 0 or 1; NaN stays NaN.</summary>
    public static double Sign(double d) => d > 0 ? 1 : d < 0 ? -1 : d == 0 ? 0 : double.NaN;

    /// <summary><see cref="Sign"/> as a float, without branches on the sign (wasserstein1's cumulative difference of two
    /// close distributions changes sign often, and mispredicted branches cost more than the arithmetic).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SignOf(double d) => double.IsNaN(d) ? float.NaN : (d > 0 ? 1 : 0) - (d < 0 ? 1 : 0);
}
