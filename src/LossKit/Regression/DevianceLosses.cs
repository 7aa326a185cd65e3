using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>
/// Tweedie deviance on a log link, spec <c>tweedie(power=1.5)</c>: the input is η = log μ and
/// <c>ℓ = 2·(y^{2−p}/((1−p)(2−p)) − y·μ^{1−p}/(1−p) + μ^{2−p}/(2−p))</c>, the unit deviance of the Tweedie family with
/// 1 &lt; p &lt; 2 (compound Poisson–gamma: exact zeros and positive amounts), ≥ 0 and 0 at μ = y.
/// ∂ℓ/∂η = 2(μ^{2−p} − y·μ^{1−p}). Targets finite and ≥ 0.
/// </summary>
public sealed class TweedieLoss(double? power = null, Reduction reduction = Reduction.Mean) : OneParameterRegressionLoss(Definition, power, reduction)
{
    public static readonly LossParameter Power = new("power", ParameterKind.Number, "p: the variance power, Var = φ·μ^p (1 < p < 2)")
    { Default = 1.5, Min = 1, Max = 2, MinExclusive = true, MaxExclusive = true };

    public static LossCard Definition { get; } = RegressionCard("tweedie", "Tweedie deviance (log link)",
        "ℓ = 2(y^{2−p}/((1−p)(2−p)) − y·μ^{1−p}/(1−p) + μ^{2−p}/(2−p)), μ = e^ŷ (the input is log μ)",
        "∂ℓ/∂ŷ = 2(μ^{2−p} − y·μ^{1−p})",
        "Jørgensen 1987, Exponential dispersion models; scikit-learn mean_tweedie_deviance (same deviance), on a log link as LightGBM/XGBoost's tweedie objectives",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "Form: the unit deviance on a log link (input = log μ); 0 at μ = y.", Power);

    public static LossDefinition Registration { get; } = new(Definition, a => new TweedieLoss(a.Number(Power), a.Reduction()));

    /// <summary>1 &lt; p &lt; 2.</summary>
    public double PowerValue => Value;

    /// <summary>e^{η(2−p)} and e^{η(1−p)} overflow float beyond 88.</summary>
    public override double FiniteInputScale => Math.Min(80 / (2 - PowerValue), 80 / (PowerValue - 1));

    public override RegressionDomain TargetDomain => RegressionDomain.FiniteNonNegative;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(PowerValue), batch);

    private readonly struct Op(double p) : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            TV two = RegressionMath<TV, T, TOps>.C(2);
            TV m1 = RegressionMath<TV, T, TOps>.Exp(TOps.Multiply(x, RegressionMath<TV, T, TOps>.C(1 - p)));     // μ^{1−p}
            TV m2 = RegressionMath<TV, T, TOps>.Exp(TOps.Multiply(x, RegressionMath<TV, T, TOps>.C(2 - p)));     // μ^{2−p}
            TV y2 = TOps.Select(TOps.GreaterThan(y, TOps.Broadcast(T.Zero)), RegressionMath<TV, T, TOps>.Power(y, RegressionMath<TV, T, TOps>.C(2 - p)), TOps.Broadcast(T.Zero));
            TV d = TOps.Add(TOps.Multiply(y2, RegressionMath<TV, T, TOps>.C(1 / ((1 - p) * (2 - p)))),
                TOps.Add(TOps.Multiply(TOps.Multiply(y, m1), RegressionMath<TV, T, TOps>.C(-1 / (1 - p))), TOps.Multiply(m2, RegressionMath<TV, T, TOps>.C(1 / (2 - p)))));
            loss = TOps.MaxPropagateNaN(TOps.Multiply(two, d), TOps.Broadcast(T.Zero));   // ≥ 0 up to rounding at μ = y
            dx = TOps.Multiply(two, TOps.Subtract(m2, TOps.Multiply(y, m1)));
        }
    }
}

/// <summary>
/// Gamma deviance on a log link, spec <c>gamma_dev</c>: the input is η = log μ and
/// <c>ℓ = 2·(y/μ − log(y/μ) − 1) = 2·(y·e^{−η} − log y + η − 1)</c> (twice the Itakura–Saito divergence of y from μ), ≥ 0
/// and 0 at μ = y; ∂ℓ/∂η = 2(1 − y·e^{−η}). Targets finite and &gt; 0.
/// </summary>
public sealed class GammaDevianceLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("gamma_dev", "Gamma deviance (log link)",
        "ℓ = 2(y/μ − log(y/μ) − 1), μ = e^ŷ (the input is log μ)", "∂ℓ/∂ŷ = 2(1 − y/μ)",
        "McCullagh & Nelder 1989, Generalized linear models (gamma deviance); scikit-learn mean_gamma_deviance (same deviance), on a log link",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "Form: the unit deviance on a log link (input = log μ); targets > 0.");

    public static LossDefinition Registration { get; } = new(Definition, a => new GammaDevianceLoss(a.Reduction()));

    /// <summary>e^{−η} overflows float below −88.</summary>
    public override double FiniteInputScale => 80;

    public override RegressionDomain TargetDomain => RegressionDomain.FinitePositive;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(), batch);

    private readonly struct Op : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            // δ = log(y/μ) = log y − η; y/μ = e^δ: ℓ = 2(e^δ − 1 − δ), ∂ℓ/∂η = −2(e^δ − 1).
            TV delta = TOps.Subtract(RegressionMath<TV, T, TOps>.Log(y), x);
            RegressionMath<TV, T, TOps>.ExpRemainders(delta, RegressionMath<TV, T, TOps>.Exp(delta), out TV remainder, out TV expm1);
            TV two = RegressionMath<TV, T, TOps>.C(2);
            loss = TOps.Multiply(two, remainder);
            dx = TOps.Multiply(RegressionMath<TV, T, TOps>.C(-2), expm1);
        }
    }
}
