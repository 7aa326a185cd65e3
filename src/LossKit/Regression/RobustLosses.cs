using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// Base of the robust M-estimator losses with a scale c (<c>cauchy</c>, <c>welsch</c>, <c>tukey</c>): the parameter, the
/// card, and z = r/c (<see cref="RunRobust"/>); each loss is its ρ and ψ of r and z (an <see cref="IScaledResidualFunction"/>).
/// </summary>
public abstract class RobustLoss(LossCard card, double? value, Reduction reduction) : OneParameterRegressionLoss(card, value, reduction)
{
    /// <summary>The scale c &gt; 0.</summary>
    public double CValue => Value;

    /// <summary>The scale parameter c with a default.</summary>
    private protected static LossParameter ScaleParameter(double defaultValue) =>
        new("c", ParameterKind.Number, "c: the scale of the residual (where the loss stops growing like r²)") { Default = defaultValue, Min = 0, MinExclusive = true };

    /// <summary>The kernel call of a robust loss: its ρ and ψ of r and z = r/c.</summary>
    private protected T RunRobust<T, TF>(TF function, in RegressionBatch<T> batch)
        where T : unmanaged, IFloatingPointIeee754<T> where TF : struct, IScaledResidualFunction => RunResidual(new ScaledResidualOp<TF>(function, CValue), batch);
}

/// <summary>ρ(r) and ψ = dρ/dr of the residual r, given also z = r/c for the scale c, lane by lane.</summary>
internal interface IScaledResidualFunction
{
    void Rho<TV, T, TOps>(TV r, TV z, double c, out TV rho, out TV psi)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;
}

/// <summary>ρ(r), ψ(r) of a robust loss with scale <paramref name="c"/>: z = r/c computed once for the function.</summary>
internal readonly struct ScaledResidualOp<TF>(TF function, double c) : IResidualFunction where TF : struct, IScaledResidualFunction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Rho<TV, T, TOps>(TV r, out TV rho, out TV psi)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T> =>
        function.Rho<TV, T, TOps>(r, TOps.Divide(r, RegressionMath<TV, T, TOps>.C(c)), c, out rho, out psi);
}

/// <summary>Cauchy (Lorentzian) loss, spec <c>cauchy(c=1)</c>: <c>ρ = (c²/2)·log(1 + (r/c)²)</c>, ψ = r / (1 + (r/c)²).</summary>
public sealed class CauchyLoss(double? c = null, Reduction reduction = Reduction.Mean) : RobustLoss(Definition, c, reduction)
{
    public static readonly LossParameter C = ScaleParameter(1);

    public static LossCard Definition { get; } = RegressionCard("cauchy", "Cauchy (Lorentzian) loss",
        "ℓ = (c²/2)·log(1 + (r/c)²), r = ŷ − y", "∂ℓ/∂ŷ = r / (1 + (r/c)²)",
        "Black & Anandan 1996, The robust estimation of multiple motions; Barron 2019 (its α = 0 case up to scaling)",
        LossProperties.NonNegative, "Redescending influence: ψ → 0 as |r| → ∞.", C);

    public static LossDefinition Registration { get; } = new(Definition, a => new CauchyLoss(a.Number(C), a.Reduction()));

    public override double FiniteInputScale => 1e18;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunRobust(new Function(), batch);

    private readonly struct Function : IScaledResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IScaledResidualFunction.Rho<TV, T, TOps>(TV r, TV z, double c, out TV rho, out TV psi)
        {
            TV z2 = TOps.Multiply(z, z);
            rho = TOps.Multiply(RegressionMath<TV, T, TOps>.C(0.5 * c * c), RegressionMath<TV, T, TOps>.Log1p(z2));
            psi = TOps.Divide(r, TOps.Add(TOps.Broadcast(T.One), z2));
        }
    }
}

