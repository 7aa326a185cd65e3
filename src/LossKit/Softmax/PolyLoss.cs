using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Poly-1 loss, spec <c>poly(eps=1)</c>: <c>f(p) = −log p + ε(1−p)</c>, <c>f'(p)·p = −1 − εp</c>. ε = 0 is cross-entropy.
/// Reference: Leng et al. 2022, PolyLoss: a polynomial expansion perspective of classification loss functions.
/// </summary>
public sealed class PolyLoss(double? eps = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : TargetProbabilityLoss(weight, ignoreIndex, reduction)
{
    public static readonly LossParameter Epsilon = new("eps", ParameterKind.Number, "ε, the weight of the first polynomial term (1−p); ≥ −1 keeps ℓ ≥ 0") { Default = 1, Min = -1 };

    public static LossCard Definition { get; } = FamilyCard("poly", "Poly-1 loss", "f(p) = −log p + ε(1−p)", "f'(p)·p = −1 − εp",
        "Leng et al. 2022, PolyLoss: a polynomial expansion perspective of classification loss functions",
        LossProperties.NonNegative | LossProperties.ClassificationCalibrated, Epsilon);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new PolyLoss(a.Number(Epsilon), a.Weight(),
        a.IgnoreIndex(), a.Reduction()));

    public double Eps { get; } = Epsilon.Resolve(eps);
    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [Epsilon.Of(Eps), .. base.ParameterValues];
    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target) => (-logP + Eps * oneMinusP, -1 - Eps * p);
}
