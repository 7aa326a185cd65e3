using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Metrics;
using LossKit.Ranking;

namespace LossKit.Tests.Ranking;

/// <summary>NeuralNDCG and PSL against slow references written directly from their definitions (full matrices for
/// NeuralSort and every Sinkhorn iterate; the PSL sum with σ(d)^{1/τ} taken as a power), finite-difference gradients in
/// double, padding, the properties their cards claim, extreme and bad inputs.</summary>
public class NeuralNdcgAndPslTests
{
    private static double Gain(double y) => Math.Pow(2, y) - 1;

    /// <summary>NeuralNDCG of one unpadded list, as the paper and allRank define it: P̂ row by row, Sinkhorn on the
    /// whole matrix (columns, then rows, sums floored at 1e-10), then −Σ_{r≤k} (P·g)_r/log₂(1 + r)/IDCG@k.</summary>
    internal static double NeuralNdcgReference(double[] s, double[] y, double tau, int k, int iterations)
    {
        int n = s.Length;
        k = k == 0 ? n : Math.Min(k, n);
        double idcg = y.OrderByDescending(v => v).Take(k).Select((v, r) => Gain(v) / Math.Log2(r + 2)).Sum();
        if (idcg == 0) return 0;
        var p = new double[n, n];
        for (int r = 1; r <= n; r++)
        {
            double[] logits = [.. Enumerable.Range(0, n).Select(i => ((n + 1 - 2 * r) * s[i] - Enumerable.Range(0, n).Sum(j => Math.Abs(s[i] - s[j]))) / tau)];
            double max = logits.Max();
            double[] e = [.. logits.Select(z => Math.Exp(z - max))];
            for (int i = 0; i < n; i++) p[r - 1, i] = e[i] / e.Sum();
        }
        for (int t = 0; t < iterations; t++)
        {
            for (int j = 0; j < n; j++)
            {
                double c = Math.Max(Enumerable.Range(0, n).Sum(i => p[i, j]), 1e-10);
                for (int i = 0; i < n; i++) p[i, j] /= c;
            }
            for (int i = 0; i < n; i++)
            {
                double c = Math.Max(Enumerable.Range(0, n).Sum(j => p[i, j]), 1e-10);
                for (int j = 0; j < n; j++) p[i, j] /= c;
            }
        }
        double dcg = 0;
        for (int r = 0; r < k; r++) dcg += Enumerable.Range(0, n).Sum(i => p[r, i] * Gain(y[i])) / Math.Log2(r + 2);
        return -dcg / idcg;
    }

    /// <summary>PSL of one unpadded list: Σ over positives i of log Σ_j σ(s_j − s_i)^{1/τ}, σ written out.</summary>
    internal static double PslReference(double[] s, double[] y, double tau, string activation)
    {
        double Sigma(double d) => activation switch
        {
            "tanh" => Math.Tanh(d) + 1,
            "atan" => Math.Max(0, Math.Atan(d) + 1),
            _ => Math.Max(0, d + 1),
        };
        return Enumerable.Range(0, s.Length).Where(i => y[i] > 0)
            .Sum(i => Math.Log(Enumerable.Range(0, s.Length).Sum(j => Math.Pow(Sigma(s[j] - s[i]), 1 / tau))));
    }

