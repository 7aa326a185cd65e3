using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>
/// Asymmetric loss for multi-label classification, spec <c>asl(gamma_pos=0, gamma_neg=4, clip=0.05)</c>
/// (Ridnik et al. 2021), as in the authors' code (github.com/Alibaba-MIIL/ASL, <c>AsymmetricLoss</c>):
/// with p = σ(s) and the shifted probability <c>p_m = max(p − clip, 0)</c> for negatives,
/// <c>L₊ = −(1 − p)^{γ₊}·log p</c>, <c>L₋ = −p_m^{γ₋}·log(1 − p_m)</c> and <c>ℓ = t·L₊ + (1 − t)·L₋</c>.
/// Gradient: <c>∂L₊/∂s = (1 − p)^{γ₊}·[γ₊·p·log p − (1 − p)]</c>; for p &gt; clip
/// <c>∂L₋/∂s = p(1 − p)·[p_m^{γ₋}/(1 − p_m) − γ₋·p_m^{γ₋−1}·log(1 − p_m)]</c>, and 0 for p ≤ clip.
/// </summary>
/// <remarks>
/// <para>Differences from the reference code, on purpose: (1) log p and log(1 − p_m) are computed exactly in log
/// space (−softplus(−s), and log1p(−p_m)) instead of clamping the probabilities at eps = 1e-8, so the loss is not capped
/// at −log(1e-8) ≈ 18.4 and its gradient does not vanish there; (2) the gradient is the exact gradient of the loss,
/// including through the focusing weights (the reference code optionally detaches them,
/// <c>disable_torch_grad_focal_loss</c>); (3) the reference code returns the sum over all elements, which is
/// <c>reduction=sum</c> here; the default here is <c>mean</c>; (4) for a soft target t ∈ (0, 1) this is the
/// t-mixture of the positive and negative losses (the reference mixes the focusing base p_t and exponent instead);
/// for t ∈ {0, 1} the two agree.</para>
/// <para>Not convex, not margin-based (the asymmetry is the point) and not claimed classification-calibrated:
/// the probability shift and the different exponents move the decision threshold away from ½.</para>
/// Reference: Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter &amp; Zelnik-Manor 2021, Asymmetric loss for multi-label classification (ICCV).
/// </remarks>
public sealed class AsymmetricLoss : ElementwiseBinaryLoss
{
    public static readonly LossParameter GammaPos = new("gamma_pos", ParameterKind.Number, "focusing exponent γ₊ of positives") { Default = 0, Min = 0 };
    public static readonly LossParameter GammaNeg = new("gamma_neg", ParameterKind.Number, "focusing exponent γ₋ of negatives") { Default = 4, Min = 0 };
    public static readonly LossParameter Clip = new("clip", ParameterKind.Number, "probability margin m of the negative shift p_m = max(p − m, 0) (0 = off)") { Default = 0.05, Min = 0, Max = 1, MaxExclusive = true };

