using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LossKit.Kernels;

namespace LossKit.Sparse;

/// <summary>
/// What distinguishes sparsemax from 1.5-entmax in the threshold search. In z's units a row's map is
/// p_j = h(z_j − θ) with Σ_j p_j = 1: h(v) = max(v, 0) for sparsemax (θ = m + τ), h(v) = max(v/2, 0)² for 1.5-entmax
/// (θ = m + 2τ, τ in units of z/2), m the row max.
/// </summary>
internal interface ISparseMap
{
    /// <summary>The distance below the max at which h reaches 1 (1 or 2): θ ≥ m − Reach, and nothing further below the max
    /// is in the support.</summary>
    static abstract double Reach { get; }

    /// <summary>The candidate bound of the sort-based algorithm (1.5 or 2.5 below the max): every element beyond it fails the
    /// scan's test, so sorting only the elements within it gives the full sort's τ (the fallback).</summary>
    static abstract double SortBound { get; }

    /// <summary>Adds h(v) to <paramref name="f"/> and h'(v) to <paramref name="df"/> for v &gt; 0.</summary>
    static abstract void AddTerms(double v, ref double f, ref double df);

    /// <summary>The same for a vector of v ≥ 0 (lanes with v = 0 add nothing).</summary>
    static abstract void AddTerms<TC, TVec, TSimd>(TVec v, ref TVec f, ref TVec df)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TVec : struct where TSimd : struct, ISimd<TVec, TC>;

    /// <summary>
    /// The exact sort-based algorithm's loop over the ascending values max − z of a sorted prefix of the row, then over
    /// <paramref name="next"/> (the next value of the full sort, when <paramref name="hasNext"/>). The loop stops at its
    /// first failing test; when that happens within what it was given, or when it was given the whole row, τ is the full
    /// sort's to the bit and <paramref name="conclusive"/> is true.
    /// </summary>
    static abstract double Scan<TC>(ReadOnlySpan<TC> sorted, TC next, bool hasNext, out bool conclusive) where TC : unmanaged, IFloatingPointIeee754<TC>;

    /// <summary>p_j from the shifted logit u = z_j − m and τ.</summary>
    static abstract double Map(double u, double tau);

    /// <summary>True when τ is solved on the support once the support is known (<see cref="SparseThreshold.SolveEntmax"/>,
    /// 1.5-entmax: no sort and no sequential scan), false when it is the scan's (sparsemax: the sort-based τ to the bit).</summary>
    static abstract bool SolvesOnSupport { get; }

    /// <summary>Whether <see cref="Loss"/> reads the entropy sums (1.5-entmax) or the squared distance and hinge (sparsemax).</summary>
    static abstract bool UsesEntropies { get; }

    /// <summary>The row loss from the row's sums over the entries with p or q nonzero: Σ(p − q)·u, Σ(p − q)², Σ(p − p^1.5),
    /// Σ(q − q^1.5) and Σ q·max(τ − u, 0).</summary>
    static abstract double Loss(double pMinusQDotU, double sumPSquaredDiff, double entropyP, double entropyQ, double qHingeSum);
}

