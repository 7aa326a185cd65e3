using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// Laplace negative log-likelihood with a predicted scale, spec <c>laplace_nll(full=false, eps=1e-6)</c>:
/// <c>ℓ = log b + |ŷ − y|/b</c> with <c>b = max(scale, eps)</c>, plus log 2 with <c>full</c>. Treated as
/// <c>gaussian_nll</c> treats var: <c>scale</c> has the input's shape, a negative scale is an error naming the element,
/// and the clamp passes the gradient through. ∂ℓ/∂ŷ = sign(r)/b, ∂ℓ/∂scale = (1 − |r|/b)/b.
/// </summary>
public sealed class LaplaceNllLoss(bool full = false, double? eps = null, Reduction reduction = Reduction.Mean)
    : FlooredNllLoss(Definition, Scale, full, eps, reduction)
{
    public static readonly LossParameter Full = RegressionParameters.Full("log 2");
    public static readonly LossParameter Eps = GaussianNllLoss.Eps with { Description = "scale is clamped at eps (the gradient passes through the clamp, as gaussian_nll's var)" };

    private static readonly LossInput Scale = new("scale", "same as input", true, "the predicted scale b ≥ 0 (the mean absolute deviation)") { NonNegative = true };

    public static LossCard Definition { get; } = RegressionCard("laplace_nll", "Laplace negative log-likelihood",
        "ℓ = log b + |r|/b, b = max(scale, eps), r = ŷ − y; full: + log 2",
        "∂ℓ/∂ŷ = sign(r)/b; ∂ℓ/∂scale = (1 − |r|/b)/b (through the clamp)",
        "the Laplace density's negative log (e.g. Kendall & Gal 2017, What uncertainties do we need ..., eq. 8 with b = e^s)",
        LossProperties.None, "Predicts the median (input) and the scale b (scale).", Full, Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new LaplaceNllLoss(a.Flag(Full), a.Number(Eps), a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => Run(new Op(IsFull, EpsValue), batch);

    private readonly struct Op(bool full, double eps) : IElementFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IElementFunction.Evaluate<TV, T, TOps>(TV x, TV y, TV scale, TV q, out TV loss, out TV dx, out TV dscale, out TV dq)
        {
            TV b = TOps.MaxPropagateNaN(scale, RegressionMath<TV, T, TOps>.C(eps));
            TV r = TOps.Subtract(x, y), z = TOps.Divide(TOps.Abs(r), b);
            loss = TOps.Add(RegressionMath<TV, T, TOps>.Log(b), z);
            if (full) loss = TOps.Add(loss, RegressionMath<TV, T, TOps>.C(Math.Log(2)));
            dx = TOps.Divide(RegressionMath<TV, T, TOps>.Sign(r), b);
            dscale = TOps.Divide(TOps.Subtract(TOps.Broadcast(T.One), z), b);
            dq = dx;
        }
    }
}
