using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>ε-insensitive loss of support vector regression, spec <c>eps_insensitive(eps=0.1)</c>:
/// <c>ℓ = max(0, |r| − ε)</c>; ∂ℓ/∂ŷ = sign(r) where |r| &gt; ε, else 0.</summary>
public sealed class EpsInsensitiveLoss(double? eps = null, Reduction reduction = Reduction.Mean) : OneParameterRegressionLoss(Definition, eps, reduction)
{
    public static readonly LossParameter Eps = new("eps", ParameterKind.Number, "ε: the half-width of the zone without loss") { Default = 0.1, Min = 0 };

    public static LossCard Definition { get; } = RegressionCard("eps_insensitive", "ε-insensitive loss",
        "ℓ = max(0, |r| − ε), r = ŷ − y", "∂ℓ/∂ŷ = sign(r) if |r| > ε else 0",
        "Vapnik 1995, The nature of statistical learning theory (support vector regression)",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "", Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new EpsInsensitiveLoss(a.Number(Eps), a.Reduction()));

    /// <summary>ε ≥ 0.</summary>
    public double EpsValue => Value;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(EpsValue), batch);

    private readonly struct Op(double eps) : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        {
            TV excess = TOps.Subtract(TOps.Abs(r), RegressionMath<TV, T, TOps>.C(eps));
            TV zero = TOps.Broadcast(T.Zero), outside = TOps.GreaterThan(excess, zero);
            loss = TOps.Select(outside, excess, TOps.Select(TOps.EqualTo(r, r), zero, r));
            dx = TOps.Select(outside, RegressionMath<TV, T, TOps>.Sign(r), TOps.Select(TOps.EqualTo(r, r), zero, r));
        }
    }
}
