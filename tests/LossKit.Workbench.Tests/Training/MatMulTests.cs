using LossKit.Kernels;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Tests.Training;

public class MatMulTests
{
    [Theory]
    [InlineData(3, 4, 5, false, false)]
    [InlineData(3, 4, 5, true, false)]
    [InlineData(3, 4, 5, false, true)]
    [InlineData(3, 4, 5, true, true)]
    [InlineData(70, 90, 80, false, false)] // large enough to run in parallel
    [InlineData(70, 90, 80, true, false)]
    [InlineData(70, 90, 80, false, true)]
    [InlineData(1, 1, 1, false, false)]
    public void MatchesDoubleReference(int m, int n, int k, bool ta, bool tb)
    {
        var rng = new SeededRng(99);
        float[] a = Random(rng, m * k), b = Random(rng, k * n), c = Random(rng, m * n);
        float alpha = 0.75f, beta = -0.5f;
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                expected[i * n + j] = alpha * s + beta * (double)c[i * n + j];
            }
        MatMul.Multiply(a, b, c, m, n, k, ta, tb, alpha, beta);
        for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], c[i], 1e-4 * Math.Max(1, k / 10.0));
    }

    [Fact]
    public void BetaZeroOverwritesNaN()
    {
        float[] a = [1, 2], b = [3, 4], c = [float.NaN];
        MatMul.Multiply(a, b, c, 1, 1, 2);
        Assert.Equal(11f, c[0]);
    }

    [Fact]
    public void SameResultForAnyThreadCount()
    {
        var rng = new SeededRng(5);
        float[] a = Random(rng, 96 * 100), b = Random(rng, 100 * 64);
        var one = new float[96 * 64];
        var many = new float[96 * 64];
        Parallelism.MaxThreads = 1;
        MatMul.Multiply(a, b, one, 96, 64, 100);
        Parallelism.MaxThreads = 4;
        MatMul.Multiply(a, b, many, 96, 64, 100);
        Assert.Equal(one, many);
    }

    private static float[] Random(SeededRng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
