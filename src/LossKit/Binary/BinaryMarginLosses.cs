using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>A margin function φ(m) and its slope φ'(m), lane by lane.</summary>
internal interface IMarginFunction
{
    void Phi<TV, T, TOps>(TV m, out TV value, out TV slope)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;
}

/// <summary>
/// ℓ(s, t) = t·φ(s) + (1 − t)·φ(−s) and ∂ℓ/∂s = t·φ'(s) − (1 − t)·φ'(−s): a margin loss φ(y·s) for t ∈ {0, 1}
/// (y = 2t − 1), and its expectation over the label for a soft target t = P(y = +1).
/// A zero weight drops its term exactly (no 0·∞ when φ overflows on the other side).
/// </summary>
internal readonly struct MarginOp<TPhi>(TPhi phi) : IBinaryElementOp where TPhi : struct, IMarginFunction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Evaluate<TV, T, TOps>(TV s, TV t, TV posWeight, out TV loss, out TV grad)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        phi.Phi<TV, T, TOps>(s, out TV vPos, out TV dPos);
        phi.Phi<TV, T, TOps>(TOps.Subtract(TOps.Broadcast(T.Zero), s), out TV vNeg, out TV dNeg);
        TV u = TOps.Subtract(TOps.Broadcast(T.One), t);
        loss = TOps.Add(VectorMath<TV, T, TOps>.WeightedTerm(t, vPos), VectorMath<TV, T, TOps>.WeightedTerm(u, vNeg));
        grad = TOps.Subtract(VectorMath<TV, T, TOps>.WeightedTerm(t, dPos), VectorMath<TV, T, TOps>.WeightedTerm(u, dNeg));
    }
}

/// <summary>
/// Base of the binary margin losses (<c>hinge</c>, <c>sq_hinge</c>, <c>smoothed_hinge</c>,
/// <c>modified_huber</c>, <c>exponential</c>; <c>logistic</c> shares BCE's function): a function φ of the margin
/// m = y·s with y = 2t − 1 ∈ {−1, +1}. A soft target t ∈ [0, 1] is read as P(y = +1) and gives the expected loss
/// <c>ℓ = t·φ(s) + (1 − t)·φ(−s)</c>, which equals φ(y·s) for t ∈ {0, 1}; for t = ½ it is symmetric in s.
/// Convex φ with φ'(0) &lt; 0 is classification-calibrated (Bartlett, Jordan &amp; McAuliffe 2006).
/// At kinks the gradient takes ML.NET's one-sided choice (the hinge's slope at m = 1 is 0).
/// </summary>
public abstract class BinaryMarginLoss(Reduction reduction) : ElementwiseBinaryLoss(reduction)
{
    internal const string SoftTargetNote =
        "Margin m = y·s with y = 2t − 1. Soft targets: ℓ = t·φ(s) + (1−t)·φ(−s), the expected loss with t = P(y = +1); equal to φ(y·s) for t ∈ {0, 1}.";

    private protected static LossCard MarginCard(string name, string title, string phi, string slope, string reference,
        string notes = "", LossProperties extra = LossProperties.None, params LossParameter[] parameters) =>
        ElementCard(name, title, $"φ(m) = {phi}, m = y·s; ℓ = t·φ(s) + (1−t)·φ(−s)", $"φ'(m) = {slope}; ∂ℓ/∂s = t·φ'(s) − (1−t)·φ'(−s)",
            reference,
            LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased | extra,
            notes.Length == 0 ? SoftTargetNote : SoftTargetNote + " " + notes, parameters);
}

/// <summary>Hinge loss, spec <c>hinge</c>: <c>φ(m) = max(0, 1 − m)</c>, φ'(m) = −1 for m &lt; 1, else 0.
/// Reference: Cortes &amp; Vapnik 1995, Support-vector networks; ML.NET <c>HingeLoss</c> (margin 1).</summary>
public sealed class HingeLoss(Reduction reduction = Reduction.Mean) : BinaryMarginLoss(reduction)
{
    public static LossCard Definition { get; } = MarginCard("hinge", "Hinge loss", "max(0, 1 − m)", "−1 if m < 1 else 0",
        "Cortes & Vapnik 1995, Support-vector networks; ML.NET HingeLoss");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new HingeLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new MarginOp<Hinge>(default), logits, targets, elementLosses, gradient);

    internal readonly struct Hinge : IMarginFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Phi<TV, T, TOps>(TV m, out TV value, out TV slope)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV u = TOps.Subtract(TOps.Broadcast(T.One), m);
            value = TOps.MaxPropagateNaN(u, TOps.Broadcast(T.Zero));
            slope = TOps.Select(TOps.GreaterThan(u, TOps.Broadcast(T.Zero)), TOps.Broadcast(-T.One), TOps.Broadcast(T.Zero));
            slope = TOps.Select(TOps.EqualTo(u, u), slope, u);   // NaN stays NaN
        }
    }
}

