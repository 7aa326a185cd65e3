using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.LargeVocabulary;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>linear_ce against the materialised path (GEMM + ce + GEMMs), gradient checks, shift, determinism.</summary>
public class LinearCeTests
{
    /// <summary>Every ce option, alone and combined, and the reductions; weights are given for V = 29 (see <see cref="Specs"/>).</summary>
    public static TheoryData<string> Specs() => new(SpecList);

    internal static readonly string[] SpecList =
    [
        "linear_ce", "linear_ce(reduction=sum)", "linear_ce(reduction=none)", "linear_ce(smoothing=0.1)", "linear_ce(smoothing=1)",
        "linear_ce(lse_sq=0.01)", "linear_ce(softcap=3)", "linear_ce(temperature=2.5)", "linear_ce(ignore_index=3)",
        "linear_ce(weight=W)", "linear_ce(weight=W, smoothing=0.2, ignore_index=2, reduction=sum)",
        "linear_ce(softcap=5, temperature=0.5, lse_sq=0.001, smoothing=0.05, weight=W)",
        "linear_ce(shift=true)", "linear_ce(shift=true, smoothing=0.1, reduction=none)",
    ];

    /// <summary>(rows, dim, vocab): none a multiple of a block size, plus N = 1 and d = 1, and a vocabulary of several
    /// 2048-class slices (so several ∂H groups).</summary>
    public static readonly (int Rows, int Dim, int Vocab)[] Shapes = [(13, 17, 29), (1, 5, 29), (37, 1, 29), (70, 33, 29), (11, 5, 6500)];

