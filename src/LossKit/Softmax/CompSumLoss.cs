using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Comp-sum losses, spec <c>compsum(tau=1)</c>: <c>f(p) = (p^{τ−1} − 1)/(1 − τ)</c> (τ ≠ 1), <c>−log p</c> at τ = 1;
/// <c>f'(p)·p = −p^{τ−1}</c>. τ = 0 is sum-exponential (1−p)/p, τ = 1 cross-entropy, τ ∈ (1, 2) GCE with
/// q = τ − 1 (scaled), τ = 2 MAE. Bounded by 1/(τ−1) for τ &gt; 1; for τ &lt; 1 it grows like p^{τ−1} and
/// overflows to +∞ once p_y is below about 10^(−308/(1−τ)).
/// Reference: Mao, Mohri &amp; Zhong 2023, Cross-entropy loss functions: theoretical analysis and applications.
/// </summary>
public sealed class CompSumLoss(double? tau = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : TargetProbabilityLoss(weight, ignoreIndex, reduction)
{
    public static readonly LossParameter TauParameter = new("tau", ParameterKind.Number, "τ: 0 sum-exponential, 1 CE, (1,2) GCE, 2 MAE") { Default = 1, Min = 0 };

    public static LossCard Definition { get; } = FamilyCard("compsum", "Comp-sum losses",
        "f(p) = (p^{τ−1} − 1)/(1 − τ), τ ≠ 1; −log p at τ = 1", "f'(p)·p = −p^{τ−1}",
        "Mao, Mohri & Zhong 2023, Cross-entropy loss functions: theoretical analysis and applications",
        LossProperties.NonNegative | LossProperties.ClassificationCalibrated | LossProperties.ConvexInLogits, TauParameter)
        with { UpperBound = (loss, _) => UpperBoundFor(((CompSumLoss)loss).Tau) };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CompSumLoss(a.Number(TauParameter), a.Weight(),
        a.IgnoreIndex(), a.Reduction()));

    public double Tau { get; } = TauParameter.Resolve(tau);
    public override LossCard Card => Definition;

    /// <summary>The card's claims hold at the default τ = 1 (cross-entropy); other τ lose convexity, τ &gt; 1 adds
    /// bounded and τ = 2 symmetric.</summary>
    public override LossProperties Properties => Definition.Properties
        & ~(Tau != 1 ? LossProperties.ConvexInLogits : 0) | (Tau > 1 ? LossProperties.Bounded : 0) | (Tau == 2 ? LossProperties.Symmetric : 0);

    /// <summary>For τ &lt; 1 the loss is p_y^{τ−1}: beyond logit gaps of ~60 it leaves float range, so 30.</summary>
    public override double FiniteLogitScale => Tau < 1 ? 30 : 1e30;

    /// <summary>The bound 1/(τ−1) for τ &gt; 1.</summary>
    public static double UpperBoundFor(double tau) => 1 / (tau - 1);

    public override IEnumerable<ParameterValue> ParameterValues => [TauParameter.Of(Tau), .. base.ParameterValues];

    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target)
    {
        if (Tau == 1) return (-logP, -1);
        double e = (Tau - 1) * logP;                 // log p^{τ−1}
        return (Kernels.Scalar.Expm1(e) / (1 - Tau), -Math.Exp(e));
    }
}
