using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace LossKit.Kernels;

/// <summary>A loss's row math for <see cref="RowRunner"/>, as an operator struct (compiled for each loss).</summary>
internal interface IDoubleRow
{
    /// <summary>Computes one row in double: <paramref name="a"/> and <paramref name="b"/> are the row's inputs
    /// (b empty when there is no second input), <paramref name="gradient"/> is empty or receives the row's gradient
    /// (already multiplied by the reduction's factor), <paramref name="elements"/> is empty or receives the loss of each
    /// element of the row (for losses whose unreduced output is element-wise), <paramref name="scratch"/> holds 8·K
    /// doubles. Returns the row's loss.</summary>
    double Evaluate(int row, ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> gradient, Span<double> elements, Span<double> scratch);
}

/// <summary>
/// The row frame of the losses that do not fit <c>ClassIndexLoss</c> (distillation, multi-positive, divergences): rows are computed
/// in double by an <see cref="IDoubleRow"/> (float and Half are widened per row into a scratch of O(K) per block, never
/// an N×K copy), on the rows driver <see cref="Parallelism.SumBlocks"/>, so results are bit-identical for any thread count.
/// </summary>
internal static class RowRunner
{
    /// <summary>Runs <paramref name="row"/> over every row; <paramref name="elementLosses"/>, when given (rows × classes),
    /// receives each row's element losses instead of <paramref name="rowLosses"/> receiving its sum.</summary>
    public static unsafe double Run<T, TRow>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int rows, int classes, Span<T> rowLosses, Span<T> gradient, TRow row,
        Span<T> elementLosses = default)
        where T : unmanaged, IFloatingPointIeee754<T> where TRow : struct, IDoubleRow
    {
        fixed (T* pa = a, pb = b, pl = rowLosses, pg = gradient, pe = elementLosses)
            return Parallelism.SumBlocks(rows, classes, new Blocks<T, TRow>(row, classes, pa, b.IsEmpty ? null : pb,
                rowLosses.IsEmpty ? null : pl, gradient.IsEmpty ? null : pg, elementLosses.IsEmpty ? null : pe));
    }

    /// <summary>The rows [start, end) of one block: each row widened to double into the block's pooled scratch, computed
    /// by the loss's row, its outputs narrowed back. A struct body of the rows driver, so a call allocates nothing.
    /// Null pointers: an input or output that is not there.</summary>
    private readonly unsafe struct Blocks<T, TRow>(TRow row, int k, T* a, T* b, T* rowLosses, T* gradient, T* elements) : Parallelism.IBlockBody
        where T : unmanaged, IFloatingPointIeee754<T> where TRow : struct, IDoubleRow
    {
        public double Run(int block, int start, int end)
        {
            double[] buffer = ArrayPool<double>.Shared.Rent(12 * k);
            try
            {
                Span<double> da = buffer.AsSpan(0, k), db = buffer.AsSpan(k, k), dg = buffer.AsSpan(2 * k, k), scratch = buffer.AsSpan(3 * k, 8 * k);
                Span<double> de = elements != null ? buffer.AsSpan(11 * k, k) : default;
                double sum = 0;
                for (int r = start; r < end; r++)
                {
                    long offset = (long)r * k;
                    TensorPrimitives.ConvertTruncating(new ReadOnlySpan<T>(a + offset, k), da);
                    if (b != null) TensorPrimitives.ConvertTruncating(new ReadOnlySpan<T>(b + offset, k), db);
                    double loss = row.Evaluate(r, da, b != null ? db : default, gradient != null ? dg : default, de, scratch);
                    if (gradient != null) TensorPrimitives.ConvertTruncating<double, T>(dg, new Span<T>(gradient + offset, k));
                    if (elements != null) TensorPrimitives.ConvertTruncating<double, T>(de, new Span<T>(elements + offset, k));
                    if (rowLosses != null) rowLosses[r] = T.CreateTruncating(loss);
                    sum += loss;
                }
                return sum;
            }
            finally { ArrayPool<double>.Shared.Return(buffer); }
        }
    }

    /// <summary>log-softmax of <paramref name="x"/>/τ into <paramref name="logP"/> and softmax into <paramref name="p"/>;
    /// returns false (outputs untouched) when the row's max is not finite (NaN, +∞, or all −∞).</summary>
    public static bool Softmax(ReadOnlySpan<double> x, double temperature, Span<double> logP, Span<double> p, out double max)
    {
        TensorPrimitives.Multiply(x, 1 / temperature, logP);
        max = TensorPrimitives.Max(logP);
        if (!double.IsFinite(max)) return false;
        Row.Softmax<double>(logP, max, p, logP);
        return true;
    }
}
