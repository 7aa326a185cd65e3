using System.Buffers;
using System.Globalization;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Ranking;

/// <summary>
/// The learning-to-rank losses on padded lists: the base checks the inputs, gathers each list's real items (padding
/// never reaches a loss: it contributes nothing and gets a zero gradient), runs the loss's math on them in double
/// (<see cref="List"/>), and reduces over lists on the rows driver (bit-identical for any thread count).
/// </summary>
/// <remarks>Relevance labels are graded 0..30 (LightGBM's default gains 2^y − 1 cover that range); the mask holds 0 or 1.
/// <c>mean</c> averages over all N lists, a list with fewer than two real items or no relevant item contributing its
/// loss (0 for the pairwise and NDCG-based losses).</remarks>
public abstract class RankingLoss : ILoss
{
    /// <summary>The largest relevance label.</summary>
    public const double MaxLabel = 30;

    /// <summary>The reduction over lists.</summary>
    public static readonly LossParameter ReductionParameter = CommonParameters.Reduction with
    {
        Description = "mean divides by the number of lists N; none returns the loss of each list",
    };

    private protected RankingLoss(Reduction reduction) => Reduction = CommonParameters.Resolve(reduction);

    /// <summary>The reduction over lists.</summary>
    public Reduction Reduction { get; }

    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <inheritdoc/>
    public LossKind Kind => RankingKind.Instance;

    /// <inheritdoc/>
    public virtual IEnumerable<ParameterValue> ParameterValues => [ReductionParameter.Of(Reduction)];

    /// <inheritdoc/>
    public virtual double FiniteInputScale => 1e30;

    /// <summary>The card of a ranking loss, with the reduction after its own parameters.</summary>
    private protected static LossCard RankingCard(string name, string title, string formula, string gradient, string reference,
        string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("ranking (padded lists)", name, title, formula, gradient, reference, LossProperties.None,
            [.. parameters, ReductionParameter], notes);

    /// <summary>
    /// The loss of N lists of up to L items and its gradient by the scores.
    /// </summary>
    /// <param name="scores">Row-major N×L scores; float, double or Half.</param>
    /// <param name="listLength">L ≥ 1.</param>
    /// <param name="labels">N×L relevance labels in [0, 30].</param>
    /// <param name="mask">N×L of 1 (real item) or 0 (padding), or empty when every item is real.</param>
    /// <param name="unreduced">Empty, or N: the (weighted) loss of each list.</param>
    /// <param name="gradient">Empty, or N×L: ∂(reduced loss)/∂scores (0 on padding).</param>
    /// <param name="weights">Empty, or N finite weights ≥ 0, one per list: list n contributes w_n·ℓ_n to
    /// <paramref name="unreduced"/>, to the reduction and to the gradient; <c>mean</c> still divides by N (as Rax's
    /// mean over weighted losses, not by Σw).</param>
    /// <param name="itemWeights">Empty, or N×L finite weights ≥ 0, for the pairwise losses only
    /// (<see cref="TakesPairWeights"/>): pair (i, j) with y_i &gt; y_j is weighted by the preferred item's weight w_i, as
    /// Rax's <c>weights</c> in its pairwise losses.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    public unsafe T Compute<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask,
        Span<T> unreduced = default, Span<T> gradient = default, ReadOnlySpan<T> weights = default, ReadOnlySpan<T> itemWeights = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lists = CheckInputs(scores, listLength, labels, mask, unreduced.Length, gradient.Length);
        CheckWeights(weights, lists);
        CheckItemWeights(itemWeights, scores.Length, listLength);
        double scale = Reduction == Reduction.Mean ? (lists > 0 ? 1.0 / lists : 0) : 1;
        double total;
        fixed (T* ps = scores, py = labels, pm = mask, pu = unreduced, pg = gradient, pw = weights, pv = itemWeights)
            total = Parallelism.SumBlocks(lists, listLength, new Lists<T>(this, listLength, scale, ps, py, mask.IsEmpty ? null : pm,
                unreduced.IsEmpty ? null : pu, gradient.IsEmpty ? null : pg, weights.IsEmpty ? null : pw, itemWeights.IsEmpty ? null : pv));
        return T.CreateTruncating(total * scale);
    }

