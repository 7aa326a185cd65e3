using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LossKit.Kernels;

/// <summary>
/// Cross-entropy on short float rows (K ≤ <see cref="MaxClasses"/> classes, class-index targets), where a row is too
/// short for a vector loop: its per-row overhead (calls, a vector head and a scalar tail) costs far more than its bytes.
/// <para>One arithmetic, two layouts. A row computed alone (<see cref="SumExp"/>, <see cref="Gradient"/>, used by
/// <see cref="CrossEntropyRow.Evaluate{TC,TTerms}"/> for every member of the softmax family and <c>linear_ce</c>) and a
/// group of rows computed side by side (<see cref="Block{TVec,TSimd,TFallback}"/>, <c>ce</c>'s block kernel: a group of
/// as many rows as a vector has lanes, transposed so that lane j holds row j and each class is one vector) do the same
/// IEEE operations in the same order on each row: max; for k = 0..K−1, d = z_k − m, e_k = exp(d) by the vector expf's
/// lane (<see cref="ExpF.Exp(float)"/>), Σexp += e_k and (smoothing) Σ w_k·d += (terms with w_k = 0 skipped); lse and
/// the row terms in double (<see cref="CrossEntropyRow.Terms"/>); g_k = (s·A/Σexp)·e_k (− s·Cw when unweighted),
/// g_y −= s·B, and g_k = fma(−s·Cw, w_k, g_k) when weighted. So both give the same bits, on every vector width
/// (AVX-512, AVX2, 128-bit) and on every thread count.</para>
/// </summary>
internal static class ShortRowCrossEntropy
{
    /// <summary>Rows of at most this many classes are short: shorter than a 512-bit vector of floats.</summary>
    public const int MaxClasses = 15;

    /// <summary>True when a row of <paramref name="classes"/> compute-type values is short.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Applies<TC>(int classes) => typeof(TC) == typeof(float) && classes <= MaxClasses;

    /// <summary>Σ_k exp(z_k − m) of a short row whose max m is finite, storing each exp(z_k − m) in <paramref name="exp"/>
    /// (unless empty; it may be z itself), and with <paramref name="logitSum"/> the shifted logit sum Σ_k w_k (z_k − m)
    /// (Σ_k (z_k − m) without weights; terms with w_k = 0 skipped, so a masked class with zero weight adds nothing).</summary>
    public static float SumExp(ReadOnlySpan<float> z, float max, Span<float> exp, ReadOnlySpan<float> w, bool logitSum, out float shiftedSum)
    {
        bool store = !exp.IsEmpty, weighted = !w.IsEmpty;
        float sum = 0, shifted = 0;
        for (int k = 0; k < z.Length; k++)
        {
            float d = z[k] - max;
            float e = ExpF.Exp(d);
            if (store) exp[k] = e;
            sum += e;
            if (logitSum)
            {
                if (!weighted) shifted += d;
                else if (w[k] != 0) shifted += w[k] * d;
            }
        }
        shiftedSum = shifted;
        return sum;
    }

    /// <summary>A short row's gradient from exp(z − m) in <paramref name="e"/> (may be <paramref name="g"/>):
    /// <c>g ← s·(A/Σexp)·e (− s·Cw unweighted)</c>, <c>g_y −= s·B</c>, then weighted <c>g_k ← fma(−s·Cw, w_k, g_k)</c>.
    /// Class-index targets only (<c>Cq = 0</c>).</summary>
    public static void Gradient(ReadOnlySpan<float> e, Span<float> g, in RowTerms t, double scale, double sumExp, int target, ReadOnlySpan<float> w)
    {
        var (pScale, offset, weightedCw) = Coefficients(t, scale, sumExp, !w.IsEmpty);
        bool shift = offset != 0;
        for (int k = 0; k < e.Length; k++) g[k] = shift ? e[k] * pScale + offset : e[k] * pScale;
        if (target >= 0 && t.B != 0) g[target] -= (float)(scale * t.B);
        if (weightedCw != 0)
            for (int k = 0; k < g.Length; k++) g[k] = MathF.FusedMultiplyAdd(weightedCw, w[k], g[k]);
    }

