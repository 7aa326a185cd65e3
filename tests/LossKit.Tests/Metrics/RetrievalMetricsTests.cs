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
