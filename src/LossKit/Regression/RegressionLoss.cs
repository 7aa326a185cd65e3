using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>The values an input of a regression loss may take: at least <see cref="Min"/> (or above it when
/// <see cref="Exclusive"/>), and finite when <see cref="Finite"/>. NaN passes a domain that is not finite-only (a NaN
/// prediction gives a NaN loss, as a NaN logit does); targets are finite-only.</summary>
public readonly record struct RegressionDomain(double Min, bool Exclusive, bool Finite)
{
    /// <summary>Any value (predictions on the real line).</summary>
    public static RegressionDomain Any { get; } = new(double.NegativeInfinity, false, false);
    /// <summary>Any finite number (targets on the real line).</summary>
    public static RegressionDomain FiniteReal { get; } = new(double.NegativeInfinity, false, true);
    /// <summary>A finite number ≥ 0 (counts, squared-log targets).</summary>
    public static RegressionDomain FiniteNonNegative { get; } = new(0, false, true);
    /// <summary>A finite number &gt; 0 (gamma and Itakura–Saito targets).</summary>
    public static RegressionDomain FinitePositive { get; } = new(0, true, true);
    /// <summary>≥ 0, or NaN (variances and scales, which PyTorch rejects only when negative).</summary>
    public static RegressionDomain NonNegative { get; } = new(0, false, false);

    /// <summary>True when every value is accepted (no check needed).</summary>
    public bool IsAny => double.IsNegativeInfinity(Min) && !Finite;

    /// <summary>True when <paramref name="v"/> is in the domain.</summary>
    public bool Accepts(double v) => (!Finite || double.IsFinite(v)) && !(Exclusive ? v <= Min : v < Min);

    /// <summary>The error for <paramref name="name"/>[<paramref name="index"/>] = <paramref name="value"/> outside this
    /// domain, for the loss <paramref name="loss"/>: the input, the element, the value and the domain in words.</summary>
    public RowException OutOfRange(string name, int index, double value, string loss) =>
        new(name, index, $"{name}[{index}] = {value.ToString("G9", CultureInfo.InvariantCulture)} is out of range for {loss}: expected {Text}.");

    /// <summary>The domain in words: <c>a finite number ≥ 0</c>.</summary>
    public string Text
    {
        get
        {
            string what = Finite ? "a finite number" : "a number";
            return double.IsNegativeInfinity(Min) ? what : $"{what} {(Exclusive ? ">" : "≥")} {LossParameter.FormatNumber(Min)}";
        }
    }

    /// <summary>The lane check of this domain (<see cref="DomainBounds"/>).</summary>
    internal DomainBounds Bounds => new(this);
}

/// <summary>
/// The lane check of a <see cref="RegressionDomain"/>, decided once per kernel call: a lane is in the domain when
/// lo ≤ v ≤ hi, the bounds in float and in double (an exclusive minimum m is the next value above m; a finite-only
/// domain is also within ±MaxValue), so a NaN lane fails (the scalar check decides, as before), or no check at all for
/// <see cref="RegressionDomain.IsAny"/>. The same lanes as the domain's own tests (v ≥ m or v &gt; m, |v| &lt; ∞); two
/// comparisons and no branch per bound, where testing the domain's fields lane-wise in the kernel's loop cost a dozen
/// scalar tests and conversions per vector per input.
/// </summary>
internal readonly struct DomainBounds
{
    private readonly bool _check;
    private readonly float _loF, _hiF;
    private readonly double _loD, _hiD;

    public DomainBounds(RegressionDomain domain)
    {
        _check = !domain.IsAny;
        (_loF, _hiF) = Of<float>(domain);
        (_loD, _hiD) = Of<double>(domain);
    }

    /// <summary>lo and hi in <typeparamref name="T"/>: the minimum as the kernel rounds it (the next value above it when
    /// exclusive), at least −MaxValue and at most MaxValue when finite-only.</summary>
    private static (T Lo, T Hi) Of<T>(RegressionDomain domain) where T : IFloatingPointIeee754<T>, IMinMaxValue<T>
    {
        T lo = T.CreateTruncating(domain.Min), hi = T.PositiveInfinity;
        if (domain.Exclusive) lo = T.BitIncrement(lo);
        if (domain.Finite) { lo = T.Max(lo, -T.MaxValue); hi = T.MaxValue; }
        return (lo, hi);
    }

    /// <summary><paramref name="mask"/> and the lanes of <paramref name="v"/> in the domain (NaN lanes are flagged even
    /// where the domain takes NaN: the scalar check decides).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Mask<TV, T, TOps>(TV v, TV mask) where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        if (!_check) return mask;
        TV lo = typeof(T) == typeof(float) ? TOps.Broadcast((T)(object)_loF) : TOps.Broadcast(T.CreateTruncating(_loD));
        TV hi = typeof(T) == typeof(float) ? TOps.Broadcast((T)(object)_hiF) : TOps.Broadcast(T.CreateTruncating(_hiD));
        return TOps.And(mask, TOps.And(TOps.GreaterThanOrEqual(v, lo), TOps.LessThanOrEqual(v, hi)));
    }
}

