using System.Runtime.Intrinsics;
using LossKit.Kernels;

namespace LossKit.Tests.Binary;

/// <summary>The kernel's own vector exp and log (built from IEEE add/mul/div only, for bit-reproducibility):
/// accuracy against Math.Exp/Math.Log in ulps, and the special values.</summary>
public class VectorMathTests
{
    private static long UlpDistance(double a, double b)
    {
        if (a == b || (double.IsNaN(a) && double.IsNaN(b))) return 0;
        long ia = BitConverter.DoubleToInt64Bits(a), ib = BitConverter.DoubleToInt64Bits(b);
        if (ia < 0) ia = long.MinValue - ia;
        if (ib < 0) ib = long.MinValue - ib;
        return Math.Abs(ia - ib);
    }

    private static int UlpDistance(float a, float b)
    {
        if (a == b || (float.IsNaN(a) && float.IsNaN(b))) return 0;
        int ia = BitConverter.SingleToInt32Bits(a), ib = BitConverter.SingleToInt32Bits(b);
        if (ia < 0) ia = int.MinValue - ia;
        if (ib < 0) ib = int.MinValue - ib;
        return Math.Abs(ia - ib);
    }

    private static double[] Apply(double[] x, Func<Vector256<double>, Vector256<double>> f)
    {
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i += 4) f(Vector256.Create(x.AsSpan(i, 4))).CopyTo(y.AsSpan(i, 4));
        return y;
    }

    private static float[] Apply(float[] x, Func<Vector512<float>, Vector512<float>> f)
    {
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += 16) f(Vector512.Create(x.AsSpan(i, 16))).CopyTo(y.AsSpan(i, 16));
        return y;
    }

    [Fact]
    public void DoubleExpAndLogAreWithinTwoUlps()
    {
        var rng = new Random(1);
        double[] e = Enumerable.Range(0, 40000).Select(i => i < 20000 ? 1400 * (rng.NextDouble() - 0.5) : 4 * (rng.NextDouble() - 0.5)).ToArray();
        double[] ye = Apply(e, VectorMath<Vector256<double>, double, Simd256<double>>.Exp);
        for (int i = 0; i < e.Length; i++) Assert.True(UlpDistance(Math.Exp(e[i]), ye[i]) <= 2, $"exp({e[i]:R}) = {ye[i]:R}, Math.Exp {Math.Exp(e[i]):R}");

        double[] l = Enumerable.Range(0, 40000).Select(i => i % 4 == 0 ? 1 + (rng.NextDouble() - 0.5) * 1e-3 : Math.Exp(1400 * (rng.NextDouble() - 0.5))).ToArray();
        double[] yl = Apply(l, VectorMath<Vector256<double>, double, Simd256<double>>.Log);
        for (int i = 0; i < l.Length; i++) Assert.True(UlpDistance(Math.Log(l[i]), yl[i]) <= 2, $"log({l[i]:R}) = {yl[i]:R}, Math.Log {Math.Log(l[i]):R}");
    }

    [Fact]
    public void FloatExpAndLogAreWithinTwoUlps()
    {
        var rng = new Random(2);
        float[] e = Enumerable.Range(0, 40000).Select(i => (float)(i < 20000 ? 200 * (rng.NextDouble() - 0.5) : 4 * (rng.NextDouble() - 0.5))).ToArray();
        float[] ye = Apply(e, VectorMath<Vector512<float>, float, Simd512<float>>.Exp);
        for (int i = 0; i < e.Length; i++)
        {
            float expected = (float)Math.Exp(e[i]);
            // Results in float's subnormal range carry less precision: compare those absolutely.
            bool ok = expected < 1.2e-38f ? Math.Abs(expected - ye[i]) <= 2e-45f * 4 : UlpDistance(expected, ye[i]) <= 2;
            Assert.True(ok, $"exp({e[i]:R}) = {ye[i]:R}, expected {expected:R}");
        }
        float[] l = Enumerable.Range(0, 40000).Select(i => (float)(i % 4 == 0 ? 1 + (rng.NextDouble() - 0.5) * 1e-2 : Math.Exp(170 * (rng.NextDouble() - 0.5)))).ToArray();
        float[] yl = Apply(l, VectorMath<Vector512<float>, float, Simd512<float>>.Log);
        for (int i = 0; i < l.Length; i++) Assert.True(UlpDistance((float)Math.Log(l[i]), yl[i]) <= 2, $"log({l[i]:R}) = {yl[i]:R}");
    }

    [Fact]
    public void SpecialValues()
    {
        double[] x = [0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 709.78, 709.79, -745.2, -745.1, 4.9e-324, 2e-310, -1, 1, 1e300];
        double[] ye = Apply([.. x, 0, 0], VectorMath<Vector256<double>, double, Simd256<double>>.Exp);
        double[] yl = Apply([.. x, 1, 1], VectorMath<Vector256<double>, double, Simd256<double>>.Log);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(UlpDistance(Math.Exp(x[i]), ye[i]) <= 2, $"exp({x[i]:R}) = {ye[i]:R}, Math.Exp {Math.Exp(x[i]):R}");
            Assert.True(UlpDistance(Math.Log(x[i]), yl[i]) <= 2, $"log({x[i]:R}) = {yl[i]:R}, Math.Log {Math.Log(x[i]):R}");
        }
    }
}
