using System.Numerics;
using System.Runtime.Intrinsics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Sparse;

/// <summary>
/// Fenchel–Young losses of sparse probability maps: <c>ℓ = Ω*(z) + Ω(q) − q·z</c> with
/// gradient <c>∇ = p(z) − q</c>, where p(z) is sparsemax or 1.5-entmax, computed exactly.
/// Class-index targets are one-hot q; soft targets (<see cref="ISoftTargetLoss"/>) any probability row.
/// </summary>
/// <remarks>
/// Both maps are shift-invariant, so each row is shifted by its max before projecting. A −∞ logit gets p = 0; target
/// mass on a −∞ class (a masked class-index target, or q &gt; 0 there) gives loss +∞ and a zero gradient. The threshold τ
/// is found without sorting the row (<see cref="SparseThreshold"/>: vector passes bracket the support): sparsemax's is
/// the exact sort-based algorithm's to the bit (only about the support is sorted), 1.5-entmax's is solved exactly on the
/// support (the sort-based value to rounding, no sort at all); the compute type is float for float and Half. The
/// row sums are accumulated in double; with a class-index target they visit only the support and the target (every other
/// entry has p = q = 0 and contributes nothing). Scratch per row: 3·K elements.
/// </remarks>
public abstract class SparseFenchelYoungLoss : RowLoss, ISoftTargetLoss
{
    private readonly ISparseRow _map;

    private protected SparseFenchelYoungLoss(ISparseRow map, IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction)
        : base(weight, ignoreIndex, reduction) => _map = map;

    protected override int WorkLength(int classes) => SparseThreshold.WorkLength(classes);

    /// <inheritdoc/>
    public T ComputeSoft<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> => ComputeSoftCore(logits, classes, softTargets, rowLosses, gradient);

    /// <summary>One row (see <see cref="RowLoss"/>), by <see cref="SparseRow.Evaluate{TC,TMap}"/> with the loss's map.</summary>
    protected sealed override double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work) =>
        _map.Evaluate(z, target, soft, gradient, gradientScale, work);

    /// <summary>The map's probabilities p(z) of each row, by the same exact algorithm as the loss.</summary>
    public void Probabilities<T>(ReadOnlySpan<T> logits, int classes, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = InputChecks.ProbabilityShape(logits.Length, classes, destination.Length);
        var row = new double[classes];
        var work = new double[SparseThreshold.WorkLength(classes)];
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < classes; k++) row[k] = double.CreateTruncating(logits[r * classes + k]);
            double rowMax = row.Max();
            if (!double.IsFinite(rowMax)) throw new RowException(nameof(logits), r, $"logits row {r} has max {rowMax}: expected finite logits (−∞ masks a class, but not all).");
            var (m, tau) = _map.Threshold(row, work);
            for (int k = 0; k < classes; k++)
                destination[r * classes + k] = T.CreateTruncating(double.IsNegativeInfinity(row[k]) ? 0 : _map.Map(row[k] - m, tau));
        }
    }

    private protected static LossCard SparseCard(string name, string title, string formula, string gradient, string reference, string notes) =>
        LossCard.ForFamily("sparse Fenchel–Young (exact sort-based projection)", name, title, formula, gradient, reference,
            LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.NonNegative | LossProperties.ClassificationCalibrated,
            CommonParameters.ClassIndex,
            "Soft targets supported (mean over N; with class weights a soft row is weighted by Σ_k w_k q_k). A −∞ logit gets p = 0; target mass on a " +
            "−∞ class gives +∞ and a zero gradient. Finite for any finite logits (rows are shifted by their max). " + notes);
}