/// <summary>
/// Base of the element-wise regression losses: holds the reduction, the card, the spec and the kind, checks the
/// shapes, and runs the loss's element function (an <see cref="IElementFunction"/> struct over <see cref="ISimd{TVec,T}"/>)
/// on the one element-wise kernel that the binary losses use too — vectorised, fixed blocks, block-order sums, so
/// float, double and Half give the same bits for any thread count. Inputs outside a loss's domain (a negative
/// variance, a target below 0 where the loss takes logarithms) are <see cref="RowException"/>s naming the input, the
/// element, the value and the domain.
/// </summary>
public abstract class RegressionLoss : IRegressionLoss
{
    private RegressionKind? _kind;

    /// <param name="card">The loss's card (its static <c>Definition</c>).</param>
    /// <param name="reduction">none, sum or mean (mean divides by the number of elements, as PyTorch does).</param>
    protected RegressionLoss(LossCard card, Reduction reduction)
    {
        Card = card;
        Reduction = CommonParameters.Resolve(reduction);
    }

    /// <inheritdoc/>
    public LossCard Card { get; }

    /// <inheritdoc/>
    public Reduction Reduction { get; }

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <summary>The reduction; a loss adds its own parameters' values in card order.</summary>
    public virtual IEnumerable<ParameterValue> ParameterValues => [RegressionParameters.Reduction.Of(Reduction)];

    /// <summary>The properties this configured loss has (the card's, less any an option breaks).</summary>
    public virtual LossProperties Properties => Card.Properties;

    /// <summary>The largest input magnitude for which value and gradient stay finite in float (1e30 for losses that grow
    /// linearly; a square says 1e18; an exponential says less).</summary>
    public virtual double FiniteInputScale => 1e30;

    /// <summary>The number of columns (the input's last dimension) this configuration requires — a per-column option
    /// (<c>quantile</c>'s list of τ) fixes it — or null for any shape.</summary>
    public virtual int? FixedColumnCount => null;

    int? ILoss.FixedWidth => FixedColumnCount;

    /// <summary>The predicted parameters this configuration takes (none by default).</summary>
    public virtual IReadOnlyList<LossInput> Predicted => [];

    /// <summary>The values the prediction may take (any by default).</summary>
    public virtual RegressionDomain InputDomain => RegressionDomain.Any;

    /// <summary>The values the target may take (any finite number by default).</summary>
    public virtual RegressionDomain TargetDomain => RegressionDomain.FiniteReal;

    /// <summary>The regression kind with this loss's inputs.</summary>
    public LossKind Kind => _kind ??= new RegressionKind(this);

    /// <inheritdoc/>
    public override string ToString() => Spec;

