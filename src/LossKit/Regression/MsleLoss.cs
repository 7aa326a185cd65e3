using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>Mean squared logarithmic error, spec <c>msle</c>: <c>ℓ = (log(1 + ŷ) − log(1 + y))²</c> for ŷ, y ≥ 0 (a
/// negative prediction or target is an error naming the element); ∂ℓ/∂ŷ = 2(log(1 + ŷ) − log(1 + y))/(1 + ŷ).</summary>
public sealed class MsleLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(reduction)
{
    public static LossCard Definition { get; } = RegressionCard("msle", "Squared logarithmic error",
        "ℓ = (log(1 + ŷ) − log(1 + y))², ŷ, y ≥ 0", "∂ℓ/∂ŷ = 2(log(1 + ŷ) − log(1 + y))/(1 + ŷ)",
        "scikit-learn mean_squared_log_error; Keras MeanSquaredLogarithmicError (same formula)", LossProperties.NonNegative,
        "Predictions and targets must be ≥ 0 (predict through a non-negative output such as softplus).");

    public static LossDefinition Registration { get; } = new(Definition, a => new MsleLoss(a.Reduction()));

    public override LossCard Card => Definition;

    public override RegressionDomain InputDomain => RegressionDomain.NonNegative;

    public override RegressionDomain TargetDomain => RegressionDomain.FiniteNonNegative;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => Run(new Op(), batch);

    private readonly struct Op : IElementFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Evaluate<TV, T, TOps>(TV x, TV y, TV p, TV q, out TV loss, out TV dx, out TV dp, out TV dq)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV d = TOps.Subtract(RegressionMath<TV, T, TOps>.Log1p(x), RegressionMath<TV, T, TOps>.Log1p(y));
            loss = TOps.Multiply(d, d);
            dx = TOps.Divide(TOps.Add(d, d), TOps.Add(TOps.Broadcast(T.One), x));
            dp = dq = dx;
        }
    }
}