    /// <summary>Four lists padded to 7: lengths 7, 5, 2 and 4 (the last without a relevant item), seeded.</summary>
    private static (double[] S, double[] Y, double[] Mask, int[] Lengths) Batch(int seed, double scale = 2)
    {
        var rng = new Random(seed);
        int[] lengths = [7, 5, 2, 4];
        double[] s = new double[28], y = new double[28], mask = new double[28];
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 7; j++)
            {
                int i = r * 7 + j;
                s[i] = scale * (2 * rng.NextDouble() - 1);
                y[i] = r == 3 ? 0 : rng.Next(4);
                mask[i] = j < lengths[r] ? 1 : 0;
            }
        return (s, y, mask, lengths);
    }

    public static TheoryData<double, int, int> NeuralNdcgOptions => new()
    {
        { 1, 0, 50 }, { 0.3, 0, 50 }, { 2, 3, 50 }, { 0.5, 1, 7 }, { 1, 0, 0 }, { 0.1, 5, 200 },
    };

    [Theory]
    [MemberData(nameof(NeuralNdcgOptions))]
    public void NeuralNdcgMatchesTheMatrixReference(double tau, int k, int iterations)
    {
        var (s, y, mask, lengths) = Batch(3);
        var loss = new NeuralNdcgLoss(tau, k, iterations, Reduction.None);
        var unreduced = new double[4];
        loss.Compute<double>(s, 7, y, mask, unreduced);
        for (int r = 0; r < 4; r++)
        {
            double expected = NeuralNdcgReference(s[(r * 7)..(r * 7 + lengths[r])], y[(r * 7)..(r * 7 + lengths[r])], tau, k, iterations);
            Assert.True(Math.Abs(unreduced[r] - expected) <= 1e-12, $"{loss.Spec} list {r}: {unreduced[r]} vs {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(NeuralNdcgOptions))]
    public void NeuralNdcgGradientIsExact(double tau, int k, int iterations)
    {
        var (s, y, mask, _) = Batch(4);
        var loss = new NeuralNdcgLoss(tau, k, iterations);
        var result = GradientCheck.Check((x, g) => loss.Compute<double>(x, 7, y, mask, default, g), s, loss.Spec);
        Assert.True(result.Passed, result.ToString());
    }

    [Theory]
    [InlineData("tanh", 1)]
    [InlineData("tanh", 0.2)]
    [InlineData("atan", 0.5)]
    [InlineData("atan", 2)]
    [InlineData("relu", 0.5)]
    [InlineData("relu", 1)]
    public void PslMatchesItsFormulaAndItsGradientIsExact(string activation, double tau)
    {
        var (s, y, mask, lengths) = Batch(5, scale: 3);   // gaps up to 6: atan's and relu's clipped ranges are visited
        var loss = new PslLoss(tau, activation, Reduction.None);
        var unreduced = new double[4];
        loss.Compute<double>(s, 7, y, mask, unreduced);
        for (int r = 0; r < 4; r++)
        {
            double expected = PslReference(s[(r * 7)..(r * 7 + lengths[r])], y[(r * 7)..(r * 7 + lengths[r])], tau, activation);
            Assert.True(Math.Abs(unreduced[r] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{loss.Spec} list {r}: {unreduced[r]} vs {expected}");
        }
        var mean = new PslLoss(tau, activation);
        var result = GradientCheck.Check((x, g) => mean.Compute<double>(x, 7, y, mask, default, g), s, mean.Spec);
        Assert.True(result.Passed, result.ToString());
    }

    [Theory]
    [InlineData("neural_ndcg")]
    [InlineData("neural_ndcg(tau=0.2, k=3, iterations=10)")]
    [InlineData("psl")]
    [InlineData("psl(activation=relu, tau=0.5)")]
    public void AppendingPaddedItemsChangesNothing(string spec)
    {
        var (s, y, mask, _) = Batch(6);
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec));
        var u = new double[4];
        var g = new double[28];
        double value = loss.Compute<double>(s, 7, y, mask, u, g);
        // The same lists padded to 11, the new places holding wild scores and labels behind the mask.
        double[] s2 = new double[44], y2 = new double[44], m2 = new double[44];
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 11; j++)
                (s2[r * 11 + j], y2[r * 11 + j], m2[r * 11 + j]) = j < 7 ? (s[r * 7 + j], y[r * 7 + j], mask[r * 7 + j]) : (1e6 * (j - 8), 30, 0);
        var u2 = new double[4];
        var g2 = new double[44];
        double value2 = loss.Compute<double>(s2, 11, y2, m2, u2, g2);
        Assert.Equal(u, u2);
        Assert.Equal(value, value2, 15);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 11; j++)
                Assert.Equal(j < 7 ? g[r * 7 + j] : 0, g2[r * 11 + j]);
    }

    [Fact]
    public void NeuralNdcgLiesInMinusOneToZeroAndTendsToMinusNdcgAsTauFalls()
    {
        var (s, y, mask, _) = Batch(7);
        foreach (double tau in new[] { 10, 1, 0.1 })
        {
            var u = new double[4];
            new NeuralNdcgLoss(tau, reduction: Reduction.None).Compute<double>(s, 7, y, mask, u);
            Assert.All(u, v => Assert.InRange(v, -1, 0));
        }
        foreach (int k in new[] { 1, 3, 5 })
        {
            var u = new double[4];
            new NeuralNdcgLoss(1e-3, k, reduction: Reduction.None).Compute<double>(s, 7, y, mask, u);
            double[] ndcg = RankingMetrics.NdcgAt<double>(s, 7, y, mask, k);
            for (int r = 0; r < 4; r++)
            {
                bool relevant = Enumerable.Range(r * 7, 7).Any(i => mask[i] == 1 && y[i] > 0);
                Assert.Equal(relevant ? -ndcg[r] : 0, u[r], 6);   // no relevant item: 0 (NDCG's convention there is 1)
            }
        }
        // A perfectly ordered list with well separated scores: −1.
        Assert.Equal(-1, new NeuralNdcgLoss(0.1).Compute<double>([30, 20, 10, 0], 4, [3, 2, 1, 0], []), 10);
    }

    [Fact]
    public void PslIsNonNegativeBinaryAndZeroWithoutAPositive()
    {
        var (s, y, mask, _) = Batch(8);
        var loss = new PslLoss(0.5, reduction: Reduction.None);
        var u = new double[4];
        loss.Compute<double>(s, 7, y, mask, u);
        Assert.All(u, v => Assert.True(v >= 0));
        Assert.Equal(0, u[3]);
        // Only y > 0 matters: graded labels give the loss of their binarised copy.
        double[] binary = [.. y.Select(v => v > 0 ? 1.0 : 0)];
        var ub = new double[4];
        loss.Compute<double>(s, 7, binary, mask, ub);
        Assert.Equal(u, ub);
    }

    [Theory]
    [InlineData("neural_ndcg(tau=0.05)")]
    [InlineData("neural_ndcg(k=2, iterations=1000)")]
    [InlineData("psl(tau=0.05)")]
    [InlineData("psl(activation=atan, tau=5)")]
    [InlineData("psl(activation=relu, tau=5)")]
    public void ExtremeScoresAndTiesGiveFiniteResults(string spec)
    {
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec));
        double[] y = [3, 0, 1, 2, 0, 1];
        foreach (double[] s in new[] { new double[] { 1e30, -1e30, 1e30, 0, -1e30, 1e-30 }, new double[6], new double[] { 1e300, 1e300, -1e300, 5, 5, 5 } })
        {
            var g = new double[6];
            double value = loss.Compute<double>(s, 6, y, [], default, g);
            Assert.True(double.IsFinite(value), $"{spec}: {value}");
            Assert.All(g, v => Assert.True(double.IsFinite(v), $"{spec}: gradient {v}"));
        }
    }

    [Fact]
    public void BadOptionsAndInputsNameTheArgument()
    {
        var tau = Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralNdcgLoss(tau: 0));
        Assert.Equal("tau", tau.ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralNdcgLoss(k: -1)).ParamName);
        var iterations = Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralNdcgLoss(iterations: 1001));
        Assert.Contains("iterations = 1001", iterations.Message);
        Assert.Equal("activation", Assert.Throws<ArgumentException>(() => new PslLoss(activation: "exp")).ParamName);
        Assert.Equal("tau", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("psl(tau=-1)")).ParamName);
        var label = Assert.Throws<RowException>(() => new NeuralNdcgLoss().Compute<double>(new double[6], 3, [0, 1, 2, 3, 0.5, double.NaN], []));
        Assert.Equal("labels", label.ParamName);
        Assert.Contains("labels[1][2] = NaN", label.Message);
        var mask = Assert.Throws<RowException>(() => new PslLoss().Compute<double>(new double[3], 3, [0, 1, 0], [1, 2, 1]));
        Assert.Equal("mask", mask.ParamName);
    }
}
