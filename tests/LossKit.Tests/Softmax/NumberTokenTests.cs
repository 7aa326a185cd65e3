using LossKit.Catalog;
using LossKit.Core;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

public class NumberTokenTests
{
    private const int N = 10, K = 6;
    private static readonly int[] Classes = [1, 2, 4, 5];
    private static readonly double[] Values = [0, 1, 2.5, -3];

    /// <summary>The catalog's definition, slowly: p̃ over the number classes, NTL per variant.</summary>
    private static double SlowNtl(double[] row, int y, bool mse)
    {
        int yi = Array.IndexOf(Classes, y);
        if (yi < 0) return 0;
        double[] p = C1.Softmax(Classes.Select(c => row[c]).ToArray());
        double mu = 0, was = 0;
        for (int i = 0; i < p.Length; i++) { mu += p[i] * Values[i]; was += p[i] * Math.Abs(Values[i] - Values[yi]); }
        return mse ? (mu - Values[yi]) * (mu - Values[yi]) : was;
    }

    [Theory]
    [InlineData(true, "mean")]
    [InlineData(false, "sum")]
    [InlineData(true, "none")]
    [InlineData(false, "mean")]
    public void MatchesSlowReference(bool mse, string reduction)
    {
        double[] z = C1.Logits(1, N, K);
        int[] y = C1.Targets(1, N, K);
        y[0] = 2; y[1] = 0; y[2] = -100; y[3] = 5;
        double[] w = [1, 2, 0.5, 0, 3, 1.5];
        const double lambda = 0.7;
        var loss = LossRegistry.CreateClassification($"{(mse ? "ntl_mse" : "ntl_was")}(lambda={lambda}, classes=[1,2,4,5], values=[0,1,2.5,-3], weight=[1,2,0.5,0,3,1.5], reduction={reduction})");
        var (value, rows, g) = C1.Run(loss, z, K, y);
        double sum = 0, denominator = 0;
        for (int n = 0; n < N; n++)
        {
            if (y[n] < 0) { Assert.Equal(0, rows[n]); continue; }
            double[] row = C1.Row(z, n, K);
            double expected = w[y[n]] * (C1.Lse(row) - row[y[n]] + lambda * SlowNtl(row, y[n], mse));
            Assert.Equal(expected, rows[n], 1e-12);
            sum += expected;
            denominator += w[y[n]];
        }
        Assert.Equal(reduction == "mean" ? sum / denominator : sum, value, 1e-12);
        // The gradient against central differences of the slow reference itself.
        for (int i = 0; i < z.Length; i++)
        {
            int n = i / K;
            if (y[n] < 0) { Assert.Equal(0, g[i]); continue; }
            double F(double v)
            {
                double[] row = C1.Row(z, n, K);
                row[i % K] = v;
                return w[y[n]] * (C1.Lse(row) - row[y[n]] + lambda * SlowNtl(row, y[n], mse));
            }
            double numeric = (F(z[i] + 1e-6) - F(z[i] - 1e-6)) / 2e-6 * (reduction == "mean" ? 1 / denominator : 1);
            Assert.Equal(numeric, g[i], 1e-7);
        }
    }

    [Theory]
    [InlineData("ntl_mse(lambda=0, classes=[1,2,4,5], values=[0,1,2.5,-3])")]
    [InlineData("ntl_was(lambda=0, classes=[1,2,4,5], values=[0,1,2.5,-3], reduction=sum)")]
    [InlineData("ntl_mse")]
    public void LambdaZeroOrNoNumberClassesIsCrossEntropy(string spec)
    {
        double[] z = C1.Logits(2, N, K);
        int[] y = C1.Targets(2, N, K);
        var a = LossRegistry.CreateClassification(spec);
        var (la, ra, ga) = C1.Run(a, z, K, y);
        var (lb, rb, gb) = C1.Run(new CrossEntropyLoss(reduction: a.Reduction), z, K, y);
        Assert.Equal(lb, la, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ra, rb), 0, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ga, gb), 0, 1e-12);
    }

    [Fact]
    public void OnlyNumberTargetsGetTheExtraTermAndMaskedNumbersAreHandled()
    {
        var loss = new NumberTokenLoss(NumberTokenVariant.Wasserstein, 1, [1, 2], [0, 10], reduction: Reduction.None);
        double[] z = [0, 1, double.NegativeInfinity, 2];
        var rows = new double[1];
        var g = new double[4];
        loss.Compute<double>(z, 4, [1], rows, g);
        // p̃ = (1, 0): the Wasserstein distance to v_y = 0 is 0.
        Assert.Equal(C1.Lse([0, 1, 2]) - 1, rows[0], 1e-14);
        Assert.Equal(0, g[2]);
        loss.Compute<double>(z, 4, [3], rows, g);
        Assert.Equal(C1.Lse([0, 1, 2]) - 2, rows[0], 1e-14);
    }

    [Fact]
    public void BadConfigurationsNameTheArgument()
    {
        Assert.Equal("values", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_mse(classes=[1,2], values=[1])")).ParamName);
        Assert.Equal("values", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_mse(classes=[1,2])")).ParamName);
        Assert.Equal("classes", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_was(values=[1,2])")).ParamName);
        Assert.Equal("classes", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_was(classes=[1,1], values=[1,2])")).ParamName);
        Assert.Equal("classes", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_was(classes=[1.5], values=[1])")).ParamName);
        Assert.Equal("classes", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_was(classes=[-1], values=[1])")).ParamName);
        Assert.Equal("lambda", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("ntl_mse(lambda=-1)")).ParamName);
        var loss = new NumberTokenLoss(NumberTokenVariant.Mse, 1, [0, 7], [1, 2]);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(new double[10], 5, [0, 1]));
        Assert.Equal("classes", e.ParamName);
        Assert.Contains("classes[1] = 7", e.Message);
    }
}