    /// <summary>The gradient's float coefficients: s·A/Σexp, the folded smoothing offset −s·Cw (unweighted), and the
    /// factor −s·Cw of the class weights (weighted; 0 when there is no such term).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float PScale, float Offset, float WeightedCw) Coefficients(in RowTerms t, double scale, double sumExp, bool weighted)
    {
        float pScale = (float)(scale * t.A / sumExp);
        if (t.Cw == 0) return (pScale, 0, 0);
        float cw = (float)(-scale * t.Cw);
        return weighted ? (pScale, 0, cw) : (pScale, cw, 0);
    }

    /// <summary>What the block kernel does with a row it does not compute (a non-finite max: NaN, +∞, all −∞): the
    /// row kernel's own handling, which writes the row's loss and gradient and returns its loss.</summary>
    public interface IRowFallback
    {
        double Row(int row);
    }

    /// <summary>
    /// <c>ce</c>'s rows [start, end) of a float job with class-index targets, <see cref="MaxClasses"/> classes at most,
    /// no softcap or temperature: groups of <c>TSimd.Count</c> consecutive rows side by side (the last group padded),
    /// lane j = row j of the group. Writes losses and gradients as the row kernel would (ignored rows: loss 0, zero
    /// gradient) and returns the sum of the rows' losses in row order.
    /// </summary>
    /// <param name="job">The call (float, class-index targets).</param>
    /// <param name="start">The block's first row.</param>
    /// <param name="end">One past the block's last row.</param>
    /// <param name="setup">Class weights (float), their sum and the reduction's scale.</param>
    /// <param name="targetWeights">The class weights in double (w_y of the terms), or empty.</param>
    /// <param name="smoothing">Label smoothing ε.</param>
    /// <param name="lseSquared">z-loss λ.</param>
    /// <param name="ignoreIndex">Rows with this target are skipped.</param>
    /// <param name="fallback">Computes a row whose max is not finite.</param>
    [SkipLocalsInit]
    public static unsafe double Block<TVec, TSimd, TFallback>(in RowJob<float> job, int start, int end, in RowSetup<float> setup,
        ReadOnlySpan<double> targetWeights, double smoothing, double lseSquared, int ignoreIndex, ref TFallback fallback)
        where TVec : struct where TSimd : ISimd<TVec, float> where TFallback : struct, IRowFallback
    {
        int K = job.Classes, G = TSimd.Count;
        if (K > MaxClasses || job.IsSoft) throw new ArgumentException($"{K} classes or soft targets: not a short-row job.", nameof(job));
        // Column-major tiles: tile[k·G + j] is class k of the group's row j.
        float* logits = stackalloc float[MaxClasses * 16];
        float* exps = stackalloc float[MaxClasses * 16];
        float* lanes = stackalloc float[4 * 16];
        float* max = lanes, sumExp = lanes + G, shifted = lanes + 2 * G, pScale = lanes + 3 * G;
        bool* computed = stackalloc bool[16];
        ReadOnlySpan<float> w = setup.Weights;
        bool weighted = !w.IsEmpty, logitSum = smoothing > 0;
        var uniform = Coefficients(new RowTerms(0, 1, 0, smoothing / K), setup.Scale, 1, weighted);   // the offset and −s·Cw are the same for every row
        bool shift = uniform.Offset != 0;
        double sum = 0;
        for (int first = start; first < end; first += G)
        {
            int n = Math.Min(G, end - first);
            for (int j = 0; j < G; j++)
            {
                float* row = job.Logits + (long)(first + j) * K;
                if (j < n) for (int k = 0; k < K; k++) logits[k * G + j] = row[k];
                else for (int k = 0; k < K; k++) logits[k * G + j] = 0;
            }
            TVec m = TSimd.Load(ref *logits, 0);
            for (int k = 1; k < K; k++) m = TSimd.MaxPropagateNaN(m, TSimd.Load(ref *logits, (nuint)(k * G)));
            TVec s = TSimd.Broadcast(0f), ls = s;
            for (int k = 0; k < K; k++)
            {
                TVec d = TSimd.Subtract(TSimd.Load(ref *logits, (nuint)(k * G)), m);
                TVec e = TSimd.Exp(d);
                TSimd.Store(e, ref *exps, (nuint)(k * G));
                s = TSimd.Add(s, e);
                if (logitSum)
                {
                    if (!weighted) ls = TSimd.Add(ls, d);
                    else if (w[k] != 0) ls = TSimd.Add(ls, TSimd.Multiply(TSimd.Broadcast(w[k]), d));
                }
            }
            TSimd.Store(m, ref *max, 0);
            TSimd.Store(s, ref *sumExp, 0);
            TSimd.Store(ls, ref *shifted, 0);
            // Per row: the terms in double (the row kernel's arithmetic), the loss, and the gradient's scale.
            for (int j = 0; j < n; j++)
            {
                int r = first + j, y = job.Targets[r];
                computed[j] = false;
                if (y == ignoreIndex)
                {
                    if (job.HasLosses) job.Losses[r] = 0;
                    if (job.HasGradient) new Span<float>(job.Gradient + (long)r * K, K).Clear();
                    continue;
                }
                if (!float.IsFinite(max[j]))
                {
                    sum += fallback.Row(r);
                    continue;
                }
                double lse = max[j] + Math.Log(sumExp[j]);
                var stats = new RowStats(K, y, max[j], lse, logits[y * G + j], targetWeights.IsEmpty ? 1 : targetWeights[y], setup.WeightSum,
                    shifted[j], 0, 0);
                RowTerms t = CrossEntropyRow.Terms(stats, smoothing, lseSquared);
                if (job.HasLosses) job.Losses[r] = (float)t.Loss;
                sum += t.Loss;
                pScale[j] = (float)(setup.Scale * t.A / sumExp[j]);
                // g_y −= s·B comes before the weighted smoothing term, as in the row kernel: applied to the tile below.
                computed[j] = true;
                if (job.HasGradient && t.B != 0) logits[y * G + j] = (float)(setup.Scale * t.B);   // logits no longer needed: s·B of row j at (y, j)
                else if (job.HasGradient) logits[y * G + j] = 0;
                if (job.HasGradient) max[j] = y;   // the max is no longer needed either: the target's class
            }
            if (!job.HasGradient) continue;
            TVec p = TSimd.Load(ref *pScale, 0), offset = TSimd.Broadcast(uniform.Offset);
            for (int k = 0; k < K; k++)
            {
                TVec e = TSimd.Load(ref *exps, (nuint)(k * G));
                TVec g = TSimd.Multiply(e, p);
                if (shift) g = TSimd.Add(g, offset);
                TSimd.Store(g, ref *exps, (nuint)(k * G));
            }
            for (int j = 0; j < n; j++)
                if (computed[j])
                {
                    int y = (int)max[j];
                    float sb = logits[y * G + j];
                    if (sb != 0) exps[y * G + j] -= sb;
                }
            if (uniform.WeightedCw != 0)
            {
                TVec cw = TSimd.Broadcast(uniform.WeightedCw);
                for (int k = 0; k < K; k++)
                    TSimd.Store(TSimd.MultiplyAdd(cw, TSimd.Broadcast(w[k]), TSimd.Load(ref *exps, (nuint)(k * G))), ref *exps, (nuint)(k * G));
            }
            for (int j = 0; j < n; j++)
            {
                if (!computed[j]) continue;
                float* row = job.Gradient + (long)(first + j) * K;
                for (int k = 0; k < K; k++) row[k] = exps[k * G + j];
            }
        }
        return sum;
    }
}
