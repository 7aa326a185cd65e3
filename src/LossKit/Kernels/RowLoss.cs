using System.Buffers;
using System.Numerics.Tensors;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Kernels;

/// <summary>
/// Base of the multi-class losses that are not functions of softmax(z) (margin, normalised-transform,
/// z-loss and sparse losses): one parallel row driver with the softmax family's <c>weight</c>,
/// <c>ignore_index</c> and <c>reduction</c> semantics, Half support through float scratch, and
/// per-block partial sums added in block order (bit-identical for any thread count). A loss supplies only
/// <see cref="EvaluateRow{TC}"/>: one row's unweighted loss and its gradient, in float (for float and Half)
/// or double.
/// </summary>
/// <remarks>
/// Rows: a row with target <see cref="ClassIndexLoss.IgnoreIndex"/> gives loss 0 and gradient 0 and leaves the mean. Class
/// weights multiply a row's loss and gradient by w_y; the mean divides by Σ w_y over kept rows (0 when there are
/// none) unless <see cref="ClassIndexLoss.MeanOverAllRows"/> says otherwise. A row holding NaN or +∞ gets NaN loss and gradient;
/// a row whose logits are all −∞ gets loss +∞ and a zero gradient; a single −∞ logit masks its class (each loss
/// documents what that means for it).
/// </remarks>
public abstract class RowLoss : ClassIndexLoss
{
    /// <param name="weight">Optional per-class weights w (length K, each finite and ≥ 0).</param>
    /// <param name="ignoreIndex">Target value whose rows are skipped (PyTorch default −100).</param>
    /// <param name="reduction">none, sum or mean.</param>
    protected RowLoss(IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction) : base(weight, ignoreIndex, reduction) { }

    /// <summary>Scratch elements <see cref="EvaluateRow{TC}"/> needs per row (for a K-class row).</summary>
    protected virtual int WorkLength(int classes) => 0;

    /// <summary>
    /// One row: returns the unweighted loss and, when <paramref name="gradient"/> is not empty, writes
    /// <paramref name="gradientScale"/>·∂ℓ/∂z into all K entries of it.
    /// </summary>
    /// <param name="z">The row's logits (finite or −∞; at least one finite).</param>
    /// <param name="target">Class index y, or −1 for a soft-target row.</param>
    /// <param name="soft">The soft-target row q (empty for class-index targets).</param>
    /// <param name="gradient">Empty, or the row's gradient (length K), to be overwritten.</param>
    /// <param name="gradientScale">The factor (reduction scale × w_y) the gradient is multiplied by.</param>
    /// <param name="work">Scratch of <see cref="WorkLength"/> elements.</param>
    protected abstract double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
        where TC : unmanaged, IFloatingPointIeee754<TC>;

    /// <summary>True for a loss whose float rows can write a gradient too large for the cache straight to its output
    /// (<see cref="EvaluateStreamedRow"/>): every entry once, in one forward pass, with non-temporal stores, reading none
    /// back but single entries. Otherwise such a gradient is formed in a cached row and streamed out after.</summary>
    protected virtual bool StreamsItsGradient => false;

    /// <summary><see cref="EvaluateRow{TC}"/> for a float row whose <paramref name="gradient"/> is the output itself, to
    /// be written with non-temporal stores (only called when <see cref="StreamsItsGradient"/>).</summary>
    protected virtual double EvaluateStreamedRow(ReadOnlySpan<float> z, int target, Span<float> gradient, float gradientScale, Span<float> work) =>
        throw new NotSupportedException($"{GetType().Name} does not stream its gradient.");

    /// <summary>Rows [start, end) in compute type TC (float for float and Half, double for double); returns their loss sum.
    /// A gradient too large for the cache is computed into a scratch row (which stays in cache, so the loss's passes over
    /// it never read the output from memory) and streamed out once with non-temporal stores.</summary>
    private protected override unsafe double Block<T, TC>(RowJob<T> job, int start, int end)
    {
        int K = job.Classes;
        bool converted = typeof(T) != typeof(TC);            // Half: compute in float scratch
        bool stream = job.HasGradient && job.StreamGradient && !converted;
        int workLength = WorkLength(K);
        TC[] scratch = ArrayPool<TC>.Shared.Rent((converted ? 3 * K : stream ? K : 0) + workLength + 1);
        Span<TC> zBuf = converted ? scratch.AsSpan(0, K) : default;
        Span<TC> gBuf = converted || stream ? scratch.AsSpan(converted ? K : 0, K) : default;
        Span<TC> qBuf = converted ? scratch.AsSpan(2 * K, K) : default;
        Span<TC> work = scratch.AsSpan(converted ? 3 * K : stream ? K : 0, workLength);
        double sum = 0;
        try
        {
            for (int r = start; r < end; r++)
            {
                if (!ReadRow(job, r, zBuf, qBuf, gBuf, out int y, out ReadOnlySpan<TC> z, out ReadOnlySpan<TC> q, out Span<TC> g, out Span<T> gOut))
                    continue;
                Span<TC> output = g;
                bool direct = stream && typeof(TC) == typeof(float) && y >= 0 && StreamsItsGradient;   // the loss streams it itself
                if (stream && !direct) g = gBuf;
                double w = 1;
                if (Weight is { } weight)
                {
                    if (y >= 0) w = weight[y];
                    else { w = 0; for (int k = 0; k < K; k++) w += weight[k] * double.CreateTruncating(q[k]); }
                }
                TC max = TensorPrimitives.Max(z);                 // NaN if any element is NaN
                double loss;
                if (!TC.IsFinite(max)) loss = CrossEntropyRow.NonFinite(max, g);
                else
                {
                    loss = direct
                        ? EvaluateStreamedRow(Floats(z), y, Floats(g), (float)(job.Scale * w), Floats(work))
                        : EvaluateRow(z, y, q, g, TC.CreateTruncating(job.Scale * w), work);
                    if (w != 1) loss *= w;
                }
                if (stream && !direct) Row.Scale<TC>(g, TC.One, TC.Zero, output, streaming: true);   // 1·g is g, bit for bit
                WriteRow(job, r, loss, g, gOut);
                sum += loss;
            }
        }
        finally { ArrayPool<TC>.Shared.Return(scratch); }
        return sum;
    }

    private static ReadOnlySpan<float> Floats<TC>(ReadOnlySpan<TC> x) where TC : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<TC, float>(x);
    private static Span<float> Floats<TC>(Span<TC> x) where TC : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<TC, float>(x);

}