/// <summary>
/// Sparsemax loss, spec <c>sparsemax</c>: <c>sparsemax(z) = argmin_{p∈Δ}‖p − z‖² = max(z − τ, 0)</c>,
/// <c>ℓ = −q·z + ½Σ_{j∈S}(z_j² − τ²) + ½‖q‖²</c>, <c>∇ = sparsemax(z) − q</c>.
/// Reference: Martins &amp; Astudillo 2016, From softmax to sparsemax.
/// </summary>
/// <remarks>Computed in the equivalent, cancellation-free form <c>ℓ = ½‖p − q‖² + Σ_j q_j·max(τ − z_j, 0)</c> (expand
/// Σ_{j∈S}(z_j² − τ²) = ‖p‖² + 2τ and use Σq = Σp = 1), which is manifestly ≥ 0 and 0 exactly when p = q.</remarks>
public sealed class SparsemaxLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : SparseFenchelYoungLoss(SparseRow<SparsemaxMap>.Instance, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = SparseCard("sparsemax", "Sparsemax loss",
        "p = sparsemax(z) = max(z − τ, 0) with Σp = 1, ℓ = w_y·(−q·z + ½Σ_{j∈S}(z_j² − τ²) + ½‖q‖²) = w_y·(½‖p − q‖² + Σ_j q_j·max(τ − z_j, 0))",
        "∇ = w_y·(sparsemax(z) − q)",
        "Martins & Astudillo 2016, From softmax to sparsemax: a sparse model of attention and multi-label classification",
        "ℓ = 0 exactly when sparsemax(z) = q (a one-hot target whose logit is ≥ 1 above all others). Ties at the support boundary need no " +
        "convention: p and ℓ are continuous and p is the exact Euclidean projection.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SparsemaxLoss(a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public override LossCard Card => Definition;
}

/// <summary>
/// 1.5-entmax Fenchel–Young loss, spec <c>entmax15</c>: p = 1.5-entmax(z) = max(z/2 − τ, 0)² with Σp = 1,
/// <c>ℓ = (p − q)·z + H(p) − H(q)</c>, <c>H(p) = (4/3)Σ_j(p_j − p_j^{1.5})</c>, <c>∇ = p − q</c>.
/// Reference: Peters, Niculae &amp; Martins 2019, Sparse sequence-to-sequence models.
/// </summary>
/// <remarks>
/// Sign convention: with Ω = −H (convex), the Fenchel–Young loss is Ω*(z) + Ω(q) − q·z and Ω*(z) = p·z + H(p) at
/// p = argmax_{p∈Δ} p·z + H(p) = 1.5-entmax(z), which gives the formula above; it is ≥ 0 and 0 exactly when p = q
/// (a one-hot target whose logit is ≥ 2 above all others). τ is the root of Σ_i (x_i − τ)₊² = 1, x = z/2 shifted by the
/// max: on its support S, τ = mean_S − √((1 − k·var_S)/k) (k = |S|, var_S the population variance), the formula of the
/// exact sort-based algorithm (Peters et al.), here solved once on the support found by Newton's method, its sums in
/// index order (see <see cref="SparseThreshold"/>): equal to the sort-based τ up to rounding.
/// </remarks>
public sealed class Entmax15Loss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : SparseFenchelYoungLoss(SparseRow<Entmax15Map>.Instance, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = SparseCard("entmax15", "1.5-entmax Fenchel–Young loss",
        "p = 1.5-entmax(z) = max(z/2 − τ, 0)² with Σp = 1, ℓ = w_y·((p − q)·z + H(p) − H(q)), H(p) = (4/3)Σ_j(p_j − p_j^{1.5})",
        "∇ = w_y·(p − q)",
        "Peters, Niculae & Martins 2019, Sparse sequence-to-sequence models",
        "ℓ = 0 exactly when p = q (a one-hot target whose logit is ≥ 2 above all others).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new Entmax15Loss(a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public override LossCard Card => Definition;
}

/// <summary>What a sparse loss needs of its map, as one object per map (<see cref="SparseRow{TMap}"/>).</summary>
internal interface ISparseRow
{
    /// <summary>One row (see <see cref="RowLoss"/>): <see cref="SparseRow.Evaluate{TC,TMap}"/> with the map.</summary>
    double Evaluate<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
        where TC : unmanaged, IFloatingPointIeee754<TC>;

    /// <summary>The row's max and τ by <see cref="SparseThreshold"/> (for <see cref="SparseFenchelYoungLoss.Probabilities{T}"/>).</summary>
    (double Max, double Tau) Threshold(ReadOnlySpan<double> z, Span<double> work);

    /// <summary>p_j from the shifted logit u = z_j − m and the threshold τ.</summary>
    double Map(double u, double tau);
}

/// <summary>The sparse row of one map, compiled for it.</summary>
internal sealed class SparseRow<TMap> : ISparseRow where TMap : struct, ISparseMap
{
    public static readonly SparseRow<TMap> Instance = new();

    public double Evaluate<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
        where TC : unmanaged, IFloatingPointIeee754<TC> => SparseRow.Evaluate<TC, TMap>(z, target, soft, gradient, gradientScale, work);

    public (double Max, double Tau) Threshold(ReadOnlySpan<double> z, Span<double> work)
    {
        var t = SparseThreshold.Find<double, TMap>(z, work);
        return (t.Max, t.Tau);
    }

    public double Map(double u, double tau) => TMap.Map(u, tau);
}

/// <summary>The row evaluation of both sparse losses, compiled once per map (its Map and Loss inlined).</summary>
internal static class SparseRow
{
    /// <summary>One row: τ by <see cref="SparseThreshold"/>; then p = Map(z − m, τ), the gradient s·(p − q) and the loss's
    /// sums, in double, in index order over the entries with p or q nonzero. With a class-index target and a listed
    /// support, only the candidates and the target are visited (every other entry has p = q = 0 and gets s·0).</summary>
    public static double Evaluate<TC, TMap>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TMap : struct, ISparseMap
    {
        bool isSoft = target < 0;
        // Target mass on a masked class: +∞.
        if (!isSoft && TC.IsNegativeInfinity(z[target])) { gradient.Clear(); return double.PositiveInfinity; }
        if (isSoft)
            for (int k = 0; k < z.Length; k++)
                if (soft[k] > TC.Zero && TC.IsNegativeInfinity(z[k])) { gradient.Clear(); return double.PositiveInfinity; }

        var threshold = SparseThreshold.Find<TC, TMap>(z, work);
        var terms = new Terms(double.CreateTruncating(threshold.Max), threshold.Tau, double.CreateTruncating(gradientScale), !gradient.IsEmpty);
        if (!isSoft && threshold.Listed)
        {
            if (terms.HasGradient) FillGradient(gradient, TC.CreateTruncating(terms.Scale * 0.0));
            ReadOnlySpan<int> candidates = SparseThreshold.Candidates(work, z.Length)[..threshold.Count];
            bool targetSeen = false;
            foreach (int k in candidates)
            {
                if (!targetSeen && k >= target)
                {
                    if (k > target) Visit<TC, TMap>(ref terms, z, target, 1, gradient);
                    targetSeen = true;
                }
                Visit<TC, TMap>(ref terms, z, k, k == target ? 1 : 0, gradient);
            }
            if (!targetSeen) Visit<TC, TMap>(ref terms, z, target, 1, gradient);
        }
        else
            for (int k = 0; k < z.Length; k++)
                Visit<TC, TMap>(ref terms, z, k, isSoft ? double.CreateTruncating(soft[k]) : (k == target ? 1 : 0), gradient);
        return Math.Max(TMap.Loss(terms.Dot, terms.Sq, terms.Hp, terms.Hq, terms.Hinge), 0);
    }

    /// <summary>Rows of at least this many bytes get their gradient's zeros with non-temporal stores: a batch of them would not
    /// stay in cache (4096 such rows are 256 MiB), and the stores then need no read for ownership. (<c>ce</c> decides from the
    /// whole gradient, ≥ 64 MiB; the row driver does not pass that down.)</summary>
    internal const int StreamingRowBytes = 64 << 10;

    /// <summary>Every entry of <paramref name="gradient"/> ← <paramref name="value"/>, streamed past the cache for long rows
    /// (the support's entries written afterwards are then read back: a few hundred cache lines, against a whole row).</summary>
    private static unsafe void FillGradient<TC>(Span<TC> gradient, TC value) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        if ((long)gradient.Length * sizeof(TC) < StreamingRowBytes) { gradient.Fill(value); return; }
        if (Vector512.IsHardwareAccelerated) FillStreaming<TC, Vector512<TC>, Simd512<TC>>(gradient, value);
        else if (Vector256.IsHardwareAccelerated) FillStreaming<TC, Vector256<TC>, Simd256<TC>>(gradient, value);
        else gradient.Fill(value);
    }

    private static unsafe void FillStreaming<TC, TVec, TSimd>(Span<TC> destination, TC value)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TVec : struct where TSimd : struct, ISimd<TVec, TC>
    {
        fixed (TC* p = destination)
        {
            int n = destination.Length, w = TSimd.Count, bytes = w * sizeof(TC);
            int head = (int)(((nuint)bytes - (nuint)p % (nuint)bytes) % (nuint)bytes);
            if (head % sizeof(TC) != 0) { destination.Fill(value); return; }
            head = Math.Min(head / sizeof(TC), n);
            destination[..head].Fill(value);
            TVec v = TSimd.Broadcast(value);
            int i = head;
            for (; i <= n - w; i += w) TSimd.StoreAlignedNonTemporal(v, p + i);
            destination[i..].Fill(value);
        }
    }

    /// <summary>One row's running sums (double, in index order).</summary>
    private struct Terms(double max, double tau, double scale, bool hasGradient)
    {
        public readonly double Max = max, Tau = tau, Scale = scale;
        public readonly bool HasGradient = hasGradient;
        public double Dot, Sq, Hp, Hq, Hinge;
    }

    /// <summary>Entry k with target mass q: its gradient s·(p − q) and its terms of the loss (only those the map's loss reads).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Visit<TC, TMap>(ref Terms t, ReadOnlySpan<TC> z, int k, double q, Span<TC> gradient)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TMap : struct, ISparseMap
    {
        double zk = double.CreateTruncating(z[k]);
        double p = double.IsNegativeInfinity(zk) ? 0 : TMap.Map(zk - t.Max, t.Tau);
        double d = p - q;
        if (t.HasGradient) gradient[k] = TC.CreateTruncating(t.Scale * d);
        if (p == 0 && q == 0) return;
        double u = zk - t.Max;
        if (TMap.UsesEntropies)
        {
            t.Dot += d * u;
            t.Hp += p - p * Math.Sqrt(p);
            if (q != 0 && q != 1) t.Hq += q - q * Math.Sqrt(q);   // q − q√q is +0 for q ∈ {0, 1}: adding it changes nothing
        }
        else
        {
            t.Sq += d * d;
            if (q > 0) t.Hinge += q * Math.Max(t.Tau - u, 0);
        }
    }
}
