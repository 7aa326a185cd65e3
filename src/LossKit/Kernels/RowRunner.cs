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
        {
            nint ia = (nint)pa, ib = (nint)pb, il = (nint)pl, ig = (nint)pg, ie = (nint)pe;
            bool hasB = !b.IsEmpty, hasL = !rowLosses.IsEmpty, hasG = !gradient.IsEmpty, hasE = !elementLosses.IsEmpty;
            return Parallelism.SumBlocks(rows, classes, (_, start, end) =>
            {
                int k = classes;
                double[] buffer = ArrayPool<double>.Shared.Rent(12 * k);
                try
                {
                    Span<double> da = buffer.AsSpan(0, k), db = buffer.AsSpan(k, k), dg = buffer.AsSpan(2 * k, k), scratch = buffer.AsSpan(3 * k, 8 * k);
                    Span<double> de = hasE ? buffer.AsSpan(11 * k, k) : default;
                    double sum = 0;
                    for (int r = start; r < end; r++)
                    {
                        long offset = (long)r * k;
                        TensorPrimitives.ConvertTruncating(new ReadOnlySpan<T>((T*)ia + offset, k), da);
                        if (hasB) TensorPrimitives.ConvertTruncating(new ReadOnlySpan<T>((T*)ib + offset, k), db);
                        double loss = row.Evaluate(r, da, hasB ? db : default, hasG ? dg : default, de, scratch);
                        if (hasG) TensorPrimitives.ConvertTruncating<double, T>(dg, new Span<T>((T*)ig + offset, k));
                        if (hasE) TensorPrimitives.ConvertTruncating<double, T>(de, new Span<T>((T*)ie + offset, k));
                        if (hasL) ((T*)il)[r] = T.CreateTruncating(loss);
                        sum += loss;
                    }
                    return sum;
                }
                finally { ArrayPool<double>.Shared.Return(buffer); }
            });
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
