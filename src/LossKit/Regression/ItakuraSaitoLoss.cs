using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>
/// Itakura–Saito loss, spec <c>itakura_saito(form=ratio, beta=1, eps=1e-8)</c>. <c>form=ratio</c>: the Itakura–Saito
/// divergence of the positive target u from the positive prediction v, <c>ℓ = u/v − log(u/v) − 1</c> (v clamped at eps,
/// the gradient passing through as <c>gaussian_nll</c>'s var; ∂ℓ/∂v = (1 − u/v)/v). <c>form=exp_utility</c>: its
/// exponential-utility form for risk-averse value learning (Udovichenko et al. 2025), the divergence of
/// u = e^{−βG} from v = e^{−βV} for the target return G and the predicted value V (any reals):
/// <c>ℓ = e^δ − 1 − δ</c> with <c>δ = log(u/v) = β(V − G)</c>; ∂ℓ/∂V = β(e^δ − 1). Its minimiser over V is the risk-averse
/// certainty equivalent V = −(1/β)·log E[e^{−βG}] (β &gt; 0 is the risk aversion). The catalog writes δ = β(G − V): that
/// sign gives the risk-seeking certainty equivalent (1/β)·log E[e^{βG}], so LossKit follows the paper. Both forms are
/// e^δ − 1 − δ of a log-ratio, computed with a series where δ is small so that a near-perfect prediction keeps its
/// precision.
/// </summary>
/// <param name="form"><c>ratio</c> or <c>exp_utility</c>.</param>
/// <param name="beta">β &gt; 0 (exp_utility).</param>
/// <param name="eps">&gt; 0: the prediction's floor (ratio).</param>
/// <param name="reduction">none, sum or mean.</param>
public sealed class ItakuraSaitoLoss(string? form = null, double? beta = null, double? eps = null, Reduction reduction = Reduction.Mean)
    : RegressionLoss(Definition, reduction)
{
    public static readonly LossParameter Form = new("form", ParameterKind.Choice,
        "ratio: u/v − log(u/v) − 1 for target u > 0 and prediction v ≥ 0; exp_utility: e^δ − 1 − δ, δ = β(V − G)") { Choices = ["ratio", "exp_utility"] };
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "β: the risk aversion of the exp_utility form (u = e^{−βG}, v = e^{−βV})") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter Eps = new("eps", ParameterKind.Number, "the ratio form clamps v at eps (the gradient passes through)") { Default = 1e-8, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = RegressionCard("itakura_saito", "Itakura–Saito loss",
        "ratio: ℓ = u/v − log(u/v) − 1 (u = y > 0, v = max(ŷ, eps)); exp_utility: ℓ = e^δ − 1 − δ, δ = β(ŷ − y)",
        "ratio: ∂ℓ/∂ŷ = (1 − u/v)/v; exp_utility: ∂ℓ/∂ŷ = β(e^δ − 1)",
        "Itakura & Saito 1968 (the divergence); Févotte, Bertin & Durrieu 2009, NMF with the Itakura-Saito divergence; Udovichenko, Croissant, Toleutaeva, Burnaev & Korotin 2025, Risk-averse reinforcement learning with Itakura-Saito loss (arXiv:2505.16925), the exp_utility form",
        LossProperties.NonNegative, "ratio: not convex in v (convex for v < 2u); exp_utility: convex in V (that form claims it), minimised by V = −(1/β)·log E[e^{−βG}]; the catalog's δ = β(G − V) would be risk-seeking, so the paper's sign is used.", Form, Beta, Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new ItakuraSaitoLoss(a.Choice(Form), a.Number(Beta), a.Number(Eps), a.Reduction()));

    public string FormValue { get; } = Form.Resolve(form);
    public double BetaValue { get; } = Beta.Resolve(beta);
    public double EpsValue { get; } = Eps.Resolve(eps);
    private bool IsRatio => FormValue == "ratio";

    public override LossProperties Properties => IsRatio ? Card.Properties : Card.Properties | LossProperties.ConvexInLogits;

    public override IEnumerable<ParameterValue> ParameterValues => [Form.Of(FormValue), Beta.Of(BetaValue), Eps.Of(EpsValue), .. base.ParameterValues];

    /// <summary>e^δ overflows float beyond δ = 88.</summary>
    public override double FiniteInputScale => IsRatio ? 1e30 : 40 / BetaValue;

    public override RegressionDomain InputDomain => IsRatio ? RegressionDomain.NonNegative : RegressionDomain.Any;

    public override RegressionDomain TargetDomain => IsRatio ? RegressionDomain.FinitePositive : RegressionDomain.FiniteReal;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(IsRatio, BetaValue, EpsValue), batch);

    private readonly struct Op(bool ratio, double beta, double eps) : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            if (ratio)
            {
                TV v = TOps.MaxPropagateNaN(x, RegressionMath<TV, T, TOps>.C(eps));
                TV w = TOps.Divide(y, v);
                TV delta = RegressionMath<TV, T, TOps>.Log(w);
                RegressionMath<TV, T, TOps>.ExpRemainders(delta, w, out loss, out TV expm1);
                dx = TOps.Divide(RegressionMath<TV, T, TOps>.Negate(expm1), v);         // (1 − u/v)/v
            }
            else
            {
                TV b = RegressionMath<TV, T, TOps>.C(beta);
                TV delta = TOps.Multiply(b, TOps.Subtract(x, y));                          // log(e^{−βG}/e^{−βV})
                RegressionMath<TV, T, TOps>.ExpRemainders(delta, RegressionMath<TV, T, TOps>.Exp(delta), out loss, out TV expm1);
                dx = TOps.Multiply(b, expm1);
            }
        }
    }
}