/// <summary>Welsch (Leclerc) loss, spec <c>welsch(c=1)</c>: <c>ρ = (c²/2)·(1 − exp(−(r/c)²))</c>, ψ = r·exp(−(r/c)²);
/// bounded by c²/2.</summary>
public sealed class WelschLoss(double? c = null, Reduction reduction = Reduction.Mean) : RobustLoss(Definition, c, reduction)
{
    public static readonly LossParameter C = ScaleParameter(1);

    public static LossCard Definition { get; } = RegressionCard("welsch", "Welsch (Leclerc) loss",
        "ℓ = (c²/2)·(1 − exp(−(r/c)²)), r = ŷ − y", "∂ℓ/∂ŷ = r·exp(−(r/c)²)",
        "Dennis & Welsch 1978, Techniques for nonlinear least squares and robust regression",
        LossProperties.NonNegative | LossProperties.Bounded, "Bounded by c²/2.", C) with { UpperBound = (l, _) => 0.5 * ((WelschLoss)l).CValue * ((WelschLoss)l).CValue };

    public static LossDefinition Registration { get; } = new(Definition, a => new WelschLoss(a.Number(C), a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunRobust(new Function(), batch);

    private readonly struct Function : IScaledResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IScaledResidualFunction.Rho<TV, T, TOps>(TV r, TV z, double c, out TV rho, out TV psi)
        {
            TV e = RegressionMath<TV, T, TOps>.Exp(RegressionMath<TV, T, TOps>.Negate(TOps.Multiply(z, z)));
            rho = TOps.Multiply(RegressionMath<TV, T, TOps>.C(0.5 * c * c), TOps.Subtract(TOps.Broadcast(T.One), e));
            psi = TOps.Multiply(r, e);
        }
    }
}

/// <summary>Tukey's biweight loss, spec <c>tukey(c=4.685)</c>: <c>ρ = (c²/6)·(1 − (1 − (r/c)²)³)</c> for |r| ≤ c, else
/// c²/6; ψ = r·(1 − (r/c)²)² inside, 0 outside. c = 4.685 gives 95% efficiency at the normal.</summary>
public sealed class TukeyLoss(double? c = null, Reduction reduction = Reduction.Mean) : RobustLoss(Definition, c, reduction)
{
    public static readonly LossParameter C = ScaleParameter(4.685);

    public static LossCard Definition { get; } = RegressionCard("tukey", "Tukey's biweight loss",
        "ℓ = (c²/6)·(1 − (1 − (r/c)²)³) if |r| ≤ c else c²/6, r = ŷ − y", "∂ℓ/∂ŷ = r·(1 − (r/c)²)² if |r| ≤ c else 0",
        "Beaton & Tukey 1974, The fitting of power series ... (the biweight); Huber & Ronchetti 2009, Robust statistics",
        LossProperties.NonNegative | LossProperties.Bounded, "Bounded by c²/6; c = 4.685 gives 95% efficiency at the normal.", C)
        with { UpperBound = (l, _) => ((TukeyLoss)l).CValue * ((TukeyLoss)l).CValue / 6 };

    public static LossDefinition Registration { get; } = new(Definition, a => new TukeyLoss(a.Number(C), a.Reduction()));

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunRobust(new Function(), batch);

    private readonly struct Function : IScaledResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IScaledResidualFunction.Rho<TV, T, TOps>(TV r, TV z, double c, out TV rho, out TV psi)
        {
            TV one = TOps.Broadcast(T.One), cap = RegressionMath<TV, T, TOps>.C(c * c / 6);
            TV w = TOps.Subtract(one, TOps.Multiply(z, z));
            TV w2 = TOps.Multiply(w, w);
            TV inside = TOps.LessThanOrEqual(TOps.Abs(z), one);
            rho = TOps.Select(inside, TOps.Multiply(cap, TOps.Subtract(one, TOps.Multiply(w2, w))), TOps.Select(TOps.EqualTo(r, r), cap, r));
            psi = TOps.Select(inside, TOps.Multiply(r, w2), TOps.Select(TOps.EqualTo(r, r), TOps.Broadcast(T.Zero), r));
        }
    }
}
