using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Sparse;

/// <summary>
/// Fenchel–Young losses of sparse probability maps: <c>ℓ = Ω*(z) + Ω(q) − q·z</c> with
/// gradient <c>∇ = p(z) − q</c>, where p(z) is sparsemax or 1.5-entmax, computed exactly by sorting the row.
/// Class-index targets are one-hot q; soft targets (<see cref="ISoftTargetLoss"/>) any probability row.
/// </summary>
/// <remarks>
/// Both maps are shift-invariant, so each row is shifted by its max before projecting. A −∞ logit gets p = 0; target
/// mass on a −∞ class (a masked class-index target, or q &gt; 0 there) gives loss +∞ and a zero gradient. Scratch per row:
/// a sorted copy of the row. Sorting costs O(K log K) per row, in the compute type (float for float and Half); the
/// row sums are accumulated in double.
/// </remarks>
public abstract class SparseFenchelYoungLoss : RowLoss, ISoftTargetLoss
{
    private protected SparseFenchelYoungLoss(IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction) : base(weight, ignoreIndex, reduction) { }

    protected override int WorkLength(int classes) => classes;

    /// <inheritdoc/>
    public T ComputeSoft<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> => ComputeSoftCore(logits, classes, softTargets, rowLosses, gradient);

    /// <summary>The threshold τ of the row (shifted by the row max m): p_j = π(z_j − m − τ) with π(u) = max(u, 0) for sparsemax,
    /// max(u/2, 0)²-style for entmax (see <see cref="Map"/>). <paramref name="sorted"/> is scratch of length K.</summary>
    private protected abstract double Threshold<TC>(ReadOnlySpan<TC> z, TC max, Span<TC> sorted) where TC : unmanaged, IFloatingPointIeee754<TC>;

    /// <summary>p_j from the shifted logit u = z_j − m and the threshold τ.</summary>
    private protected abstract double Map(double u, double tau);

    /// <summary>The row loss from p, q and the shifted logits: called once per row with running sums.</summary>
    private protected abstract double Loss(double pMinusQDotU, double sumPSquaredDiff, double entropyP, double entropyQ, double qHingeSum);

    protected sealed override double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
    {
        bool isSoft = target < 0;
        // Target mass on a masked class: +∞.
        if (!isSoft && TC.IsNegativeInfinity(z[target])) { gradient.Clear(); return double.PositiveInfinity; }
        if (isSoft)
            for (int k = 0; k < z.Length; k++)
                if (soft[k] > TC.Zero && TC.IsNegativeInfinity(z[k])) { gradient.Clear(); return double.PositiveInfinity; }

        TC max = System.Numerics.Tensors.TensorPrimitives.Max(z);
        double m = double.CreateTruncating(max);
        double tau = Threshold(z, max, work);
        double dot = 0, sq = 0, hp = 0, hq = 0, hinge = 0;
        double s = double.CreateTruncating(gradientScale);
        bool hasGradient = !gradient.IsEmpty;
        for (int k = 0; k < z.Length; k++)
        {
            double zk = double.CreateTruncating(z[k]);
            double q = isSoft ? double.CreateTruncating(soft[k]) : (k == target ? 1 : 0);
            double p = double.IsNegativeInfinity(zk) ? 0 : Map(zk - m, tau);
            double d = p - q;
            if (hasGradient) gradient[k] = TC.CreateTruncating(s * d);
            if (p == 0 && q == 0) continue;
            double u = zk - m;
            dot += d * u;
            sq += d * d;
            hp += p - p * Math.Sqrt(p);
            hq += q - q * Math.Sqrt(q);
            if (q > 0) hinge += q * Math.Max(tau - u, 0);
        }
        return Math.Max(Loss(dot, sq, hp, hq, hinge), 0);
    }

