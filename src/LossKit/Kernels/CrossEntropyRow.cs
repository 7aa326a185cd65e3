using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LossKit.Kernels;

/// <summary>The per-row quantities the softmax row kernel computes before asking a loss for its row terms.</summary>
/// <param name="Classes">K.</param>
/// <param name="Target">Class index y (−1 for soft targets).</param>
/// <param name="Max">m = max_k z_k: the shift of <see cref="WeightedLogitSum"/> and <see cref="TargetLogitSum"/>.</param>
/// <param name="Lse">log Σ_k exp(z_k) (of the transformed logits when softcap/temperature are set).</param>
/// <param name="TargetLogit">z_y (NaN for soft targets).</param>
/// <param name="TargetWeight">w_y (1 without class weights; for soft targets 1).</param>
/// <param name="WeightSum">W = Σ_k w_k (K without class weights).</param>
/// <param name="WeightedLogitSum">Σ_k w_k (z_k − m), computed only when the loss asks for it.</param>
/// <param name="TargetMass">Soft targets: Σ_k w_k q_k.</param>
/// <param name="TargetLogitSum">Soft targets: Σ_k w_k q_k (z_k − m).</param>
/// <remarks>Sums over logits are taken relative to the row max so that a large common offset (logits near 1000,
/// say) does not cancel catastrophically in <c>mass·lse − Σ w q z</c>; use <c>Lse − Max</c> with them.</remarks>
public readonly record struct RowStats(int Classes, int Target, double Max, double Lse, double TargetLogit, double TargetWeight,
    double WeightSum, double WeightedLogitSum, double TargetMass, double TargetLogitSum);

/// <summary>
/// A row's loss and its gradient in the fused form shared by the whole softmax family:
/// <c>∇_k = A·p_k − B·δ_ky − Cw·w_k − Cq·w_k·q_k + D·z_k·[k ≠ y, z_k &gt; −∞]</c> (w_k = 1 without class weights, q the
/// soft target; D, <paramref name="Linear"/>, a term linear in the logits, as squentropy's square term has).
/// </summary>
public readonly record struct RowTerms(double Loss, double A, double B, double Cw = 0, double Cq = 0, double Linear = 0);

/// <summary>What a loss of the softmax family adds to <see cref="CrossEntropyRow"/>: its row terms from the row's
/// statistics and, optionally, an extra per-row term. Implemented by structs, so the kernel is compiled for each.</summary>
internal interface IRowTerms<TC> where TC : unmanaged, IFloatingPointIeee754<TC>
{
    /// <summary>True when <see cref="RowStats.WeightedLogitSum"/> is needed (one extra vector pass).</summary>
    bool NeedsWeightedLogitSum { get; }

    /// <summary>True when <see cref="Extra"/> adds a term to each row.</summary>
    bool HasExtra { get; }

    /// <summary>True when <see cref="Extra"/> writes into the gradient (then the gradient is not streamed out by the fused
    /// pass: the extra reads it back).</summary>
    bool ExtraWritesGradient { get; }

    /// <summary>The row's loss and gradient coefficients.</summary>
    RowTerms Evaluate(in RowStats s);

    /// <summary>An extra term on the working row <paramref name="z"/>: adds <paramref name="scale"/>·∂extra/∂z into
    /// <paramref name="gradient"/> (empty when no gradient is wanted) and returns the extra loss.</summary>
    double Extra(ReadOnlySpan<TC> z, in RowStats s, Span<TC> gradient, double scale);
}

/// <summary>Cross-entropy's row terms (label smoothing ε, PaLM's z-loss λ·lse²): <see cref="CrossEntropyRow.Terms"/>.</summary>
internal readonly struct CrossEntropyTerms<TC>(double smoothing, double lseSquared) : IRowTerms<TC>
    where TC : unmanaged, IFloatingPointIeee754<TC>
{
    public bool NeedsWeightedLogitSum => smoothing > 0;
    public bool HasExtra => false;
    public bool ExtraWritesGradient => false;
    public RowTerms Evaluate(in RowStats s) => CrossEntropyRow.Terms(s, smoothing, lseSquared);
    public double Extra(ReadOnlySpan<TC> z, in RowStats s, Span<TC> gradient, double scale) => 0;
}

/// <summary>What <see cref="CrossEntropyRow.Evaluate{TC,TTerms}"/> needs beside the row itself; the same for a block of rows.</summary>
internal ref struct RowSetup<TC> where TC : unmanaged
{
    /// <summary>Class weights w (empty without).</summary>
    public ReadOnlySpan<TC> Weights;
    /// <summary>W = Σ_k w_k (K without weights).</summary>
    public double WeightSum;
    /// <summary>The reduction's factor s.</summary>
    public double Scale;
    /// <summary>The gradient may be written with non-temporal stores when its scaling pass is the last one.</summary>
    public bool Stream;
    /// <summary>True when the Σexp pass stores exp(z − max) over the logits themselves (linear_ce): the other passes
    /// over z then come before it.</summary>
    public bool ExpOverwritesLogits;
}

