using LossKit.Metrics;

namespace LossKit.Tests.Metrics;

public class RetrievalMetricsTests
{
    [Fact]
    public void HandComputed_FivePointsOnALine()
    {
        // x = 0, 1, 3, 10, 11 with labels A, A, B, A, B (euclidean).
        // q0: [A, B, A, B], R = 2: P@1 1, RP 1/2, AP (1)/2; q1 the same; q2 (B): [A, A, A, B], R = 1: all 0, 3-NN A (miss);
        // q3: [B, B, A, A], R = 2: 0, 3-NN B (miss); q4 (B): [A, B, A, A], R = 1: 0, Recall@2 hit, 3-NN A (miss).
        float[] x = [0, 1, 3, 10, 11];
        var r = RetrievalMetrics.Compute(x, 1, [0, 0, 1, 0, 1], cosine: false, [1, 2], knn: 3);
        Assert.Equal(0.4, r.PrecisionAt1, 1e-12);
        Assert.Equal(0.2, r.RPrecision, 1e-12);
        Assert.Equal(0.2, r.MapAtR, 1e-12);
        Assert.Equal(0.4, r.RecallAtK[0].Value, 1e-12);
        Assert.Equal(0.6, r.RecallAtK[1].Value, 1e-12);
        Assert.Equal(0.4, r.KnnAccuracy, 1e-12);
    }

    [Fact]
    public void HandComputed_MapDiffersFromRPrecision_AndSingletonsAreSkipped()
    {
        // x = 0, 1, 2, 5, labels A, B, A, A. q0: [B, A, A], R = 2: RP 1/2, AP (1/2)/2 = 1/4; q1 (B) has R = 0: skipped by
        // RP and MAP, its nearest (tie at distance 1, lower index: q0, A) is a miss; q2: [B, A, A]: RP 1/2, MAP 1/4;
        // q3: [A, B, A]: RP 1/2, AP 1/2, P@1 hit. RP = 1/2, MAP = (1/4 + 1/4 + 1/2)/3 = 1/3, P@1 = 1/4.
        float[] x = [0, 1, 2, 5];
        var r = RetrievalMetrics.Compute(x, 1, [0, 1, 0, 0], cosine: false, [1]);
        Assert.Equal(0.25, r.PrecisionAt1, 1e-12);
        Assert.Equal(0.5, r.RPrecision, 1e-12);
        Assert.Equal(1.0 / 3, r.MapAtR, 1e-12);
        Assert.Equal(0.25, r.RecallAtK[0].Value, 1e-12);
    }

    [Fact]
    public void CosineAndEuclideanDisagree()
    {
        // a = (1, 0) and b = (10, 0) share a label, c = (1, 1) does not. Euclidean: a's nearest is c (miss);
        // cosine: a's nearest is b (hit). b finds a either way; c has no same-label item.
        float[] x = [1, 0, 10, 0, 1, 1];
        Assert.Equal(1.0 / 3, RetrievalMetrics.Compute(x, 2, [0, 0, 1], cosine: false, [1]).PrecisionAt1, 1e-12);
        Assert.Equal(2.0 / 3, RetrievalMetrics.Compute(x, 2, [0, 0, 1], cosine: true, [1]).PrecisionAt1, 1e-12);
    }

    /// <summary>The definitions, written the slow way: every query's neighbours fully sorted (key, then index).</summary>
    private static double[] Reference(float[] x, int dim, int[] y, bool cosine, int[] ks, int knn)
    {
        int n = y.Length;
        // Cosine: the rows normalised as the metric does, then the same dot product, so that pairs that tie in exact
        // arithmetic (collinear grid points) round alike in both and the test is about the ordering and the counting.
        var u = x.Select(v => (double)v).ToArray();
        if (cosine)
            for (int i = 0; i < n; i++)
            {
                double s2 = 0;
                for (int t = 0; t < dim; t++) s2 += u[i * dim + t] * u[i * dim + t];
                double norm = Math.Max(Math.Sqrt(s2), 1e-12);
                for (int t = 0; t < dim; t++) u[i * dim + t] /= norm;
            }
        double Key(int q, int j)
        {
            if (cosine) return -System.Numerics.Tensors.TensorPrimitives.Dot(u.AsSpan(q * dim, dim), u.AsSpan(j * dim, dim));
            double v = 0;
            for (int t = 0; t < dim; t++) { double d = u[q * dim + t] - u[j * dim + t]; v += d * d; }
            return v;
        }
        double p1 = 0, rp = 0, map = 0, kh = 0;
        var rec = new double[ks.Length];
        int withR = 0;
        for (int q = 0; q < n; q++)
        {
            var order = Enumerable.Range(0, n).Where(j => j != q).OrderBy(j => Key(q, j)).ThenBy(j => j).ToArray();
            int r = y.Count(l => l == y[q]) - 1;
            if (y[order[0]] == y[q]) p1++;
            for (int k = 0; k < ks.Length; k++) if (order.Take(ks[k]).Any(j => y[j] == y[q])) rec[k]++;
            if (r > 0)
            {
                withR++;
                int hits = 0; double ap = 0;
                for (int i = 0; i < r; i++) if (y[order[i]] == y[q]) { hits++; ap += hits / (double)(i + 1); }
                rp += hits / (double)r; map += ap / r;
            }
            var near = order.Take(knn).Select(j => y[j]).ToArray();
            int top = near.GroupBy(l => l).Max(g => g.Count());
            if (near.First(l => near.Count(t => t == l) == top) == y[q]) kh++;
        }
        return [p1 / n, withR == 0 ? 0 : rp / withR, withR == 0 ? 0 : map / withR, .. rec.Select(v => v / n), kh / n];
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    public void MatchesTheFullSortReference_WithTiesAndAnyThreadCount(bool cosine, int threads)
    {
        // 300 points on a coarse grid in 3-d (many exact ties, duplicates), 4 labels of uneven size.
        var rng = new Random(11);
        int n = 300, dim = 3;
        var x = new float[n * dim];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(-2, 3);
        int[] y = [.. Enumerable.Range(0, n).Select(i => i % 7 == 0 ? 3 : rng.Next(3))];
        int[] ks = [1, 2, 4, 8];
        double[] expected = Reference(x, dim, y, cosine, ks, 5);
        int saved = LossKit.Kernels.Parallelism.MaxThreads;
        try
        {
            LossKit.Kernels.Parallelism.MaxThreads = threads;
            var r = RetrievalMetrics.Compute(x, dim, y, cosine, ks, 5);
            double[] got = [r.PrecisionAt1, r.RPrecision, r.MapAtR, .. r.RecallAtK.Select(k => k.Value), r.KnnAccuracy];
            Assert.Equal(expected, got);
        }
        finally { LossKit.Kernels.Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void PerfectClustersScoreOne()
    {
        float[] x = [0, 0.1f, 0.2f, 10, 10.1f, 10.2f];
        var r = RetrievalMetrics.Compute(x, 1, [3, 3, 3, 7, 7, 7], cosine: false, [1, 2, 4, 8], knn: 2);
        Assert.Equal(1, r.PrecisionAt1);
        Assert.Equal(1, r.MapAtR);
        Assert.Equal(1, r.RPrecision);
        Assert.All(r.RecallAtK, k => Assert.Equal(1, k.Value));
        Assert.Equal(1, r.KnnAccuracy);
    }

    [Fact]
    public void BadShapesAreOneLineErrors()
    {
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Compute(new float[5], 2, [0, 1], false, [1]));
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.Compute(new float[2], 2, [0], false, [1]));
    }
}
