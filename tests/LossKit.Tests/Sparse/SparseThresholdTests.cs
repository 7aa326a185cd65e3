using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using LossKit.Core;
using LossKit.Sparse;

namespace LossKit.Tests.Sparse;

/// <summary>
/// The threshold found without sorting the row (<see cref="SparseThreshold"/>) against the exact algorithm on the whole row
/// sorted, to the bit, on adversarial rows, in float and double, at every vector width (1.5-entmax: τ solved on the support
/// the full sort finds); and the losses' values and gradients against the full-row loop with that τ.
/// </summary>
public class SparseThresholdTests
{
    /// <summary>The exact sort-based algorithm, written out on its own: sort all of max − z (in TC, as the loss does), then
    /// the loop of Martins &amp; Astudillo (sparsemax) or of Peters et al. (1.5-entmax, Welford's update) until its first
    /// failing test.</summary>
    private static double FullSortTau<TC>(TC[] z, bool entmax) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        double scanTau = ScanTau(z, entmax);
        // 1.5-entmax: τ solved on the support the sort found (SparseThreshold.SolveOnRow; checked against the scan's τ and
        // the defining equation in SolvedTauIsTheScansToRoundingAndARoot).
        return entmax ? SparseThreshold.SolveOnRow(z, TensorPrimitives.Max<TC>(z), scanTau) : scanTau;
    }

    private static double ScanTau<TC>(TC[] z, bool entmax) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        TC max = TensorPrimitives.Max<TC>(z);
        TC[] sorted = [.. z.Select(v => max - v).Where(d => !TC.IsNaN(d))];
        Array.Sort(sorted);
        double tau = -1;
        if (!entmax)
        {
            double cumulative = 0;
            for (int k = 1; k <= sorted.Length; k++)
            {
                double u = -double.CreateTruncating(sorted[k - 1]);
                if (double.IsNegativeInfinity(u)) break;
                cumulative += u;
                if (1 + k * u > cumulative) tau = (cumulative - 1) / k;
                else break;
            }
            return tau;
        }
        double mean = 0, m2 = 0;
        for (int k = 1; k <= sorted.Length; k++)
        {
            double x = -0.5 * double.CreateTruncating(sorted[k - 1]);
            if (double.IsNegativeInfinity(x)) break;
            double delta = x - mean;
            mean += delta / k;
            m2 += delta * (x - mean);
            double tauK = mean - Math.Sqrt(Math.Max((1 - m2) / k, 0));
            if (tauK <= x) tau = tauK;
            else break;
        }
        return tau;
    }

    private static double MapOf(bool entmax, double u, double tau)
    {
        if (!entmax) return Math.Max(u - tau, 0);
        double v = Math.Max(0.5 * u - tau, 0);
        return v * v;
    }

    /// <summary>Adversarial rows (as doubles; each test rounds them to its type).</summary>
    private static IEnumerable<(string Name, double[] Row)> Rows()
    {
        var rng = new Random(13);
        double[] Uniform(int k, double scale, double offset = 0) => [.. Enumerable.Range(0, k).Select(_ => offset + scale * (2 * rng.NextDouble() - 1))];
        foreach (int k in new[] { 1, 2, 3, 5, 17, 64, 129, 1000, 32000 })
            foreach (double scale in new[] { 1e-6, 0.01, 0.3, 1, 4, 40 })
                yield return ($"uniform K={k} ±{scale}", Uniform(k, scale));
        foreach (int k in new[] { 1, 2, 3, 200, 32000 })
        {
            yield return ($"all equal K={k}", Enumerable.Repeat(0.75, k).ToArray());
            yield return ($"all zero K={k}", new double[k]);
        }
        // The whole row in the support (every logit within 1/K of the max), and a large common offset.
        foreach (int k in new[] { 100, 1000, 32000 })
        {
            yield return ($"whole-row support K={k}", Uniform(k, 0.1 / k));
            yield return ($"offset 1e4 K={k}", Uniform(k, 0.5, 1e4));
            yield return ($"offset -3e5 K={k}", Uniform(k, 2, -3e5));
        }
        // Ties at and around the support's boundary: values from a small grid.
        foreach (int k in new[] { 7, 96, 1000, 32000 })
            foreach (double step in new[] { 0.5, 0.25, 1.0 / 64 })
                yield return ($"grid {step} K={k}", [.. Enumerable.Range(0, k).Select(_ => -step * rng.Next(12))]);
        // Exact sparsemax/entmax boundary ties: k equal maxima and the rest exactly at the threshold's distance.
        foreach (int top in new[] { 1, 2, 4, 16 })
        {
            double[] row = [.. Enumerable.Repeat(-1.0 / top, 300)];
            for (int i = 0; i < top; i++) row[i * 7] = 0;
            yield return ($"sparsemax boundary tie top={top}", row);
            double[] row2 = [.. Enumerable.Repeat(-2.0 / Math.Sqrt(top), 300)];
            for (int i = 0; i < top; i++) row2[i * 7] = 0;
            yield return ($"entmax boundary tie top={top}", row2);
        }
        // One huge entry, ±large values, masked (−∞) classes, tiny and subnormal differences.
        foreach (int k in new[] { 2, 50, 1000, 32000 })
        {
            double[] huge = Uniform(k, 1);
            huge[rng.Next(k)] = 1e6;
            yield return ($"one huge K={k}", huge);
            double[] large = [.. Enumerable.Range(0, k).Select(_ => (rng.Next(2) == 0 ? -1 : 1) * 1e30 * rng.NextDouble())];
            yield return ($"±1e30 K={k}", large);
            double[] twoLarge = Uniform(k, 1);
            twoLarge[0] = 3e37;
            twoLarge[k - 1] = 3e37;
            yield return ($"two equal 3e37 K={k}", twoLarge);
            double[] masked = Uniform(k, 2);
            for (int i = 0; i < k; i += 3) masked[i] = double.NegativeInfinity;
            masked[1 % k] = 0.5;
            yield return ($"masked K={k}", masked);
            yield return ($"subnormal spread K={k}", [.. Enumerable.Range(0, k).Select(_ => 1e-40 * rng.Next(1000))]);
        }
        // A peaked row (a trained model's): one clear winner, a few near it, the rest far below.
        double[] peaked = Uniform(32000, 3, -10);
        for (int i = 0; i < 20; i++) peaked[rng.Next(32000)] = 5 - 0.05 * i;
        yield return ("peaked K=32000", peaked);
    }

    public static TheoryData<int> Widths => [512, 256, 128];

    /// <summary>1.5-entmax's τ solved on the support (index-order sums) is the sort-based loop's τ up to rounding, and a root
    /// of Σ_j ((z_j − m)/2 − τ)₊² = 1; a wrong solve (the mean's square root left out) fails both.</summary>
    [Fact]
    public void SolvedTauIsTheScansToRoundingAndARoot()
    {
        int rows = 0;
        foreach (var (name, row) in Rows())
        {
            if (!row.Any(double.IsFinite) || row.Any(double.IsPositiveInfinity)) continue;
            double max = row.Max(), scan = ScanTau(row, true), solved = FullSortTau(row, true);
            double scale = Math.Max(1, Math.Abs(scan));
            Assert.True(Math.Abs(solved - scan) <= 1e-12 * scale, $"{name}: solved τ {solved:R} against the scan's {scan:R}");
            double sum = row.Sum(z => { double v = Math.Max(-0.5 * (max - z) - solved, 0); return v * v; });
            Assert.True(Math.Abs(sum - 1) <= 1e-9, $"{name}: Σ(x − τ)₊² = {sum:R} at the solved τ");
            rows++;
        }
        Assert.True(rows > 100);
        double[] x = [-0.1, -0.2, -0.3];
        double wrong = x.Average();   // the solve without its root term
        Assert.NotEqual(wrong, SparseThreshold.SolveEntmax(x));
        double good = SparseThreshold.SolveEntmax(x);
        Assert.Equal(1, x.Sum(v => (v - good) * (v - good)), 12);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ThresholdIsTheFullSortsToTheBit(int width)
    {
        Assert.SkipWhen(width == 512 && !Vector512.IsHardwareAccelerated, "Vector512 is not hardware-accelerated here (no AVX-512), so the 512-bit kernel cannot run");
        Assert.SkipWhen(width == 256 && !Vector256.IsHardwareAccelerated, "Vector256 is not hardware-accelerated here (no AVX2), so the 256-bit kernel cannot run");
        int rows = 0;
        foreach (var (name, row) in Rows())
        {
            if (!row.Any(double.IsFinite)) continue;
            float[] f = [.. row.Select(v => (float)v)];
            if (f.Any(float.IsFinite) && !float.IsPositiveInfinity(f.Max()))
            {
                Check(name + " float", f, width, false);
                Check(name + " float", f, width, true);
            }
            Check(name + " double", row, width, false);
            Check(name + " double", row, width, true);
            rows++;
        }
        Assert.True(rows > 100);
    }

    private static void Check<TC>(string name, TC[] z, int width, bool entmax) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        TC max = TensorPrimitives.Max<TC>(z);
        var work = new TC[SparseThreshold.WorkLength(z.Length)];
        var result = entmax ? SparseThreshold.Find<TC, Entmax15Map>(z, work, width) : SparseThreshold.Find<TC, SparsemaxMap>(z, work, width);
        Assert.True(max.Equals(result.Max) && TC.IsNegative(max) == TC.IsNegative(result.Max), $"{name}: max {result.Max} against {max}");
        double expected = FullSortTau(z, entmax);
        string map = entmax ? "entmax15" : "sparsemax";
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(result.Tau),
            $"{name} {map} width {width}: τ {result.Tau:R} against the full sort's {expected:R}");
        // The fallback (the bounded sort) agrees too.
        double bounded = entmax ? SparseThreshold.SortBased<TC, Entmax15Map>(z, max, new TC[z.Length]) : SparseThreshold.SortBased<TC, SparsemaxMap>(z, max, new TC[z.Length]);
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(bounded), $"{name} {map}: the bounded sort's τ {bounded:R} against {expected:R}");
        if (!result.Listed) return;
        // The candidates are in index order and every other entry gets p = 0.
        var candidates = new HashSet<int>();
        int previous = -1;
        foreach (int k in SparseThreshold.Candidates<TC>(work, z.Length)[..result.Count])
        {
            Assert.True(k > previous, $"{name} {map}: candidates out of order");
            previous = k;
            candidates.Add(k);
        }
        double m = double.CreateTruncating(max);
        for (int k = 0; k < z.Length; k++)
            if (!candidates.Contains(k) && !TC.IsNegativeInfinity(z[k]))
                Assert.True(MapOf(entmax, double.CreateTruncating(z[k]) - m, expected) == 0, $"{name} {map}: index {k} is no candidate but has p > 0");
    }

    /// <summary>The old row loop over every entry, with the full sort's τ: loss and s·(p − q).</summary>
    private static double ReferenceRow<TC>(TC[] z, int target, TC[]? soft, bool entmax, TC[] gradient) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        double m = double.CreateTruncating(TensorPrimitives.Max<TC>(z));
        double tau = FullSortTau(z, entmax);
        double dot = 0, sq = 0, hp = 0, hq = 0, hinge = 0;
        for (int k = 0; k < z.Length; k++)
        {
            double zk = double.CreateTruncating(z[k]);
            double q = soft is not null ? double.CreateTruncating(soft[k]) : (k == target ? 1 : 0);
            double p = double.IsNegativeInfinity(zk) ? 0 : MapOf(entmax, zk - m, tau);
            double d = p - q;
            gradient[k] = TC.CreateTruncating(1.0 * d);
            if (p == 0 && q == 0) continue;
            double u = zk - m;
            dot += d * u;
            sq += d * d;
            hp += p - p * Math.Sqrt(p);
            hq += q - q * Math.Sqrt(q);
            if (q > 0) hinge += q * Math.Max(tau - u, 0);
        }
        return Math.Max(entmax ? dot + 4.0 / 3.0 * (hp - hq) : 0.5 * sq + hinge, 0);
    }

    [Fact]
    public void LossesAndGradientsAreTheFullRowLoopsToTheBit()
    {
        var rng = new Random(5);
        int checkedRows = 0;
        foreach (var (name, row) in Rows())
        {
            if (row.Length > 1000 && checkedRows % 3 != 0) { checkedRows++; continue; }   // keep the test quick
            checkedRows++;
            int K = row.Length;
            int[] finite = [.. Enumerable.Range(0, K).Where(k => double.IsFinite(row[k]))];
            if (finite.Length == 0) continue;
            int target = finite[rng.Next(finite.Length)];
            double[] q = [.. Enumerable.Range(0, K).Select(k => double.IsFinite(row[k]) && rng.Next(3) == 0 ? rng.NextDouble() : 0)];
            if (q.Sum() == 0) q[target] = 1;
            double qs = q.Sum();
            for (int k = 0; k < K; k++) q[k] /= qs;
            foreach (bool entmax in new[] { false, true })
            {
                SparseFenchelYoungLoss loss = entmax ? new Entmax15Loss(reduction: Reduction.None) : new SparsemaxLoss(reduction: Reduction.None);
                CompareRow(name, row, target, q, loss, entmax);
                float[] f = [.. row.Select(v => (float)v)];
                if (!float.IsPositiveInfinity(f.Max()))
                {
                    float[] qf = [.. q.Select(v => (float)v)];
                    CompareRow(name + " float", f, target, qf, loss, entmax);
                }
            }
        }
    }

    private static void CompareRow<TC>(string name, TC[] z, int target, TC[] q, SparseFenchelYoungLoss loss, bool entmax) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        int K = z.Length;
        var rows = new TC[1];
        var g = new TC[K];
        var expectedG = new TC[K];
        loss.Compute<TC>(z, K, [target], rows, g);
        double expected = ReferenceRow(z, target, null, entmax, expectedG);
        Assert.True(TC.CreateTruncating(expected).Equals(rows[0]), $"{name} {loss.Spec} class-index loss {rows[0]} against {expected:R}");
        for (int k = 0; k < K; k++)
            Assert.True(expectedG[k].Equals(g[k]) && TC.IsNegative(expectedG[k]) == TC.IsNegative(g[k]), $"{name} {loss.Spec} class-index gradient [{k}]: {g[k]} against {expectedG[k]}");
        loss.ComputeSoft<TC>(z, K, q, rows, g);
        expected = ReferenceRow(z, -1, q, entmax, expectedG);
        Assert.True(TC.CreateTruncating(expected).Equals(rows[0]), $"{name} {loss.Spec} soft loss {rows[0]} against {expected:R}");
        for (int k = 0; k < K; k++)
            Assert.True(expectedG[k].Equals(g[k]), $"{name} {loss.Spec} soft gradient [{k}]: {g[k]} against {expectedG[k]}");
    }
}