    public static LossCard Definition { get; } = ElementCard("asl", "Asymmetric loss (ASL, multi-label)",
        "ℓ = −t·(1−p)^{γ₊}·log p − (1−t)·p_m^{γ₋}·log(1 − p_m), p = σ(s), p_m = max(p − clip, 0)",
        "∂ℓ/∂s = t·(1−p)^{γ₊}[γ₊·p·log p − (1−p)] + (1−t)·p(1−p)[p_m^{γ₋}/(1−p_m) − γ₋·p_m^{γ₋−1}·log(1−p_m)] (second term 0 for p ≤ clip)",
        "Ridnik et al. 2021, Asymmetric loss for multi-label classification; github.com/Alibaba-MIIL/ASL",
        LossProperties.NonNegative,
        "Exact log-space logs (no eps = 1e-8 clamp) and the exact gradient through the focusing weights; the reference code's sum is reduction=sum.",
        GammaPos, GammaNeg, Clip);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new AsymmetricLoss(a.Number(GammaPos),
        a.Number(GammaNeg), a.Number(Clip), a.Reduction()));

    /// <param name="gammaPos">γ₊ ≥ 0 (null: the card's default, the paper's).</param>
    /// <param name="gammaNeg">γ₋ ≥ 0 (null: the card's default, the paper's).</param>
    /// <param name="clip">Probability margin m ∈ [0, 1), 0 disables the shift (null: the card's default, the paper's).</param>
    /// <param name="reduction">none, sum or mean (the reference code sums).</param>
    public AsymmetricLoss(double? gammaPos = null, double? gammaNeg = null, double? clip = null, Reduction reduction = Reduction.Mean) : base(reduction)
    {
        GammaPosValue = GammaPos.Resolve(gammaPos);
        GammaNegValue = GammaNeg.Resolve(gammaNeg);
        ClipValue = Clip.Resolve(clip);
    }

    public double GammaPosValue { get; }
    public double GammaNegValue { get; }
    public double ClipValue { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override LossProperties Properties
    {
        get
        {
            // Without focusing and shift it is exactly BCE.
            if (GammaPosValue == 0 && GammaNegValue == 0 && ClipValue == 0)
                return Card.Properties | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased;
            return Card.Properties;
        }
    }

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [GammaPos.Of(GammaPosValue), GammaNeg.Of(GammaNegValue), Clip.Of(ClipValue), .. base.ParameterValues];

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new AslOp(GammaPosValue, GammaNegValue, ClipValue), logits, targets, elementLosses, gradient);

    internal readonly struct AslOp(double gammaPos, double gammaNeg, double clip) : IBinaryElementOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Evaluate<TV, T, TOps>(TV s, TV t, TV posWeight, out TV loss, out TV grad)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV zero = TOps.Broadcast(T.Zero), one = TOps.Broadcast(T.One);
            VectorMath<TV, T, TOps>.Logistic(s, out TV spPos, out TV spNeg, out TV p, out TV pc, inline: true);   // p = σ(s), pc = 1 − p

            // Positive part: L₊ = (1−p)^γ₊·softplus(−s); (1−p)^γ₊ = exp(−γ₊·softplus(s)).
            TV wPos = VectorMath<TV, T, TOps>.ExpNeg(spPos, gammaPos);
            TV lPos = TOps.Multiply(wPos, spNeg);
            TV pLogP = VectorMath<TV, T, TOps>.WeightedTerm(p, TOps.Subtract(zero, spNeg));               // p·log p (0 where p = 0)
            TV dPos = TOps.Multiply(wPos, TOps.Subtract(TOps.Multiply(VectorMath<TV, T, TOps>.C(gammaPos), pLogP), pc));

            // Negative part.
            TV lNeg, dNeg;
            if (clip > 0) ShiftedNegative<TV, T, TOps>(p, pc, out lNeg, out dNeg);
            else
            {
                // p_m = p: L₋ = p^γ₋·softplus(s), ∂/∂s = p^γ₋·[p + γ₋·(1−p)·softplus(s)].
                TV pmg = VectorMath<TV, T, TOps>.ExpNeg(spNeg, gammaNeg);
                lNeg = TOps.Multiply(pmg, spPos);
                TV gsp = VectorMath<TV, T, TOps>.WeightedTerm(pc, spPos);
                dNeg = TOps.Multiply(pmg, TOps.Add(p, TOps.Multiply(VectorMath<TV, T, TOps>.C(gammaNeg), gsp)));
            }

            TV u = TOps.Subtract(one, t);
            loss = TOps.Add(VectorMath<TV, T, TOps>.WeightedTerm(t, lPos), VectorMath<TV, T, TOps>.WeightedTerm(u, lNeg));
            grad = TOps.Add(TOps.Multiply(t, dPos), TOps.Multiply(u, dNeg));
        }

        /// <summary>The shifted negative part for clip &gt; 0: p_m = max(p − clip, 0), L₋ = −p_m^{γ₋}·log(1 − p_m) and
        /// ∂L₋/∂s (0 where p ≤ clip). A call of its own (once per vector), compiled with everything in it inlined: with
        /// its log1p and its power (a log and an exp) in <see cref="Evaluate"/>, next to the logistic's exp and log,
        /// the kernel loop ran out of the JIT's inlining budget and kept dozens of vector operations as calls.</summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void ShiftedNegative<TV, T, TOps>(TV p, TV pc, out TV lNeg, out TV dNeg)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            TV zero = TOps.Broadcast(T.Zero), one = TOps.Broadcast(T.One);
            TV pm = TOps.MaxPropagateNaN(TOps.Subtract(p, VectorMath<TV, T, TOps>.C(clip)), zero);
            TV log1mpm = VectorMath<TV, T, TOps>.Log1p(TOps.Subtract(zero, pm), inlineLog: true);   // log(1 − p_m), accurate for small p_m
            TV pmg = VectorMath<TV, T, TOps>.Pow(pm, gammaNeg);
            lNeg = TOps.Subtract(zero, TOps.Multiply(pmg, log1mpm));
            TV active = TOps.GreaterThan(pm, zero);
            TV dpm = TOps.Multiply(p, pc);                                         // ∂p_m/∂s where p > clip
            TV xneg = TOps.Add(pc, VectorMath<TV, T, TOps>.C(clip));                     // 1 − p_m there
            TV term1 = TOps.Multiply(pmg, TOps.Divide(dpm, xneg));
            TV safePm = TOps.Select(active, pm, one);
            TV term2 = TOps.Multiply(TOps.Multiply(VectorMath<TV, T, TOps>.C(gammaNeg), pmg), TOps.Multiply(TOps.Divide(dpm, safePm), log1mpm));
            dNeg = TOps.Select(active, TOps.Subtract(term1, term2), zero);
        }
    }
}
