using LossKit.Kernels;
using LossKit.LargeVocabulary;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>linear_ce with the vocabulary in blocks (online log-sum-exp, logits recomputed for the backward pass)
/// against the materialised path, the whole-row path, thread counts and Half input.</summary>
public class LinearCeVocabBlockTests
{
    private static LinearCrossEntropyLoss Create(string spec, int vocab, int chunkRows, int vocabBlock)
    {
        var loss = LinearCeTests.Create(spec, vocab, chunkRows);
        string s = loss.Spec;
        s = s.EndsWith(')') ? s[..^1] + $", vocab_block={vocabBlock})" : s + $"(vocab_block={vocabBlock})";
        return (LinearCrossEntropyLoss)Catalog.LossRegistry.Create(s);
    }

    private static LinearCase Case(string spec, int rows, int dim, int vocab, int seed = 7) => LinearCeTests.Case(spec, rows, dim, vocab, seed);

    /// <summary>Blocks of 1 class (every class its own block), 4 (a ragged last block of V = 29) and 7; with 29 classes
    /// these are 29, 8 and 5 blocks in up to 4 groups.</summary>
    [Theory]
    [MemberData(nameof(LinearCeTests.Specs), MemberType = typeof(LinearCeTests))]
    public void MatchesTheMaterializedPathInDouble(string spec)
    {
        foreach (var (rows, dim, vocab) in new[] { (13, 17, 29), (1, 5, 29), (37, 1, 29), (70, 33, 29) })
        {
            if (spec.Contains("shift") && rows < 2) continue;
            foreach (int block in new[] { 1, 4, 7 })
                foreach (int chunk in new[] { 0, 8 })
                {
                    var loss = Create(spec, vocab, chunk, block);
                    var c = Case(spec, rows, dim, vocab);
                    foreach (bool bias in new[] { true, false })
                        LinearRun.AssertClose(LinearRun.Double(loss, c, bias), LinearRun.Double(loss, c, bias, materialized: true), 1e-12,
                            $"{spec} vocab_block={block} chunk_rows={chunk} {rows}×{dim}, V={vocab}, bias={bias}");
                }
        }
    }

    [Theory]
    [MemberData(nameof(LinearCeTests.Specs), MemberType = typeof(LinearCeTests))]
    public void MatchesTheMaterializedPathInFloat(string spec)
    {
        foreach (var (rows, dim, vocab, block) in new[] { (45, 70, 1000, 128), (3, 130, 517, 100), (40, 24, 4500, 1000) })
        {
            var loss = Create(spec, vocab, 16, block);
            var c = Case(spec, rows, dim, vocab);
            LinearRun.AssertClose(LinearRun.Float(loss, c), LinearRun.Float(loss, c, materialized: true), 2e-5, $"{spec} vocab_block={block} {rows}×{dim}, V={vocab}");
        }
    }

    [Theory]
    [InlineData("linear_ce(smoothing=0.1, lse_sq=0.01)")]
    [InlineData("linear_ce(weight=W, softcap=3, temperature=2)")]
    public void GradientCheckInDouble(string spec)
    {
        const int rows = 5, dim = 3, vocab = 29;
        var loss = Create(spec, vocab, 2, 6);
        var c = Case(spec, rows, dim, vocab, seed: 11);
        LinearRun.AssertGradientCheck(loss, c);
    }

    [Fact]
    public void BitIdenticalForOneTwoAndThreeThreadsAndHalfInputIsFloatOnTheConvertedValues()
    {
        var loss = new LinearCrossEntropyLoss(smoothing: 0.05, chunkRows: 40, vocabBlock: 300);
        var c = LinearCase.Random(10, 100, 48, 2900, ignoreEvery: 7);
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            var one = LinearRun.Float(loss, c);
            var oneDouble = LinearRun.Double(loss, c);
            Parallelism.MaxThreads = 2;
            LinearRun.AssertBitIdentical(one, LinearRun.Float(loss, c), "2 threads");
            LinearRun.AssertBitIdentical(oneDouble, LinearRun.Double(loss, c), "2 threads (double)");
            Parallelism.MaxThreads = 3;
            LinearRun.AssertBitIdentical(one, LinearRun.Float(loss, c), "3 threads");
        }
        finally { Parallelism.MaxThreads = saved; }

