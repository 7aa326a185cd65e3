using LossKit.Catalog;
using LossKit.Core;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

public class LdrKlTests
{
    private const int N = 6, K = 5;

    /// <summary>The catalog formula, literally: λ·log((1/K) Σ_k exp((c·[k≠y] + z_k − z_y)/λ)).</summary>
    private static double Slow(double[] z, int y, double lambda, double c) =>
        lambda * (C1.Lse(z.Select((v, k) => ((k != y ? c : 0) + v - z[y]) / lambda)) - Math.Log(z.Length));

    [Theory]
    [InlineData(1.0, 0.1, "mean")]
    [InlineData(0.3, 1.0, "sum")]
    [InlineData(4.0, 0.0, "none")]
    public void MatchesSlowReference(double lambda, double c, string reduction)
    {
        double[] z = C1.Logits(1, N, K);
        int[] y = C1.Targets(1, N, K);
        y[3] = -100;
        double[] w = [1, 2, 0.5, 0, 3];
        var loss = LossRegistry.CreateClassification($"ldr_kl(lambda={lambda}, margin={c}, weight=[1,2,0.5,0,3], reduction={reduction})");
        var (value, rows, g) = C1.Run(loss, z, K, y);
        double sum = 0, denominator = 0;
        var expectedG = new double[z.Length];
        for (int n = 0; n < N; n++)
        {
            if (y[n] < 0) { Assert.Equal(0, rows[n]); continue; }
            double[] row = C1.Row(z, n, K);
            double expected = w[y[n]] * Slow(row, y[n], lambda, c);
            Assert.Equal(expected, rows[n], 1e-12);
            sum += expected;
            denominator += w[y[n]];
            double[] p = C1.Softmax(row.Select((v, k) => ((k != y[n] ? c : 0) + v) / lambda).ToArray());
            for (int k = 0; k < K; k++) expectedG[n * K + k] = w[y[n]] * (p[k] - (k == y[n] ? 1 : 0));
        }
        double scale = reduction == "mean" ? 1 / denominator : 1;
        Assert.Equal(sum * scale, value, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(g, expectedG.Select(v => v * scale).ToArray()), 0, 1e-12);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(1.0)]
    public void SmallLambdaTendsToCrammerSingerHinge(double c)
    {
        const double lambda = 1e-3;
        double[] z = C1.Logits(2, 40, K, 1);
        int[] y = C1.Targets(2, 40, K);
        var rows = new double[40];
        new LdrKlLoss(lambda, c, reduction: Reduction.None).Compute<double>(z, K, y, rows);
        for (int n = 0; n < 40; n++)
        {
            double[] row = C1.Row(z, n, K);
            double hinge = Math.Max(0, Enumerable.Range(0, K).Where(j => j != y[n]).Max(j => c + row[j] - row[y[n]]));
            // |ℓ − hinge| ≤ λ·log K
            Assert.InRange(rows[n] - hinge, -lambda * Math.Log(K) - 1e-12, lambda * Math.Log(K) + 1e-12);
        }
    }

    [Fact]
    public void ZeroMarginIsShiftedScaledCrossEntropy()
    {
        double[] z = C1.Logits(3, N, K);
        int[] y = C1.Targets(3, N, K);
        var (_, ra, ga) = C1.Run(new LdrKlLoss(2, 0, reduction: Reduction.None), z, K, y);
        var (_, rb, gb) = C1.Run(new CrossEntropyLoss(temperature: 2, reduction: Reduction.None), z, K, y);
        for (int n = 0; n < N; n++) Assert.Equal(2 * (rb[n] - Math.Log(K)), ra[n], 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ga, gb.Select(v => 2 * v).ToArray()), 0, 1e-12);
    }

    [Fact]
    public void BadParametersNameThemselves()
    {
        Assert.Equal("lambda", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ldr_kl(lambda=0)")).ParamName);
        Assert.Equal("margin", Assert.ThrowsAny<ArgumentException>(() => new LdrKlLoss(1, -1)).ParamName);
        Assert.Equal("targets", Assert.ThrowsAny<ArgumentException>(() => new LdrKlLoss().Compute<double>(new double[4], 2, [0, 2])).ParamName);
    }
}
