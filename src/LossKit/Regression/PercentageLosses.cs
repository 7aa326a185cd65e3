using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>Mean absolute percentage error, spec <c>mape(eps=2.220446049250313e-16)</c>: <c>ℓ = |r| / max(|y|, ε)</c>
/// (a fraction, not ×100), as scikit-learn's <c>mean_absolute_percentage_error</c>; ∂ℓ/∂ŷ = sign(r)/max(|y|, ε).</summary>
public sealed class MapeLoss(double? eps = null, Reduction reduction = Reduction.Mean) : OneParameterRegressionLoss(Definition, eps, reduction)
{
    public static readonly LossParameter Eps = new("eps", ParameterKind.Number, "ε: the floor of |y| in the denominator (scikit-learn: machine epsilon)")
    { Default = 2.220446049250313e-16, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = RegressionCard("mape", "Absolute percentage error",
        "ℓ = |r| / max(|y|, ε), r = ŷ − y", "∂ℓ/∂ŷ = sign(r) / max(|y|, ε)",
        "scikit-learn mean_absolute_percentage_error (same formula, a fraction rather than a percentage)",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, "", Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new MapeLoss(a.Number(Eps), a.Reduction()));

    /// <summary>ε &gt; 0.</summary>
    public double EpsValue => Value;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(EpsValue), batch);

    private readonly struct Op(double eps) : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            TV r = TOps.Subtract(x, y), d = TOps.Max(TOps.Abs(y), RegressionMath<TV, T, TOps>.C(eps));
            loss = TOps.Divide(TOps.Abs(r), d);
            dx = TOps.Divide(RegressionMath<TV, T, TOps>.Sign(r), d);
        }
    }
}

/// <summary>Symmetric mean absolute percentage error, spec <c>smape</c>: <c>ℓ = 2|r| / (|ŷ| + |y|)</c> (0 where both are
/// 0), in [0, 2]; ∂ℓ/∂ŷ = 2·sign(r)/d − 2|r|·sign(ŷ)/d² with d = |ŷ| + |y|.</summary>
public sealed class SmapeLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(Definition, reduction)
{
    public static LossCard Definition { get; } = RegressionCard("smape", "Symmetric absolute percentage error",
        "ℓ = 2|r| / (|ŷ| + |y|), r = ŷ − y (0 where ŷ = y = 0)", "∂ℓ/∂ŷ = 2·sign(r)/d − 2|r|·sign(ŷ)/d², d = |ŷ| + |y|",
        "Makridakis 1993, Accuracy measures: theoretical and practical concerns (the M3/M4 competitions' sMAPE, as a fraction)",
        LossProperties.NonNegative | LossProperties.Bounded, "Bounded by 2.") with { UpperBound = (_, _) => 2 };

    public static LossDefinition Registration { get; } = new(Definition, a => new SmapeLoss(a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(), batch);

    private readonly struct Op : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            TV zero = TOps.Broadcast(T.Zero), two = RegressionMath<TV, T, TOps>.C(2);
            TV r = TOps.Subtract(x, y), a = TOps.Abs(r), d = TOps.Add(TOps.Abs(x), TOps.Abs(y));
            TV empty = TOps.EqualTo(d, zero);
            TV safe = TOps.Select(empty, TOps.Broadcast(T.One), d);
            TV l = TOps.Divide(TOps.Multiply(two, a), safe);
            loss = TOps.Select(empty, zero, l);
            TV g = TOps.Subtract(TOps.Divide(TOps.Multiply(two, RegressionMath<TV, T, TOps>.Sign(r)), safe),
                TOps.Divide(TOps.Multiply(l, RegressionMath<TV, T, TOps>.Sign(x)), safe));
            dx = TOps.Select(empty, zero, g);
        }
    }
}
