using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// <c>k·smooth_l1_β(r)</c>: <c>k·r²/(2β)</c> for |r| &lt; β, else <c>k·(|r| − β/2)</c>; gradient <c>k·r/β</c> inside,
/// <c>k·sign(r)</c> outside (and at |r| = β, as PyTorch). k = 1 is <c>smooth_l1</c>, k = β = δ is <c>huber</c>; β = 0 is
/// L1 (the quadratic branch never applies) with PyTorch's gradient −1 at r = 0 (its backward tests r ≤ −β first).
/// </summary>
internal readonly struct SmoothL1Op(double beta, double k) : IResidualFunction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        TV a = TOps.Abs(r);
        TV b = RegressionMath<TV, T, TOps>.C(beta), inner = TOps.LessThan(a, b);
        TV curvature = RegressionMath<TV, T, TOps>.C(k / beta), slope = RegressionMath<TV, T, TOps>.C(k);
        TV quadratic = TOps.Multiply(TOps.Multiply(TOps.Multiply(RegressionMath<TV, T, TOps>.C(0.5), r), r), curvature);
        TV linear = TOps.Multiply(slope, TOps.Subtract(a, RegressionMath<TV, T, TOps>.C(0.5 * beta)));
        loss = TOps.Select(inner, quadratic, linear);
        // PyTorch's backward: r ≤ −β gives −k (tested first, so r = 0 with β = 0 gives −k), r ≥ β gives k, else k·r/β.
        dx = TOps.Select(TOps.LessThanOrEqual(r, RegressionMath<TV, T, TOps>.Negate(b)), RegressionMath<TV, T, TOps>.Negate(slope),
            TOps.Select(TOps.GreaterThanOrEqual(r, b), slope, TOps.Multiply(r, curvature)));
    }
}

/// <summary>Base of <c>smooth_l1</c> and <c>huber</c>, one loss k·smooth_l1_β (<see cref="SmoothL1Op"/>) whose parameter is
/// β, and k = 1 (<c>smooth_l1</c>) or k = β (<c>huber</c>, δ·smooth_l1 with β = δ).</summary>
/// <param name="card">The loss's card, β first.</param>
/// <param name="value">β (null: the card's default).</param>
/// <param name="reduction">none, sum or mean.</param>
/// <param name="scaled">True: k = β (<c>huber</c>); false: k = 1 (<c>smooth_l1</c>).</param>
public abstract class ScaledSmoothL1Loss(LossCard card, double? value, Reduction reduction, bool scaled) : OneParameterRegressionLoss(card, value, reduction)
{
    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new SmoothL1Op(Value, scaled ? Value : 1), batch);
}

/// <summary>Smooth L1, spec <c>smooth_l1(beta=1)</c>: PyTorch <c>SmoothL1Loss</c> — <c>r²/(2β)</c> for |r| &lt; β, else
/// <c>|r| − β/2</c>; β = 0 is exactly L1.</summary>
public sealed class SmoothL1Loss(double? beta = null, Reduction reduction = Reduction.Mean) : ScaledSmoothL1Loss(Definition, beta, reduction, scaled: false)
{
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "β: where the quadratic part meets the linear one (0: L1)") { Default = 1, Min = 0 };

    public static LossCard Definition { get; } = RegressionCard("smooth_l1", "Smooth L1",
        "ℓ = r²/(2β) if |r| < β else |r| − β/2, r = ŷ − y", "∂ℓ/∂ŷ = r/β if |r| < β else sign(r); −1 at r = 0 when β = 0 (PyTorch's backward)",
        "PyTorch torch.nn.SmoothL1Loss (Girshick 2015, Fast R-CNN); same semantics, beta = 0 is L1",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "", Beta);

    public static LossDefinition Registration { get; } = new(Definition, a => new SmoothL1Loss(a.Number(Beta), a.Reduction()));

    /// <summary>β ≥ 0.</summary>
    public double BetaValue => Value;
}

/// <summary>Huber loss, spec <c>huber(delta=1)</c>: PyTorch <c>HuberLoss</c> — <c>r²/2</c> for |r| &lt; δ, else
/// <c>δ(|r| − δ/2)</c>, which is δ·smooth_l1(β = δ).</summary>
public sealed class HuberLoss(double? delta = null, Reduction reduction = Reduction.Mean) : ScaledSmoothL1Loss(Definition, delta, reduction, scaled: true)
{
    public static readonly LossParameter Delta = new("delta", ParameterKind.Number, "δ: where the quadratic part meets the linear one") { Default = 1, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = RegressionCard("huber", "Huber loss",
        "ℓ = r²/2 if |r| < δ else δ(|r| − δ/2), r = ŷ − y  (= δ·smooth_l1 with β = δ)", "∂ℓ/∂ŷ = r if |r| < δ else δ·sign(r)",
        "Huber 1964, Robust estimation of a location parameter; PyTorch torch.nn.HuberLoss (same semantics)",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "", Delta);

    public static LossDefinition Registration { get; } = new(Definition, a => new HuberLoss(a.Number(Delta), a.Reduction()));

    /// <summary>δ &gt; 0.</summary>
    public double DeltaValue => Value;
}
