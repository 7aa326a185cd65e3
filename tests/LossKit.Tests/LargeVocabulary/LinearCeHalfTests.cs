using LossKit.Kernels;
using LossKit.LargeVocabulary;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>Half-precision H, W and b: converted to float per chunk and slice, so the results are exactly the float
/// path's on the converted values.</summary>
public class LinearCeHalfTests
{
    private static Half[] H(double[] x) => x.Select(v => (Half)v).ToArray();
    private static float[] F(Half[] x) => x.Select(v => (float)v).ToArray();

    private static LinearResult<float> RunHalf(LinearCrossEntropyLoss loss, LinearCase c, bool materialized = false)
    {
        int predictions = loss.Shift ? c.Rows - 1 : c.Rows;
        var perRow = new float[predictions];
        var gh = new float[c.Hidden.Length];
        var gw = new float[c.Weight.Length];
        var gb = new float[c.Vocab];
        Half[] h = H(c.Hidden), w = H(c.Weight), b = H(c.Bias);
        float value = materialized
            ? loss.ComputeMaterialized(h, w, b, c.Rows, c.Dim, c.Vocab, c.Targets, perRow, gh, gw, gb)
            : loss.Compute(h, w, b, c.Rows, c.Dim, c.Vocab, c.Targets, perRow, gh, gw, gb);
        return new(value, perRow, gh, gw, gb);
    }

    /// <summary>The same case with every input rounded through Half, as doubles for <see cref="LinearRun.Float"/>.</summary>
    private static LinearCase Rounded(LinearCase c) => new()
    {
        Rows = c.Rows, Dim = c.Dim, Vocab = c.Vocab, Targets = c.Targets,
        Hidden = F(H(c.Hidden)).Select(v => (double)v).ToArray(),
        Weight = F(H(c.Weight)).Select(v => (double)v).ToArray(),
        Bias = F(H(c.Bias)).Select(v => (double)v).ToArray(),
    };

    [Theory]
    [InlineData("linear_ce", 37, 19, 29, 0)]
    [InlineData("linear_ce(smoothing=0.1, weight=W, ignore_index=2, softcap=4, temperature=0.8, lse_sq=0.001)", 41, 12, 29, 8)]
    [InlineData("linear_ce(reduction=sum, shift=true)", 50, 24, 6500, 16)]
    [InlineData("linear_ce(reduction=none, smoothing=0.05)", 70, 33, 4500, 0)]
    public void MatchesTheFloatPathBitForBit(string spec, int rows, int dim, int vocab, int chunkRows)
    {
        var loss = LinearCeTests.Create(spec, vocab, chunkRows);
        var c = LinearCase.Random(21, rows, dim, vocab, scale: 2, ignoreEvery: 5, ignoreIndex: loss.IgnoreIndex);
        LinearRun.AssertBitIdentical(RunHalf(loss, c), LinearRun.Float(loss, Rounded(c)), spec);
        LinearRun.AssertClose(RunHalf(loss, c), RunHalf(loss, c, materialized: true), 2e-5, spec + " vs materialised");
    }

    [Fact]
    public void BitIdenticalForOneAndTwoThreads()
    {
        var loss = new LinearCrossEntropyLoss(smoothing: 0.1, chunkRows: 40);
        var c = LinearCase.Random(22, 130, 40, 5000, ignoreEvery: 6);
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            var one = RunHalf(loss, c);
            Parallelism.MaxThreads = 2;
            LinearRun.AssertBitIdentical(one, RunHalf(loss, c), loss.Spec);
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void ShapeErrorsNameEveryShape()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() =>
            new LinearCrossEntropyLoss().Compute(new Half[10], new Half[12], default, 3, 4, 3, new int[3]));
        Assert.Contains("hidden has 10 values; expected rows×dim = 3×4 = 12", e.Message);
        Assert.Contains("weight is 3×4", e.Message);
    }
}
