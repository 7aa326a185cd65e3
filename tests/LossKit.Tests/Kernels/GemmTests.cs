using System.Runtime.Intrinsics;
using FsCheck.Fluent;
using FsCheck.Xunit;
using FsCheck;
using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

public sealed class GemmTests
{
    // ---- reference and helpers ----

    private static readonly float[] Empty = [];

    /// <summary>Random values in [−1, 1) with a few exact zeros, from a fixed seed.</summary>
    internal static float[] RandomFloats(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(16) == 0 ? 0f : (float)(2 * rng.NextDouble() - 1);
        return x;
    }

    /// <summary>op(X)[row, col] for a stored matrix with leading dimension ld.</summary>
    private static double At(ReadOnlySpan<float> x, int ld, bool transpose, int row, int col) =>
        transpose ? x[col * ld + row] : x[row * ld + col];

    /// <summary>Checks C against a double-precision triple loop: each element must be within
    /// 1e-5·(|α|·Σ_p |a_ip·b_pj| + |β·c_ij|) of the exact result (float accumulation error grows with that sum).</summary>
    private static void AssertMatchesReference(float[] a, int lda, float[] b, int ldb, float[] c0, float[] c, int ldc,
        int m, int n, int k, bool ta, bool tb, float alpha, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double dot = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double t = At(a, lda, ta, i, p) * At(b, ldb, tb, p, j);
                    dot += t;
                    abs += Math.Abs(t);
                }
                double old = c0[i * ldc + j];
                double expected = alpha * dot + (beta == 0 ? 0 : beta * old);
                double tolerance = 1e-5 * (Math.Abs(alpha) * abs + Math.Abs(beta * old)) + 1e-30;
                double actual = c[i * ldc + j];
                if (!(Math.Abs(actual - expected) <= tolerance))
                    Assert.Fail($"C[{i},{j}] = {actual:R}, expected {expected:R} ± {tolerance:E2} (m={m} n={n} k={k} ta={ta} tb={tb} α={alpha} β={beta})");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.True(c[i * ldc + j].Equals(c0[i * ldc + j]), $"padding C[{i},{j}] was written");
        }
    }

    private static void CheckDense(int m, int n, int k, bool ta, bool tb, float alpha, float beta, int seed = 1)
    {
        float[] a = RandomFloats(m * k, seed), b = RandomFloats(k * n, seed + 1), c0 = RandomFloats(m * n, seed + 2);
        float[] c = (float[])c0.Clone();
        Gemm.Multiply(a, b, c, m, n, k, ta, tb, alpha, beta);
        AssertMatchesReference(a, ta ? m : k, b, tb ? k : n, c0, c, n, m, n, k, ta, tb, alpha, beta);
    }

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 },
        { 7, 13, 5 },
        { 1, 40, 3 },
        { 40, 1, 3 },
        { 33, 65, 17 },
        { 64, 64, 64 },
        { 95, 47, 129 },
        { 13, 97, 700 },    // two k blocks
        { 201, 70, 31 },    // more than one row block
        { 130, 150, 120 },  // large enough to run on several threads
        { 3, 4200, 9 },     // more than one column block
        { 2, 300, 1100 },   // fewer row panels than threads: the columns are split
        { 9, 2100, 1100 },  // packed B larger than one buffer: several rounds
    };

    // ---- correctness ----

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllTransposeCombinationsMatchReference(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                CheckDense(m, n, k, ta, tb, 1, 0);
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(-0.5f, 2f)]
    [InlineData(2f, -1f)]
    [InlineData(0.25f, 0.5f)]
    public void AlphaAndBetaAreApplied(float alpha, float beta)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                CheckDense(7, 13, 5, ta, tb, alpha, beta);
                CheckDense(37, 70, 600, ta, tb, alpha, beta);
            }
    }

    [Fact]
    public void ZeroKScalesC()
    {
        float[] c0 = RandomFloats(12, 3), c = (float[])c0.Clone();
        Gemm.Multiply(Empty, Empty, c, 3, 4, 0, beta: 0.5f);
        Assert.Equal(c0.Select(x => 0.5f * x), c);

        c[0] = float.NaN;
        Gemm.Multiply(Empty, Empty, c, 3, 4, 0);
        Assert.All(c, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void ZeroAlphaDoesNotReadAOrB()
    {
        float[] a = Enumerable.Repeat(float.NaN, 6).ToArray(), b = Enumerable.Repeat(float.NaN, 6).ToArray();
        float[] c0 = RandomFloats(4, 5), c = (float[])c0.Clone();
        Gemm.Multiply(a, b, c, 2, 2, 3, alpha: 0, beta: 2);
        Assert.Equal(c0.Select(x => 2 * x), c);
    }

    [Theory]
    [InlineData(3, 4, 5)]
    [InlineData(50, 70, 90)]
    public void ZeroBetaIgnoresNaNInC(int m, int n, int k)
    {
        float[] a = RandomFloats(m * k, 1), b = RandomFloats(k * n, 2);
        float[] c = Enumerable.Repeat(float.NaN, m * n).ToArray();
        Gemm.Multiply(a, b, c, m, n, k);
        Assert.All(c, x => Assert.True(float.IsFinite(x)));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void LeadingDimensionsSelectSubmatrices(bool ta, bool tb)
    {
        foreach ((int m, int n, int k) in new[] { (5, 6, 7), (45, 70, 33) })
        {
            int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
            float[] a = RandomFloats(((ta ? k : m) - 1) * lda + (ta ? m : k), 11);
            float[] b = RandomFloats(((tb ? n : k) - 1) * ldb + (tb ? k : n), 12);
            float[] c0 = RandomFloats((m - 1) * ldc + n + 1, 13), c = (float[])c0.Clone();
            Gemm.Multiply(a, lda, b, ldb, c, ldc, m, n, k, ta, tb, 1.5f, -0.5f);
            AssertMatchesReference(a, lda, b, ldb, c0, c, ldc, m, n, k, ta, tb, 1.5f, -0.5f);
            Assert.Equal(c0[^1], c[^1]);
        }
    }

    [Fact]
    public void MlpShapesMatchReference()
    {
        // Forward X·W, weight gradient Xᵀ·G and input gradient G·Wᵀ of a 784→256 layer on a batch of 128.
        const int batch = 128, inputs = 784, hidden = 256;
        float[] x = RandomFloats(batch * inputs, 21), w = RandomFloats(inputs * hidden, 22), g = RandomFloats(batch * hidden, 23);
        float[] h = new float[batch * hidden], dw = new float[inputs * hidden], dx = new float[batch * inputs];
        Gemm.Multiply(x, w, h, batch, hidden, inputs);
        Gemm.Multiply(x, g, dw, inputs, hidden, batch, transposeA: true);
        Gemm.Multiply(g, w, dx, batch, inputs, hidden, transposeB: true);
        AssertMatchesReference(x, inputs, w, hidden, new float[h.Length], h, hidden, batch, hidden, inputs, false, false, 1, 0);
        AssertMatchesReference(x, inputs, g, hidden, new float[dw.Length], dw, hidden, inputs, hidden, batch, true, false, 1, 0);
        AssertMatchesReference(g, hidden, w, hidden, new float[dx.Length], dx, inputs, batch, inputs, hidden, false, true, 1, 0);
    }

    [Property(MaxTest = 300)]
    public Property RandomSmallProductsMatchReference(PositiveInt m, PositiveInt n, NonNegativeInt k, bool ta, bool tb, int seed, sbyte alpha, sbyte beta)
    {
        int rows = m.Get % 48 + 1, cols = n.Get % 80 + 1, depth = k.Get % 70;
        float al = alpha / 16f, be = beta / 16f;
        CheckDense(rows, cols, depth, ta, tb, al, be, seed);
        return true.Label($"{rows}×{cols}×{depth} ta={ta} tb={tb} α={al} β={be} seed={seed}");
    }

    [Fact]
    public void DoubleMatchesReference()
    {
        foreach ((int m, int n, int k) in new[] { (1, 1, 1), (7, 13, 5), (33, 65, 17), (60, 90, 300) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    double[] a = RandomFloats(m * k, 1).Select(v => (double)v).ToArray();
                    double[] b = RandomFloats(k * n, 2).Select(v => (double)v).ToArray();
                    double[] c = RandomFloats(m * n, 3).Select(v => (double)v).ToArray(), c0 = (double[])c.Clone();
                    Gemm.Multiply(a, b, c, m, n, k, ta, tb, 2.0, 0.5);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double dot = 0, abs = 0;
                            for (int p = 0; p < k; p++)
                            {
                                double t = (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                                dot += t;
                                abs += Math.Abs(t);
                            }
                            Assert.Equal(2 * dot + 0.5 * c0[i * n + j], c[i * n + j], 1e-12 * (2 * abs + 1));
                        }
                }
    }

    // ---- every vector width's kernel, whatever this machine prefers ----

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    public unsafe void EachKernelWidthMatchesReference(int width)
    {
        Assert.SkipWhen(width == 512 && !Vector512.IsHardwareAccelerated, "Vector512 is not hardware-accelerated here (no AVX-512), so the 512-bit kernel cannot run");
        Assert.SkipWhen(width == 256 && !Vector256.IsHardwareAccelerated, "Vector256 is not hardware-accelerated here (no AVX2), so the 256-bit kernel cannot run");
        foreach ((int m, int n, int k) in new[] { (1, 1, 1), (7, 13, 5), (33, 65, 17), (29, 100, 600) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    float[] a = RandomFloats(m * k, 31), b = RandomFloats(k * n, 32), c0 = RandomFloats(m * n, 33);
                    float[] c = (float[])c0.Clone();
                    double[] ad = a.Select(v => (double)v).ToArray(), bd = b.Select(v => (double)v).ToArray();
                    double[] cd = c0.Select(v => (double)v).ToArray();
                    int lda = ta ? m : k, ldb = tb ? k : n;
                    fixed (float* pa = a, pb = b, pc = c)
                    fixed (double* qa = ad, qb = bd, qc = cd)
                    {
                        switch (width)
                        {
                            case 512:
                                GemmCore<float, KernelRx2<float, Vector512<float>, Simd512<float>, EightRows>>.Run(pa, lda, ta, pb, ldb, tb, pc, n, m, n, k, 0.5f, 2f);
                                GemmCore<double, KernelRx2<double, Vector512<double>, Simd512<double>, EightRows>>.Run(qa, lda, ta, qb, ldb, tb, qc, n, m, n, k, 0.5, 2);
                                break;
                            case 256:
                                GemmCore<float, KernelRx2<float, Vector256<float>, Simd256<float>, SixRows>>.Run(pa, lda, ta, pb, ldb, tb, pc, n, m, n, k, 0.5f, 2f);
                                GemmCore<double, KernelRx2<double, Vector256<double>, Simd256<double>, SixRows>>.Run(qa, lda, ta, qb, ldb, tb, qc, n, m, n, k, 0.5, 2);
                                break;
                            default:
                                GemmCore<float, KernelRx2<float, Vector128<float>, Simd128<float>, SixRows>>.Run(pa, lda, ta, pb, ldb, tb, pc, n, m, n, k, 0.5f, 2f);
                                GemmCore<double, KernelRx2<double, Vector128<double>, Simd128<double>, SixRows>>.Run(qa, lda, ta, qb, ldb, tb, qc, n, m, n, k, 0.5, 2);
                                break;
                        }
                    }
                    AssertMatchesReference(a, lda, b, ldb, c0, c, n, m, n, k, ta, tb, 0.5f, 2f);
                    AssertMatchesReference(a, lda, b, ldb, c0, cd.Select(v => (float)v).ToArray(), n, m, n, k, ta, tb, 0.5f, 2f);
                }
    }

    // ---- determinism ----

    [Theory]
    [InlineData(150, 170, 530, false, false)]
    [InlineData(150, 170, 530, true, true)]
    [InlineData(257, 333, 1200, false, true)]
    [InlineData(257, 333, 1200, true, false)]
    [InlineData(5, 3000, 300, false, false)]
    [InlineData(1000, 40, 100, true, false)]
    [InlineData(20, 2100, 1100, false, true)]
    public void ResultsAreBitIdenticalForOneAndTwoThreads(int m, int n, int k, bool ta, bool tb)
    {
        float[] a = RandomFloats(m * k, 41), b = RandomFloats(k * n, 42), c0 = RandomFloats(m * n, 43);
        float[] one = (float[])c0.Clone(), two = (float[])c0.Clone(), three = (float[])c0.Clone();
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            Gemm.Multiply(a, b, one, m, n, k, ta, tb, 0.75f, 0.5f);
            Parallelism.MaxThreads = 2;
            Gemm.Multiply(a, b, two, m, n, k, ta, tb, 0.75f, 0.5f);
            Parallelism.MaxThreads = 3;
            Gemm.Multiply(a, b, three, m, n, k, ta, tb, 0.75f, 0.5f);
        }
        finally { Parallelism.MaxThreads = saved; }
        Assert.True(one.AsSpan().SequenceEqual(two), "1 and 2 threads differ");
        Assert.True(one.AsSpan().SequenceEqual(three), "1 and 3 threads differ");
    }

    [Fact]
    public void RepeatedParallelRunsAreIdentical()
    {
        // Many runs on more threads than cores, so that threads race for the shared B panels in many orders.
        foreach ((int m, int n, int k, bool tb) in new[] { (5, 1500, 300, false), (90, 700, 520, true) })
        {
            float[] a = RandomFloats(m * k, 51), b = RandomFloats(k * n, 52);
            float[] expected = new float[m * n], actual = new float[m * n];
            int saved = Parallelism.MaxThreads;
            try
            {
                Parallelism.MaxThreads = 1;
                Gemm.Multiply(a, b, expected, m, n, k, transposeB: tb);
                Parallelism.MaxThreads = 4;
                for (int rep = 0; rep < 25; rep++)
                {
                    Gemm.Multiply(a, b, actual, m, n, k, transposeB: tb);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"run {rep} of {m}×{n}×{k} differs");
                }
            }
            finally { Parallelism.MaxThreads = saved; }
        }
    }

    // ---- argument checking ----

    [Fact]
    public void WrongLengthsNameTheArgument()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[100], new float[60], new float[120], 10, 12, 12));
        Assert.Equal("a", e.ParamName);
        Assert.Contains("a has 100 values; expected m×k = 120", e.Message);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[120], new float[143], new float[120], 10, 12, 12));
        Assert.Equal("b", e.ParamName);
        Assert.Contains("b has 143 values; expected k×n = 144", e.Message);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[120], new float[144], new float[121], 10, 12, 12, transposeA: true));
        Assert.Equal("c", e.ParamName);
        Assert.Contains("c has 121 values; expected m×n = 120", e.Message);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new double[5], new double[6], new double[6], 2, 3, 3));
        Assert.Equal("a", e.ParamName);
    }

    [Fact]
    public void StridedArgumentsAreChecked()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[30], 12, new float[40], 4, new float[20], 4, 3, 4, 10));
        Assert.Equal("a", e.ParamName);
        Assert.Contains("a has 30 values; expected at least", e.Message);
        Assert.Contains("= 34", e.Message);

        var r = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[30], 9, new float[40], 4, new float[20], 4, 3, 4, 10));
        Assert.Equal("lda", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[30], 10, new float[40], 4, new float[20], 3, 3, 4, 10));
        Assert.Equal("ldc", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[30], 10, new float[40], 9, new float[20], 4, 3, 4, 10, transposeB: true));
        Assert.Equal("ldb", r.ParamName);
    }

    [Fact]
    public void NegativeSizesAndOverlapAreRejected()
    {
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Empty, Empty, Empty, -1, 0, 0));
        Assert.Equal("m", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Empty, Empty, Empty, 0, 0, -2));
        Assert.Equal("k", r.ParamName);

        float[] shared = new float[16];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(shared.AsSpan(0, 4), new float[4], shared.AsSpan(2, 4), 2, 2, 2));
        Assert.Equal("c", e.ParamName);
    }
}

/// <summary>Allocation checks run alone: the GEMM's packing buffers come from a process-wide pool that tests running at
/// the same time can leave empty for a moment.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public class AllocationTests;

[Collection(nameof(AllocationTests))]
public class GemmAllocationTests
{
    [Fact]
    public void SingleThreadedCallsDoNotAllocateOnceWarm()
    {
        const int m = 70, n = 90, k = 600;
        float[] a = GemmTests.RandomFloats(m * k, 1), b = GemmTests.RandomFloats(k * n, 2), c = new float[m * n];
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            Gemm.Multiply(a, b, c, m, n, k, transposeB: true);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Gemm.Multiply(a, b, c, m, n, k, transposeB: true);
            Gemm.Multiply(a, b, c, m, n, k, transposeA: true, beta: 1);
            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        }
        finally { Parallelism.MaxThreads = saved; }
    }

}
