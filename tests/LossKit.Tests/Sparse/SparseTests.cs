using LossKit.Checking;
using LossKit.Core;
using LossKit.Sparse;
using LossKit.Tests.RowLosses;

namespace LossKit.Tests.Sparse;

/// <summary>sparsemax and entmax15: the exact maps, ℓ ≥ 0 with equality exactly at p = q, soft targets, edge cases.</summary>
public class SparseTests
{
    private static SparseFenchelYoungLoss[] Losses(Reduction r = Reduction.Mean) => [new SparsemaxLoss(reduction: r), new Entmax15Loss(reduction: r)];

    [Fact]
    public void MapsSumToOneAndMatchBisection()
    {
        foreach (var loss in Losses())
            foreach (double scale in new[] { 0.01, 0.5, 2, 30, 1e6 })
            {
                const int N = 12, K = 9;
                double[] z = RowLossReference.Logits(7, N, K, scale);
                var p = new double[z.Length];
                loss.Probabilities<double>(z, K, p);
                for (int r = 0; r < N; r++)
                {
                    double[] row = z.AsSpan(r * K, K).ToArray();
                    double[] pr = p.AsSpan(r * K, K).ToArray();
                    Assert.Equal(1.0, pr.Sum(), 12);
                    Assert.All(pr, v => Assert.True(v >= 0));
                    Assert.InRange(RowLossReference.MaxError(pr, RowLossReference.SparseMap(loss, row).P), 0, 1e-9);
                    // The maps preserve order and are sparse at large scale.
                    Assert.Equal(Array.IndexOf(row, row.Max()), Array.IndexOf(pr, pr.Max()));
                }
                if (scale >= 30) Assert.Contains(p, v => v == 0);
            }
    }

    [Fact]
    public void SoftTargetsMatchTheFormulaAndGradientIsPMinusQ()
    {
        foreach (var loss in Losses(Reduction.Sum))
        {
            const int N = 10, K = 6;
            double[] z = RowLossReference.Logits(4, N, K, 1.5);
            double[] q = GradientCheck.RandomDistributions(new Random(4), N, K);
            var rows = new double[N];
            var g = new double[z.Length];
            var p = new double[z.Length];
            loss.ComputeSoft<double>(z, K, q, rows, g);
            loss.Probabilities<double>(z, K, p);
            for (int r = 0; r < N; r++)
                Assert.Equal(RowLossReference.SoftRow(loss, z.AsSpan(r * K, K).ToArray(), q.AsSpan(r * K, K).ToArray()), rows[r], 9);
            for (int i = 0; i < z.Length; i++) Assert.Equal(p[i] - q[i], g[i], 14);
            var check = LossKit.Tests.Checking.TestChecks.GradientSoft(loss, z, K, q);
            Assert.True(check.Passed, check.ToString());
        }
    }

    [Fact]
    public void NonNegativeAndZeroExactlyWhenTheMapEqualsTheTarget()
    {
        // One-hot targets with the target logit ≥ 1 (sparsemax) or ≥ 2 (entmax15) above the rest: ℓ = 0 exactly, ∇ = 0.
        var g = new double[4];
        Assert.Equal(0.0, new SparsemaxLoss().Compute<double>([0.5, 3, 2, -7], 4, [1], default, g));
        Assert.All(g, v => Assert.Equal(0.0, v));
        Assert.Equal(0.0, new Entmax15Loss().Compute<double>([0.5, 4, 2, -7], 4, [1], default, g));
        Assert.All(g, v => Assert.Equal(0.0, v));
        // Just inside the margin the loss is positive.
        Assert.True(new SparsemaxLoss().Compute<double>([0.5, 2.9, 2, -7], 4, [1]) > 0);
        Assert.True(new Entmax15Loss().Compute<double>([0.5, 3.9, 2, -7], 4, [1]) > 0);
        // A soft target that equals the map: ℓ = 0 (up to rounding).
        foreach (var loss in Losses())
        {
            double[] z = [0.3, -0.2, 0.9, -3, 0.1];
            var p = new double[5];
            loss.Probabilities<double>(z, 5, p);
            Assert.InRange(loss.ComputeSoft<double>(z, 5, p), 0, 1e-15);
            // and ℓ ≥ 0 everywhere else.
            var rng = new Random(3);
            for (int t = 0; t < 200; t++)
            {
                double[] zz = GradientCheck.RandomLogits(rng, 1, 5, 3);
                double[] qq = GradientCheck.RandomDistributions(rng, 1, 5);
                Assert.True(loss.ComputeSoft<double>(zz, 5, qq) >= 0);
                Assert.True(loss.Compute<double>(zz, 5, [t % 5]) >= 0);
            }
        }
    }

    [Fact]
    public void EntmaxSignConventionAgreesWithTheFenchelYoungDefinition()
    {
        // ℓ = Ω*(z) + Ω(q) − q·z with Ω = −H, Ω*(z) = max_p p·z + H(p): evaluate the max by brute force on a grid (K = 3).
        double H(double[] p) => 4.0 / 3.0 * p.Sum(v => v - Math.Pow(v, 1.5));
        double[] z = [0.7, -0.4, 0.2];
        double[] q = [0.2, 0.5, 0.3];
        double best = double.NegativeInfinity;
        const int G = 600;
        for (int i = 0; i <= G; i++)
            for (int j = 0; i + j <= G; j++)
            {
                double[] p = [i / (double)G, j / (double)G, (G - i - j) / (double)G];
                best = Math.Max(best, p[0] * z[0] + p[1] * z[1] + p[2] * z[2] + H(p));
            }
        double expected = best - H(q) - (q[0] * z[0] + q[1] * z[1] + q[2] * z[2]);
        Assert.Equal(expected, new Entmax15Loss().ComputeSoft<double>(z, 3, q), 4);
    }