    /// <summary>The call of a loss without predicted parameters: ℓ(ŷ, y).</summary>
    public T Compute<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> unreduced = default, Span<T> gradInput = default)
        where T : unmanaged, IFloatingPointIeee754<T> => Compute(new RegressionBatch<T>(input, target, unreduced, gradInput));

    /// <inheritdoc/>
    public T Compute<T>(in RegressionBatch<T> batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = batch.Input.Length;
        if (n == 0) throw new ArgumentException("input is empty: a batch needs at least one value.", "input");
        Expect(batch.Target.Length, n, "target", "one target per prediction (the input's shape)", allowEmpty: false);
        Expect(batch.Unreduced.Length, n, "unreduced", "one per prediction, or none", allowEmpty: true);
        Expect(batch.GradInput.Length, n, "gradInput", "the input's shape, or none", allowEmpty: true);
        if (FixedColumnCount is int columns && n % columns != 0)
            throw new ArgumentException($"input has {n} values, which is not a whole number of rows of {columns} columns ({Card.Name}'s configuration has {columns}).", "input");
        CheckPredicted(batch.First, batch.GradFirst, 0, n);
        CheckPredicted(batch.Second, batch.GradSecond, 1, n);
        return Evaluate(batch);
    }

    /// <summary>Checks a predicted parameter's span against <paramref name="n"/> predictions: the same length (a loss
    /// that broadcasts overrides <see cref="Compute{T}(in RegressionBatch{T})"/>'s checks in <see cref="Evaluate"/>).</summary>
    private protected virtual void CheckPredicted<T>(ReadOnlySpan<T> values, Span<T> gradient, int which, int n)
    {
        IReadOnlyList<LossInput> predicted = Predicted;
        if (which >= predicted.Count)
        {
            if (!values.IsEmpty || !gradient.IsEmpty)
                throw new ArgumentException($"{Card.Name} takes {(predicted.Count == 0 ? "no predicted parameters" : "only " + string.Join(", ", predicted.Select(p => p.Name)))}: leave the {(which == 0 ? "first" : "second")} parameter empty.", which == 0 ? "first" : "second");
            return;
        }
        LossInput p = predicted[which];
        bool given = !(values.IsEmpty && p.Optional);
        if (given) Expect(values.Length, n, p.Name, "one per prediction (the input's shape)", allowEmpty: false);
        // grad_<name>: the parameter's shape or none (none when the parameter is not given). Its name and message are
        // built only on a mismatch, so a call allocates nothing.
        int expected = given ? n : 0;
        if (!Fits(gradient.Length, expected, allowEmpty: true))
            throw Mismatch(gradient.Length, expected, "grad_" + p.Name, given ? $"{p.Name}'s shape, or none" : "none when the parameter is not given");
    }

    private static void Expect(int length, int n, string name, string what, bool allowEmpty)
    {
        if (!Fits(length, n, allowEmpty)) throw Mismatch(length, n, name, what);
    }

    /// <summary>True when a span of <paramref name="length"/> values fits <paramref name="n"/> (or is empty where that is allowed).</summary>
    private static bool Fits(int length, int n, bool allowEmpty) => length == n || (allowEmpty && length == 0);

    /// <summary>The error for the span <paramref name="name"/> of <paramref name="length"/> values where <paramref name="what"/> was expected.</summary>
    private static ArgumentException Mismatch(int length, int n, string name, string what) =>
        new($"{name} has {length} values but input has {n}; expected {what}.", name);

    /// <summary>Runs the loss on checked spans.</summary>
    protected abstract T Evaluate<T>(in RegressionBatch<T> batch) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The kernel call for subclasses: <paramref name="function"/> over the batch, the inputs checked against
    /// this loss's domains.</summary>
    /// <param name="function">The element function.</param>
    /// <param name="b">The checked batch.</param>
    /// <param name="columns">A per-column pattern read as stream x2 where the loss has no first predicted parameter
    /// (<c>quantile</c>'s τ per column), or null.</param>
    private protected T Run<T, TF>(TF function, in RegressionBatch<T> b, ElementwiseKernel.Tiles? columns = null)
        where T : unmanaged, IFloatingPointIeee754<T> where TF : struct, IElementFunction
    {
        IReadOnlyList<LossInput> predicted = Predicted;
        var op = new DomainOp<TF>(function, Card.Name, InputDomain, TargetDomain,
            predicted.Count > 0 ? predicted[0].Name : "", DomainOf(predicted, 0), predicted.Count > 1 ? predicted[1].Name : "", DomainOf(predicted, 1));
        return ElementwiseKernel.Run(op, columns ?? ElementwiseKernel.Tiles.None, Reduction,
            new ElementStreams<T>(b.Input, b.Target, b.First, b.Second, b.Unreduced, b.GradInput, b.GradFirst, b.GradSecond));
    }

    /// <summary>The kernel call of a loss of the residual alone: ℓ = ρ(ŷ − y), ∂ℓ/∂ŷ = ψ.</summary>
    private protected T RunResidual<T, TF>(TF function, in RegressionBatch<T> b)
        where T : unmanaged, IFloatingPointIeee754<T> where TF : struct, IResidualFunction => Run(new ResidualOp<TF>(function), b);

    /// <summary>The kernel call of a loss of the prediction and the target alone: ℓ(ŷ, y), ∂ℓ/∂ŷ.</summary>
    private protected T RunPoint<T, TF>(TF function, in RegressionBatch<T> b)
        where T : unmanaged, IFloatingPointIeee754<T> where TF : struct, IPointFunction => Run(new PointOp<TF>(function), b);

    private static RegressionDomain DomainOf(IReadOnlyList<LossInput> predicted, int i) =>
        i < predicted.Count && predicted[i].NonNegative ? RegressionDomain.NonNegative : RegressionDomain.Any;

    /// <summary>A card of this family: the element-wise kernel's family name and the reduction parameter last.</summary>
    private protected static LossCard RegressionCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("regression element-wise (fused kernel)", name, title, formula, gradient, reference, properties,
            [.. parameters, RegressionParameters.Reduction], notes);

    /// <summary>An element function with the domain checks of a regression loss.</summary>
    private readonly struct DomainOp<TF>(TF function, string loss, RegressionDomain input, RegressionDomain target,
        string firstName, RegressionDomain first, string secondName, RegressionDomain second) : IElementOp where TF : struct, IElementFunction
    {
        private readonly DomainBounds _input = input.Bounds, _target = target.Bounds, _first = first.Bounds, _second = second.Bounds;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Evaluate<TV, T, TOps>(TV x0, TV x1, TV x2, TV x3, out TV loss, out TV d0, out TV d2, out TV d3)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T> =>
            function.Evaluate<TV, T, TOps>(x0, x1, x2, x3, out loss, out d0, out d2, out d3);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Valid<TV, T, TOps>(TV x0, TV x1, TV x2, TV x3)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV all = TOps.EqualTo(TOps.Broadcast(T.Zero), TOps.Broadcast(T.Zero));
            TV mask = _target.Mask<TV, T, TOps>(x1, all);
            mask = _input.Mask<TV, T, TOps>(x0, mask);
            mask = _first.Mask<TV, T, TOps>(x2, mask);
            return _second.Mask<TV, T, TOps>(x3, mask);
        }

        public RowException? Invalid(int index, double x0, double x1, double x2, double x3) =>
            !target.Accepts(x1) ? Error("target", index, x1, target)
            : !input.Accepts(x0) ? Error("input", index, x0, input)
            : !first.Accepts(x2) ? Error(firstName, index, x2, first)
            : !second.Accepts(x3) ? Error(secondName, index, x3, second)
            : null;

        private RowException Error(string name, int index, double value, RegressionDomain domain) => domain.OutOfRange(name, index, value, loss);

        public double Pad(int stream) => 1;
    }
}

