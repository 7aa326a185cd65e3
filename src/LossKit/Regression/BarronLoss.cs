using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// Barron's general and adaptive robust loss with fixed shape, spec <c>barron(alpha=1, c=1, limit=none)</c>:
/// <c>ρ(r, α, c) = |α−2|/α · (((r/c)²/|α−2| + 1)^{α/2} − 1)</c>, with its limits evaluated by their closed forms (never by
/// plugging α near them): α = 2: ½(r/c)²; α = 0: log(½(r/c)² + 1); α = −∞ (<c>limit=minus_inf</c>): 1 − exp(−½(r/c)²);
/// α = +∞ (<c>limit=plus_inf</c>): exp(½(r/c)²) − 1. ∂ρ/∂r = (r/c²)·((r/c)²/|α−2| + 1)^{α/2−1} (limits: r/c²,
/// 2r/(r² + 2c²), (r/c²)·e^{∓½(r/c)²}). α = 1 is pseudo-Huber (Charbonnier), α = −2 Geman–McClure.
/// The "− 1" is computed as expm1 (a series where small), so small residuals keep their precision.
/// </summary>
public sealed class BarronLoss : RegressionLoss
{
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number, "α: the shape (2 = L2, 1 = pseudo-Huber, 0 = Cauchy, −2 = Geman–McClure)") { Default = 1 };
    public static readonly LossParameter C = new("c", ParameterKind.Number, "c: the scale of the quadratic bowl near 0") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter Limit = new("limit", ParameterKind.Choice, "minus_inf or plus_inf: the α = −∞ or α = +∞ limit (then alpha is not given)")
    { Choices = ["none", "minus_inf", "plus_inf"] };

    public static LossCard Definition { get; } = RegressionCard("barron", "General robust loss (Barron)",
        "ℓ = |α−2|/α·(((r/c)²/|α−2| + 1)^{α/2} − 1), r = ŷ − y; α = 2: ½(r/c)²; α = 0: log(½(r/c)² + 1); α = −∞: 1 − e^{−½(r/c)²}; α = +∞: e^{½(r/c)²} − 1",
        "∂ℓ/∂ŷ = (r/c²)·((r/c)²/|α−2| + 1)^{α/2 − 1} (and the limits' derivatives)",
        "Barron 2019, A general and adaptive robust loss function (CVPR), eq. 1–3 and its limits",
        LossProperties.NonNegative | LossProperties.ConvexInLogits,
        "Convex for α ≥ 1 (the default's claim), bounded (by |α−2|/|α|, 1 at −∞) for α < 0: the configured loss claims what its α gives.",
        Alpha, C, Limit) with { UpperBound = (l, _) => ((BarronLoss)l).Bound };

    public static LossDefinition Registration { get; } = new(Definition, a => new BarronLoss(a.Number(Alpha), a.Number(C), a.Choice(Limit), a.Reduction()));

    /// <param name="alpha">α, any finite value (default 1); leave at 1 when <paramref name="limit"/> is given.</param>
    /// <param name="c">c &gt; 0.</param>
    /// <param name="limit"><c>none</c>, <c>minus_inf</c> (α = −∞) or <c>plus_inf</c> (α = +∞).</param>
    /// <param name="reduction">none, sum or mean.</param>
    public BarronLoss(double? alpha = null, double? c = null, string? limit = null, Reduction reduction = Reduction.Mean) : base(Definition, reduction)
    {
        AlphaValue = Alpha.Resolve(alpha);
        CValue = C.Resolve(c);
        LimitValue = Limit.Resolve(limit);
        if (LimitValue != "none" && AlphaValue != Alpha.Default)
            throw new ArgumentException($"barron: give alpha = {LossParameter.FormatNumber(AlphaValue)} or limit = {LimitValue}, not both.", "limit");
    }

    public double AlphaValue { get; }
    public double CValue { get; }
    public string LimitValue { get; }

    /// <summary>α as a double, ±∞ for the limits.</summary>
    public double Shape => LimitValue switch { "minus_inf" => double.NegativeInfinity, "plus_inf" => double.PositiveInfinity, _ => AlphaValue };

    private double Bound => Shape < 0 ? (double.IsInfinity(Shape) ? 1 : Math.Abs(Shape - 2) / Math.Abs(Shape)) : double.PositiveInfinity;

    public override LossProperties Properties => (Card.Properties | (Shape < 0 ? LossProperties.Bounded : LossProperties.None))
        & ~(Shape >= 1 ? LossProperties.None : LossProperties.ConvexInLogits);

    public override IEnumerable<ParameterValue> ParameterValues => [Alpha.Of(AlphaValue), C.Of(CValue), Limit.Of(LimitValue), .. base.ParameterValues];

    /// <summary>Growth like (r/c)^α (α &gt; 2) or e^{½(r/c)²} (α = +∞) limits the finite range in float.</summary>
    public override double FiniteInputScale => Shape switch
    {
        double.PositiveInfinity => 12 * CValue,
        > 2 => Math.Min(1e18, CValue * Math.Pow(10, 36 / Shape) / 4),
        _ => 1e18,
    };

    // One element function per case, chosen here once per call: a single function branching on α per vector kept all
    // four cases' code and live values in the kernel's loop.
    protected override T Evaluate<T>(in RegressionBatch<T> batch)
    {
        double c = CValue, alpha = Shape;
        if (alpha == 2) return RunResidual(new QuadraticOp(c), batch);
        if (alpha == 0) return RunResidual(new CauchyOp(c), batch);
        if (double.IsInfinity(alpha)) return RunResidual(new ExpLimitOp(alpha < 0, c), batch);
        return RunResidual(new GeneralOp(alpha, c), batch);
    }

    /// <summary>(r/c)², r/c² and ½(r/c)², shared by the cases.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scaled<TV, T, TOps>(TV r, double c, out TV z, out TV slope, out TV half)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        z = TOps.Multiply(TOps.Multiply(r, r), RegressionMath<TV, T, TOps>.C(1 / (c * c)));    // (r/c)²
        slope = TOps.Multiply(r, RegressionMath<TV, T, TOps>.C(1 / (c * c)));                   // r/c²
        half = TOps.Multiply(RegressionMath<TV, T, TOps>.C(0.5), z);
    }

    /// <summary>α = 2: ½(r/c)², r/c².</summary>
    private readonly struct QuadraticOp(double c) : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx) => Scaled<TV, T, TOps>(r, c, out _, out dx, out loss);
    }

    /// <summary>α = 0: log(½(r/c)² + 1), (r/c²)/(½(r/c)² + 1).</summary>
    private readonly struct CauchyOp(double c) : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        {
            Scaled<TV, T, TOps>(r, c, out _, out TV slope, out TV half);
            TV u = TOps.Add(TOps.Broadcast(T.One), half);
            loss = RegressionMath<TV, T, TOps>.Log1p(half);
            dx = TOps.Divide(slope, u);
        }
    }

    /// <summary>α = ∓∞: ∓(e^{∓½z} − 1) and (r/c²)·e^{∓½z}.</summary>
    private readonly struct ExpLimitOp(bool minus, double c) : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        {
            Scaled<TV, T, TOps>(r, c, out _, out TV slope, out TV half);
            TV delta = minus ? RegressionMath<TV, T, TOps>.Negate(half) : half;
            TV e = RegressionMath<TV, T, TOps>.Exp(delta);
            RegressionMath<TV, T, TOps>.ExpRemainders(delta, e, out _, out TV expm1);
            loss = minus ? RegressionMath<TV, T, TOps>.Negate(expm1) : expm1;
            dx = TOps.Multiply(slope, e);
        }
    }

    /// <summary>Any other α: |α−2|/α·(e^{(α/2)·log(z/|α−2| + 1)} − 1) and (r/c²)·e^{(α/2 − 1)·log(z/|α−2| + 1)}.</summary>
    private readonly struct GeneralOp(double alpha, double c) : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IResidualFunction.Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
        {
            Scaled<TV, T, TOps>(r, c, out TV z, out TV slope, out _);
            double b = Math.Abs(alpha - 2);
            TV l = RegressionMath<TV, T, TOps>.Log1p(TOps.Multiply(z, RegressionMath<TV, T, TOps>.C(1 / b)));   // log(z/|α−2| + 1)
            TV delta = TOps.Multiply(l, RegressionMath<TV, T, TOps>.C(alpha / 2));
            RegressionMath<TV, T, TOps>.ExpRemainders(delta, RegressionMath<TV, T, TOps>.Exp(delta), out _, out TV expm1);
            loss = TOps.Multiply(RegressionMath<TV, T, TOps>.C(b / alpha), expm1);
            dx = TOps.Multiply(slope, RegressionMath<TV, T, TOps>.Exp(TOps.Multiply(l, RegressionMath<TV, T, TOps>.C(alpha / 2 - 1))));
        }
    }
}
