using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Generalized cross-entropy (Lq), spec <c>gce(q=0.7, k=0)</c>: <c>f(p) = (1 − p^q)/q</c>, <c>f'(p)·p = −p^q</c>;
/// truncated Lq when k &gt; 0: rows with p ≤ k have the constant loss (1 − k^q)/q and zero gradient.
/// q → 0 tends to cross-entropy, q = 1 is MAE (1 − p). Bounded by 1/q.
/// Reference: Zhang &amp; Sabuncu 2018, Generalized cross entropy loss for training deep neural networks with noisy labels.
/// </summary>
public sealed class GeneralizedCrossEntropyLoss(double? q = null, double? k = null, IReadOnlyList<double>? weight = null,
    int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean) : TargetProbabilityLoss(weight, ignoreIndex, reduction)
{
    public static readonly LossParameter QParameter = new("q", ParameterKind.Number, "exponent q") { Default = 0.7, Min = 0, MinExclusive = true, Max = 1 };
    public static readonly LossParameter KParameter = new("k", ParameterKind.Number, "truncation threshold (0 = off)") { Default = 0, Min = 0, Max = 1, MaxExclusive = true };

    public static LossCard Definition { get; } = FamilyCard("gce", "Generalized cross-entropy (Lq, truncated Lq)",
        "f(p) = (1 − p^q)/q; if k > 0 and p ≤ k: (1 − k^q)/q", "f'(p)·p = −p^q (0 where truncated)",
        "Zhang & Sabuncu 2018, Generalized cross entropy loss for training deep neural networks with noisy labels",
        LossProperties.NonNegative | LossProperties.Bounded | LossProperties.ClassificationCalibrated, QParameter, KParameter) with
    {
        UpperBound = (loss, _) => 1 / ((GeneralizedCrossEntropyLoss)loss).Q,
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new GeneralizedCrossEntropyLoss(a.Number(QParameter),
        a.Number(KParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public double Q { get; } = QParameter.Resolve(q);
    public double K { get; } = KParameter.Resolve(k);
    public override LossCard Card => Definition;
    /// <summary>Symmetric at q = 1 (it is MAE). Truncated (k &gt; 0) it has zero gradient wherever p_y ≤ k, so
    /// calibration is not claimed: a model starting below k on every class never moves.</summary>
    public override LossProperties Properties => (Q == 1 ? Definition.Properties | LossProperties.Symmetric : Definition.Properties)
        & ~(K > 0 ? LossProperties.ClassificationCalibrated : 0);

    public override IEnumerable<ParameterValue> ParameterValues => [QParameter.Of(Q), KParameter.Of(K), .. base.ParameterValues];

    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target)
    {
        if (K > 0 && p <= K) return (-Kernels.Scalar.Expm1(Q * Math.Log(K)) / Q, 0);
        return (-Kernels.Scalar.Expm1(Q * logP) / Q, -Math.Exp(Q * logP));
    }
}
