using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// Quantile (pinball) loss, spec <c>quantile(tau=0.5)</c>: <c>ℓ = max(τ·u, (τ − 1)·u)</c> with <c>u = y − ŷ</c>, whose
/// minimiser is the τ-quantile of y; ∂ℓ/∂ŷ = −τ where y &gt; ŷ, 1 − τ where y &lt; ŷ, and ½ − τ at a tie (the mean of the
/// two sides, as autograd of a maximum gives). A list of τ (<c>quantile(tau=[0.1,0.5,0.9])</c>) fits several quantiles
/// at once: the input's last dimension has one column per τ (and the target the same shape).
/// </summary>
public sealed class QuantileLoss : RegressionLoss
{
    public static readonly LossParameter Tau = new("tau", ParameterKind.NumberList,
        "τ: the quantile level, or one per column of the input's last dimension") { Default = 0.5, Min = 0, Max = 1, MinExclusive = true, MaxExclusive = true };

    public static LossCard Definition { get; } = RegressionCard("quantile", "Quantile (pinball) loss",
        "ℓ = max(τ·u, (τ − 1)·u), u = y − ŷ", "∂ℓ/∂ŷ = −τ if u > 0, 1 − τ if u < 0, ½ − τ at u = 0",
        "Koenker & Bassett 1978, Regression quantiles", LossProperties.NonNegative | LossProperties.ConvexInLogits,
        "With a list of τ the input's last dimension has one column per τ.", Tau);

    public static LossDefinition Registration { get; } = new(Definition, a => new QuantileLoss(a.List(Tau), a.Reduction()));

    private readonly double[] _tau;
    private readonly ElementwiseKernel.Tiles? _columns;

    /// <param name="tau">τ ∈ (0, 1), or one per column (null: 0.5).</param>
    /// <param name="reduction">none, sum or mean.</param>
    public QuantileLoss(IReadOnlyList<double>? tau = null, Reduction reduction = Reduction.Mean) : base(Definition, reduction)
    {
        _tau = Tau.Resolve(tau) ?? [Tau.Default!.Value];
        if (_tau.Length > 1) _columns = new ElementwiseKernel.Tiles(_tau, null, _tau.Length);
    }

    /// <summary>τ, one value or one per column.</summary>
    public IReadOnlyList<double> TauValues => _tau;

    public override int? FixedColumnCount => _tau.Length > 1 ? _tau.Length : null;

    public override IEnumerable<ParameterValue> ParameterValues => [Tau.Of(_tau), .. base.ParameterValues];

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => Run(new Op(_tau[0], _tau.Length > 1), batch, _columns);

    /// <summary>τ from the op (one τ) or from stream x2 (τ per column).</summary>
    private readonly struct Op(double tau, bool perColumn) : IElementFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IElementFunction.Evaluate<TV, T, TOps>(TV x, TV y, TV p, TV q, out TV loss, out TV dx, out TV dp, out TV dq)
        {
            TV t = perColumn ? p : RegressionMath<TV, T, TOps>.C(tau), one = TOps.Broadcast(T.One);
            TV u = TOps.Subtract(y, x), tm1 = TOps.Subtract(t, one);
            loss = TOps.MaxPropagateNaN(TOps.Multiply(t, u), TOps.Multiply(tm1, u));
            TV tie = TOps.Subtract(RegressionMath<TV, T, TOps>.C(0.5), t);
            dx = TOps.Select(TOps.GreaterThan(u, TOps.Broadcast(T.Zero)), RegressionMath<TV, T, TOps>.Negate(t),
                TOps.Select(TOps.LessThan(u, TOps.Broadcast(T.Zero)), RegressionMath<TV, T, TOps>.Negate(tm1), TOps.Select(TOps.EqualTo(u, u), tie, u)));
            dp = dq = dx;
        }
    }
}
