using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>
/// Sigmoid focal loss, spec <c>sigmoid_focal(gamma=2, alpha=0.25, reduction=mean)</c>, with torchvision
/// <c>torchvision.ops.sigmoid_focal_loss</c> semantics:
/// <c>ℓ = α_t·ce·(1 − p_t)^γ</c> with p = σ(s), <c>ce = t·softplus(−s) + (1 − t)·softplus(s)</c> (BCE with logits),
/// <c>p_t = p·t + (1 − p)(1 − t)</c> and <c>α_t = α·t + (1 − α)(1 − t)</c>; <c>alpha &lt; 0</c> disables α (α_t = 1).
/// Gradient <c>α_t·[(p − t)·q^γ + γ·ce·q^{γ−1}·p(1 − p)(1 − 2t)]</c> with q = 1 − p_t, the exact derivative of the
/// formula for every t ∈ [0, 1] (soft targets included, as torchvision's formula allows).
/// </summary>
/// <remarks>
/// Numerics: ce, q = p(1 − t) + (1 − p)t and p − t = p(1 − t) − (1 − p)t are formed from σ(s) and σ(−s) computed
/// separately, so nothing cancels; logits up to ±1e30 give finite values. γ = 0 is BCE (times α_t).
/// torchvision's default reduction is <c>none</c>; LossKit's default is <c>mean</c> like every other loss.
/// Reference: Lin, Goyal, Girshick, He &amp; Dollár 2017, Focal loss for dense object detection; torchvision.ops.sigmoid_focal_loss.
/// </remarks>
public sealed class SigmoidFocalLoss : ElementwiseBinaryLoss
{
    public static readonly LossParameter Gamma = new("gamma", ParameterKind.Number, "focusing exponent γ (0 = BCE)") { Default = 2, Min = 0 };
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number,
        "positive-class factor α (negatives get 1 − α); any value < 0 disables it (torchvision uses −1)") { Default = 0.25, Max = 1 };

    public static LossCard Definition { get; } = ElementCard("sigmoid_focal", "Sigmoid focal loss (torchvision)",
        "ℓ = α_t·ce·(1 − p_t)^γ, p = σ(s), ce = BCE(s, t), p_t = p·t + (1−p)(1−t), α_t = α·t + (1−α)(1−t) (α < 0: α_t = 1)",
        "∂ℓ/∂s = α_t·[(p − t)(1 − p_t)^γ + γ·ce·(1 − p_t)^{γ−1}·p(1−p)(1 − 2t)]",
        "Lin et al. 2017, Focal loss for dense object detection; torchvision.ops.sigmoid_focal_loss",
        LossProperties.NonNegative | LossProperties.ClassificationCalibrated,
        "Convex only for γ = 0 (then it is α_t·BCE). α ≠ 0.5 weighs the classes, so the Bayes rule it recovers is the α-weighted one. " +
        "Margin-based only when α is disabled (α < 0) or 0.5, so not at the default α = 0.25.",
        Gamma, Alpha);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SigmoidFocalLoss(a.Number(Gamma),
        a.Number(Alpha), a.Reduction()));

    /// <param name="gamma">γ ≥ 0 (null: the card's default).</param>
    /// <param name="alpha">α ∈ [0, 1], or any negative value to disable the α factor (torchvision: −1); null: the card's default.</param>
    /// <param name="reduction">none, sum or mean (LossKit default mean; torchvision's default is none).</param>
    public SigmoidFocalLoss(double? gamma = null, double? alpha = null, Reduction reduction = Reduction.Mean) : base(reduction)
    {
        GammaValue = Gamma.Resolve(gamma);
        AlphaValue = Alpha.Resolve(alpha);
    }

    /// <summary>γ.</summary>
    public double GammaValue { get; }
    /// <summary>α (negative: disabled).</summary>
    public double AlphaValue { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override LossProperties Properties
    {
        get
        {
            var p = Card.Properties;
            if (GammaValue == 0) p |= LossProperties.ConvexInLogits;
            // α disabled or ½ weighs both labels alike: ℓ(s, t) = ℓ(−s, 1 − t).
            if (AlphaValue < 0 || AlphaValue == 0.5) p |= LossProperties.MarginBased;
            // α = 0 or 1 zeroes one class entirely: nothing is learnt about it.
            if (AlphaValue is 0 or 1) p &= ~LossProperties.ClassificationCalibrated;
            return p;
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Gamma.Of(GammaValue), Alpha.Of(AlphaValue), .. base.ParameterValues];

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new FocalOp(GammaValue, AlphaValue), logits, targets, elementLosses, gradient);

    internal readonly struct FocalOp(double gamma, double alpha) : IBinaryElementOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Evaluate<TV, T, TOps>(TV s, TV t, TV posWeight, out TV loss, out TV grad)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV zero = TOps.Broadcast(T.Zero), one = TOps.Broadcast(T.One);
            VectorMath<TV, T, TOps>.Logistic(s, out TV spPos, out TV spNeg, out TV p, out TV pc, inline: true);   // p = σ(s), pc = 1 − p
            TV u = TOps.Subtract(one, t);
            TV ce = TOps.Add(VectorMath<TV, T, TOps>.WeightedTerm(t, spNeg), VectorMath<TV, T, TOps>.WeightedTerm(u, spPos));
            TV pu = TOps.Multiply(p, u), pct = TOps.Multiply(pc, t);
            TV q = TOps.Add(pu, pct);                          // 1 − p_t
            TV pMinusT = TOps.Subtract(pu, pct);                    // σ(s) − t
            TV qg = VectorMath<TV, T, TOps>.Pow(q, gamma);
            loss = TOps.Multiply(ce, qg);
            grad = TOps.Multiply(pMinusT, qg);
            if (gamma != 0)
            {
                // γ·ce·q^{γ−1}·p(1−p)(1−2t) = γ·ce·q^γ·[p(1−p)/q]·(1−2t); the ratio is ≤ 1, and 0 where q = 0 (then q^γ = 0).
                TV ratio = TOps.Select(TOps.GreaterThan(q, zero), TOps.Divide(TOps.Multiply(p, pc), q), zero);
                TV oneMinus2t = TOps.Subtract(u, t);
                TV focus = TOps.Multiply(TOps.Multiply(VectorMath<TV, T, TOps>.C(gamma), loss), TOps.Multiply(ratio, oneMinus2t));
                grad = TOps.Add(grad, focus);
            }
            if (alpha >= 0)
            {
                TV at = TOps.Add(TOps.Multiply(VectorMath<TV, T, TOps>.C(alpha), t), TOps.Multiply(VectorMath<TV, T, TOps>.C(1 - alpha), u));
                loss = VectorMath<TV, T, TOps>.WeightedTerm(at, loss);
                grad = VectorMath<TV, T, TOps>.WeightedTerm(at, grad);
            }
        }
    }
}