/// <summary>ρ(r) and ψ = dρ/dr of the residual r = ŷ − y, lane by lane: a loss of the residual alone.</summary>
internal interface IResidualFunction
{
    void Rho<TV, T, TOps>(TV r, out TV rho, out TV psi)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;
}

/// <summary>ℓ = ρ(ŷ − y), ∂ℓ/∂ŷ = ψ(ŷ − y).</summary>
internal readonly struct ResidualOp<TF>(TF function) : IElementFunction where TF : struct, IResidualFunction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Evaluate<TV, T, TOps>(TV x, TV y, TV p, TV q, out TV loss, out TV dx, out TV dp, out TV dq)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        function.Rho<TV, T, TOps>(TOps.Subtract(x, y), out loss, out dx);
        dp = dq = dx;
    }
}

/// <summary>ℓ(ŷ, y) and ∂ℓ/∂ŷ, lane by lane: a loss of the prediction and the target without predicted parameters.</summary>
internal interface IPointFunction
{
    void Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;
}

/// <summary>ℓ(ŷ, y), ∂ℓ/∂ŷ: the point function on streams x0 and x1 (x2, x3 unused).</summary>
internal readonly struct PointOp<TF>(TF function) : IElementFunction where TF : struct, IPointFunction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Evaluate<TV, T, TOps>(TV x, TV y, TV p, TV q, out TV loss, out TV dx, out TV dp, out TV dq)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        function.Point<TV, T, TOps>(x, y, out loss, out dx);
        dp = dq = dx;
    }
}

