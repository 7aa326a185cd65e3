using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>Mean absolute directional loss, spec <c>madl</c>: <c>ℓ = −sign(R·R̂)·|R|</c> for the realised return R (target)
/// and the predicted return R̂ (input): the return earned by trading on the predicted direction, negated; the mean is
/// the paper's <c>−(1/N)Σ sign(R_i R̂_i)|R_i|</c>. Its gradient is 0 almost everywhere (returned as 0): train with
/// <c>madl_smooth</c>.</summary>
public sealed class MadlLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("madl", "Mean absolute directional loss",
        "ℓ = −sign(R·R̂)·|R|, R = y (realised return), R̂ = ŷ (predicted return)", "∂ℓ/∂ŷ = 0 (almost everywhere)",
        "Michańków, Sakowski & Ślepaczuk 2024, Mean absolute directional loss as a new loss function for machine learning problems in algorithmic investment strategies",
        LossProperties.None, "A metric more than a training loss: its gradient is 0 almost everywhere; use madl_smooth to train.");

    public static LossDefinition Registration { get; } = new(Definition, a => new MadlLoss(a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(), batch);

    private readonly struct Op : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            // −sign(R̂)·sign(R)·|R| = −sign(R̂)·R.
            loss = RegressionMath<TV, T, TOps>.Negate(TOps.Multiply(RegressionMath<TV, T, TOps>.Sign(x), y));
            dx = TOps.Select(TOps.EqualTo(x, x), TOps.Broadcast(T.Zero), x);
        }
    }
}

/// <summary>Smoothed mean absolute directional loss, spec <c>madl_smooth(k=10)</c>: <c>ℓ = −tanh(k·R̂)·R</c>, MADL with
/// tanh(kR̂) for sign(R̂) (→ madl as k → ∞); ∂ℓ/∂R̂ = −k·R·(1 − tanh²(kR̂)).</summary>
public sealed class MadlSmoothLoss(double? k = null, Reduction reduction = Reduction.Mean) : OneParameterRegressionLoss(Definition, k, reduction)
{
    public static readonly LossParameter K = new("k", ParameterKind.Number, "k: the steepness of tanh(k·R̂) replacing sign(R̂)") { Default = 10, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = RegressionCard("madl_smooth", "Smoothed mean absolute directional loss",
        "ℓ = −tanh(k·R̂)·R, R = y, R̂ = ŷ", "∂ℓ/∂ŷ = −k·R·(1 − tanh²(k·R̂))",
        "Michańków, Sakowski & Ślepaczuk 2024 (MADL), with tanh(k·R̂) for sign(R̂) so that it can be trained",
        LossProperties.None, "The catalog's smoothing of MADL; the authors' own differentiable variant, GMADL (Michańków et al. 2024, arXiv:2412.18405), is −(σ(a·R·R̂) − ½)·|R|^b.", K);

    public static LossDefinition Registration { get; } = new(Definition, a => new MadlSmoothLoss(a.Number(K), a.Reduction()));

    /// <summary>k &gt; 0.</summary>
    public double KValue => Value;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(KValue), batch);

    private readonly struct Op(double k) : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            TV kk = RegressionMath<TV, T, TOps>.C(k);
            RegressionMath<TV, T, TOps>.Tanh(TOps.Multiply(kk, x), out TV tanh, out TV sech2);
            loss = RegressionMath<TV, T, TOps>.Negate(TOps.Multiply(tanh, y));
            dx = RegressionMath<TV, T, TOps>.Negate(TOps.Multiply(TOps.Multiply(kk, y), sech2));
        }
    }
}
