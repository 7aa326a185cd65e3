using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>Log-cosh loss, spec <c>log_cosh</c>: <c>ℓ = log cosh r</c>, computed stably as
/// <c>|r| + softplus(−2|r|) − log 2</c> (a series r²/2 − r⁴/12 + r⁶/45 below |r| = 0.01, where that cancels); ∂ℓ/∂ŷ = tanh r.</summary>
public sealed class LogCoshLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(reduction)
{
    public static LossCard Definition { get; } = RegressionCard("log_cosh", "Log-cosh loss",
        "ℓ = log cosh r = |r| + softplus(−2|r|) − log 2, r = ŷ − y", "∂ℓ/∂ŷ = tanh r",
        "Chen et al. 2019, Log hyperbolic cosine loss improves variational auto-encoder; Keras LogCosh",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "Quadratic near 0, |r| − log 2 for large |r|.");

    public static LossDefinition Registration { get; } = new(Definition, a => new LogCoshLoss(a.Reduction()));

    public override LossCard Card => Definition;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(), batch);

    private readonly struct Op : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV a = TOps.Abs(r);
            TV big = TOps.Subtract(TOps.Add(a, RegressionMath<TV, T, TOps>.Log1p(RegressionMath<TV, T, TOps>.Exp(TOps.Multiply(RegressionMath<TV, T, TOps>.C(-2), a)))),
                RegressionMath<TV, T, TOps>.C(Math.Log(2)));
            TV a2 = TOps.Multiply(a, a);
            TV series = TOps.Multiply(a2, RegressionMath<TV, T, TOps>.Polynomial(a2, 0.5, -1.0 / 12, 1.0 / 45));
            loss = TOps.Select(TOps.LessThan(a, RegressionMath<TV, T, TOps>.C(0.01)), series, big);
            RegressionMath<TV, T, TOps>.Tanh(r, out dx, out _);
        }
    }
}
