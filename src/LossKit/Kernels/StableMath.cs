using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace LossKit.Kernels;

/// <summary>
/// Numerically stable row functions over row-major <c>[rows, columns]</c> data: log-sum-exp, softmax,
/// log-softmax (all max-subtracted), and softplus. Vectorised (Vector512/256/128 with a scalar tail),
/// parallel over rows, allocation-free apart from pooled per-block scratch for <see cref="Half"/>.
/// Accepts float, double and Half; Half is read and accumulated in float.
/// Unlike <c>TensorPrimitives.SoftMax</c>, these never overflow: logits up to ±1e30 and −∞ entries are fine.
/// </summary>
public static class StableMath
{
    /// <summary>log Σ_j exp(x_j) of one row, computed as m + log Σ exp(x_j − m) with m = max x.
    /// A row of all −∞ gives −∞.</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.IsEmpty) throw new ArgumentException("row is empty: log-sum-exp needs at least one value.", nameof(row));
        if (typeof(T) == typeof(Half))
        {
            float[] scratch = ArrayPool<float>.Shared.Rent(row.Length);
            try
            {
                Span<float> f = scratch.AsSpan(0, row.Length);
                TensorPrimitives.ConvertToSingle(Cast<T, Half>(row), f);
                return T.CreateTruncating(LseCore<float>(f));
            }
            finally { ArrayPool<float>.Shared.Return(scratch); }
        }
        if (typeof(T) == typeof(float)) return T.CreateTruncating(LseCore(Cast<T, float>(row)));
        return T.CreateTruncating(LseCore(Cast<T, double>(row)));
    }

    /// <summary>Per-row log-sum-exp of <paramref name="x"/> (<c>[rows, columns]</c>) into
    /// <paramref name="destination"/> (length rows).</summary>
    public static void LogSumExp<T>(ReadOnlySpan<T> x, int columns, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = CheckShape(x.Length, columns, destination.Length, nameof(destination), perRow: true);
        MapRows(x, columns, destination, rows, 1, static (row, dst) => dst[0] = (float)LseCore(row), static (row, dst) => dst[0] = LseCore(row));
    }

    /// <summary>Row-wise softmax: destination_ij = exp(x_ij − lse_i).</summary>
    public static void Softmax<T>(ReadOnlySpan<T> x, int columns, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = CheckShape(x.Length, columns, destination.Length, nameof(destination), perRow: false);
        MapRows(x, columns, destination, rows, columns, SoftmaxRow<float>, SoftmaxRow<double>);
    }

    /// <summary>Row-wise log-softmax: destination_ij = (x_ij − m_i) − log Σ_j exp(x_ij − m_i) = x_ij − lse_i, m_i = max_j x_ij
    /// (NaN for a row whose max is not finite).</summary>
    public static void LogSoftmax<T>(ReadOnlySpan<T> x, int columns, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = CheckShape(x.Length, columns, destination.Length, nameof(destination), perRow: false);
        MapRows(x, columns, destination, rows, columns, LogSoftmaxRow<float>, LogSoftmaxRow<double>);
    }

    /// <summary>Element-wise softplus log(1 + eˣ), computed as max(x, 0) + log1p(exp(−|x|)) so it neither
    /// overflows for large x nor loses precision for very negative x. Vectorised, parallel over chunks.</summary>
    public static void Softplus<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (destination.Length != x.Length)
            throw new ArgumentException($"destination has {destination.Length} values but x has {x.Length}; they must match.", nameof(destination));
        if (x.IsEmpty) return;
        const int chunk = 4096;
        MapRows(x[..(x.Length / chunk * chunk)], chunk, destination, x.Length / chunk, chunk, Row.Softplus, Row.Softplus);
        int done = x.Length / chunk * chunk;
        for (int i = done; i < x.Length; i++) destination[i] = T.CreateTruncating(Softplus(double.CreateTruncating(x[i])));
    }

    /// <summary>Scalar softplus log(1 + eˣ), stable for any x.</summary>
    public static double Softplus(double x) => Math.Max(x, 0) + Scalar.Log1p(Math.Exp(-Math.Abs(x)));

    internal static double LseCore<TC>(ReadOnlySpan<TC> row) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        TC max = Row.Max(row);
        if (TC.IsNegativeInfinity(max)) return double.NegativeInfinity;
        if (TC.IsNaN(max) || TC.IsPositiveInfinity(max)) return double.NaN;
        return double.CreateTruncating(max) + Math.Log(double.CreateTruncating(Row.SumExp(row, max)));
    }

    private static void SoftmaxRow<TC>(ReadOnlySpan<TC> row, Span<TC> dst) where TC : unmanaged, IFloatingPointIeee754<TC> =>
        Row.Softmax(row, Row.Max(row), dst, default);

    /// <summary>Log-softmax (x − m) − log Σexp(x − m); a row whose max is not finite (NaN, +∞, all −∞) gives NaN.</summary>
    private static void LogSoftmaxRow<TC>(ReadOnlySpan<TC> row, Span<TC> dst) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        TC max = Row.Max(row);
        if (TC.IsFinite(max)) Row.Softmax(row, max, default, dst);
        else dst.Fill(TC.NaN);
    }

    internal delegate void RowMap<TC>(ReadOnlySpan<TC> row, Span<TC> destination);

    /// <summary>Applies a row function to every row in parallel; Half rows go through float scratch.</summary>
    internal static unsafe void MapRows<T>(ReadOnlySpan<T> x, int columns, Span<T> destination, int rows, int outColumns,
        RowMap<float> mapFloat, RowMap<double> mapDouble) where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* px = x)
        fixed (T* pd = destination)
        {
            T* sx = px, sd = pd;
            Parallelism.ForBlocks(rows, columns, (_, start, end) =>
            {
                float[]? scratch = typeof(T) == typeof(Half) ? ArrayPool<float>.Shared.Rent(columns + outColumns) : null;
                for (int r = start; r < end; r++)
                {
                    var src = new ReadOnlySpan<T>(sx + (long)r * columns, columns);
                    var dst = new Span<T>(sd + (long)r * outColumns, outColumns);
                    if (typeof(T) == typeof(float)) mapFloat(Cast<T, float>(src), CastMut<T, float>(dst));
                    else if (typeof(T) == typeof(double)) mapDouble(Cast<T, double>(src), CastMut<T, double>(dst));
                    else
                    {
                        Span<float> fin = scratch.AsSpan(0, columns), fout = scratch.AsSpan(columns, outColumns);
                        TensorPrimitives.ConvertToSingle(Cast<T, Half>(src), fin);
                        mapFloat(fin, fout);
                        TensorPrimitives.ConvertToHalf(fout, CastMut<T, Half>(dst));
                    }
                }
                if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
            });
        }
    }

    private static int CheckShape(int length, int columns, int destinationLength, string destinationName, bool perRow)
    {
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1.");
        if (length % columns != 0)
            throw new ArgumentException($"x has {length} values, which is not a whole number of rows of {columns} columns.", "x");
        int rows = length / columns;
        int expected = perRow ? rows : length;
        if (destinationLength != expected)
            throw new ArgumentException($"{destinationName} has {destinationLength} values; expected {expected} ({rows} rows{(perRow ? "" : $" × {columns} columns")}).", destinationName);
        return rows;
    }

    internal static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);
    internal static Span<TTo> CastMut<TFrom, TTo>(Span<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);
}