    [Fact]
    public void MaskedClassesGetZeroProbabilityAndMassOnThemIsInfinite()
    {
        double ninf = double.NegativeInfinity;
        foreach (var loss in Losses())
        {
            double[] z = [0.4, ninf, 0.1, 0.3];
            var p = new double[4];
            loss.Probabilities<double>(z, 4, p);
            Assert.Equal(0.0, p[1]);
            var rows = new double[1];
            var g = new double[4];
            loss.ComputeSoft<double>(z, 4, [0.25, 0.25, 0.25, 0.25], rows, g);
            Assert.Equal(double.PositiveInfinity, rows[0]);
            Assert.All(g, v => Assert.Equal(0.0, v));
            Assert.True(double.IsFinite(loss.ComputeSoft<double>(z, 4, [0.5, 0, 0.25, 0.25], rows, g)));
            Assert.Equal(0.0, g[1]);
        }
    }

    [Fact]
    public void SoftTargetsWithWeightsUseTheExpectedClassWeight()
    {
        foreach (var loss in new SparseFenchelYoungLoss[] { new SparsemaxLoss([1, 2, 4], reduction: Reduction.Sum), new Entmax15Loss([1, 2, 4], reduction: Reduction.Sum) })
        {
            double[] z = [0.4, -0.3, 0.1];
            double[] q = [0.5, 0.25, 0.25];
            var unweighted = loss is SparsemaxLoss ? (SparseFenchelYoungLoss)new SparsemaxLoss(reduction: Reduction.Sum) : new Entmax15Loss(reduction: Reduction.Sum);
            Assert.Equal(2 * unweighted.ComputeSoft<double>(z, 3, q), loss.ComputeSoft<double>(z, 3, q), 14);
            // One-hot soft rows equal class-index rows.
            Assert.Equal(loss.Compute<double>(z, 3, [2]), loss.ComputeSoft<double>(z, 3, [0, 0, 1.0]), 14);
        }
    }

    [Fact]
    public void SoftTargetBadInputsNameRowAndValue()
    {
        foreach (var loss in Losses())
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => loss.ComputeSoft<double>(new double[6], 3, [1, 0, 0, 0.5, 0.5, -0.1]));
            Assert.Equal("softTargets", e.ParamName);
            Assert.Equal(1, Assert.IsType<RowException>(e).Row);
            Assert.Contains("-0.1", e.Message);
            e = Assert.ThrowsAny<ArgumentException>(() => loss.ComputeSoft<double>(new double[6], 3, [1, 0, 0, 0.5, 0.2, 0.2]));
            Assert.Contains("sums to", e.Message);
            e = Assert.ThrowsAny<ArgumentException>(() => loss.ComputeSoft<double>(new double[6], 3, [1, 0, 0]));
            Assert.Equal("softTargets", e.ParamName);
        }
    }

    [Fact]
    public void FloatAndHalfSoftTargetsFollowDouble()
    {
        foreach (var loss in Losses())
        {
            double[] z = RowLossReference.Logits(6, 5, 4, 1).Select(v => (double)(Half)v).ToArray();
            double[] q = GradientCheck.RandomDistributions(new Random(6), 5, 4).Select(v => (double)(Half)v).ToArray();
            for (int r = 0; r < 5; r++) { double s = q.AsSpan(r * 4, 4).ToArray().Sum(); for (int k = 0; k < 4; k++) q[r * 4 + k] /= s; }
            double d = loss.ComputeSoft<double>(z, 4, q);
            Assert.Equal(d, loss.ComputeSoft<float>(z.Select(v => (float)v).ToArray(), 4, q.Select(v => (float)v).ToArray()), 5);
            Assert.Equal(d, (double)loss.ComputeSoft<Half>(z.Select(v => (Half)v).ToArray(), 4, q.Select(v => (Half)v).ToArray()), 2);
        }
    }

    /// <summary>The previous algorithm, kept here as the reference: τ of sparsemax from a full descending sort.</summary>
    private static double FullSortSparsemaxTau(double[] row)
    {
        double m = row.Max();
        double[] sorted = [.. row.Select(v => m - v).Order()];
        double cumulative = 0, tau = -1;
        for (int k = 1; k <= sorted.Length; k++)
        {
            double u = -sorted[k - 1];
            if (double.IsNegativeInfinity(u)) break;
            cumulative += u;
            if (1 + k * u > cumulative) tau = (cumulative - 1) / k;
            else break;
        }
        return tau;
    }

    [Fact]
    public void SortingOnlyTheCandidatesGivesTheFullSortsBits()
    {
        var rng = new Random(11);
        const int K = 300;
        foreach (double scale in new[] { 0.05, 0.3, 1, 3, 40 })
            for (int rep = 0; rep < 20; rep++)
            {
                double[] row = [.. Enumerable.Range(0, K).Select(_ => scale * (2 * rng.NextDouble() - 1))];
                row[rng.Next(K)] = double.NegativeInfinity;
                var p = new double[K];
                new SparsemaxLoss().Probabilities<double>(row, K, p);
                double m = row.Max(), tau = FullSortSparsemaxTau(row);
                for (int k = 0; k < K; k++)
                    Assert.Equal(double.IsNegativeInfinity(row[k]) ? 0 : Math.Max(row[k] - m - tau, 0), p[k]);
            }
    }
}