    internal static LinearCrossEntropyLoss Create(string spec, int vocab, int chunkRows = 0)
    {
        var rng = new Random(vocab);
        string weights = "[" + string.Join(",", Enumerable.Range(0, vocab).Select(k => k == 1 ? "0" : (0.25 + 2 * rng.NextDouble()).ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]";
        spec = spec.Replace("weight=W", "weight=" + weights);
        if (chunkRows > 0) spec = spec.EndsWith(')') ? spec[..^1] + $", chunk_rows={chunkRows})" : spec + $"(chunk_rows={chunkRows})";
        return (LinearCrossEntropyLoss)LossRegistry.Create(spec);
    }

    internal static LinearCase Case(string spec, int rows, int dim, int vocab, int seed = 7)
    {
        int ignore = spec.Contains("ignore_index=3") ? 3 : spec.Contains("ignore_index=2") ? 2 : -100;
        var c = LinearCase.Random(seed, rows, dim, vocab, scale: 2, ignoreEvery: rows > 4 ? 4 : 0, ignoreIndex: ignore);
        return c;
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void MatchesTheMaterializedPathInDouble(string spec)
    {
        foreach (var (rows, dim, vocab) in Shapes)
        {
            if (spec.Contains("shift") && rows < 2) continue;
            foreach (int chunk in new[] { 0, 1, 8 })
            {
                var loss = Create(spec, vocab, chunk);
                var c = Case(spec, rows, dim, vocab);
                foreach (bool bias in new[] { true, false })
                    LinearRun.AssertClose(LinearRun.Double(loss, c, bias), LinearRun.Double(loss, c, bias, materialized: true), 1e-12,
                        $"{spec} chunk_rows={chunk} {rows}×{dim}, V={vocab}, bias={bias}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void MatchesTheMaterializedPathInFloat(string spec)
    {
        foreach (var (rows, dim, vocab) in new[] { (70, 33, 29), (45, 70, 1000), (3, 130, 517), (40, 24, 4500) })
        {
            foreach (int chunk in new[] { 0, 16 })
            {
                var loss = Create(spec, vocab, chunk);
                var c = Case(spec, rows, dim, vocab);
                LinearRun.AssertClose(LinearRun.Float(loss, c), LinearRun.Float(loss, c, materialized: true), 2e-5, $"{spec} chunk_rows={chunk} {rows}×{dim}, V={vocab}");
            }
        }
    }

    [Fact]
    public void VocabularyOfOneGivesZeroLossAndGradient()
    {
        var c = LinearCase.Random(3, 6, 4, 1);
        var r = LinearRun.Double(new LinearCrossEntropyLoss(), c);
        Assert.Equal(0, r.Loss);
        Assert.All(r.GradHidden, v => Assert.Equal(0, v));
        Assert.All(r.GradWeight, v => Assert.Equal(0, v));
        Assert.All(r.GradBias, v => Assert.Equal(0, v));
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void GradientCheckInDouble(string spec)
    {
        const int rows = 5, dim = 3, vocab = 29;
        var loss = Create(spec, vocab, chunkRows: 2);
        var c = Case(spec, rows, dim, vocab, seed: 11);
        LinearRun.AssertGradientCheck(loss, c);
    }

    [Fact]
    public void ShiftScoresRowTAgainstTargetTPlusOneWithoutCopying()
    {
        const int rows = 23, dim = 9, vocab = 40;
        var c = LinearCase.Random(5, rows, dim, vocab, ignoreEvery: 5);
        var shifted = new LinearCrossEntropyLoss(smoothing: 0.1, shift: true, chunkRows: 4);
        var plain = new LinearCrossEntropyLoss(smoothing: 0.1, chunkRows: 4);
        var s = LinearRun.Double(shifted, c);
        var cut = new LinearCase
        {
            Rows = rows - 1, Dim = dim, Vocab = vocab, Hidden = c.Hidden[..((rows - 1) * dim)], Weight = c.Weight, Bias = c.Bias, Targets = c.Targets[1..],
        };
        var p = LinearRun.Double(plain, cut);
        Assert.Equal(p.Loss, s.Loss, 14);
        Assert.Equal(p.PerRow, s.PerRow);
        Assert.Equal(p.GradHidden, s.GradHidden[..((rows - 1) * dim)]);
        Assert.All(s.GradHidden[((rows - 1) * dim)..], v => Assert.Equal(0, v));
        Assert.Equal(p.GradWeight, s.GradWeight);
        Assert.Equal(p.GradBias, s.GradBias);

        // targets[0] is never read: any value, even out of range, is fine.
        c.Targets[0] = 12345;
        Assert.Equal(s.Loss, LinearRun.Double(shifted, c).Loss);
    }

    [Theory]
    [InlineData("linear_ce")]
    [InlineData("linear_ce(smoothing=0.1, weight=W, ignore_index=2, softcap=4)")]
    [InlineData("linear_ce(reduction=sum, lse_sq=0.01, shift=true)")]
    public void BitIdenticalForOneAndTwoThreads(string spec)
    {
        var loss = Create(spec, 29);
        var c = LinearCase.Random(9, 600, 70, 29, ignoreEvery: 7, ignoreIndex: 2);
        var big = new LinearCrossEntropyLoss(smoothing: 0.05, chunkRows: 96);
        var cb = LinearCase.Random(10, 300, 100, 3000, ignoreEvery: 7);
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            var one = LinearRun.Float(loss, c);
            var oneBig = LinearRun.Float(big, cb);
            var oneDouble = LinearRun.Double(big, cb);
            Parallelism.MaxThreads = 2;
            var two = LinearRun.Float(loss, c);
            var twoBig = LinearRun.Float(big, cb);
            var twoDouble = LinearRun.Double(big, cb);
            LinearRun.AssertBitIdentical(one, two, spec);
            LinearRun.AssertBitIdentical(oneBig, twoBig, big.Spec);
            LinearRun.AssertBitIdentical(oneDouble, twoDouble, big.Spec + " (double)");
            LinearRun.AssertBitIdentical(two, LinearRun.Float(loss, c), spec + " (repeated)");
            // The vocabulary is sliced per thread count (3000 classes: 704-column slices on 1 thread, 512 on 2 or 3).
            Parallelism.MaxThreads = 3;
            LinearRun.AssertBitIdentical(oneBig, LinearRun.Float(big, cb), big.Spec + " (3 threads)");
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void ChunkSizeIsBoundedByTheBudget()
    {
        Assert.Equal(264, LinearCrossEntropyLoss.AutoChunkRows(32000, 1024, 4));
        Assert.Equal(512, LinearCrossEntropyLoss.AutoChunkRows(8192, 64, 4));
        Assert.Equal(8, LinearCrossEntropyLoss.AutoChunkRows(10_000_000, 64, 4));
        Assert.Equal(512, LinearCrossEntropyLoss.AutoChunkRows(1, 1, 4));
        Assert.True((long)LinearCrossEntropyLoss.AutoChunkRows(32000, 1024, 4) * (32000 + 3 * 1024) * 4 <= LinearCrossEntropyLoss.ChunkBudgetBytes);
        Assert.Equal(7, new LinearCrossEntropyLoss().ChunkRowsFor(7, 32000, 1024, 4));
        Assert.Equal(3, new LinearCrossEntropyLoss(chunkRows: 3).ChunkRowsFor(100, 32000, 1024, 4));
    }

    [Fact]
    public void ForwardOnlyAndPartialOutputsAgreeWithTheFullCall()
    {
        var c = LinearCase.Random(4, 50, 12, 77, ignoreEvery: 3);
        var loss = new LinearCrossEntropyLoss(smoothing: 0.2, chunkRows: 16);
        var full = LinearRun.Double(loss, c);
        Assert.Equal(full.Loss, loss.Compute(c.Hidden, c.Weight, c.Bias, c.Rows, c.Dim, c.Vocab, c.Targets));
        var gw = new double[c.Weight.Length];
        loss.Compute(c.Hidden, c.Weight, c.Bias, c.Rows, c.Dim, c.Vocab, c.Targets, gradWeight: gw);
        Assert.Equal(full.GradWeight, gw);
        var gb = new double[c.Vocab];
        Array.Fill(gb, 123.0);   // overwritten, not accumulated into
        loss.Compute(c.Hidden, c.Weight, c.Bias, c.Rows, c.Dim, c.Vocab, c.Targets, gradBias: gb);
        Assert.Equal(full.GradBias, gb);
    }

    [Fact]
    public void MeanOverOnlyIgnoredRowsIsZeroWithZeroGradients()
    {
        var c = LinearCase.Random(4, 9, 5, 11);
        Array.Fill(c.Targets, -100);
        var r = LinearRun.Double(new LinearCrossEntropyLoss(), c);
        Assert.Equal(0, r.Loss);
        Assert.All(r.GradHidden, v => Assert.Equal(0, v));
        Assert.All(r.GradWeight, v => Assert.Equal(0, v));
        Assert.All(r.GradBias, v => Assert.Equal(0, v));
    }

    [Fact]
    public void LossIsNonNegativeAsTheCardClaims()
    {
        Assert.True(LinearCrossEntropyLoss.Definition.Properties.HasFlag(LossProperties.NonNegative));
        foreach (string spec in SpecList)
        {
            var loss = Create(spec, 29);
            var r = LinearRun.Double(loss, Case(spec, 20, 6, 29, seed: 3));
            Assert.All(r.PerRow, v => Assert.True(v >= 0, $"{spec}: {v}"));
        }
    }
}

/// <summary>Runs alone (see <see cref="Kernels.AllocationTests"/>).</summary>
[Collection(nameof(Kernels.AllocationTests))]
public class LinearCeAllocationTests
{
    [Fact]
    public void ExtraMemoryIsAChunkNotTheLogits()
    {
        const int rows = 4096, dim = 64, vocab = 8192;
        var rng = new Random(1);
        float[] h = new float[rows * dim], w = new float[vocab * dim];
        for (int i = 0; i < h.Length; i++) h[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() - 0.5);
        int[] y = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray();
        float[] gh = new float[h.Length], gw = new float[w.Length], gb = new float[vocab], perRow = new float[rows];
        var loss = new LinearCrossEntropyLoss();
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            long before = GC.GetAllocatedBytesForCurrentThread();
            float value = loss.Compute(h, w, default, rows, dim, vocab, y, perRow, gh, gw, gb);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            long logits = (long)rows * vocab * sizeof(float);
            // One 512-row chunk is about 16.4 MiB; GEMM packing pools (first use) add about 8.5 MiB per concurrent GEMM.
            Assert.True(allocated < logits / 4, $"allocated {allocated} bytes; the logits alone are {logits}");
            Assert.True(float.IsFinite(value) && value > 0);
        }
        finally { Parallelism.MaxThreads = saved; }
    }
}