    /// <summary>The map's probabilities p(z) of each row, by the same exact algorithm as the loss.</summary>
    public void Probabilities<T>(ReadOnlySpan<T> logits, int classes, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = InputChecks.ProbabilityShape(logits.Length, classes, destination.Length);
        var row = new double[classes];
        var sorted = new double[classes];
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < classes; k++) row[k] = double.CreateTruncating(logits[r * classes + k]);
            double m = row.Max();
            if (!double.IsFinite(m)) throw new RowException(nameof(logits), r, $"logits row {r} has max {m}: expected finite logits (−∞ masks a class, but not all).");
            double tau = Threshold<double>(row, m, sorted);
            for (int k = 0; k < classes; k++)
                destination[r * classes + k] = T.CreateTruncating(double.IsNegativeInfinity(row[k]) ? 0 : Map(row[k] - m, tau));
        }
    }

    /// <summary>The candidates for the support, sorted: the values max − z_k that are at most <paramref name="bound"/>, in
    /// ascending order (descending z), into the start of <paramref name="sorted"/>; returns their count. The support lies
    /// within a known distance of the max (1 for sparsemax, 2 for 1.5-entmax in z's units), and every element beyond it
    /// fails the threshold loops' test, which stop at their first failure: with a bound a little past that distance, the
    /// loops see the same prefix as after a full sort, so τ is bit-identical — and only the candidates are sorted (all K
    /// for logits within the bound of their max, few for a peaked row).</summary>
    private protected static int SortedCandidates<TC>(ReadOnlySpan<TC> z, TC max, Span<TC> sorted, double bound) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        TC limit = TC.CreateTruncating(bound);
        int n = 0;
        for (int k = 0; k < z.Length; k++)
        {
            TC d = max - z[k];
            if (d <= limit) sorted[n++] = d;   // −∞ logits (d = +∞) and NaN are never candidates
        }
        sorted[..n].Sort();
        return n;
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
    Reduction reduction = Reduction.Mean) : SparseFenchelYoungLoss(weight, ignoreIndex, reduction)
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

    private protected override double Threshold<TC>(ReadOnlySpan<TC> z, TC max, Span<TC> sorted)
    {
        // Every u_(k) < −1 fails the test below (Σ_{i≤k}(u_(i) − u_(k)) ≥ −u_(k) > 1): candidates within 1.5 of the max.
        int n = SortedCandidates(z, max, sorted, 1.5);
        // sorted[i] = m − z_(i+1) ≥ 0; with u_(k) = −sorted[k−1]: support size k = largest k with 1 + k·u_(k) > Σ_{i≤k} u_(i).
        double cumulative = 0, tau = -1;
        for (int k = 1; k <= n; k++)
        {
            double u = -double.CreateTruncating(sorted[k - 1]);
            if (double.IsNegativeInfinity(u)) break;
            cumulative += u;
            if (1 + k * u > cumulative) tau = (cumulative - 1) / k;
            else break;
        }
        return tau;
    }

    private protected override double Map(double u, double tau) => Math.Max(u - tau, 0);

    private protected override double Loss(double pMinusQDotU, double sumPSquaredDiff, double entropyP, double entropyQ, double qHingeSum) =>
        0.5 * sumPSquaredDiff + qHingeSum;
}

/// <summary>
/// 1.5-entmax Fenchel–Young loss, spec <c>entmax15</c>: p = 1.5-entmax(z) = max(z/2 − τ, 0)² with Σp = 1,
/// <c>ℓ = (p − q)·z + H(p) − H(q)</c>, <c>H(p) = (4/3)Σ_j(p_j − p_j^{1.5})</c>, <c>∇ = p − q</c>.
/// Reference: Peters, Niculae &amp; Martins 2019, Sparse sequence-to-sequence models.
/// </summary>
/// <remarks>
/// Sign convention: with Ω = −H (convex), the Fenchel–Young loss is Ω*(z) + Ω(q) − q·z and Ω*(z) = p·z + H(p) at
/// p = argmax_{p∈Δ} p·z + H(p) = 1.5-entmax(z), which gives the formula above; it is ≥ 0 and 0 exactly when p = q
/// (a one-hot target whose logit is ≥ 2 above all others). τ by the exact sort-based algorithm: on a support of the k
/// largest x = z/2 (shifted by the max), Σ(x_i − τ)² = 1 gives τ_k = mean_k − √((1 − k·var_k)/k) (var_k the population
/// variance of the k largest, by Welford's update); the support is the largest k with τ_k ≤ x_(k).
/// </remarks>
public sealed class Entmax15Loss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : SparseFenchelYoungLoss(weight, ignoreIndex, reduction)
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

    private protected override double Threshold<TC>(ReadOnlySpan<TC> z, TC max, Span<TC> sorted)
    {
        // Every x_(k) < −1 fails the test below (τ_k ≤ x_(k) < −1 would make (0 − τ_k)² alone exceed 1): candidates with
        // x = (z − max)/2 ≥ −1.25, i.e. within 2.5 of the max.
        int n = SortedCandidates(z, max, sorted, 2.5);
        double mean = 0, m2 = 0, tau = -1;
        for (int k = 1; k <= n; k++)
        {
            double x = -0.5 * double.CreateTruncating(sorted[k - 1]);
            if (double.IsNegativeInfinity(x)) break;
            double delta = x - mean;
            mean += delta / k;
            m2 += delta * (x - mean);                  // m2 = k·var_k
            double tauK = mean - Math.Sqrt(Math.Max((1 - m2) / k, 0));
            if (tauK <= x) tau = tauK;
            else break;
        }
        return tau;
    }

    private protected override double Map(double u, double tau)
    {
        double v = Math.Max(0.5 * u - tau, 0);
        return v * v;
    }

    private protected override double Loss(double pMinusQDotU, double sumPSquaredDiff, double entropyP, double entropyQ, double qHingeSum) =>
        pMinusQDotU + 4.0 / 3.0 * (entropyP - entropyQ);
}