/// <summary>
/// The one cross-entropy row kernel, shared by <c>ce</c> and the whole softmax family (<c>SoftmaxLoss</c>),
/// <c>linear_ce</c>'s whole rows and its vocabulary blocks. A row is a max pass, a Σexp pass that stores
/// exp(z − max) for the gradient, a few scalar operations (<see cref="Terms"/> for cross-entropy, or a family
/// member's <see cref="IRowTerms{TC}"/>), and one rescaling pass that writes
/// <c>s·∇ = s·(A/Σexp)·exp(z − max) − s·Cw·[unweighted] − s·B·e_y − s·Cw·w − s·Cq·w⊙q</c>. Every caller goes
/// through the same arithmetic on every value (the passes are independent reductions, so whether the smoothing sum
/// comes before or after the Σexp pass changes no bit), so <c>ce</c> and <c>linear_ce</c> give the same bits on the
/// same logits. The vocabulary blocks fold per-block maxima and Σexp into an online log-sum-exp instead, then use
/// <see cref="Terms"/> and <see cref="Gradient{TC}"/> as the whole rows do.
/// </summary>
internal static class CrossEntropyRow
{
    /// <summary>Cross-entropy's loss and gradient coefficients from a row's statistics:
    /// <c>ℓ = (1−ε)·w_y·(lse − z_y) + (ε/K)·(W·(lse − m) − Σ_k w_k(z_k − m)) + λ·lse²</c>,
    /// <c>A = (1−ε)w_y + (ε/K)W + 2λ·lse</c>, <c>B = (1−ε)w_y</c>, <c>Cw = ε/K</c>; soft targets q become
    /// <c>(1−ε)q + ε/K</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowTerms Terms(in RowStats s, double smoothing, double lseSquared)
    {
        double eps = smoothing, k = s.Classes, lse = s.Lse, shiftedLse = s.Lse - s.Max;
        double zTerm = lseSquared * lse * lse, zGrad = 2 * lseSquared * lse;
        if (s.Target < 0)
        {
            // Soft targets q' = (1−ε)q + ε/K: Σ w q' = (1−ε)Σwq + (ε/K)W, Σ w q' z = (1−ε)Σwqz + (ε/K)Σwz.
            double mass = (1 - eps) * s.TargetMass + eps / k * s.WeightSum;
            double dot = (1 - eps) * s.TargetLogitSum + (eps > 0 ? eps / k * s.WeightedLogitSum : 0);
            return new RowTerms(mass * shiftedLse - dot + zTerm, mass + zGrad, 0, eps / k, 1 - eps);
        }
        double hard = (1 - eps) * s.TargetWeight;
        double loss = (hard != 0 ? hard * (lse - s.TargetLogit) : 0) + zTerm;
        if (eps > 0) loss += eps / k * (s.WeightSum * shiftedLse - s.WeightedLogitSum);
        return new RowTerms(loss, hard + eps / k * s.WeightSum + zGrad, hard, eps / k);
    }

