using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>
/// Binary cross-entropy on logits, spec <c>bce(pos_weight=[..], weight=[..], reduction=mean)</c>, with PyTorch
/// <c>BCEWithLogitsLoss</c> semantics: <c>ℓ = w_c·[p_c·t·softplus(−s) + (1 − t)·softplus(s)]</c>, i.e.
/// <c>−w_c·[p_c·t·log σ(s) + (1 − t)·log(1 − σ(s))]</c>, computed with softplus (never log of a probability), so it is
/// finite and exact for logits up to ±1e30. Gradient <c>w_c·[(1 − t)·σ(s) − p_c·t·σ(−s)]</c>.
/// </summary>
/// <remarks>
/// <para><c>pos_weight</c> p_c and <c>weight</c> w_c are per column (the last dimension): one value for all columns or
/// one per column, and then the logits must be a whole number of rows of that many columns. As in PyTorch the mean
/// divides by the number of elements N, weights or not. Soft targets t ∈ [0, 1] are allowed. (PyTorch broadcasts a
/// <c>weight</c> of any shape; LossKit's is per column or one value — a per-element weighting can be applied to the
/// per-element losses and the <c>reduction=none</c> gradient by the caller.)</para>
/// <para>Reference: PyTorch <c>torch.nn.BCEWithLogitsLoss</c>; checked against Debian's torch 1.13 (fixtures in the tests).</para>
/// </remarks>
public sealed class BinaryCrossEntropyLoss : ElementwiseBinaryLoss
{
    public static LossCard Definition { get; } = ElementCard("bce", "Binary cross-entropy with logits (PyTorch BCEWithLogitsLoss)",
        "ℓ = w_c·[p_c·t·softplus(−s) + (1−t)·softplus(s)]",
        "∂ℓ/∂s = w_c·[(1−t)·σ(s) − p_c·t·σ(−s)]",
        "PyTorch torch.nn.BCEWithLogitsLoss (pos_weight, weight, reduction)",
        LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased,
        "Soft targets allowed. pos_weight makes the Bayes rule predict positive where p_c·η > 1 − η, which the calibration check accounts for.",
        BinaryParameters.PosWeight, BinaryParameters.Weight);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new BinaryCrossEntropyLoss(a.List(BinaryParameters.PosWeight),
        a.List(BinaryParameters.Weight), a.Reduction()));

    /// <param name="posWeight">Optional p_c (one value, or one per column), each ≥ 0.</param>
    /// <param name="weight">Optional w_c (one value, or one per column), each ≥ 0.</param>
    /// <param name="reduction">none, sum or mean (divides by N).</param>
    public BinaryCrossEntropyLoss(IReadOnlyList<double>? posWeight = null, IReadOnlyList<double>? weight = null, Reduction reduction = Reduction.Mean)
        : base(reduction, weight, posWeight) { }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [BinaryParameters.PosWeight.Of(PosWeight), BinaryParameters.Weight.Of(Weight), .. base.ParameterValues];

    /// <inheritdoc/>
    public override LossProperties Properties
    {
        get
        {
            var p = Card.Properties;
            if (PosWeight is not null) p &= ~LossProperties.MarginBased;
            // A zero weight or pos_weight silences a class in some column: nothing is learnt there.
            if ((PosWeight?.Contains(0) ?? false) || (Weight?.Contains(0) ?? false)) p &= ~LossProperties.ClassificationCalibrated;
            return p;
        }
    }

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new BceOp(), logits, targets, elementLosses, gradient);
}

/// <summary>
/// The logistic loss in its ±1 form, spec <c>logistic</c>: <c>φ(m) = log(1 + e^{−m})</c> of the margin m = y·s,
/// <c>y = 2t − 1</c>. With the soft-target reading every margin loss uses (<c>ℓ = t·φ(s) + (1−t)·φ(−s)</c>) it is
/// exactly <c>bce</c> without options, for every t; it shares BCE's element function.
/// Reference: e.g. Bartlett, Jordan &amp; McAuliffe 2006, Convexity, classification, and risk bounds.
/// </summary>
public sealed class LogisticLoss(Reduction reduction = Reduction.Mean) : ElementwiseBinaryLoss(reduction)
{
    public static LossCard Definition { get; } = ElementCard("logistic", "Logistic loss (±1 form of BCE)",
        "φ(m) = log(1 + e^{−m}), m = y·s; ℓ = t·φ(s) + (1−t)·φ(−s)",
        "∂ℓ/∂s = (1−t)·σ(s) − t·σ(−s)",
        "Bartlett, Jordan & McAuliffe 2006, Convexity, classification, and risk bounds (logistic margin loss)",
        LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased,
        BinaryMarginLoss.SoftTargetNote);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new LogisticLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new BceOp(), logits, targets, elementLosses, gradient);
}

/// <summary>BCE with logits: p·t·softplus(−s) + (1−t)·softplus(s); gradient (1−t)σ(s) − p·t·σ(−s).</summary>
internal readonly struct BceOp : IBinaryElementOp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Evaluate<TV, T, TOps>(TV s, TV t, TV posWeight, out TV loss, out TV grad)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
    {
        VectorMath<TV, T, TOps>.Logistic(s, out TV spPos, out TV spNeg, out TV sigPos, out TV sigNeg, inline: true);
        TV a = TOps.Multiply(posWeight, t);
        TV b = TOps.Subtract(TOps.Broadcast(T.One), t);
        loss = TOps.Add(VectorMath<TV, T, TOps>.WeightedTerm(a, spNeg), VectorMath<TV, T, TOps>.WeightedTerm(b, spPos));
        grad = TOps.Subtract(TOps.Multiply(b, sigPos), TOps.Multiply(a, sigNeg));
    }
}