internal readonly struct SparsemaxMap : ISparseMap
{
    public static double Reach => 1;
    public static double SortBound => 1.5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTerms(double v, ref double f, ref double df) { f += v; df += 1; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTerms<TC, TVec, TSimd>(TVec v, ref TVec f, ref TVec df)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TVec : struct where TSimd : struct, ISimd<TVec, TC>
    {
        f = TSimd.Add(f, v);
        df = TSimd.Add(df, TSimd.Select(TSimd.GreaterThan(v, TSimd.Broadcast(TC.Zero)), TSimd.Broadcast(TC.One), TSimd.Broadcast(TC.Zero)));
    }

    public static double Scan<TC>(ReadOnlySpan<TC> sorted, TC next, bool hasNext, out bool conclusive) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        // sorted[i] = m − z_(i+1) ≥ 0; with u_(k) = −sorted[k−1]: support size k = largest k with 1 + k·u_(k) > Σ_{i≤k} u_(i).
        double cumulative = 0, tau = -1;
        int n = sorted.Length, last = hasNext ? n + 1 : n;
        for (int k = 1; k <= last; k++)
        {
            double u = -double.CreateTruncating(k <= n ? sorted[k - 1] : next);
            if (double.IsNegativeInfinity(u)) { conclusive = true; return tau; }
            cumulative += u;
            if (1 + k * u > cumulative) tau = (cumulative - 1) / k;
            else { conclusive = true; return tau; }
        }
        conclusive = !hasNext;
        return tau;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Map(double u, double tau) => Math.Max(u - tau, 0);

    public static bool SolvesOnSupport => false;

    public static bool UsesEntropies => false;

    /// <summary>½‖p − q‖² + Σ_j q_j·max(τ − u_j, 0) (see <see cref="SparsemaxLoss"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Loss(double pMinusQDotU, double sumPSquaredDiff, double entropyP, double entropyQ, double qHingeSum) =>
        0.5 * sumPSquaredDiff + qHingeSum;
}

internal readonly struct Entmax15Map : ISparseMap
{
    public static double Reach => 2;
    public static double SortBound => 2.5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTerms(double v, ref double f, ref double df) { f += 0.25 * v * v; df += 0.5 * v; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddTerms<TC, TVec, TSimd>(TVec v, ref TVec f, ref TVec df)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TVec : struct where TSimd : struct, ISimd<TVec, TC>
    {
        TVec half = TSimd.Multiply(v, TSimd.Broadcast(TC.CreateTruncating(0.5)));
        f = TSimd.MultiplyAdd(half, half, f);
        df = TSimd.Add(df, half);
    }

    public static double Scan<TC>(ReadOnlySpan<TC> sorted, TC next, bool hasNext, out bool conclusive) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        // On a support of the k largest x = (z − m)/2, Σ(x_i − τ)² = 1 gives τ_k = mean_k − √((1 − k·var_k)/k) (Welford's
        // update); the support is the largest k with τ_k ≤ x_(k).
        double mean = 0, m2 = 0, tau = -1;
        int n = sorted.Length, last = hasNext ? n + 1 : n;
        for (int k = 1; k <= last; k++)
        {
            double x = -0.5 * double.CreateTruncating(k <= n ? sorted[k - 1] : next);
            if (double.IsNegativeInfinity(x)) { conclusive = true; return tau; }
            double delta = x - mean;
            mean += delta / k;
            m2 += delta * (x - mean);                  // m2 = k·var_k
            double tauK = mean - Math.Sqrt(Math.Max((1 - m2) / k, 0));
            if (tauK <= x) tau = tauK;
            else { conclusive = true; return tau; }
        }
        conclusive = !hasNext;
        return tau;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Map(double u, double tau)
    {
        double v = Math.Max(0.5 * u - tau, 0);
        return v * v;
    }

    public static bool SolvesOnSupport => true;

    public static bool UsesEntropies => true;

    /// <summary>(p − q)·u + (4/3)(Σ(p − p^1.5) − Σ(q − q^1.5)) (see <see cref="Entmax15Loss"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Loss(double pMinusQDotU, double sumPSquaredDiff, double entropyP, double entropyQ, double qHingeSum) =>
        pMinusQDotU + 4.0 / 3.0 * (entropyP - entropyQ);
}

/// <summary>
/// The threshold τ of sparsemax and 1.5-entmax without sorting the row — sparsemax's to the bit equal to the exact
/// sort-based algorithm's (<see cref="ISparseMap.Scan{TC}"/> over the whole row sorted), 1.5-entmax's solved exactly on
/// its support (<see cref="SolveEntmax"/>; the sort-based value to rounding, and to the bit the solve on the support the
/// sort finds, <see cref="SolveOnRow{TC}"/>) — shared by both losses, their soft-target forms and
/// <see cref="SparseFenchelYoungLoss.Probabilities{T}"/>.
/// </summary>
/// <remarks>
/// <para>Any subset S of the row has a threshold θ_S ≤ θ (Σ_{j∈S} h(z_j − θ) ≤ Σ_j h(z_j − θ), both decreasing in θ), and
/// Newton's method on the convex, decreasing f(θ) = Σ h(z_j − θ) − 1 started left of its root stays left of it. So:</para>
/// <list type="number">
/// <item>one vector pass takes the row's max and its lane maxima (4 vectors' worth, a subset S), and Newton on S gives a lower
/// bound θ_S;</item>
/// <item>one vector pass copies the candidates z_j &gt; θ_S − margin (with their indices, in index order; a block of lanes
/// with none costs one compare) and keeps the largest non-candidate;</item>
/// <item>where there are more than 96 candidates, Newton on them (they contain the support, so their root is θ) refines the
/// bound, and the candidates below it are dropped;</item>
/// <item>sparsemax: the remaining candidates — the support and a few more — are sorted as values m − z and the sort-based
/// loop runs over them and then over the largest non-candidate, the next value of the full sort. If the loop stops within
/// them, τ is the full sort's to the bit (the loop saw the same prefix). If not (rounding at the margin; never seen in the
/// tests), τ comes from the sort-based algorithm on everything within <see cref="ISparseMap.SortBound"/> of the max.</item>
/// <item>1.5-entmax: Newton's method in double on the candidates from that lower bound, to the root; then the support
/// S = {x &gt; root + 1e-12} and τ = <see cref="SolveEntmax"/>(S), accepted when S is consistent with it (<see cref="Canonical"/>;
/// elements within 1e-12 of τ, whose p ≤ 1e-24, are left out so that ties at the boundary give one set whichever side
/// rounding puts them on). Its sequential scan needs the support sorted; the solve needs neither. Otherwise (never seen in
/// the tests) the sparsemax path's sort, then the same solve on the support the sort finds.</item>
/// </list>
/// <para>Cost: two vector passes over the row (in cache after the max pass), scalar work on the candidates, and for
/// sparsemax a sort of about the support (O(s log s) for a support of s; a row whose support is most of the row still
/// sorts it); for 1.5-entmax a few vector passes over the candidates in double.</para>
/// </remarks>
internal static class SparseThreshold
{
    /// <summary>The row max m (the value <see cref="System.Numerics.Tensors.TensorPrimitives.Max{T}(ReadOnlySpan{T})"/> gives), τ,
    /// and whether <c>Candidates(work)[..Count]</c> lists (in index order) every index whose p can be nonzero: when
    /// <see cref="Listed"/> is false, p must be computed for every element.</summary>
    internal readonly record struct Result<TC>(TC Max, double Tau, int Count, bool Listed);

    /// <summary>Scratch elements <see cref="Find{TC,TMap}"/> needs for a row of K.</summary>
    internal static int WorkLength(int classes) => 4 * classes;

    /// <summary>The candidates' indices after <see cref="Find{TC,TMap}"/>.</summary>
    internal static ReadOnlySpan<int> Candidates<TC>(Span<TC> work, int classes) where TC : unmanaged =>
        MemoryMarshal.Cast<TC, int>(work.Slice(2 * classes, classes))[..classes];

    /// <summary>The max and τ of row <paramref name="z"/> (finite or −∞ entries, at least one finite). <paramref name="width"/>:
    /// the vector width in bits (512, 256, 128), 0 for the widest this machine accelerates.</summary>
    internal static Result<TC> Find<TC, TMap>(ReadOnlySpan<TC> z, Span<TC> work, int width = 0)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TMap : struct, ISparseMap
    {
        if (width == 0)
            width = Vector512.IsHardwareAccelerated && z.Length >= Vector512<TC>.Count ? 512
                : Vector256.IsHardwareAccelerated && z.Length >= Vector256<TC>.Count ? 256 : 128;
        return width switch
        {
            512 => Kernel<TC, Vector512<TC>, Simd512<TC>, TMap>.Find(z, work),
            256 => Kernel<TC, Vector256<TC>, Simd256<TC>, TMap>.Find(z, work),
            128 => Kernel<TC, Vector128<TC>, Simd128<TC>, TMap>.Find(z, work),
            _ => throw new ArgumentOutOfRangeException(nameof(width), width, "width must be 0, 512, 256 or 128."),
        };
    }

    /// <summary>
    /// The values <paramref name="d"/> (finite, ≥ 0, at most <paramref name="largest"/>) in ascending order: in
    /// <paramref name="d"/> itself for a few, else in <paramref name="buffer"/>, by distributing them over |d| buckets of equal
    /// width (a monotone map, so the buckets are in order) and sorting each bucket (insertion sort; a full bucket by
    /// <see cref="MemoryExtensions.Sort{T}(Span{T})"/>). Expected O(n) for values spread over their range, as the support's
    /// are. Sorted values are the same whatever the algorithm (equal values are interchangeable).
    /// </summary>
    internal static ReadOnlySpan<TC> SortValues<TC>(Span<TC> d, TC largest, Span<TC> buffer, Span<int> counts) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        int n = d.Length;
        if (n <= 32 || !(largest > TC.Zero))
        {
            if (largest > TC.Zero) InsertionSort(d);
            return d;
        }
        int buckets = Math.Min(n, counts.Length - 1);
        TC scale = TC.CreateTruncating(buckets) / largest;
        Span<int> start = counts[..(buckets + 1)];
        start.Clear();
        for (int i = 0; i < n; i++) start[Bucket(d[i], scale, buckets) + 1]++;
        for (int b = 0; b < buckets; b++) start[b + 1] += start[b];
        // start[b] is bucket b's first slot; each placement advances it, so afterwards start[b] is bucket b's end.
        for (int i = 0; i < n; i++) buffer[start[Bucket(d[i], scale, buckets)]++] = d[i];
        int begin = 0;
        for (int b = 0; b < buckets; b++)
        {
            int end = start[b];
            if (end - begin > 16) buffer[begin..end].Sort();
            else if (end - begin > 1) InsertionSort(buffer[begin..end]);
            begin = end;
        }
        return buffer[..n];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Bucket<TC>(TC d, TC scale, int buckets) where TC : unmanaged, IFloatingPointIeee754<TC> =>
        Math.Min(int.CreateTruncating(d * scale), buckets - 1);

    private static void InsertionSort<TC>(Span<TC> a) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        for (int i = 1; i < a.Length; i++)
        {
            TC x = a[i];
            int j = i - 1;
            while (j >= 0 && a[j] > x) { a[j + 1] = a[j]; j--; }
            a[j + 1] = x;
        }
    }

    /// <summary>The sort-based algorithm on the elements within <see cref="ISparseMap.SortBound"/> of the max (every element
    /// beyond fails the loop's test, so this is the full sort's τ); <paramref name="sorted"/> is scratch of length K.</summary>
    internal static double SortBased<TC, TMap>(ReadOnlySpan<TC> z, TC max, Span<TC> sorted)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TMap : struct, ISparseMap
    {
        TC limit = TC.CreateTruncating(TMap.SortBound);
        int n = 0;
        for (int k = 0; k < z.Length; k++)
        {
            TC d = max - z[k];
            if (d <= limit) sorted[n++] = d;   // −∞ logits (d = +∞) and NaN are never candidates
        }
        sorted[..n].Sort();
        double tau = TMap.Scan(sorted[..n], TC.Zero, false, out _);
        return TMap.SolvesOnSupport ? SolveOnRow(z, max, tau) : tau;
    }

    /// <summary>The scan's values x = −(max − z)/2 of 1.5-entmax (the subtraction in TC, as the sort-based loop has it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double EntmaxValue<TC>(TC max, TC z) where TC : unmanaged, IFloatingPointIeee754<TC> => -0.5 * double.CreateTruncating(max - z);

    /// <summary>1.5-entmax's τ for a row given the sort-based τ <paramref name="scanTau"/>: <see cref="Canonical"/> from it,
    /// or the scan's own when that fails. The reference the kernel's τ is held to, and the fallback's.</summary>
    internal static double SolveOnRow<TC>(ReadOnlySpan<TC> z, TC max, double scanTau) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        double[] buffer = ArrayPool<double>.Shared.Rent(2 * z.Length);
        try
        {
            Span<double> x = buffer.AsSpan(0, z.Length), support = buffer.AsSpan(z.Length, z.Length);
            int n = 0;
            foreach (TC v in z)
                if (!TC.IsNaN(v)) x[n++] = EntmaxValue(max, v);
            double tau = Canonical(x[..n], double.NegativeInfinity, scanTau, support);
            return double.IsNaN(tau) ? scanTau : tau;
        }
        finally { ArrayPool<double>.Shared.Return(buffer); }
    }

    /// <summary>1.5-entmax's τ among the candidates (index order; every element of the support is one, and
    /// <paramref name="rest"/> is the largest other element when <paramref name="hasRest"/>): Newton's method in double on
    /// the convex, decreasing f(t) = Σ(x − t)₊² − 1 from the lower bound <paramref name="start"/> (its iterates rise to the
    /// root), then <see cref="Canonical"/> from the root it reaches. NaN when that fails (the caller then sorts).
    /// <paramref name="scratch"/>: at least twice the candidates' count.</summary>
    private static double SolveOnCandidates<TC>(ReadOnlySpan<TC> candidates, TC max, TC rest, bool hasRest, double start, Span<double> scratch)
        where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        int n = candidates.Length;
        if (n == 0) return double.NaN;
        Span<double> x = scratch[..n], support = scratch.Slice(n, n);
        int first = 0;
        if (typeof(TC) == typeof(float) && Vector512.IsHardwareAccelerated)
        {
            // x = −0.5·(max − z) with the subtraction in float, 16 at a time (the same operations as EntmaxValue).
            ReadOnlySpan<float> z = MemoryMarshal.Cast<TC, float>(candidates);
            Vector512<float> top = Vector512.Create(float.CreateTruncating(max));
            Vector512<double> half = Vector512.Create(-0.5);
            for (; first <= n - 16; first += 16)
            {
                var (low, high) = Vector512.Widen(top - Vector512.Create(z.Slice(first, 16)));
                (low * half).CopyTo(x.Slice(first, 8));
                (high * half).CopyTo(x.Slice(first + 8, 8));
            }
        }
        for (int c = first; c < n; c++) x[c] = EntmaxValue(max, candidates[c]);
        double others = hasRest && !TC.IsNegativeInfinity(rest) ? EntmaxValue(max, rest) : double.NegativeInfinity;
        double t = start;
        for (int iteration = 0; iteration < 30; iteration++)
        {
            var (f, g) = ClippedSquares(x, t);   // f = Σ(x − t)₊², g = Σ(x − t)₊
            if (!(g > 0)) return double.NaN;
            double step = (f - 1) / (2 * g);
            if (!(step > 0)) break;              // at the root, to rounding (or past it by rounding)
            t += step;
            // Newton's error after a step s is about k/(2Σ(x − t)₊)·s², under 1e-15 once s < 1e-9 (until an element
            // leaves the support on the way, which a step that long does not pass).
            if (step < 1e-9) break;
        }
        return Canonical(x, others, t, support);
    }

    /// <summary>Σ(x − t)₊² and Σ(x − t)₊ on the widest double lanes (only an approximation of the root comes from them, so
    /// the lane order does not reach the result).</summary>
    private static (double Squares, double Sum) ClippedSquares(ReadOnlySpan<double> x, double t) =>
        Vector512.IsHardwareAccelerated ? ClippedSquares<Vector512<double>, Simd512<double>>(x, t)
        : Vector256.IsHardwareAccelerated ? ClippedSquares<Vector256<double>, Simd256<double>>(x, t)
        : ClippedSquares<Vector128<double>, Simd128<double>>(x, t);

    private static (double Squares, double Sum) ClippedSquares<TVec, TSimd>(ReadOnlySpan<double> x, double t)
        where TVec : struct where TSimd : struct, ISimd<TVec, double>
    {
        ref double src = ref MemoryMarshal.GetReference(x);
        int i = 0, n = x.Length, w = TSimd.Count;
        TVec vt = TSimd.Broadcast(t), zero = TSimd.Broadcast(0.0), fs = zero, gs = zero;
        for (; i <= n - w; i += w)
        {
            TVec d = TSimd.Max(TSimd.Subtract(TSimd.Load(ref src, (nuint)i), vt), zero);
            fs = TSimd.Add(fs, TSimd.Multiply(d, d));
            gs = TSimd.Add(gs, d);
        }
        double f = TSimd.Sum(fs), g = TSimd.Sum(gs);
        for (; i < n; i++)
        {
            double d = Math.Max(x[i] - t, 0);
            f += d * d;
            g += d;
        }
        return (f, g);
    }

    /// <summary>
    /// The τ both searches settle on from an approximate root <paramref name="approximate"/> (within rounding of the true
    /// one): solved on S = {x &gt; approximate + <see cref="TieMargin"/>} of the values <paramref name="x"/> (index order;
    /// every value not among them at most <paramref name="others"/>) — so elements within the margin of τ, whose p is at
    /// most the margin squared, are left out, and whichever side of τ rounding put a tie on, the set and the bits are the
    /// same. NaN when S does not give a root consistent with it (every x of S above τ, every other at most τ + 2·margin).
    /// x and τ lie in [−1, 0]: an absolute margin. <paramref name="support"/>: scratch of x's length.
    /// </summary>
    private static double Canonical(ReadOnlySpan<double> x, double others, double approximate, Span<double> support)
    {
        int k = 0;
        double inside = double.PositiveInfinity, outside = others, cut = approximate + TieMargin;
        foreach (double v in x)
        {
            if (v > cut) { support[k++] = v; inside = Math.Min(inside, v); }
            else outside = Math.Max(outside, v);
        }
        if (k == 0) return double.NaN;
        double tau = SolveEntmax(support[..k]);
        return inside > tau && outside <= tau + 2 * TieMargin ? tau : double.NaN;
    }

    /// <summary>The margin of <see cref="Canonical"/>: far above the rounding of τ (about 1e-16), far below any float's
    /// resolution of p = (x − τ)² (an element this close to τ has p ≤ 1e-24).</summary>
    private const double TieMargin = 1e-12;

    /// <summary>
    /// 1.5-entmax's τ on a support given by its values x = (z − m)/2 in index order: the smaller root of Σ(x − τ)² = 1,
    /// τ = μ − √((1 − M2)/k) with μ the mean and M2 = Σ(x − μ)² (the last step of the sort-based loop, without its
    /// sequential update), each sum over 8 lanes in a fixed order (the same bits on every machine); NaN when M2 &gt; 1 (no
    /// root: not a support) or for an empty set.
    /// </summary>
    internal static double SolveEntmax(ReadOnlySpan<double> x)
    {
        int k = x.Length;
        double mean = LaneSum(x, 0) / k;
        double m2 = LaneSum(x, mean, squares: true);
        return m2 <= 1 ? mean - Math.Sqrt((1 - m2) / k) : double.NaN;
    }

    /// <summary>Σ x (or Σ (x − shift)²) over 8 lanes (element i to lane i mod 8), the lanes added in order.</summary>
    private static double LaneSum(ReadOnlySpan<double> x, double shift, bool squares = false)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int i = 0, n = x.Length;
        for (; i <= n - 8; i += 8)
        {
            if (squares)
            {
                double d0 = x[i] - shift, d1 = x[i + 1] - shift, d2 = x[i + 2] - shift, d3 = x[i + 3] - shift;
                double d4 = x[i + 4] - shift, d5 = x[i + 5] - shift, d6 = x[i + 6] - shift, d7 = x[i + 7] - shift;
                (s0, s1, s2, s3) = (s0 + d0 * d0, s1 + d1 * d1, s2 + d2 * d2, s3 + d3 * d3);
                (s4, s5, s6, s7) = (s4 + d4 * d4, s5 + d5 * d5, s6 + d6 * d6, s7 + d7 * d7);
            }
            else
            {
                (s0, s1, s2, s3) = (s0 + x[i], s1 + x[i + 1], s2 + x[i + 2], s3 + x[i + 3]);
                (s4, s5, s6, s7) = (s4 + x[i + 4], s5 + x[i + 5], s6 + x[i + 6], s7 + x[i + 7]);
            }
        }
        double tail = 0;
        for (; i < n; i++) tail += squares ? (x[i] - shift) * (x[i] - shift) : x[i];
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) + tail;
    }

    internal static class Kernel<TC, TVec, TSimd, TMap>
        where TC : unmanaged, IFloatingPointIeee754<TC> where TVec : struct where TSimd : struct, ISimd<TVec, TC> where TMap : struct, ISparseMap
    {
        public static Result<TC> Find(ReadOnlySpan<TC> z, Span<TC> work)
        {
            int K = z.Length;
            Span<TC> values = work[..K], sorted = work.Slice(K, K);
            Span<int> indices = MemoryMarshal.Cast<TC, int>(work.Slice(2 * K, K))[..K];
            // 1. The max and the lane maxima (a subset S of the row) in one pass. A zero max is taken again by TensorPrimitives,
            //    whose +0/−0 choice the old code used (the hardware max may return either).
            int lanes = LaneMaxima(z, values, out TC max);
            if (lanes == 0 || max == TC.Zero) max = System.Numerics.Tensors.TensorPrimitives.Max(z);
            double m = double.CreateTruncating(max);
            // Rounding margin: the bounds are computed in double from TC values, then rounded to TC.
            double margin = (Math.Abs(m) + TMap.Reach) * (typeof(TC) == typeof(float) ? 1e-5 : 1e-13);

            // A lower bound from S (loose: step 3 refines it).
            double theta = m - TMap.Reach;
            if (lanes > 0) theta = Newton(values[..lanes], theta, m, 1e-2);

            // 2. The candidates above it, in index order, and the largest element that is not one.
            TC bound = TC.CreateTruncating(theta - margin);
            int count = Select(z, bound, values, indices, out TC rest);

            // 3. Newton on the candidates (they hold the support), and only those above its bound kept — where there are
            //    enough of them for the sort and the loop to cost more than the refinement.
            TC refined = bound;
            if (count > 96)
            {
                theta = Newton(values[..count], theta, m, 1e-3);
                refined = TC.CreateTruncating(theta - margin);
            }
            if (refined > bound)
            {
                int kept = 0;
                for (int c = 0; c < count; c++)
                {
                    TC x = values[c];
                    if (x > refined) { values[kept] = x; indices[kept] = indices[c]; kept++; }
                    else if (x > rest) rest = x;
                }
                count = kept;
            }

            bool hasNext = count < K;
            if (TMap.SolvesOnSupport)
            {
                // 4'. 1.5-entmax: the support among the candidates, and τ solved on it (no sort, no sequential scan).
                // Scratch: the candidates' x and the support, in the sort's half of the work when they fit there.
                Span<double> spare = MemoryMarshal.Cast<TC, double>(sorted);
                double[]? rented = spare.Length >= 2 * count ? null : ArrayPool<double>.Shared.Rent(2 * count);
                double solved = SolveOnCandidates(values[..count], max, rest, hasNext, 0.5 * (theta - m) - margin, rented ?? spare);
                if (rented is not null) ArrayPool<double>.Shared.Return(rented);
                if (!double.IsNaN(solved))
                    return new Result<TC>(max, solved, count, Listed(rest, hasNext, m, solved));
            }

            // 4. The sort-based loop over the sorted candidates and the next value of the full sort.
            TC largest = TC.Zero;
            for (int c = 0; c < count; c++)
            {
                TC d = max - values[c];
                sorted[c] = d;
                if (d > largest) largest = d;
            }
            ReadOnlySpan<TC> ascending = SortValues(sorted[..count], largest, values, MemoryMarshal.Cast<TC, int>(work.Slice(3 * K, K)));
            double tau = TMap.Scan(ascending, max - rest, hasNext, out bool conclusive);
            if (!conclusive) return new Result<TC>(max, SortBased<TC, TMap>(z, max, sorted), 0, false);
            if (TMap.SolvesOnSupport) tau = SolveOnRow(z, max, tau);
            return new Result<TC>(max, tau, count, Listed(rest, hasNext, m, tau));
        }

        /// <summary>Every non-candidate gets p = 0 (h is monotone, so the largest one, <paramref name="rest"/>, tells).</summary>
        private static bool Listed(TC rest, bool hasNext, double m, double tau) =>
            !hasNext || TC.IsNegativeInfinity(rest) || TMap.Map(double.CreateTruncating(rest) - m, tau) == 0;

        /// <summary>Newton's method on f(θ) = Σ h(v_j − θ) − 1 from a lower bound θ₀ (f(θ₀) ≥ 0), vectorised in TC: every
        /// iterate is a lower bound of the root (f is convex and decreasing), up to rounding, which the caller's margin covers.
        /// Stops when a step is below <paramref name="tolerance"/> of the distance to the max: the bound only has to be close
        /// enough that few non-support elements lie between it and the root.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static double Newton(ReadOnlySpan<TC> v, double theta, double m, double tolerance)
        {
            ref TC src = ref MemoryMarshal.GetReference(v);
            int n = v.Length, w = TSimd.Count;
            TVec zero = TSimd.Broadcast(TC.Zero);
            for (int iteration = 0; iteration < 50; iteration++)
            {
                TC t = TC.CreateTruncating(theta);
                TVec tv = TSimd.Broadcast(t), f0 = zero, d0 = zero, f1 = zero, d1 = zero;
                int i = 0;
                for (; i <= n - 2 * w; i += 2 * w)
                {
                    TMap.AddTerms<TC, TVec, TSimd>(TSimd.Max(TSimd.Subtract(TSimd.Load(ref src, (nuint)i), tv), zero), ref f0, ref d0);
                    TMap.AddTerms<TC, TVec, TSimd>(TSimd.Max(TSimd.Subtract(TSimd.Load(ref src, (nuint)(i + w)), tv), zero), ref f1, ref d1);
                }
                double f = double.CreateTruncating(TSimd.Sum(TSimd.Add(f0, f1))), df = double.CreateTruncating(TSimd.Sum(TSimd.Add(d0, d1)));
                double th = double.CreateTruncating(t);
                for (; i < n; i++)
                {
                    double d = double.CreateTruncating(Unsafe.Add(ref src, i)) - th;
                    if (d > 0) TMap.AddTerms(d, ref f, ref df);
                }
                if (!(df > 0)) break;
                double next = th + (f - 1) / df;
                if (!(next > theta)) break;              // at the root, to rounding
                double step = next - theta;
                theta = next;
                if (step <= tolerance * (m - theta)) break;
            }
            return theta;
        }

        /// <summary>The lane-wise maxima of 4 vector accumulators into <paramref name="destination"/> and the row's max;
        /// returns their count (0 for a row shorter than 8 vectors, whose bound stays m − Reach, and whose max is not taken).</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int LaneMaxima(ReadOnlySpan<TC> z, Span<TC> destination, out TC max)
        {
            int n = z.Length, w = TSimd.Count;
            max = TC.NegativeInfinity;
            if (n < 8 * w) return 0;
            ref TC src = ref MemoryMarshal.GetReference(z);
            TVec a0 = TSimd.Load(ref src, 0), a1 = TSimd.Load(ref src, (nuint)w), a2 = TSimd.Load(ref src, (nuint)(2 * w)), a3 = TSimd.Load(ref src, (nuint)(3 * w));
            int i = 4 * w;
            for (; i <= n - 4 * w; i += 4 * w)
            {
                a0 = TSimd.Max(a0, TSimd.Load(ref src, (nuint)i));
                a1 = TSimd.Max(a1, TSimd.Load(ref src, (nuint)(i + w)));
                a2 = TSimd.Max(a2, TSimd.Load(ref src, (nuint)(i + 2 * w)));
                a3 = TSimd.Max(a3, TSimd.Load(ref src, (nuint)(i + 3 * w)));
            }
            // Lanes stay distinct elements of the row (the tail is left out: S need only be a subset).
            max = TSimd.MaxAcross(TSimd.Max(TSimd.Max(a0, a1), TSimd.Max(a2, a3)));
            for (; i < n; i++) max = TC.Max(max, Unsafe.Add(ref src, i));
            ref TC dst = ref MemoryMarshal.GetReference(destination);
            TSimd.Store(a0, ref dst, 0);
            TSimd.Store(a1, ref dst, (nuint)w);
            TSimd.Store(a2, ref dst, (nuint)(2 * w));
            TSimd.Store(a3, ref dst, (nuint)(3 * w));
            return 4 * w;
        }

        /// <summary>The mask's lanes as bits (lane i → bit i).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong Bits(TVec mask)
        {
            if (typeof(TVec) == typeof(Vector512<TC>)) return Unsafe.As<TVec, Vector512<TC>>(ref mask).ExtractMostSignificantBits();
            if (typeof(TVec) == typeof(Vector256<TC>)) return Unsafe.As<TVec, Vector256<TC>>(ref mask).ExtractMostSignificantBits();
            return Unsafe.As<TVec, Vector128<TC>>(ref mask).ExtractMostSignificantBits();
        }

        /// <summary>Copies z_j &gt; <paramref name="bound"/> and j into <paramref name="values"/>/<paramref name="indices"/>
        /// in index order and returns their count; <paramref name="rest"/> is the largest other element (−∞ if none; NaN
        /// is neither).</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int Select(ReadOnlySpan<TC> z, TC bound, Span<TC> values, Span<int> indices, out TC rest)
        {
            ref TC src = ref MemoryMarshal.GetReference(z);
            ref TC val = ref MemoryMarshal.GetReference(values);
            ref int idx = ref MemoryMarshal.GetReference(indices);
            int n = z.Length, w = TSimd.Count, i = 0, count = 0;
            TVec b = TSimd.Broadcast(bound), ninf = TSimd.Broadcast(TC.NegativeInfinity), acc = ninf;
            if (Avx512F.IsSupported && typeof(TC) == typeof(float) && typeof(TVec) == typeof(Vector512<TC>))
            {
                // Branch-free: compress each vector's candidates and their indices to the end of the lists (the stores write
                // a whole vector from position count ≤ i, so they stay within the K-element buffers).
                ref float fval = ref Unsafe.As<TC, float>(ref val);
                Vector512<int> lane = Vector512<int>.Indices;
                for (; i <= n - w; i += w)
                {
                    TVec v = TSimd.Load(ref src, (nuint)i);
                    acc = TSimd.Max(acc, TSimd.Select(TSimd.LessThanOrEqual(v, b), v, ninf));
                    Vector512<float> above = Unsafe.As<TVec, Vector512<float>>(ref v);
                    Vector512<float> mask = Vector512.GreaterThan(above, Unsafe.As<TVec, Vector512<float>>(ref b));
                    Avx512F.Compress(Vector512<float>.Zero, mask, above).StoreUnsafe(ref fval, (nuint)count);
                    Avx512F.Compress(Vector512<int>.Zero, mask.AsInt32(), lane + Vector512.Create(i)).StoreUnsafe(ref idx, (nuint)count);
                    count += BitOperations.PopCount(mask.ExtractMostSignificantBits());
                }
            }
            for (; i <= n - w; i += w)
            {
                TVec v = TSimd.Load(ref src, (nuint)i);
                acc = TSimd.Max(acc, TSimd.Select(TSimd.LessThanOrEqual(v, b), v, ninf));
                for (ulong bits = Bits(TSimd.GreaterThan(v, b)); bits != 0; bits &= bits - 1)
                {
                    int j = i + BitOperations.TrailingZeroCount(bits);
                    Unsafe.Add(ref val, count) = Unsafe.Add(ref src, j);
                    Unsafe.Add(ref idx, count) = j;
                    count++;
                }
            }
            rest = i > 0 ? TSimd.MaxAcross(acc) : TC.NegativeInfinity;
            for (; i < n; i++)
            {
                TC x = Unsafe.Add(ref src, i);
                if (x > bound) { Unsafe.Add(ref val, count) = x; Unsafe.Add(ref idx, count) = i; count++; }
                else if (x > rest) rest = x;
            }
            return count;
        }
    }
}
