using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>Mean squared error, spec <c>mse</c>: <c>ℓ = (ŷ − y)²</c>, ∂ℓ/∂ŷ = 2(ŷ − y). PyTorch <c>MSELoss</c>.</summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("mse", "Mean squared error", "ℓ = r², r = ŷ − y", "∂ℓ/∂ŷ = 2r",
        "PyTorch torch.nn.MSELoss (same semantics and reductions)", LossProperties.NonNegative | LossProperties.ConvexInLogits, "");

    public static LossDefinition Registration { get; } = new(Definition, a => new MseLoss(a.Reduction()));

    public override double FiniteInputScale => 1e18;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(), batch);

    private readonly struct Op : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        {
            loss = TOps.Multiply(r, r);
            dx = TOps.Add(r, r);
        }
    }
}

/// <summary>Mean absolute error, spec <c>l1</c>: <c>ℓ = |ŷ − y|</c>, ∂ℓ/∂ŷ = sign(ŷ − y) (0 at 0, as PyTorch).
/// PyTorch <c>L1Loss</c> (the name <c>mae</c> is the classification loss of Ghosh et al.).</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("l1", "Absolute error (L1)", "ℓ = |r|, r = ŷ − y", "∂ℓ/∂ŷ = sign(r), 0 at r = 0",
        "PyTorch torch.nn.L1Loss (same semantics and reductions)", LossProperties.NonNegative | LossProperties.ConvexInLogits,
        "The classification loss of Ghosh et al. is mae; this is PyTorch's L1Loss.");

    public static LossDefinition Registration { get; } = new(Definition, a => new L1Loss(a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(), batch);

    private readonly struct Op : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        {
            loss = TOps.Abs(r);
            dx = RegressionMath<TV, T, TOps>.Sign(r);
        }
    }
}

/// <summary>Log-cosh loss, spec <c>log_cosh</c>: <c>ℓ = log cosh r</c>, computed stably as
/// <c>|r| + softplus(−2|r|) − log 2</c> (a series r²/2 − r⁴/12 + r⁶/45 below |r| = 0.01, where that cancels); ∂ℓ/∂ŷ = tanh r.</summary>
public sealed class LogCoshLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("log_cosh", "Log-cosh loss",
        "ℓ = log cosh r = |r| + softplus(−2|r|) − log 2, r = ŷ − y", "∂ℓ/∂ŷ = tanh r",
        "Chen et al. 2019, Log hyperbolic cosine loss improves variational auto-encoder; Keras LogCosh",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "Quadratic near 0, |r| − log 2 for large |r|.");

    public static LossDefinition Registration { get; } = new(Definition, a => new LogCoshLoss(a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(), batch);

    private readonly struct Op : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
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

/// <summary>Mean squared logarithmic error, spec <c>msle</c>: <c>ℓ = (log(1 + ŷ) − log(1 + y))²</c> for ŷ, y ≥ 0 (a
/// negative prediction or target is an error naming the element); ∂ℓ/∂ŷ = 2(log(1 + ŷ) − log(1 + y))/(1 + ŷ).</summary>
public sealed class MsleLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("msle", "Squared logarithmic error",
        "ℓ = (log(1 + ŷ) − log(1 + y))², ŷ, y ≥ 0", "∂ℓ/∂ŷ = 2(log(1 + ŷ) − log(1 + y))/(1 + ŷ)",
        "scikit-learn mean_squared_log_error; Keras MeanSquaredLogarithmicError (same formula)", LossProperties.NonNegative,
        "Predictions and targets must be ≥ 0 (predict through a non-negative output such as softplus).");

    public static LossDefinition Registration { get; } = new(Definition, a => new MsleLoss(a.Reduction()));

    public override RegressionDomain InputDomain => RegressionDomain.NonNegative;

    public override RegressionDomain TargetDomain => RegressionDomain.FiniteNonNegative;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(), batch);

    private readonly struct Op : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            TV d = TOps.Subtract(RegressionMath<TV, T, TOps>.Log1p(x), RegressionMath<TV, T, TOps>.Log1p(y));
            loss = TOps.Multiply(d, d);
            dx = TOps.Divide(TOps.Add(d, d), TOps.Add(TOps.Broadcast(T.One), x));
        }
    }
}