/// <summary>Base of the regression losses with one number parameter (<c>huber</c>'s δ, <c>smooth_l1</c>'s β, the robust
/// losses' c, ...): the parameter is declared once, first in the loss's card, and resolved, reported and printed here.</summary>
public abstract class OneParameterRegressionLoss : RegressionLoss
{
    /// <param name="card">The loss's card, its parameter first.</param>
    /// <param name="value">The parameter's value (null: the default), checked against its range.</param>
    /// <param name="reduction">none, sum or mean.</param>
    private protected OneParameterRegressionLoss(LossCard card, double? value, Reduction reduction) : base(card, reduction)
    {
        Value = card.Parameters[0].Resolve(value);
    }

    /// <summary>The parameter's configured value.</summary>
    public double Value { get; }

    public override IEnumerable<ParameterValue> ParameterValues => [Card.Parameters[0].Of(Value), .. base.ParameterValues];
}

/// <summary>Base of the negative log-likelihoods with a predicted, floored spread (<c>gaussian_nll</c>'s var,
/// <c>laplace_nll</c>'s scale): the spread, the only predicted parameter; the <c>full</c> flag and the floor <c>eps</c>,
/// the first two parameters of the card.</summary>
public abstract class FlooredNllLoss : RegressionLoss
{
    private readonly LossInput[] _predicted;

    private protected FlooredNllLoss(LossCard card, LossInput spread, bool full, double? eps, Reduction reduction) : base(card, reduction)
    {
        _predicted = [spread];
        IsFull = full;
        EpsValue = card.Parameters[1].Resolve(eps);
    }

    /// <summary>The spread (<c>var</c>, <c>scale</c>).</summary>
    public override IReadOnlyList<LossInput> Predicted => _predicted;

    /// <summary>True when the constant term is added.</summary>
    public bool IsFull { get; }

    /// <summary>The spread's floor.</summary>
    public double EpsValue { get; }

    public override IEnumerable<ParameterValue> ParameterValues => [Card.Parameters[0].Of(IsFull), Card.Parameters[1].Of(EpsValue), .. base.ParameterValues];
}

/// <summary>Parameters shared by the regression losses.</summary>
public static class RegressionParameters
{
    public static readonly LossParameter Reduction = CommonParameters.Reduction with
    {
        Description = "mean divides by the number of elements (PyTorch); none returns per-element losses",
    };

    /// <summary>PyTorch's <c>full</c> flag of the negative log-likelihoods: add the constant term.</summary>
    public static LossParameter Full(string term) => new("full", ParameterKind.Choice, $"true adds the constant term {term}") { Choices = ["false", "true"] };
}
