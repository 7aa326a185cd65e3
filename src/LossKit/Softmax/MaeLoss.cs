using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Mean absolute error on the target probability, spec <c>mae</c>: <c>f(p) = 1 − p</c>, <c>f'(p)·p = −p</c>.
/// Symmetric (Σ_k ℓ(z, k) = K − 1) and bounded by 1, hence robust to symmetric label noise; slow to train.
/// (Ghosh et al. define MAE as ‖e_y − p‖₁ = 2(1 − p): the same up to a factor 2.)
/// Reference: Ghosh, Kumar &amp; Sastry 2017, Robust loss functions under label noise for deep neural networks.
/// </summary>
public sealed class MaeLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : TargetProbabilityLoss(weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = FamilyCard("mae", "MAE on the target probability", "f(p) = 1 − p", "f'(p)·p = −p",
        "Ghosh, Kumar & Sastry 2017, Robust loss functions under label noise for deep neural networks",
        LossProperties.NonNegative | LossProperties.Bounded | LossProperties.Symmetric | LossProperties.ClassificationCalibrated) with
    {
        UpperBound = (_, _) => 1,
        SymmetricSum = (_, k) => k - 1,
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new MaeLoss(a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public override LossCard Card => Definition;
    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target) => (oneMinusP, -p);
}
