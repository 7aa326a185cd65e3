using LossKit.Catalog;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

public class SquentropyTests
{
    private const int N = 6, K = 5;

    [Theory]
    [InlineData("mean")]
    [InlineData("sum")]
    [InlineData("none")]
    public void MatchesSlowReference(string reduction)
    {
        double[] z = C1.Logits(1, N, K);
        int[] y = C1.Targets(1, N, K);
        y[0] = -100;
        double[] w = [1, 2, 0.5, 0, 3];
        var loss = LossRegistry.CreateClassification($"squentropy(weight=[1,2,0.5,0,3], reduction={reduction})");
        var (value, rows, g) = C1.Run(loss, z, K, y);
        double sum = 0, denominator = 0;
        var expectedG = new double[z.Length];
        for (int n = 0; n < N; n++)
        {
            if (y[n] < 0) { Assert.Equal(0, rows[n]); continue; }
            double[] row = C1.Row(z, n, K);
            double sq = 0;
            for (int j = 0; j < K; j++) if (j != y[n]) sq += row[j] * row[j];
            double expected = w[y[n]] * (C1.Lse(row) - row[y[n]] + sq / (K - 1));
            Assert.Equal(expected, rows[n], 1e-12);
            sum += expected;
            denominator += w[y[n]];
            double[] p = C1.Softmax(row);
            for (int k = 0; k < K; k++)
                expectedG[n * K + k] = w[y[n]] * (p[k] - (k == y[n] ? 1 : 0) + (k == y[n] ? 0 : 2 * row[k] / (K - 1)));
        }
        double scale = reduction == "mean" ? 1 / denominator : 1;
        Assert.Equal(sum * scale, value, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(g, expectedG.Select(v => v * scale).ToArray()), 0, 1e-12);
    }

    [Fact]
    public void ZeroNonTargetLogitsGiveCrossEntropyAndKOneIsZero()
    {
        double[] z = [0, 3, 0, 0];
        var rows = new double[1];
        new SquentropyLoss().Compute<double>(z, 4, [1], rows);
        Assert.Equal(C1.Lse(z) - 3, rows[0], 1e-14);
        var g = new double[2];
        Assert.Equal(0, new SquentropyLoss().Compute<double>([5.0, -2.0], 1, [0, 0], default, g));
        Assert.All(g, v => Assert.Equal(0, v));
    }

    [Fact]
    public void MaskedClassesAreLeftOutOfTheSquareTerm()
    {
        double[] z = [1, double.NegativeInfinity, 2];
        var g = new double[3];
        var rows = new double[1];
        new SquentropyLoss().Compute<double>(z, 3, [0], rows, g);
        Assert.Equal(C1.Lse([1, 2]) - 1 + 4.0 / 2, rows[0], 1e-14);
        Assert.Equal(0, g[1]);
        Assert.True(double.IsFinite(g[0]) && double.IsFinite(g[2]));
    }
}