    /// <summary>The lists [start, end) of one block of the rows driver: each list's real items gathered into the block's
    /// pooled double scratch, its loss and gradient by <see cref="List"/>, scattered back (0 on padding). A struct body,
    /// so a call allocates no closure. Null pointers: an optional input or an output that is not there.</summary>
    private readonly unsafe struct Lists<T>(RankingLoss loss, int length, double scale, T* s, T* y, T* m, T* u, T* g, T* w, T* v)
        : Parallelism.IBlockBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Run(int block, int start, int end)
        {
            int scratchLength = loss.ScratchLength(length);
            double[] buffer = ArrayPool<double>.Shared.Rent(4 * length + scratchLength);
            int[] items = ArrayPool<int>.Shared.Rent(length);
            try
            {
                double sum = 0;
                for (int r = start; r < end; r++)
                {
                    long offset = (long)r * length;
                    int n = 0;
                    for (int j = 0; j < length; j++)
                        if (m == null || m[offset + j] != T.Zero) items[n++] = j;
                    Span<double> ls = buffer.AsSpan(0, n), ly = buffer.AsSpan(length, n), lg = buffer.AsSpan(2 * length, n);
                    Span<double> lv = v != null ? buffer.AsSpan(3 * length, n) : default;
                    for (int k = 0; k < n; k++)
                        (ls[k], ly[k]) = (double.CreateTruncating(s[offset + items[k]]), double.CreateTruncating(y[offset + items[k]]));
                    for (int k = 0; k < lv.Length; k++) lv[k] = double.CreateTruncating(v[offset + items[k]]);
                    lg.Clear();
                    double weight = w != null ? double.CreateTruncating(w[r]) : 1;   // ×1 leaves every bit as it was
                    double value = n == 0 || weight == 0 ? 0 : weight * loss.List(ls, ly, lv, lg, buffer.AsSpan(4 * length, scratchLength));
                    if (u != null) u[r] = T.CreateTruncating(value);
                    if (g != null)
                    {
                        new Span<T>(g + offset, length).Clear();
                        for (int k = 0; k < n; k++) g[offset + items[k]] = T.CreateTruncating(scale * weight * lg[k]);
                    }
                    sum += value;
                }
                return sum;
            }
            finally
            {
                ArrayPool<double>.Shared.Return(buffer);
                ArrayPool<int>.Shared.Return(items);
            }
        }
    }

    /// <summary>The loss of one list of n real items and ∂loss/∂s into <paramref name="gradient"/> (zeroed on entry);
    /// <paramref name="itemWeights"/> holds the items' pair weights (empty when none were given; only a loss that
    /// <see cref="TakesPairWeights"/> is given them); <paramref name="scratch"/> holds <see cref="ScratchLength"/>(L) doubles.</summary>
    private protected abstract double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> itemWeights, Span<double> gradient, Span<double> scratch);

    /// <summary>True for the pairwise losses, which weight each pair by its preferred item's weight (Rax's item
    /// <c>weights</c> in <c>pairwise_loss</c>); the others refuse <c>item_weights</c>.</summary>
    private protected virtual bool TakesPairWeights => false;

    /// <summary>The doubles of scratch <see cref="List"/> needs for lists of up to <paramref name="listLength"/> items
    /// (3·L unless a loss needs more; pooled per block of lists).</summary>
    private protected virtual int ScratchLength(int listLength) => 3 * listLength;

    /// <summary>The exponential gain 2^y − 1.</summary>
    private protected static double Gain(double y) => Math.Pow(2, y) - 1;

    /// <summary>The discount 1/log₂(1 + r) of 1-based rank r.</summary>
    private protected static double Discount(double r) => 1 / Math.Log2(1 + r);

    /// <summary>The ideal DCG of the list's labels over its first <paramref name="k"/> places.</summary>
    private protected static double IdealDcg(ReadOnlySpan<double> y, int k, Span<double> scratch)
    {
        Span<double> sorted = scratch[..y.Length];
        y.CopyTo(sorted);
        sorted.Sort((a, b) => b.CompareTo(a));
        double dcg = 0;
        for (int i = 0; i < Math.Min(k, sorted.Length); i++) dcg += Gain(sorted[i]) * Discount(i + 1);
        return dcg;
    }

    /// <summary>Item indices ordered by descending <paramref name="key"/>, ties by index (deterministic).</summary>
    private protected static void OrderDescending(ReadOnlySpan<double> key, Span<int> order)
    {
        // Insertion sort: lists are short, and it is stable (ties keep the item order) and allocation-free.
        for (int i = 0; i < order.Length; i++)
        {
            int j = i;
            for (; j > 0 && key[order[j - 1]] < key[i]; j--) order[j] = order[j - 1];
            order[j] = i;
        }
    }

    /// <summary>Item indices ordered by descending label, ties by index: the same order as
    /// <see cref="OrderDescending"/>, by a counting sort when every label is a whole number (labels lie in [0, 30]),
    /// O(n) instead of the insertion sort's O(n²) shifts.</summary>
    private protected static void OrderByLabelDescending(ReadOnlySpan<double> labels, Span<int> order)
    {
        const int buckets = (int)MaxLabel + 1;
        Span<int> start = stackalloc int[buckets + 1];
        start.Clear();
        foreach (double y in labels)
        {
            if (y != Math.Floor(y) || !(y >= 0 && y <= MaxLabel)) { OrderDescending(labels, order); return; }
            start[buckets - 1 - (int)y + 1]++;   // bucket b holds label 30 − b: descending
        }
        for (int b = 1; b <= buckets; b++) start[b] += start[b - 1];
        for (int i = 0; i < labels.Length; i++) order[start[buckets - 1 - (int)labels[i]]++] = i;   // in index order: stable
    }

    private static void CheckWeights<T>(ReadOnlySpan<T> weights, int lists) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (weights.IsEmpty) return;
        if (weights.Length != lists)
            throw new ArgumentException($"weights has {weights.Length} values but there are {lists} lists; give one weight per list or none.", "weights");
        for (int r = 0; r < lists; r++)
        {
            double v = double.CreateTruncating(weights[r]);
            if (!(v >= 0 && double.IsFinite(v)))
                throw new RowException("weights", r, string.Create(CultureInfo.InvariantCulture,
                    $"weights[{r}] = {v}: expected a finite weight ≥ 0 for list {r}."));
        }
    }

    private void CheckItemWeights<T>(ReadOnlySpan<T> itemWeights, int count, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (itemWeights.IsEmpty) return;
        if (!TakesPairWeights)
            throw new ArgumentException($"{Card.Name} takes no item_weights: pair weights apply to the pairwise losses (ranknet, pair_hinge, bpr, lambdarank); " +
                "weight whole lists with weights.", "item_weights");
        if (itemWeights.Length != count)
            throw new ArgumentException($"item_weights has {itemWeights.Length} values but scores has {count}; they must have the same shape.", "item_weights");
        for (int i = 0; i < count; i++)
        {
            double v = double.CreateTruncating(itemWeights[i]);
            if (!(v >= 0 && double.IsFinite(v)))
                throw new RowException("item_weights", i / length, string.Create(CultureInfo.InvariantCulture,
                    $"item_weights[{i / length}][{i % length}] = {v}: expected a finite weight ≥ 0."));
        }
    }

    private static int CheckInputs<T>(ReadOnlySpan<T> scores, int length, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask, int unreducedLength, int gradientLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, $"listLength = {length}: expected at least 1.");
        if (scores.Length % length != 0)
            throw new ArgumentException($"scores has {scores.Length} values, not a whole number of lists of {length} items.", "scores");
        int lists = scores.Length / length;
        if (labels.Length != scores.Length)
            throw new ArgumentException($"labels has {labels.Length} values but scores has {lists}×{length} = {scores.Length}; they must have the same shape.", "labels");
        if (!mask.IsEmpty && mask.Length != scores.Length)
            throw new ArgumentException($"mask has {mask.Length} values but scores has {lists}×{length} = {scores.Length}; give one 0/1 per item or none.", "mask");
        if (unreducedLength != 0 && unreducedLength != lists)
            throw new ArgumentException($"unreduced has {unreducedLength} values: expected {lists} (one per list) or none.", "unreduced");
        if (gradientLength != 0 && gradientLength != scores.Length)
            throw new ArgumentException($"gradient has {gradientLength} values: expected {scores.Length} (scores' shape) or none.", "gradient");
        for (int i = 0; i < labels.Length; i++)
        {
            double v = double.CreateTruncating(labels[i]);
            if (!(v >= 0 && v <= MaxLabel))
                throw new RowException("labels", i / length, string.Create(CultureInfo.InvariantCulture,
                    $"labels[{i / length}][{i % length}] = {v}: expected a relevance in [0, {MaxLabel}]."));
            if (!mask.IsEmpty && mask[i] != T.Zero && mask[i] != T.One)
                throw new RowException("mask", i / length, string.Create(CultureInfo.InvariantCulture,
                    $"mask[{i / length}][{i % length}] = {double.CreateTruncating(mask[i])}: expected 1 (a real item) or 0 (padding)."));
        }
        return lists;
    }
}
