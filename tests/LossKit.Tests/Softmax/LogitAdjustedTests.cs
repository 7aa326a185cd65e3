using LossKit.Catalog;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

public class LogitAdjustedTests
{
    private const int N = 6, K = 5;
    private static readonly double[] Priors = [50, 20, 15, 10, 5];

    [Theory]
    [InlineData(1.0, "mean")]
    [InlineData(2.0, "sum")]
    [InlineData(0.5, "none")]
    public void MatchesSlowReferenceWithWeightsAndIgnoreIndex(double tau, string reduction)
    {
        double[] z = C1.Logits(1, N, K);
        int[] y = C1.Targets(1, N, K);
        y[2] = -100;
        double[] w = [1, 2, 0.5, 0, 3];
        var loss = LossRegistry.CreateClassification($"logit_adjusted(tau={tau}, priors=[50,20,15,10,5], weight=[1,2,0.5,0,3], reduction={reduction})");
        var (value, rows, g) = C1.Run(loss, z, K, y);
        double total = Priors.Sum(), denominator = 0, sum = 0;
        var expectedG = new double[z.Length];
        for (int n = 0; n < N; n++)
        {
            if (y[n] < 0) { Assert.Equal(0, rows[n]); continue; }
            double[] a = C1.Row(z, n, K).Select((v, k) => v + tau * Math.Log(Priors[k] / total)).ToArray();
            double expected = w[y[n]] * (C1.Lse(a) - a[y[n]]);
            Assert.Equal(expected, rows[n], 1e-12);
            sum += expected;
            denominator += w[y[n]];
            double[] p = C1.Softmax(a);
            for (int k = 0; k < K; k++) expectedG[n * K + k] = w[y[n]] * (p[k] - (k == y[n] ? 1 : 0));
        }
        double scale = reduction == "mean" ? 1 / denominator : 1;
        Assert.Equal(sum * scale, value, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(g, expectedG.Select(v => v * scale).ToArray()), 0, 1e-12);
    }

    [Theory]
    [InlineData("logit_adjusted(priors=[1,1,1,1,1])", "ce")]
    [InlineData("logit_adjusted(tau=3, priors=[0.2,0.2,0.2,0.2,0.2], weight=[1,2,0.5,1,3], reduction=sum)", "ce(weight=[1,2,0.5,1,3], reduction=sum)")]
    [InlineData("logit_adjusted(tau=0, priors=[9,1,3,1,1])", "ce")]
    [InlineData("logit_adjusted", "ce")]
    public void UniformPriorsOrTauZeroIsCrossEntropy(string a, string b)
    {
        double[] z = C1.Logits(2, N, K, 3);
        int[] y = C1.Targets(2, N, K);
        var (la, ra, ga) = C1.Run(LossRegistry.CreateClassification(a), z, K, y);
        var (lb, rb, gb) = C1.Run(LossRegistry.CreateClassification(b), z, K, y);
        Assert.Equal(lb, la, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ra, rb), 0, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ga, gb), 0, 1e-12);
    }

    [Fact]
    public void PriorsAreNormalisedSoCountsAndProbabilitiesAgree()
    {
        double[] z = C1.Logits(3, N, K);
        int[] y = C1.Targets(3, N, K);
        var (la, _, ga) = C1.Run(new LogitAdjustedLoss([50, 20, 15, 10, 5]), z, K, y);
        var (lb, _, gb) = C1.Run(new LogitAdjustedLoss([0.5, 0.2, 0.15, 0.1, 0.05]), z, K, y);
        Assert.Equal(lb, la, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ga, gb), 0, 1e-12);
    }

    [Fact]
    public void SoftcapIsNotOfferedButOffsetsWorkWithHalfAndMaskedClasses()
    {
        var loss = new LogitAdjustedLoss(Priors);
        Half[] z = [(Half)1, Half.NegativeInfinity, (Half)2, (Half)0, (Half)(-1)];
        var g = new Half[5];
        Half l = loss.Compute<Half>(z, K, [0], default, g);
        Assert.True(Half.IsFinite(l));
        Assert.Equal(Half.Zero, g[1]);
    }

    [Fact]
    public void BadInputsNameTheArgument()
    {
        Assert.Equal("priors", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("logit_adjusted(priors=[])")).ParamName);
        Assert.Equal("priors", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("logit_adjusted(priors=[1,0,2])")).ParamName);
        Assert.Equal("priors", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("logit_adjusted(priors=[1,-1,2])")).ParamName);
        Assert.Equal("tau", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("logit_adjusted(tau=-1, priors=[1,2])")).ParamName);
        var loss = new LogitAdjustedLoss([1, 2, 3]);
        var e = Assert.Throws<ArgumentException>(() => loss.Compute<double>(new double[8], 4, [0, 1]));
        Assert.Equal("priors", e.ParamName);
        Assert.Contains("3", e.Message);
        Assert.Throws<ArgumentException>(() => new LogitAdjustedLoss([1, 2, 3], weight: [1, 1]));
    }
}
