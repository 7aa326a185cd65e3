using System.Numerics;
using LossKit.Kernels;
using LossKit.LargeVocabulary;
using LossKit.Softmax;

namespace LossKit.Tests.Kernels;

/// <summary>
/// The one cross-entropy row kernel: <c>ce</c> (through <c>SoftmaxLoss</c>, exp(z − max) stored in the gradient row) and
/// <c>linear_ce</c> (exp(z − max) stored over the logits, in place) give the same bits on the same logits, for every
/// vector width and tail, with smoothing, class weights, lse², masked classes and non-finite rows; and the kernel's
/// results do not depend on the thread count.
/// </summary>
public class CrossEntropyRowTests
{
    public static TheoryData<int, double, double, bool> Rows => new()
    {
        { 1, 0, 0, false }, { 5, 0, 0, false }, { 5, 0.1, 0, true }, { 37, 0.2, 0.01, false }, { 37, 0, 0, true },
        { 133, 0.1, 0.001, true }, { 1000, 0, 0, false }, { 1000, 0.3, 0.01, true },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Ce_and_the_in_place_row_of_linear_ce_give_the_same_bits(int classes, double smoothing, double lseSquared, bool weighted)
    {
        Same<float>(classes, smoothing, lseSquared, weighted);
        Same<double>(classes, smoothing, lseSquared, weighted);
    }

    private static void Same<T>(int classes, double smoothing, double lseSquared, bool weighted) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int rows = 7;
        var rng = new Random(classes);
        double[]? weight = weighted ? Enumerable.Range(0, classes).Select(_ => 0.25 + rng.NextDouble()).ToArray() : null;
        var z = Enumerable.Range(0, rows * classes).Select(_ => T.CreateTruncating(8 * rng.NextDouble() - 4)).ToArray();
        if (classes > 2) z[classes + 1] = T.NegativeInfinity;                                   // a masked class in row 1
        for (int k = 0; k < classes; k++) z[2 * classes + k] = T.NegativeInfinity;             // row 2: all masked
        z[3 * classes + classes / 2] = T.NaN;                                                   // row 3: NaN
        int[] y = Enumerable.Range(0, rows).Select(r => r == 1 && classes > 2 ? 0 : rng.Next(classes)).ToArray();
        var ce = new CrossEntropyLoss(smoothing, lseSquared, weight: weight, reduction: LossKit.Core.Reduction.Sum);
        var perRow = new T[rows];
        var g = new T[z.Length];
        ce.Compute<T>(z, classes, y, perRow, g);

        T[]? w = weight?.Select(T.CreateTruncating).ToArray();
        double weightSum = weight is null ? classes : weight.Sum();
        var terms = new CrossEntropyTerms<T>(smoothing, lseSquared);
        for (int r = 0; r < rows; r++)
        {
            var inPlace = z.AsSpan(r * classes, classes).ToArray();
            var setup = new RowSetup<T> { Weights = w, WeightSum = weightSum, Scale = 1, ExpOverwritesLogits = true };
            CrossEntropyRow.Evaluate<T, CrossEntropyTerms<T>>(inPlace, y[r], default, weight is null ? 1 : weight[y[r]], inPlace, inPlace, default,
                setup, ref terms, out double loss);
            Assert.Equal(Bits(perRow[r]), Bits(T.CreateTruncating(loss)));
            Assert.Equal(g.AsSpan(r * classes, classes).ToArray().Select(Bits), inPlace.Select(Bits));
        }
    }

    private static long Bits<T>(T v) where T : unmanaged, IFloatingPointIeee754<T> =>
        T.IsNaN(v) ? long.MinValue : BitConverter.DoubleToInt64Bits(double.CreateTruncating(v));

    [Fact]
    public void The_ce_formula_is_written_once()
    {
        // CrossEntropyLoss.EvaluateRow, linear_ce's rows and its vocabulary blocks all call CrossEntropyRow.Terms.
        var s = new RowStats(10, 3, 2.0, 2.5, 1.0, 2.0, 12.0, -4.0, 0, 0);
        var t = CrossEntropyRow.Terms(s, smoothing: 0.1, lseSquared: 0.01);
        double hard = 0.9 * 2.0;
        Assert.Equal(hard * (2.5 - 1.0) + 0.01 * 2.5 * 2.5 + 0.1 / 10 * (12.0 * 0.5 + 4.0), t.Loss, 15);
        Assert.Equal(hard + 0.1 / 10 * 12.0 + 2 * 0.01 * 2.5, t.A, 15);
        Assert.Equal(hard, t.B);
        Assert.Equal(0.01, t.Cw, 15);
    }

    [Theory]
    [InlineData("ce(smoothing=0.1, weight=W)", 1000)]
    [InlineData("ce(softcap=3, temperature=2)", 133)]
    [InlineData("focal(gamma=2)", 37)]
    [InlineData("hinge_ww", 37)]
    [InlineData("sparsemax", 20)]
    public void One_and_two_threads_give_the_same_bits(string spec, int classes)
    {
        spec = spec.Replace("W", "[" + string.Join(",", Enumerable.Range(0, classes).Select(i => 1 + i % 3)) + "]");
        var loss = (LossKit.Core.IClassificationLoss)Catalog.LossRegistry.Create(spec);
        const int rows = 300;                                  // several row blocks of every width
        var rng = new Random(7);
        var z = Enumerable.Range(0, rows * classes).Select(_ => (float)(6 * rng.NextDouble() - 3)).ToArray();
        var y = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        (float, float[], float[]) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            try
            {
                Parallelism.MaxThreads = threads;
                var perRow = new float[rows];
                var g = new float[z.Length];
                return (loss.Compute<float>(z, classes, y, perRow, g), perRow, g);
            }
            finally { Parallelism.MaxThreads = saved; }
        }
        var (l1, r1, g1) = Run(1);
        var (l2, r2, g2) = Run(2);
        Assert.Equal(BitConverter.SingleToInt32Bits(l1), BitConverter.SingleToInt32Bits(l2));
        Assert.Equal(r1, r2);
        Assert.Equal(g1, g2);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    public void Linear_ce_gives_the_same_bits_on_one_and_two_threads(int vocabBlock)
    {
        const int rows = 70, dim = 24, vocab = 300;
        var loss = new LinearCrossEntropyLoss(smoothing: 0.1, lseSquared: 0.001, vocabBlock: vocabBlock, chunkRows: 32);
        var rng = new Random(3);
        float[] U(int n) => Enumerable.Range(0, n).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
        float[] h = U(rows * dim), w = U(vocab * dim), b = U(vocab);
        int[] y = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray();
        float[][] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            try
            {
                Parallelism.MaxThreads = threads;
                float[] perRow = new float[rows], gh = new float[h.Length], gw = new float[w.Length], gb = new float[vocab];
                float value = loss.Compute(h, w, b, rows, dim, vocab, y, perRow, gh, gw, gb);
                return [[value], perRow, gh, gw, gb];
            }
            finally { Parallelism.MaxThreads = saved; }
        }
        var one = Run(1);
        var two = Run(2);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], two[i]);
    }
}