    /// <summary>
    /// One whole row: max, statistics, the loss's terms, the fused gradient (and the loss's extra term). Returns
    /// false for a row whose max is not finite (NaN or +∞ somewhere: NaN loss and gradient; all −∞: +∞ loss, zero
    /// gradient), where no chain rule may follow; true otherwise. The row comes as separate arguments rather than a
    /// struct, so that the inlined kernel keeps them in registers (a struct set per row cost short rows a few percent).
    /// </summary>
    /// <param name="z">The working row (after any softcap/temperature transform), K values.</param>
    /// <param name="y">Class index, or −1 for a soft-target row.</param>
    /// <param name="q">The soft-target row (empty for class-index targets).</param>
    /// <param name="targetWeight">w_y (1 without weights or for soft targets).</param>
    /// <param name="exp">Receives exp(z − max) in the Σexp pass (empty: not stored); z's own memory when
    /// <see cref="RowSetup{TC}.ExpOverwritesLogits"/> (then the terms must have no extra).</param>
    /// <param name="gradient">Overwritten with s·∂ℓ/∂z (empty: no gradient); it may be <paramref name="exp"/>.</param>
    /// <param name="prefetch">The next row, prefetched during the Σexp pass (or empty).</param>
    /// <param name="setup">What stays the same over the block.</param>
    /// <param name="terms">The loss's row terms.</param>
    /// <param name="loss">The row's loss.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Evaluate<TC, TTerms>(ReadOnlySpan<TC> z, int y, ReadOnlySpan<TC> q, double targetWeight, Span<TC> exp, Span<TC> gradient,
        ReadOnlySpan<TC> prefetch, in RowSetup<TC> setup, ref TTerms terms, out double loss)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TTerms : struct, IRowTerms<TC>
    {
        ReadOnlySpan<TC> w = setup.Weights;
        TC max = Row.Max(z);
        if (!TC.IsFinite(max))
        {
            loss = NonFinite(max, gradient);
            return false;
        }
        double targetLogit = y >= 0 ? double.CreateTruncating(z[y]) : double.NaN;
        double logitSum = 0, targetMass = 0, targetLogitSum = 0;
        if (ShortRowCrossEntropy.Applies<TC>(z.Length) && q.IsEmpty)
            return EvaluateShort(Floats(z), y, targetWeight, Floats(exp), Floats(gradient), float.CreateTruncating(max), setup, ref terms, out loss);
        // The Σexp pass comes right after the max pass and the other sums over z after it; but when the Σexp pass
        // overwrites z with exp(z − max), the other sums come first.
        bool sums = !q.IsEmpty || terms.NeedsWeightedLogitSum, sumsFirst = setup.ExpOverwritesLogits;
        if (sums && sumsFirst) Sums(z, max, q, w, terms.NeedsWeightedLogitSum, out logitSum, out targetMass, out targetLogitSum);
        TC sumExp = Row.SumExp(z, max, exp, prefetch);
        if (sums && !sumsFirst) Sums(z, max, q, w, terms.NeedsWeightedLogitSum, out logitSum, out targetMass, out targetLogitSum);
        double lse = double.CreateTruncating(max) + Math.Log(double.CreateTruncating(sumExp));
        var stats = new RowStats(z.Length, y, double.CreateTruncating(max), lse, targetLogit, targetWeight, setup.WeightSum,
            logitSum, targetMass, targetLogitSum);
        RowTerms t = terms.Evaluate(stats);
        loss = t.Loss;
        if (!gradient.IsEmpty)
            Gradient(exp, gradient, t, setup.Scale, double.CreateTruncating(sumExp), y, w, q, setup.Stream && !terms.ExtraWritesGradient, z);
        if (terms.HasExtra) loss += terms.Extra(z, stats, gradient, setup.Scale);
        return true;
    }

    /// <summary><see cref="Evaluate{TC,TTerms}"/> for a short float row with a class-index target (finite max): the
    /// arithmetic of <see cref="ShortRowCrossEntropy"/>, so that <c>ce</c>'s side-by-side rows give the same bits.</summary>
    private static bool EvaluateShort<TC, TTerms>(ReadOnlySpan<float> z, int y, double targetWeight, Span<float> exp, Span<float> gradient,
        float max, in RowSetup<TC> setup, ref TTerms terms, out double loss)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TTerms : struct, IRowTerms<TC>
    {
        ReadOnlySpan<float> w = Floats(setup.Weights);
        double targetLogit = y >= 0 ? z[y] : double.NaN;
        float sumExp = ShortRowCrossEntropy.SumExp(z, max, exp, w, terms.NeedsWeightedLogitSum, out float logitSum);
        double lse = max + Math.Log(sumExp);
        var stats = new RowStats(z.Length, y, max, lse, targetLogit, targetWeight, setup.WeightSum, logitSum, 0, 0);
        RowTerms t = terms.Evaluate(stats);
        loss = t.Loss;
        if (!gradient.IsEmpty)
        {
            if (t.Cq == 0)
            {
                ShortRowCrossEntropy.Gradient(exp, gradient, t, setup.Scale, sumExp, y, w);
                if (t.Linear != 0) AddLinear(gradient, z, (float)(setup.Scale * t.Linear), y);
            }
            else Gradient<float>(exp, gradient, t, setup.Scale, sumExp, y, w, default, stream: false, z);
        }
        if (terms.HasExtra) loss += terms.Extra(MemoryMarshal.Cast<float, TC>(z), stats, MemoryMarshal.Cast<float, TC>(gradient), setup.Scale);
        return true;
    }

    private static ReadOnlySpan<float> Floats<TC>(ReadOnlySpan<TC> x) where TC : unmanaged => MemoryMarshal.Cast<TC, float>(x);
    private static Span<float> Floats<TC>(Span<TC> x) where TC : unmanaged => MemoryMarshal.Cast<TC, float>(x);

    /// <summary>The soft-target sums Σ w q and Σ w q (z − m) (when q is given) and the weighted logit sum Σ w (z − m)
    /// (when asked); w = 1 without class weights. Not inlined: only rows with soft targets or smoothing need it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sums<TC>(ReadOnlySpan<TC> z, TC max, ReadOnlySpan<TC> q, ReadOnlySpan<TC> w, bool weightedLogitSum,
        out double logitSum, out double targetMass, out double targetLogitSum) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        bool weighted = !w.IsEmpty;
        logitSum = targetMass = targetLogitSum = 0;
        if (!q.IsEmpty)
        {
            targetMass = !weighted ? double.CreateTruncating(Row.SumShifted(q, TC.Zero)) : double.CreateTruncating(Row.MaskedDot(w, q, TC.Zero));
            targetLogitSum = !weighted ? double.CreateTruncating(Row.MaskedDot(q, z, max)) : double.CreateTruncating(Row.MaskedDot3(w, q, z, max));
        }
        if (weightedLogitSum)
            logitSum = !weighted ? double.CreateTruncating(Row.SumShifted(z, max)) : double.CreateTruncating(Row.MaskedDot(w, z, max));
    }

    /// <summary>The loss of a row whose max is not finite, and its gradient: NaN (NaN or +∞ in the row) or, when every
    /// logit is −∞ (nothing can be predicted), +∞ with a zero gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double NonFinite<TC>(TC max, Span<TC> gradient) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        bool allMasked = TC.IsNegativeInfinity(max);
        if (allMasked) gradient.Clear(); else gradient.Fill(TC.NaN);
        return allMasked ? double.PositiveInfinity : double.NaN;
    }

    /// <summary>
    /// The fused gradient from exp(z − max) in <paramref name="e"/> (may be <paramref name="gradient"/> itself):
    /// <c>g ← s·(A/Σexp)·e − s·Cw</c> in one pass (the smoothing constant folded in when unweighted), then
    /// <c>g_y −= s·B</c>, <c>g −= s·Cw·w</c> (weighted), <c>g −= s·Cq·w⊙q</c> and <c>g += s·D·z</c> (finite z, k ≠ y;
    /// <paramref name="logits"/> is z, needed only with a linear term D, which is fused into the scaling pass when that is
    /// the only full pass). <paramref name="target"/> indexes <paramref name="gradient"/> (−1 when the target is not in
    /// it). With <paramref name="stream"/>, the scaling pass uses non-temporal stores when it is the last full pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Gradient<TC>(ReadOnlySpan<TC> e, Span<TC> gradient, in RowTerms t, double scale, double sumExp, int target,
        ReadOnlySpan<TC> weights, ReadOnlySpan<TC> soft, bool stream, ReadOnlySpan<TC> logits = default) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        bool weighted = !weights.IsEmpty;
        TC pScale = TC.CreateTruncating(scale * t.A / sumExp);
        // Without class weights the smoothing term −s·Cw is one constant, added in the scaling pass.
        bool foldCw = t.Cw != 0 && !weighted;
        bool lastPass = (t.Cw == 0 || foldCw) && t.Cq == 0;
        if (t.Linear != 0 && lastPass && !foldCw)
        {
            // One pass: g = p·e + d·z (each product rounded, then their sum: the bits of the separate passes), the target's
            // entry then set to p·e_y − s·B without the linear term (e_y read first: e may be the gradient itself).
            TC eTarget = target >= 0 ? e[target] : TC.Zero;
            Row.ScaleAddUnmasked(e, pScale, logits, TC.CreateTruncating(scale * t.Linear), gradient, stream);
            if (target >= 0) gradient[target] = t.B != 0 ? pScale * eTarget - TC.CreateTruncating(scale * t.B) : pScale * eTarget;
            return;
        }
        Row.Scale(e, pScale, foldCw ? TC.CreateTruncating(-scale * t.Cw) : TC.Zero, gradient, stream && lastPass && t.Linear == 0);
        if (target >= 0 && t.B != 0) gradient[target] -= TC.CreateTruncating(scale * t.B);
        if (t.Cw != 0 && !foldCw) Row.AddScaled(gradient, TC.CreateTruncating(-scale * t.Cw), weights);
        if (t.Cq != 0)
        {
            if (!weighted) Row.AddScaled(gradient, TC.CreateTruncating(-scale * t.Cq), soft);
            else Row.AddScaledProduct(gradient, TC.CreateTruncating(-scale * t.Cq), weights, soft);
        }
        if (t.Linear != 0) AddLinear(gradient, logits, TC.CreateTruncating(scale * t.Linear), target);
    }

    /// <summary>g += d·z where z is finite, but for the target's entry (a pass of its own, after the others).</summary>
    private static void AddLinear<TC>(Span<TC> gradient, ReadOnlySpan<TC> z, TC d, int target) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        TC kept = target >= 0 ? gradient[target] : TC.Zero;
        Row.AddScaledUnmasked(gradient, d, z);
        if (target >= 0) gradient[target] = kept;
    }
}
