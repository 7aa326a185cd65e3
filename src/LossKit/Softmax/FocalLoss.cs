using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Focal loss, spec <c>focal(gamma=2, alpha=[...])</c>: <c>f(p) = −α_y(1−p)^γ log p</c>,
/// <c>f'(p)·p = α_y[γ(1−p)^{γ−1}·p·log p − (1−p)^γ]</c>. γ = 0 is cross-entropy.
/// <c>alpha</c> is one factor per class (or one for all); unlike <c>weight</c> it does not enter the mean's denominator.
/// Reference: Lin, Goyal, Girshick, He &amp; Dollár 2017, Focal loss for dense object detection.
/// </summary>
public sealed class FocalLoss : TargetProbabilityLoss
{
    public static readonly LossParameter Gamma = new("gamma", ParameterKind.Number, "focusing exponent γ (0 = cross-entropy)") { Default = 2, Min = 0 };
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.NumberList, "class factor α_y: K values, or one for all") { Min = 0 };

    public static LossCard Definition { get; } = FamilyCard("focal", "Focal loss", "f(p) = −α_y (1−p)^γ log p",
        "f'(p)·p = α_y[γ(1−p)^{γ−1} p log p − (1−p)^γ]", "Lin et al. 2017, Focal loss for dense object detection",
        LossProperties.NonNegative | LossProperties.ClassificationCalibrated, Gamma, Alpha);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new FocalLoss(a.Number(Gamma), a.List(Alpha),
        a.Weight(), a.IgnoreIndex(), a.Reduction()));

    private readonly double[]? _alpha;

    /// <summary>A null option takes its default from the card.</summary>
    public FocalLoss(double? gamma = null, IReadOnlyList<double>? alpha = null, IReadOnlyList<double>? weight = null,
        int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean) : base(weight, ignoreIndex, reduction)
    {
        GammaValue = Gamma.Resolve(gamma);
        _alpha = Alpha.Resolve(alpha);
    }

    public double GammaValue { get; }
    public IReadOnlyList<double>? AlphaValues => _alpha;
    public override LossCard Card => Definition;
    public override int? FixedClassCount => base.FixedClassCount ?? (_alpha is { Length: > 1 } ? _alpha.Length : null);

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Gamma.Of(GammaValue), Alpha.Of(_alpha), .. base.ParameterValues];

    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target)
    {
        double a = 1;
        if (_alpha is not null)
        {
            if (_alpha.Length == 1) a = _alpha[0];
            else if (target < _alpha.Length) a = _alpha[target];
            else throw new ArgumentException($"alpha has {_alpha.Length} values but a target is class {target}; give one alpha per class.", "alpha");
        }
        double gamma = GammaValue;
        double mod = gamma == 0 ? 1 : Math.Pow(oneMinusP, gamma);            // (1−p)^γ
        // γ(1−p)^{γ−1}·p·log p = γ(1−p)^γ·p·(log p/(1−p)); log p/(1−p) → −1 as p → 1.
        double ratio = oneMinusP > 0 ? logP / oneMinusP : -1;
        double g = gamma == 0 ? -1 : gamma * mod * p * ratio - mod;
        return (-a * mod * logP, a * g);
    }
}
