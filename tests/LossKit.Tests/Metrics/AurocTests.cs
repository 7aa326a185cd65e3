using FsCheck.Xunit;
using LossKit.Metrics;
using static LossKit.Tests.Metrics.MetricReference;

namespace LossKit.Tests.Metrics;

public class AurocTests
{
    [Fact]
    public void HandComputed_NoTies()
    {
        // Positives 0.35, 0.8; negatives 0.1, 0.4. Pairs: 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓ → 3/4.
        float[] scores = [0.1f, 0.4f, 0.35f, 0.8f];
        Assert.Equal(0.75, ClassificationMetrics.Auroc(scores, [0, 0, 1, 1]), 1e-15);
    }

    [Fact]
    public void HandComputed_TiesCountHalf()
    {
        // Positives {1, 2}, negatives {1, 0}: (1 vs 1) tie ½, (1 vs 0) 1, (2 vs 1) 1, (2 vs 0) 1 → 3.5/4 = 0.875.
        double[] scores = [1, 1, 2, 0];
        Assert.Equal(0.875, ClassificationMetrics.Auroc(scores, [1, 0, 1, 0]), 1e-15);
        // Every score equal → every pair ties → ½.
        Assert.Equal(0.5, ClassificationMetrics.Auroc(new double[] { 3, 3, 3 }, [1, 0, 0]), 1e-15);
        // Perfect and inverted rankings.
        Assert.Equal(1.0, ClassificationMetrics.Auroc(new double[] { 0, 1, 2, 3 }, [0, 0, 1, 1]));
        Assert.Equal(0.0, ClassificationMetrics.Auroc(new double[] { 0, 1, 2, 3 }, [1, 1, 0, 0]));
    }

    [Fact]
    public void TwoClassLogits_UseZ1MinusZ0()
    {
        // Scores z1 − z0: row 0: 1 − 0 = 1, row 1: 0 − 2 = −2, row 2: 5 − 3 = 2, row 3: −1 − (−1) = 0.
        // Labels [0, 0, 1, 1]: positives {2, 0}, negatives {1, −2} → (2>1 ✓, 2>−2 ✓, 0<1 ✗, 0>−2 ✓) = 3/4.
        // (Ranking by z1 alone would give positives {5, −1} vs negatives {1, 0} → 2/4: the difference matters.)
        float[] logits = [0f, 1f, 2f, 0f, 3f, 5f, -1f, -1f];
        Assert.Equal(0.75, ClassificationMetrics.Auroc(logits, 2, [0, 0, 1, 1]), 1e-15);
    }

    [Fact]
    public void InfiniteScores_RankAsExtremes_AndEqualInfinitiesTie()
    {
        // Positives {+∞, 1}, negatives {+∞, −∞}: (+∞ vs +∞) ½, (+∞ vs −∞) 1, (1 vs +∞) 0, (1 vs −∞) 1 → 2.5/4.
        double[] scores = [double.PositiveInfinity, 1, double.PositiveInfinity, double.NegativeInfinity];
        Assert.Equal(0.625, ClassificationMetrics.Auroc(scores, [1, 1, 0, 0]), 1e-15);
        // Two-class logits of ±1e30 and −∞: scores 2e30, −∞, −2e30, +∞ with labels [1, 0, 0, 1] → perfect.
        float[] logits = [-1e30f, 1e30f, 0f, float.NegativeInfinity, 1e30f, -1e30f, float.NegativeInfinity, 0f];
        Assert.Equal(1.0, ClassificationMetrics.Auroc(logits, 2, [1, 0, 0, 1]));
    }

    [Fact]
    public void NaNScore_GivesNaN()
    {
        Assert.True(double.IsNaN(ClassificationMetrics.Auroc(new[] { 0.5f, float.NaN }, [0, 1])));
    }

    [Property(MaxTest = 100)]
    public void MatchesPairwiseReference(int seed)
    {
        var rng = new Random(seed);
        int n = rng.Next(2, 200);
        // Few distinct values → many ties.
        int distinct = rng.Next(1, 12);
        double[] scores = Enumerable.Range(0, n).Select(_ => (double)rng.Next(distinct)).ToArray();
        int[] labels = Enumerable.Range(0, n).Select(_ => rng.Next(2)).ToArray();
        labels[0] = 0;
        labels[1] = 1;
        Assert.Equal(PairwiseAuroc(scores, labels), ClassificationMetrics.Auroc(scores, labels), 1e-14);
        float[] f = ToFloat(scores);
        Assert.Equal(PairwiseAuroc(scores, labels), ClassificationMetrics.Auroc(f, labels), 1e-14);
    }

    [Property(MaxTest = 100)]
    public void InvariantToStrictlyIncreasingTransforms_AndComplementedByDecreasingOnes(int seed)
    {
        var rng = new Random(seed);
        int n = rng.Next(2, 150);
        // Integer scores keep the transforms below exact in double.
        double[] scores = Enumerable.Range(0, n).Select(_ => (double)rng.Next(-60, 61)).ToArray();
        int[] labels = Enumerable.Range(0, n).Select(_ => rng.Next(2)).ToArray();
        labels[0] = 1;
        labels[n - 1] = 0;
        double auc = ClassificationMetrics.Auroc(scores, labels);

        Assert.Equal(auc, ClassificationMetrics.Auroc(scores.Select(s => 3 * s + 7).ToArray(), labels), 1e-14);
        Assert.Equal(auc, ClassificationMetrics.Auroc(scores.Select(s => s * s * s + s).ToArray(), labels), 1e-14);
        Assert.Equal(auc, ClassificationMetrics.Auroc(scores.Select(s => Math.Exp(s / 8)).ToArray(), labels), 1e-14);
        Assert.Equal(1 - auc, ClassificationMetrics.Auroc(scores.Select(s => -s).ToArray(), labels), 1e-14);
    }

    [Fact]
    public void LargeInput_MatchesPairwiseReference()
    {
        var rng = new Random(99);
        int n = 3000;
        double[] scores = Enumerable.Range(0, n).Select(_ => Math.Round(Gaussian(rng), 2)).ToArray();
        int[] labels = scores.Select(s => rng.NextDouble() < 1 / (1 + Math.Exp(-2 * s)) ? 1 : 0).ToArray();
        Assert.Equal(PairwiseAuroc(scores, labels), ClassificationMetrics.Auroc(scores, labels), 1e-13);
    }
}
