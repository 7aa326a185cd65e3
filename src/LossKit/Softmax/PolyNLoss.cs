using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Poly-N loss, spec <c>polyn(eps=[1, 0.5])</c>: <c>f(p) = −log p + Σ_{j=1..N} ε_j (1−p)^j</c>,
/// <c>f'(p)·p = −1 − p·Σ_j j·ε_j (1−p)^{j−1}</c>. eps = [ε] is Poly-1.
/// Reference: Leng et al. 2022, PolyLoss.
/// </summary>
public sealed class PolyNLoss : TargetProbabilityLoss
{
    public static readonly LossParameter Epsilons = new("eps", ParameterKind.NumberList, "ε_1..ε_N, coefficients of (1−p)^j") { Default = 1 };

    public static LossCard Definition { get; } = FamilyCard("polyn", "Poly-N loss", "f(p) = −log p + Σ_j ε_j (1−p)^j",
        "f'(p)·p = −1 − p Σ_j j ε_j (1−p)^{j−1}", "Leng et al. 2022, PolyLoss: a polynomial expansion perspective of classification loss functions",
        LossProperties.None, Epsilons);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new PolyNLoss(a.List(Epsilons), a.Weight(),
        a.IgnoreIndex(), a.Reduction()));

    private readonly double[] _eps;

    public PolyNLoss(IReadOnlyList<double>? eps = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
        Reduction reduction = Reduction.Mean) : base(weight, ignoreIndex, reduction)
    {
        _eps = Epsilons.Resolve(eps) ?? [Epsilons.Default!.Value];
    }

    public IReadOnlyList<double> Eps => _eps;
    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [Epsilons.Of(_eps), .. base.ParameterValues];

    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target)
    {
        double f = -logP, dsum = 0, power = 1;   // power = (1−p)^{j−1}
        for (int j = 1; j <= _eps.Length; j++)
        {
            dsum += j * _eps[j - 1] * power;
            power *= oneMinusP;
            f += _eps[j - 1] * power;
        }
        return (f, -1 - p * dsum);
    }
}
