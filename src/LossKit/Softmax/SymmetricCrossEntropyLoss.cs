using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Symmetric cross-entropy, spec <c>sce(alpha=0.1, beta=1, A=-4)</c>: CE plus reverse CE with log 0 clamped to A,
/// <c>f(p) = −α log p − β·A·(1−p)</c>, <c>f'(p)·p = −α + β·A·p</c>.
/// Reference: Wang, Ma, Chen, Luo, Yi &amp; Bailey 2019, Symmetric cross entropy for robust learning with noisy labels.
/// </summary>
public sealed class SymmetricCrossEntropyLoss(double? alpha = null, double? beta = null, double? a = null, IReadOnlyList<double>? weight = null,
    int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean) : TargetProbabilityLoss(weight, ignoreIndex, reduction)
{
    public static readonly LossParameter AlphaParameter = new("alpha", ParameterKind.Number, "weight α of the CE term") { Default = 0.1, Min = 0 };
    public static readonly LossParameter BetaParameter = new("beta", ParameterKind.Number, "weight β of the reverse-CE term") { Default = 1, Min = 0 };
    public static readonly LossParameter AParameter = new("A", ParameterKind.Number, "A = log 0 clamp of the reverse CE (negative)") { Default = -4, Max = 0, MaxExclusive = true };

    public static LossCard Definition { get; } = FamilyCard("sce", "Symmetric cross-entropy", "f(p) = −α log p − β A (1−p)",
        "f'(p)·p = −α + β A p", "Wang et al. 2019, Symmetric cross entropy for robust learning with noisy labels",
        LossProperties.NonNegative | LossProperties.ClassificationCalibrated, AlphaParameter, BetaParameter, AParameter);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SymmetricCrossEntropyLoss(a.Number(AlphaParameter),
        a.Number(BetaParameter), a.Number(AParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public double Alpha { get; } = AlphaParameter.Resolve(alpha);
    public double Beta { get; } = BetaParameter.Resolve(beta);
    public double A { get; } = AParameter.Resolve(a);
    public override LossCard Card => Definition;

    public override IEnumerable<ParameterValue> ParameterValues =>
        [AlphaParameter.Of(Alpha), BetaParameter.Of(Beta), AParameter.Of(A), .. base.ParameterValues];

    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target) =>
        (-Alpha * logP - Beta * A * oneMinusP, -Alpha + Beta * A * p);
}
