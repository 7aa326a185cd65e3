using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

/// <summary>The drivers (Parallelism): fixed blocks that depend only on the shape, partial sums added in block order
/// whatever the thread count, the first block's argument error surfaced; and the row kernels' reference behaviour.</summary>
public class DriverTests
{
    private static T WithThreads<T>(int threads, Func<T> f)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            return f();
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    /// <summary>Block sums of wildly different magnitudes, so that any other order of addition gives other bits.</summary>
    private static double Partial(int block) => block % 3 == 0 ? 1e16 : block % 3 == 1 ? -1e16 : 1 + block * 1e-3;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1000, 10)]
    [InlineData(5000, 100)]
    [InlineData(3, 40000)]
    public void Row_blocks_are_fixed_and_summed_in_block_order(int rows, int columns)
    {
        int perBlock = Parallelism.RowsPerBlock(columns), blocks = Parallelism.BlockCount(rows, columns);
        double expected = 0;
        for (int b = 0; b < blocks; b++) expected += Partial(b);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var seen = new int[rows];
            double sum = WithThreads(threads, () => Parallelism.SumBlocks(rows, columns, (b, start, end) =>
            {
                Assert.Equal(b * perBlock, start);
                Assert.Equal(Math.Min(rows, start + perBlock), end);
                for (int r = start; r < end; r++) Interlocked.Increment(ref seen[r]);
                return Partial(b);
            }));
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(sum));
            Assert.All(seen, s => Assert.Equal(1, s));
        }
    }

    [Theory]
    [InlineData(1, 16384)]
    [InlineData(16384, 16384)]
    [InlineData(100_001, 16384)]
    [InlineData(100_001, 999)]
    public void Element_blocks_are_fixed_and_summed_in_block_order(int n, int blockLength)
    {
        int blocks = (n + blockLength - 1) / blockLength;
        double expected = 0;
        for (int b = 0; b < blocks; b++) expected += Partial(b);
        foreach (int threads in new[] { 1, 2 })
        {
            var covered = new int[n];
            double sum = WithThreads(threads, () => Parallelism.SumElements(n, blockLength, (b, start, end) =>
            {
                Assert.Equal(b * blockLength, start);
                for (int i = start; i < end; i++) covered[i]++;
                return Partial(b);
            }));
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(sum));
            Assert.All(covered, c => Assert.Equal(1, c));
        }
    }

    [Fact]
    public void The_first_blocks_argument_error_is_the_one_thrown()
    {
        foreach (int threads in new[] { 1, 2 })
        {
            var e = Assert.Throws<RowException>(() => WithThreads(threads, () => Parallelism.SumBlocks(4000, 10, (b, start, _) =>
                b >= 1 ? throw new RowException("x", start, $"row {start}") : 0.0)));
            Assert.Equal(Parallelism.RowsPerBlock(10), e.Row);
        }
    }

    [Fact]
    public void Tasks_run_once_each_with_nested_kernels_on_one_thread()
    {
        var hits = new int[9];
        var inner = new int[9];
        WithThreads(2, () =>
        {
            Parallelism.ForTasks(9, i =>
            {
                Interlocked.Increment(ref hits[i]);
                inner[i] = Parallelism.MaxThreads;
            });
            return Parallelism.MaxThreads;
        });
        Assert.All(hits, h => Assert.Equal(1, h));
        Assert.All(inner, t => Assert.Equal(1, t));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(1000)]
    public void Row_softmax_is_the_softmax(int n)
    {
        var rng = new Random(n);
        double[] x = Enumerable.Range(0, n).Select(_ => 40 * rng.NextDouble() - 20).ToArray();
        if (n > 2) x[1] = double.NegativeInfinity;
        double max = x.Max();
        double[] p = new double[n], logP = new double[n];
        double sum = Row.Softmax<double>(x, max, p, logP);
        double reference = x.Sum(v => Math.Exp(v - max));
        Assert.Equal(reference, sum, 1e-13 * reference);
        for (int j = 0; j < n; j++)
        {
            Assert.Equal(Math.Exp(x[j] - max) / reference, p[j], 1e-13);
            Assert.Equal(x[j] - max - Math.Log(reference), logP[j], 1e-12);
        }
        // StableMath's softmax is this function.
        var q = new double[n];
        StableMath.Softmax<double>(x, n, q);
        Assert.Equal(p, q);
    }

    [Theory]
    [InlineData(3, false)]
    [InlineData(17, true)]
    [InlineData(100, false)]
    [InlineData(100, true)]
    public void Row_hinge_matches_its_definition(int n, bool squared)
    {
        var rng = new Random(n);
        float[] x = Enumerable.Range(0, n).Select(i => i % 7 == 2 ? float.NegativeInfinity : (float)(4 * rng.NextDouble() - 2)).ToArray();
        var g = new float[n];
        var (sum, dsum) = Row.Hinge<float>(x, 0.5f, squared, g, 0.25f);
        double s = 0, d = 0;
        for (int j = 0; j < n; j++)
        {
            double u = x[j] + 0.5, a = Math.Max(u, 0), dj = squared ? 2 * a : u > 0 ? 1 : 0;
            s += squared ? a * a : a;
            d += dj;
            Assert.Equal(0.25 * dj, g[j], 1e-6);
        }
        Assert.Equal(s, sum, 1e-4 * (1 + s));
        Assert.Equal(d, dsum, 1e-4 * (1 + d));
    }
}