        // Half input: exactly the float path on the converted values.
        var h = c.Hidden.Select(v => (Half)v).ToArray();
        var w = c.Weight.Select(v => (Half)v).ToArray();
        var b = c.Bias.Select(v => (Half)v).ToArray();
        float[] gh = new float[h.Length], gw = new float[w.Length], gb = new float[b.Length], pr = new float[c.Rows];
        float value = loss.Compute(h, w, b, c.Rows, c.Dim, c.Vocab, c.Targets, pr, gh, gw, gb);
        float[] fh = h.Select(v => (float)v).ToArray(), fw = w.Select(v => (float)v).ToArray(), fb = b.Select(v => (float)v).ToArray();
        float[] eh = new float[h.Length], ew = new float[w.Length], eb = new float[b.Length], epr = new float[c.Rows];
        float expected = loss.Compute(fh, fw, fb, c.Rows, c.Dim, c.Vocab, c.Targets, epr, eh, ew, eb);
        Assert.Equal(expected, value);
        Assert.Equal(epr, pr);
        Assert.Equal(eh, gh);
        Assert.Equal(ew, gw);
        Assert.Equal(eb, gb);
    }

    [Fact]
    public void MaskedClassesAndNonFiniteRowsBehaveAsWithWholeRows()
    {
        var c = LinearCase.Random(3, 9, 4, 12, ignoreEvery: 0);
        for (int k = 0; k < 12; k++) c.Bias[k] = k < 8 ? double.NegativeInfinity : c.Bias[k];  // classes 0..7 masked: blocks 0 and 1 fully masked
        c.Targets[0] = 2;                                                                        // a masked target: loss +∞
        c.Targets[1] = 9;
        c.Hidden[2 * 4 + 1] = double.NaN;                                                        // row 2: NaN
        foreach (string spec in new[] { "linear_ce", "linear_ce(smoothing=0.1)" })
        {
            var whole = LinearCeTests.Create(spec, 12, 4);
            var blocked = Create(spec, 12, 4, 4);
            var a = LinearRun.Double(whole, c, bias: true);
            var r = LinearRun.Double(blocked, c, bias: true);
            for (int i = 0; i < c.Rows; i++)
                Assert.True(a.PerRow[i].Equals(r.PerRow[i]) || Math.Abs(a.PerRow[i] - r.PerRow[i]) <= 1e-12 * Math.Abs(a.PerRow[i]),
                    $"{spec} row {i}: whole rows {a.PerRow[i]:R}, blocks {r.PerRow[i]:R}");
            Assert.Equal(double.PositiveInfinity, r.PerRow[0]);
            Assert.True(double.IsNaN(r.PerRow[2]));
            Assert.True(double.IsFinite(r.PerRow[1]) == double.IsFinite(a.PerRow[1]));
            for (int i = 0; i < r.GradHidden.Length; i++)
                Assert.True(a.GradHidden[i].Equals(r.GradHidden[i]) || Math.Abs(a.GradHidden[i] - r.GradHidden[i]) <= 1e-12,
                    $"{spec} ∂H[{i}]: {a.GradHidden[i]:R} vs {r.GradHidden[i]:R}");
        }
    }

    [Fact]
    public void AutomaticRuleUsesWholeRowsUntilFewerThan64Fit()
    {
        var auto = new LinearCrossEntropyLoss();
        Assert.Equal(0, auto.VocabBlockFor(32000, 1024, 4));
        Assert.Equal(0, auto.VocabBlockFor(128256, 1024, 4));
        Assert.Equal(LinearCrossEntropyLoss.AutoVocabBlock, auto.VocabBlockFor(256000, 1024, 4));
        Assert.Equal(0, new LinearCrossEntropyLoss(vocabBlock: 500).VocabBlockFor(500, 16, 4));
        Assert.Equal(499, new LinearCrossEntropyLoss(vocabBlock: 499).VocabBlockFor(500, 16, 4));
        // Blocks keep the chunk at 512 rows within the budget even for a quarter-million classes.
        int rows = auto.ChunkRowsFor(100_000, 256000, 1024, 4);
        Assert.Equal(LinearCrossEntropyLoss.MaxAutoChunkRows, rows);
        Assert.True((long)rows * 4 * (2048 + 1024) * 4 <= LinearCrossEntropyLoss.ChunkBudgetBytes);
        Assert.Equal("linear_ce(vocab_block=256)", new LinearCrossEntropyLoss(vocabBlock: 256).Spec);
    }
}
