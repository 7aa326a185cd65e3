using System.Runtime.Intrinsics;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Softmax;

namespace LossKit.Tests.Kernels;

/// <summary>
/// <c>ce</c>'s short float rows side by side (<see cref="ShortRowCrossEntropy.Block{TVec,TSimd,TFallback}"/>, one row per
/// vector lane) give the row kernel's bits (<see cref="CrossEntropyRow.Evaluate{TC,TTerms}"/>, one row at a time) for
/// every K ≤ 15, every vector width (512, 256 and 128 bits, called directly, so the AVX2 and 128-bit forms are checked
/// on an AVX-512 machine too), with smoothing, class weights, lse², ignored rows, masked classes, non-finite rows and a
/// last group that is not full; and <c>ce</c> itself gives them through its public call.
/// </summary>
public unsafe class ShortRowCrossEntropyTests
{
    public static TheoryData<double, double, bool, int> Options => new()
    {
        { 0, 0, false, -100 }, { 0.1, 0, false, -100 }, { 0, 0.01, true, -100 }, { 0.2, 0.001, true, 1 }, { 0.3, 0, true, -100 },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void Side_by_side_rows_equal_the_row_kernel_bit_for_bit(double smoothing, double lseSquared, bool weighted, int ignoreIndex)
    {
        for (int classes = 1; classes <= ShortRowCrossEntropy.MaxClasses; classes++)
        {
            const int rows = 37;
            var (z, y, weight) = Case(classes, rows, weighted, ignoreIndex);
            var (expectedLosses, expectedGradient, expectedSum) = RowByRow(z, y, classes, weight, smoothing, lseSquared, ignoreIndex, scale: 0.25);
            string what = $"K = {classes}, ε = {smoothing}, λ = {lseSquared}, weighted = {weighted}";
            if (Vector512.IsHardwareAccelerated)
                Check(SideBySide<Vector512<float>, Simd512<float>>(z, y, classes, weight, smoothing, lseSquared, ignoreIndex, 0.25), what + ", 512 bits");
            if (Vector256.IsHardwareAccelerated)
                Check(SideBySide<Vector256<float>, Simd256<float>>(z, y, classes, weight, smoothing, lseSquared, ignoreIndex, 0.25), what + ", 256 bits");
            Check(SideBySide<Vector128<float>, Simd128<float>>(z, y, classes, weight, smoothing, lseSquared, ignoreIndex, 0.25), what + ", 128 bits");

            // The public call (the machine's widest vectors), reduction sum: the same per-row bits.
            var ce = new CrossEntropyLoss(smoothing, lseSquared, weight: weight, ignoreIndex: ignoreIndex, reduction: Reduction.Sum);
            var perRow = new float[rows];
            var g = new float[z.Length];
            ce.Compute<float>(z, classes, y, perRow, g);
            var (rowLosses, rowGradient, _) = RowByRow(z, y, classes, weight, smoothing, lseSquared, ignoreIndex, scale: 1);
            Assert.Equal(Bits(rowLosses), Bits(perRow));
            Assert.Equal(Bits(rowGradient), Bits(g));

            void Check((float[] Losses, float[] Gradient, double Sum) actual, string how)
            {
                Assert.True(Bits(expectedLosses).SequenceEqual(Bits(actual.Losses)), how + ": losses");
                Assert.True(Bits(expectedGradient).SequenceEqual(Bits(actual.Gradient)), how + ": gradient");
                Assert.True(BitConverter.DoubleToInt64Bits(expectedSum) == BitConverter.DoubleToInt64Bits(actual.Sum) || double.IsNaN(expectedSum) && double.IsNaN(actual.Sum), how + ": sum");
            }
        }
    }

    /// <summary>Logits in ±6 with a masked class, a row of −∞, a NaN row and a +∞ row; targets with two ignored rows.</summary>
    private static (float[] Z, int[] Y, double[]? Weight) Case(int classes, int rows, bool weighted, int ignoreIndex)
    {
        var rng = new Random(classes * 7 + (weighted ? 1 : 0));
        var z = Enumerable.Range(0, rows * classes).Select(_ => (float)(12 * rng.NextDouble() - 6)).ToArray();
        var y = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        double[]? weight = weighted ? Enumerable.Range(0, classes).Select(k => k == classes - 1 && classes > 2 ? 0 : 0.25 + rng.NextDouble()).ToArray() : null;
        if (classes > 1) { z[3 * classes + (y[3] + 1) % classes] = float.NegativeInfinity; }     // a masked class
        for (int k = 0; k < classes; k++) z[5 * classes + k] = float.NegativeInfinity;           // all masked
        z[20 * classes + classes / 2] = float.NaN;
        z[33 * classes] = float.PositiveInfinity;
        y[7] = y[30] = ignoreIndex;
        return (z, y, weight);
    }

    /// <summary>The row kernel, one row at a time, as <c>SoftmaxLoss</c> runs it.</summary>
    private static (float[] Losses, float[] Gradient, double Sum) RowByRow(float[] z, int[] y, int classes, double[]? weight, double smoothing,
        double lseSquared, int ignoreIndex, double scale)
    {
        int rows = y.Length;
        var losses = new float[rows];
        var g = new float[z.Length];
        var setup = Setup(classes, weight, scale);
        var terms = new CrossEntropyTerms<float>(smoothing, lseSquared);
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            if (y[r] == ignoreIndex) continue;
            var gr = g.AsSpan(r * classes, classes);
            CrossEntropyRow.Evaluate<float, CrossEntropyTerms<float>>(z.AsSpan(r * classes, classes), y[r], default, weight is null ? 1 : weight[y[r]],
                gr, gr, default, setup, ref terms, out double loss);
            losses[r] = (float)loss;
            sum += loss;
        }
        return (losses, g, sum);
    }