/// <summary>Squared hinge loss, spec <c>sq_hinge</c>: <c>φ(m) = max(0, 1 − m)²</c>, φ'(m) = −2·max(0, 1 − m).
/// The loss grows like s² on the wrong side: it leaves float's range beyond |s| ≈ 1.8e19 (double's beyond 1.3e154),
/// so <see cref="BinaryLoss.FiniteLogitScale"/> is 1e18; the gradient stays finite.
/// Reference: the L2-SVM loss, e.g. scikit-learn <c>SGDClassifier(loss='squared_hinge')</c>.</summary>
public sealed class SquaredHingeLoss(Reduction reduction = Reduction.Mean) : BinaryMarginLoss(reduction)
{
    public static LossCard Definition { get; } = MarginCard("sq_hinge", "Squared hinge loss", "max(0, 1 − m)²", "−2·max(0, 1 − m)",
        "Squared hinge (L2-SVM), e.g. scikit-learn SGDClassifier(loss='squared_hinge')",
        "The value overflows float beyond |s| ≈ 1.8e19 (double beyond 1.3e154).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SquaredHingeLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override double FiniteLogitScale => 1e18;

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new MarginOp<SquaredHinge>(default), logits, targets, elementLosses, gradient);

    internal readonly struct SquaredHinge : IMarginFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Phi<TV, T, TOps>(TV m, out TV value, out TV slope)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV v = TOps.MaxPropagateNaN(TOps.Subtract(TOps.Broadcast(T.One), m), TOps.Broadcast(T.Zero));
            value = TOps.Multiply(v, v);
            slope = TOps.Multiply(VectorMath<TV, T, TOps>.C(-2), v);
        }
    }
}

/// <summary>
/// Smoothed hinge loss, spec <c>smoothed_hinge(h=1)</c>, with ML.NET <c>SmoothedHingeLoss</c> semantics: with
/// u = 1 − m, <c>φ = 0</c> for u ≤ 0, <c>u²/(2h)</c> for 0 &lt; u &lt; h, and <c>u − h/2</c> for u ≥ h; slope 0, −u/h, −1.
/// h = 0 is the hinge loss. The smoothing constant h is ML.NET's <c>smoothingConstant</c> (default 1); the loss is
/// 1/h-smooth (Shalev-Shwartz &amp; Zhang 2013, Definition 1).
/// Reference: ML.NET <c>Microsoft.ML.Trainers.SmoothedHingeLoss</c>; Shalev-Shwartz &amp; Zhang 2013, Stochastic dual coordinate ascent.
/// </summary>
public sealed class SmoothedHingeLoss : BinaryMarginLoss
{
    public static readonly LossParameter H = new("h", ParameterKind.Number, "smoothing constant h (ML.NET smoothingConstant; 0 = hinge)") { Default = 1, Min = 0 };

    public static LossCard Definition { get; } = MarginCard("smoothed_hinge", "Smoothed hinge loss (ML.NET)",
        "u = 1 − m: 0 if u ≤ 0; u²/(2h) if 0 < u < h; u − h/2 if u ≥ h", "0; −u/h; −1 on the same pieces",
        "ML.NET SmoothedHingeLoss; Shalev-Shwartz & Zhang 2013, Stochastic dual coordinate ascent methods for regularized loss minimization",
        "h = 0 is the hinge loss.", LossProperties.None, H);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SmoothedHingeLoss(a.Number(H), a.Reduction()));

    /// <param name="h">Smoothing constant h ≥ 0 (null: the card's default, ML.NET's).</param>
    /// <param name="reduction">none, sum or mean.</param>
    public SmoothedHingeLoss(double? h = null, Reduction reduction = Reduction.Mean) : base(reduction) => HValue = H.Resolve(h);

    /// <summary>The smoothing constant h.</summary>
    public double HValue { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [H.Of(HValue), .. base.ParameterValues];

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new MarginOp<Smoothed>(new Smoothed(HValue)), logits, targets, elementLosses, gradient);

    internal readonly struct Smoothed(double h) : IMarginFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Phi<TV, T, TOps>(TV m, out TV value, out TV slope)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV zero = TOps.Broadcast(T.Zero);
            TV u = TOps.Subtract(TOps.Broadcast(T.One), m);
            TV hv = VectorMath<TV, T, TOps>.C(h);
            TV inv = VectorMath<TV, T, TOps>.C(h > 0 ? 1 / h : 0);
            TV inQuadratic = TOps.LessThan(u, hv);
            TV quadratic = TOps.Multiply(TOps.Multiply(u, u), TOps.Multiply(VectorMath<TV, T, TOps>.C(0.5), inv));
            TV linear = TOps.Subtract(u, VectorMath<TV, T, TOps>.C(h / 2));
            TV positive = TOps.GreaterThan(u, zero);
            value = TOps.Select(positive, TOps.Select(inQuadratic, quadratic, linear), TOps.Select(TOps.EqualTo(u, u), zero, u));
            slope = TOps.Select(positive, TOps.Select(inQuadratic, TOps.Subtract(zero, TOps.Multiply(u, inv)), TOps.Broadcast(-T.One)),
                TOps.Select(TOps.EqualTo(u, u), zero, u));
        }
    }
}

