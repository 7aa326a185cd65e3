using LossKit.Catalog;
using LossKit.Core;
using LossKit.Metrics;
using LossKit.Ranking;

namespace LossKit.Tests.Ranking;

/// <summary>Each ranking loss against a slow, obviously-correct reference written from its formula (pairs enumerated,
/// ranks by sorting, NDCG from its definition), padding, labels and the metrics.</summary>
public class RankingTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    private static double Gain(double y) => Math.Pow(2, y) - 1;

    private static IEnumerable<(int I, int J)> OrderedPairs(double[] y) =>
        from i in Enumerable.Range(0, y.Length) from j in Enumerable.Range(0, y.Length) where y[i] > y[j] select (i, j);

    private static double[] Softmax(double[] x)
    {
        double max = x.Max();
        double[] e = [.. x.Select(v => Math.Exp(v - max))];
        return [.. e.Select(v => v / e.Sum())];
    }

    /// <summary>The reference value of one unpadded list.</summary>
    private static double Reference(string spec, double[] s, double[] y)
    {
        switch (spec)
        {
            case "ranknet": return OrderedPairs(y).Sum(p => Math.Log(1 + Math.Exp(-(s[p.I] - s[p.J]))));
            case "pair_hinge": return OrderedPairs(y).Sum(p => Math.Max(0, 1 - (s[p.I] - s[p.J])));
            case "bpr":
            {
                var pairs = OrderedPairs(y).Where(p => y[p.I] > 0 && y[p.J] == 0).ToList();
                return pairs.Count == 0 ? 0 : pairs.Average(p => -Math.Log(Sigmoid(s[p.I] - s[p.J])));
            }
            case "listnet":
            {
                double[] q = Softmax(y), p = Softmax(s);
                return -q.Select((v, i) => v * Math.Log(p[i])).Sum();
            }
            case "softmax_rank":
            {
                if (y.Sum() == 0) return 0;
                double[] p = Softmax(s);
                return -y.Select((v, i) => v / y.Sum() * Math.Log(p[i])).Sum();
            }
            case "listmle":
            {
                int[] pi = [.. Enumerable.Range(0, y.Length).OrderByDescending(i => y[i]).ThenBy(i => i)];
                double loss = 0;
                for (int k = 0; k < pi.Length; k++)
                    loss += Math.Log(pi.Skip(k).Sum(m => Math.Exp(s[m]))) - s[pi[k]];
                return loss;
            }
            case "lambdarank":
            {
                double[] ideal = [.. y.OrderByDescending(v => v)];
                double idcg = ideal.Take(30).Select((v, r) => Gain(v) / Math.Log2(r + 2)).Sum();
                if (idcg == 0) return 0;
                int[] byScore = [.. Enumerable.Range(0, s.Length).OrderByDescending(i => s[i]).ThenBy(i => i)];
                var rank = new double[s.Length];
                for (int r = 0; r < byScore.Length; r++) rank[byScore[r]] = r + 1;
                return OrderedPairs(y).Where(p => Math.Min(rank[p.I], rank[p.J]) <= 30).Sum(p =>
                    Math.Abs(Gain(y[p.I]) - Gain(y[p.J])) * Math.Abs(1 / Math.Log2(1 + rank[p.I]) - 1 / Math.Log2(1 + rank[p.J])) / idcg
                    * Math.Log(1 + Math.Exp(-(s[p.I] - s[p.J]))));
            }
            case "approx_ndcg":
            {
                double idcg = y.OrderByDescending(v => v).Select((v, r) => Gain(v) / Math.Log2(r + 2)).Sum();
                if (idcg == 0) return 0;
                return -Enumerable.Range(0, s.Length).Sum(i =>
                {
                    double rank = 1 + Enumerable.Range(0, s.Length).Where(j => j != i).Sum(j => Sigmoid(s[j] - s[i]));
                    return Gain(y[i]) / Math.Log2(1 + rank);
                }) / idcg;
            }
            case "neural_ndcg": return NeuralNdcgAndPslTests.NeuralNdcgReference(s, y, tau: 1, k: 0, iterations: 50);
            case "psl": return NeuralNdcgAndPslTests.PslReference(s, y, tau: 1, "tanh");
            default: throw new ArgumentException(spec);
        }
    }

    public static TheoryData<string> Specs => new("ranknet", "pair_hinge", "bpr", "listnet", "softmax_rank", "listmle", "lambdarank", "approx_ndcg", "neural_ndcg", "psl");

    /// <summary>Three lists padded to 6: lengths 6, 4 and 3 (one without a relevant item), seeded.</summary>
    private static (double[] S, double[] Y, double[] Mask) Batch(int seed)
    {
        var rng = new Random(seed);
        int[] lengths = [6, 4, 3];
        double[] s = new double[18], y = new double[18], mask = new double[18];
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 6; j++)
            {
                int i = r * 6 + j;
                s[i] = 3 * (2 * rng.NextDouble() - 1);
                y[i] = r == 2 ? 0 : rng.Next(4);
                mask[i] = j < lengths[r] ? 1 : 0;
            }
        return (s, y, mask);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void MatchesTheReferenceOnPaddedLists(string spec)
    {
        var (s, y, mask) = Batch(1);
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec + "(reduction=none)"));
        var unreduced = new double[3];
        loss.Compute<double>(s, 6, y, mask, unreduced);
        int[] lengths = [6, 4, 3];
        for (int r = 0; r < 3; r++)
        {
            double expected = Reference(spec, s[(r * 6)..(r * 6 + lengths[r])], y[(r * 6)..(r * 6 + lengths[r])]);
            Assert.True(Math.Abs(unreduced[r] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{spec} list {r}: {unreduced[r]} vs {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void PaddingNeitherCountsNorGetsAGradient(string spec)
    {
        var (s, y, mask) = Batch(2);
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec));
        var g = new double[18];
        double value = loss.Compute<double>(s, 6, y, mask, default, g);
        double[] s2 = (double[])s.Clone(), y2 = (double[])y.Clone();
        for (int i = 0; i < 18; i++) if (mask[i] == 0) (s2[i], y2[i]) = (1e6, 30);   // wild values behind the mask
        var g2 = new double[18];
        Assert.Equal(value, loss.Compute<double>(s2, 6, y2, mask, default, g2));
        Assert.Equal(g, g2);
        for (int i = 0; i < 18; i++) if (mask[i] == 0) Assert.Equal(0, g[i]);
    }

    [Fact]
    public void ListMleOrdersWholeAndFractionalLabelsAlike()
    {
        // Whole labels take the counting sort, halved ones (0.5, 1.5, ...) the insertion sort; ListMLE sees the labels
        // only through the order (ties by position), so losses and gradients must be the same doubles.
        var random = new Random(5);
        const int lists = 40, length = 33;
        double[] s = new double[lists * length], y = new double[lists * length], half = new double[lists * length];
        for (int i = 0; i < s.Length; i++) (s[i], y[i]) = (8 * random.NextDouble() - 4, random.Next(5));
        for (int i = 0; i < s.Length; i++) half[i] = y[i] / 2;
        var loss = new ListMleLoss(Reduction.None);
        double[] u1 = new double[lists], u2 = new double[lists], g1 = new double[s.Length], g2 = new double[s.Length];
        loss.Compute<double>(s, length, y, [], u1, g1);
        loss.Compute<double>(s, length, half, [], u2, g2);
        Assert.Equal(u1, u2);
        Assert.Equal(g1, g2);
    }

    [Fact]
    public void RankNetAndBprAgreeOnBinaryLabelsUpToTheirAveraging()
    {
        double[] s = [0.3, -1, 2, 0.5], y = [1, 0, 1, 0];
        var u = new double[1];
        new RankNetLoss(Reduction.None).Compute<double>(s, 4, y, [], u);
        var b = new double[1];
        new BprLoss(Reduction.None).Compute<double>(s, 4, y, [], b);
        Assert.Equal(u[0] / 4, b[0], 14);
    }

    [Fact]
    public void LabelsAndMaskAreChecked()
    {
        var loss = new ListNetLoss();
        var e = Assert.Throws<RowException>(() => loss.Compute<double>(new double[6], 3, [0, 1, 2, 3, -1, 0], []));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("labels[1][1] = -1", e.Message);
        var big = Assert.Throws<RowException>(() => loss.Compute<double>(new double[3], 3, [0, 31, 0], []));
        Assert.Contains("[0, 30]", big.Message);
        var m = Assert.Throws<RowException>(() => loss.Compute<double>(new double[3], 3, [0, 1, 0], [1, 0.5, 1]));
        Assert.Equal("mask", m.ParamName);
        Assert.Throws<ArgumentException>(() => loss.Compute<double>(new double[6], 3, new double[3], []));
    }

    [Fact]
    public void NdcgMrrMapAndPrecisionByHand()
    {
        // One list, scores rank the items 0, 2, 1, 3 (descending): labels in that order 3, 0, 1, 0.
        double[] s = [4, 2, 3, 1], y = [3, 1, 0, 0];
        double dcg3 = Gain(3) / Math.Log2(2) + 0 + Gain(1) / Math.Log2(4);
        double idcg3 = Gain(3) / Math.Log2(2) + Gain(1) / Math.Log2(3);
        Assert.Equal(dcg3 / idcg3, RankingMetrics.NdcgAt<double>(s, 4, y, [], 3)[0], 14);
        Assert.Equal(1.0, RankingMetrics.ReciprocalRank<double>(s, 4, y, [])[0]);
        Assert.Equal((1.0 / 1 + 2.0 / 3) / 2, RankingMetrics.AveragePrecision<double>(s, 4, y, [])[0], 14);
        Assert.Equal(2.0 / 3, RankingMetrics.PrecisionAt<double>(s, 4, y, [], 3)[0], 14);
        // LightGBM's convention: no relevant item gives NDCG 1; MRR and MAP give 0.
        Assert.Equal(1.0, RankingMetrics.NdcgAt<double>(s, 4, [0, 0, 0, 0], [], 5)[0]);
        Assert.Equal(0.0, RankingMetrics.ReciprocalRank<double>(s, 4, [0, 0, 0, 0], [])[0]);
        // Padding is not ranked.
        Assert.Equal(0.5, RankingMetrics.ReciprocalRank<double>([9, 4, 2], 3, [0, 0, 1], [0, 1, 1])[0]);
    }

    [Fact]
    public void PerfectScoresMakeNdcgOneAndApproxNdcgNearMinusOne()
    {
        double[] y = [3, 2, 1, 0], s = [30, 20, 10, 0];
        Assert.Equal(1.0, RankingMetrics.NdcgAt<double>(s, 4, y, [], 4)[0], 14);
        Assert.InRange(new ApproxNdcgLoss(0.1).Compute<double>(s, 4, y, []), -1.0, -0.999);
    }
}
