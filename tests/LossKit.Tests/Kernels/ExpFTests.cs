using System.Runtime.Intrinsics;
using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

public class ExpFTests
{
    [Fact]
    public void IsAccurateToAFewUlpsOverTheWholeRangeForEveryWidth()
    {
        var rng = new Random(5);
        double worst = 0;
        for (int i = 0; i < 200_000; i++)
        {
            float x = (float)(rng.NextDouble() * 176 - 88);
            double exact = Math.Exp(x);
            if (exact < 1.2e-38) continue;   // subnormal results are flushed to 0 by design
            foreach (float e in new[] { ExpF.Exp(Vector512.Create(x))[0], ExpF.Exp(Vector256.Create(x))[0], ExpF.Exp(Vector128.Create(x))[0] })
                worst = Math.Max(worst, Math.Abs(e - exact) / exact);
        }
        Assert.InRange(worst, 0, 3e-7);
    }

    [Theory]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(-1e30f, 0f)]
    [InlineData(-100f, 0f)]
    [InlineData(0f, 1f)]
    [InlineData(89f, float.PositiveInfinity)]
    [InlineData(1e30f, float.PositiveInfinity)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    public void HandlesTheEdges(float x, float expected)
    {
        Assert.Equal(expected, ExpF.Exp(Vector512.Create(x))[3]);
        Assert.Equal(expected, ExpF.Exp(Vector256.Create(x))[3]);
        Assert.Equal(expected, ExpF.Exp(Vector128.Create(x))[3]);
    }

    [Fact]
    public void PropagatesNaN() => Assert.True(float.IsNaN(ExpF.Exp(Vector512.Create(float.NaN))[0]));
}