/// <summary>
/// Modified Huber loss, spec <c>modified_huber</c>: <c>φ(m) = max(0, 1 − m)²</c> for m ≥ −1 and <c>−4m</c> for
/// m &lt; −1 (continuous with a continuous slope −4 at m = −1); a quadratically smoothed hinge that grows only
/// linearly for badly wrong margins. Reference: Zhang 2004, Solving large scale linear prediction problems using
/// stochastic gradient descent algorithms; scikit-learn <c>modified_huber</c>.
/// </summary>
public sealed class ModifiedHuberLoss(Reduction reduction = Reduction.Mean) : BinaryMarginLoss(reduction)
{
    public static LossCard Definition { get; } = MarginCard("modified_huber", "Modified Huber loss",
        "max(0, 1 − m)² if m ≥ −1 else −4m", "−2·max(0, 1 − m) if m ≥ −1 else −4",
        "Zhang 2004, Solving large scale linear prediction problems using SGD; scikit-learn SGDClassifier(loss='modified_huber')");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ModifiedHuberLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new MarginOp<ModifiedHuber>(default), logits, targets, elementLosses, gradient);

    internal readonly struct ModifiedHuber : IMarginFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Phi<TV, T, TOps>(TV m, out TV value, out TV slope)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV v = TOps.MaxPropagateNaN(TOps.Subtract(TOps.Broadcast(T.One), m), TOps.Broadcast(T.Zero));
            TV quadratic = TOps.GreaterThanOrEqual(m, TOps.Broadcast(-T.One));
            TV four = VectorMath<TV, T, TOps>.C(-4);
            value = TOps.Select(quadratic, TOps.Multiply(v, v), TOps.Multiply(four, m));
            slope = TOps.Select(quadratic, TOps.Multiply(VectorMath<TV, T, TOps>.C(-2), v), TOps.Select(TOps.EqualTo(m, m), four, m));
        }
    }
}

/// <summary>
/// Exponential loss, spec <c>exponential(beta=1)</c>: <c>φ(m) = exp(−β·m)</c>, φ'(m) = −β·exp(−β·m) (AdaBoost's loss;
/// ML.NET <c>ExpLoss</c> with its <c>beta</c>). It grows exponentially for wrong margins and is not capped (a cap
/// would change the function and its gradient): the loss and gradient overflow to +∞/−∞ once β·|s| exceeds about 709
/// in double and 88 in float (and a Half result leaves Half's range from β·|s| ≈ 11).
/// <see cref="BinaryLoss.FiniteLogitScale"/> says 80/β, the float limit.
/// Correct margins of any size are fine (the loss underflows to 0).
/// Reference: Freund &amp; Schapire 1997 (AdaBoost); ML.NET <c>ExpLoss</c>.
/// </summary>
public sealed class ExponentialLoss : BinaryMarginLoss
{
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "dilation β (ML.NET ExpLoss beta)") { Default = 1, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = MarginCard("exponential", "Exponential loss", "exp(−β·m)", "−β·exp(−β·m)",
        "Freund & Schapire 1997, A decision-theoretic generalization of on-line learning (AdaBoost); ML.NET ExpLoss",
        "Not capped: overflows to +∞ once β·|s| > ~709 (double) or ~88 (float) on the wrong side (Half: ~11).", LossProperties.None, Beta);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ExponentialLoss(a.Number(Beta), a.Reduction()));

    /// <param name="beta">β &gt; 0 (null: the card's default).</param>
    /// <param name="reduction">none, sum or mean.</param>
    public ExponentialLoss(double? beta = null, Reduction reduction = Reduction.Mean) : base(reduction) => BetaValue = Beta.Resolve(beta);

    /// <summary>β.</summary>
    public double BetaValue { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override double FiniteLogitScale => 80 / BetaValue;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Beta.Of(BetaValue), .. base.ParameterValues];

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new MarginOp<Exponential>(new Exponential(BetaValue)), logits, targets, elementLosses, gradient);

    internal readonly struct Exponential(double beta) : IMarginFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Phi<TV, T, TOps>(TV m, out TV value, out TV slope)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            value = VectorMath<TV, T, TOps>.ExpInline(TOps.Multiply(VectorMath<TV, T, TOps>.C(-beta), m));
            slope = TOps.Multiply(VectorMath<TV, T, TOps>.C(-beta), value);
        }
    }
}