    private static RowSetup<float> Setup(int classes, double[]? weight, double scale) => new()
    {
        Weights = weight?.Select(w => (float)w).ToArray(), WeightSum = weight?.Sum() ?? classes, Scale = scale,
    };

    private static (float[] Losses, float[] Gradient, double Sum) SideBySide<TVec, TSimd>(float[] z, int[] y, int classes, double[]? weight,
        double smoothing, double lseSquared, int ignoreIndex, double scale) where TVec : struct where TSimd : ISimd<TVec, float>
    {
        int rows = y.Length;
        var losses = new float[rows];
        var g = new float[z.Length];
        fixed (float* pz = z, pl = losses, pg = g)
        fixed (int* py = y)
        {
            var job = new RowJob<float> { Logits = pz, Targets = py, Losses = pl, Gradient = pg, HasLosses = true, HasGradient = true, Classes = classes, Rows = rows, Scale = scale };
            var setup = Setup(classes, weight, scale);
            var fallback = new Fallback(job, weight, smoothing, lseSquared, Setup(classes, weight, scale).Weights.ToArray(), setup.WeightSum);
            // Two blocks, split inside a group, as the rows driver may cut them.
            double sum = ShortRowCrossEntropy.Block<TVec, TSimd, Fallback>(job, 0, 21, setup, weight, smoothing, lseSquared, ignoreIndex, ref fallback);
            sum += ShortRowCrossEntropy.Block<TVec, TSimd, Fallback>(job, 21, rows, setup, weight, smoothing, lseSquared, ignoreIndex, ref fallback);
            return (losses, g, sum);
        }
    }

    private readonly struct Fallback(RowJob<float> job, double[]? weight, double smoothing, double lseSquared, float[] weights, double weightSum)
        : ShortRowCrossEntropy.IRowFallback
    {
        public double Row(int row)
        {
            int K = job.Classes, y = job.Targets[row];
            var z = new ReadOnlySpan<float>(job.Logits + (long)row * K, K);
            var g = new Span<float>(job.Gradient + (long)row * K, K);
            var setup = new RowSetup<float> { Weights = weights.Length == 0 ? default : weights, WeightSum = weightSum, Scale = job.Scale };
            var terms = new CrossEntropyTerms<float>(smoothing, lseSquared);
            CrossEntropyRow.Evaluate<float, CrossEntropyTerms<float>>(z, y, default, weight is null ? 1 : weight[y], g, g, default, setup, ref terms, out double loss);
            job.Losses[row] = (float)loss;
            return loss;
        }
    }

    private static int[] Bits(float[] x) => [.. x.Select(v => float.IsNaN(v) ? int.MinValue : BitConverter.SingleToInt32Bits(v))];
}
