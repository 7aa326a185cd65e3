using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

public class StableMathTests
{
    private static double NaiveLse(ReadOnlySpan<double> x)
    {
        double m = double.NegativeInfinity;
        foreach (var v in x) m = Math.Max(m, v);
        double s = 0;
        foreach (var v in x) s += Math.Exp(v - m);
        return m + Math.Log(s);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(1000)]
    public void LogSumExpMatchesTheDefinitionForEveryWidthAndTail(int n)
    {
        var rng = new Random(n);
        double[] x = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 20 - 10).ToArray();
        double expected = NaiveLse(x);
        Assert.Equal(expected, StableMath.LogSumExp<double>(x), 1e-13 * Math.Abs(expected) + 1e-15);
        Assert.Equal(NaiveLse(x.Select(v => (double)(float)v).ToArray()), StableMath.LogSumExp<float>(x.Select(v => (float)v).ToArray()), 1e-6 * Math.Abs(expected) + 1e-6);
        double halfExpected = NaiveLse(x.Select(v => (double)(Half)v).ToArray());
        Assert.Equal(halfExpected, (double)StableMath.LogSumExp<Half>(x.Select(v => (Half)v).ToArray()), 1e-3 * Math.Abs(halfExpected) + 1e-3);
    }

    [Fact]
    public void ExtremeRowsStayFinite()
    {
        Assert.Equal(1e30, StableMath.LogSumExp<double>([1e30, -1e30, 0]));
        Assert.Equal(1e30f, StableMath.LogSumExp<float>([1e30f, -1e30f, 0]));
        Assert.Equal(Math.Log(2) + 3, StableMath.LogSumExp<double>([3, double.NegativeInfinity, 3]), 14);
        Assert.Equal(double.NegativeInfinity, StableMath.LogSumExp<double>([double.NegativeInfinity, double.NegativeInfinity]));
        Assert.True(double.IsNaN(StableMath.LogSumExp<double>([1, double.NaN])));
    }

    [Fact]
    public void SoftmaxAndLogSoftmaxRowsAreConsistent()
    {
        const int rows = 50, cols = 77;
        var rng = new Random(3);
        float[] x = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 200 - 100)).ToArray();
        var p = new float[x.Length];
        var lp = new float[x.Length];
        var lse = new float[rows];
        StableMath.Softmax<float>(x, cols, p);
        StableMath.LogSoftmax<float>(x, cols, lp);
        StableMath.LogSumExp<float>(x, cols, lse);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(1.0, p.AsSpan(r * cols, cols).ToArray().Sum(v => (double)v), 5);
            for (int c = 0; c < cols; c++)
            {
                // |x| ≤ 100: float log-probabilities carry an absolute error of about ulp(100) ≈ 8e-6.
                Assert.Equal(x[r * cols + c] - lse[r], lp[r * cols + c], 2e-5);
                Assert.Equal(Math.Exp(lp[r * cols + c]), p[r * cols + c], 2e-5 * Math.Max(p[r * cols + c], 1e-30) + 1e-30);
            }
        }
    }

    [Fact]
    public void SoftplusIsStableEverywhere()
    {
        double[] x = [-1e30, -800, -30, -1, 0, 1, 30, 800, 1e30];
        var y = new double[x.Length];
        StableMath.Softplus<double>(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double e = Math.Exp(-Math.Abs(x[i]));
            // log1p(e) = e − e²/2 + … is exact to double precision for e ≤ e^−30; elsewhere log(1 + e) is accurate enough.
            double expected = Math.Max(x[i], 0) + (e < 1e-13 ? e - e * e / 2 : Math.Log(1 + e));
            Assert.Equal(expected, y[i], Math.Abs(expected) * 1e-14 + 1e-300);
        }
    }

    [Fact]
    public void VectorSoftplusMatchesTheScalarDefinitionInEveryPrecision()
    {
        var rng = new Random(8);
        double[] x = Enumerable.Range(0, 10_000).Select(i => i % 97 == 0 ? -1e30 : (rng.NextDouble() - 0.5) * 200).ToArray();
        var yd = new double[x.Length];
        var yf = new float[x.Length];
        var yh = new Half[x.Length];
        StableMath.Softplus<double>(x, yd);
        StableMath.Softplus<float>(x.Select(v => (float)v).ToArray(), yf);
        StableMath.Softplus<Half>(x.Select(v => (Half)v).ToArray(), yh);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = StableMath.Softplus(x[i]);
            Assert.Equal(exact, yd[i], 1e-14 * exact + 1e-300);
            double exactF = StableMath.Softplus((float)x[i]);
            Assert.Equal(exactF, yf[i], 1e-6 * exactF + 1.2e-38);   // float subnormals are flushed to 0 (ExpF)
            double exactH = StableMath.Softplus((double)(Half)x[i]);
            Assert.Equal(exactH, (double)yh[i], 2e-3 * exactH + 1e-7);
        }
    }

    [Fact]
    public void ShapeErrorsNameTheArgument()
    {
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => StableMath.Softmax<float>(new float[7], 3, new float[7])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => StableMath.Softmax<float>(new float[6], 3, new float[5])).ParamName);
        Assert.Equal("columns", Assert.Throws<ArgumentOutOfRangeException>(() => StableMath.LogSumExp<float>(new float[6], 0, new float[2])).ParamName);
    }
}
