using System.Buffers;
using System.Numerics.Tensors;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LossKit.Binary;
using LossKit.Core;

namespace LossKit.Kernels;

/// <summary>
/// A scalar loss function of one logit and its target, evaluated lane by lane: ℓ(s, t) and ∂ℓ/∂s together (the
/// generic-operator-struct pattern of TensorPrimitives). Written once over the vector abstraction
/// <see cref="ISimd{TVec,T}"/>, it is compiled for every vector width and for float and double.
/// </summary>
internal interface IBinaryElementOp
{
    /// <param name="s">Logits.</param>
    /// <param name="t">Targets, already checked to be in [0, 1].</param>
    /// <param name="posWeight">The per-column positive weight (1 where the loss has none).</param>
    /// <param name="loss">ℓ(s, t) per lane (before the per-column weight and the reduction).</param>
    /// <param name="grad">∂ℓ/∂s per lane.</param>
    void Evaluate<TV, T, TOps>(TV s, TV t, TV posWeight, out TV loss, out TV grad)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;
}

/// <summary>The math of an element function of up to four inputs: ℓ(x0, x1, x2, x3) and its partial derivatives by x0,
/// x2 and x3 (x1 is the target), lane by lane over <see cref="ISimd{TVec,T}"/>.</summary>
internal interface IElementFunction
{
    /// <summary>ℓ and ∂ℓ/∂x0, ∂ℓ/∂x2, ∂ℓ/∂x3 per lane (the last two may be anything when the op has no such stream).</summary>
    void Evaluate<TV, T, TOps>(TV x0, TV x1, TV x2, TV x3, out TV loss, out TV d0, out TV d2, out TV d3)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;
}

/// <summary>
/// The general element function the kernel runs: up to four input streams read lane by lane (x0, x1 always present;
/// x2, x3 where the caller gives them, else the op's padding value), the loss and up to three partial derivatives
/// (∂ℓ/∂x0 and the derivatives by the two optional streams), and the domain check of the inputs: <see cref="Valid"/> may
/// flag lanes conservatively (a NaN, say), <see cref="Invalid"/> decides. Binary losses run
/// through it as (logit, target, pos_weight); regression losses as (input, target, first and second predicted parameter).
/// </summary>
internal interface IElementOp : IElementFunction
{

    /// <summary>A mask, all bits set in the lanes whose inputs are in the op's domain (e.g. a target in [0, 1]).</summary>
    TV Valid<TV, T, TOps>(TV x0, TV x1, TV x2, TV x3)
        where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>;

    /// <summary>The error for element <paramref name="index"/> holding these values, or null when they are valid
    /// (the scalar twin of <see cref="Valid"/>, which finds the element that failed).</summary>
    RowException? Invalid(int index, double x0, double x1, double x2, double x3);

    /// <summary>The value stream <paramref name="stream"/> takes in the padded lanes of a tail and wherever the stream
    /// is absent: a valid point of the domain.</summary>
    double Pad(int stream);
}

/// <summary>The input streams of one kernel run (x0, x1 of the batch's length; x2, x3 of the batch's length or empty)
/// and the outputs (each empty or of the batch's length).</summary>
internal readonly ref struct ElementStreams<T>(ReadOnlySpan<T> x0, ReadOnlySpan<T> x1, ReadOnlySpan<T> x2, ReadOnlySpan<T> x3,
    Span<T> losses, Span<T> d0, Span<T> d2, Span<T> d3)
{
    public readonly ReadOnlySpan<T> X0 = x0, X1 = x1, X2 = x2, X3 = x3;
    public readonly Span<T> Losses = losses, D0 = d0, D2 = d2, D3 = d3;
}

/// <summary>
/// The one fused kernel of every element-wise loss (binary and regression): reads each input once, checks its domain,
/// writes the per-element loss and the gradients of the reduced loss, and sums the losses — vectorised
/// (Vector512/256/128; the tail is padded to a full vector, so there is no separate scalar code path), parallel
/// over fixed blocks of elements, and deterministic: block boundaries depend only on the column count, each
/// block sums in a fixed order, and block sums are added in block order, so any thread count gives the same bits.
/// Half is read into float scratch, computed in float and written back.
/// </summary>
internal static class ElementwiseKernel
{
    /// <summary>About this many elements a block (a whole number of rows when the loss has per-column options).</summary>
    public const int TargetBlockElements = 16384;

    /// <summary>The block length for a column count: a multiple of it, so a block starts at column 0.</summary>
    public static int BlockElements(int columns) => Math.Max(1, TargetBlockElements / columns) * columns;

    /// <summary>Per-element patterns (stream x2, e.g. pos_weight; a weight multiplying loss and gradients) tiled to one
    /// block's length, in float and double.</summary>
    internal sealed class Tiles
    {
        /// <summary>No patterns, one column: every element alike (the regression losses).</summary>
        public static Tiles None { get; } = new(null, null, 1);

        public Tiles(double[]? posWeight, double[]? weight, int columns)
        {
            Columns = columns;
            int length = BlockElements(columns);
            if (posWeight is not null) { PosWeightD = Tile(posWeight, length); PosWeightF = PosWeightD.Select(v => (float)v).ToArray(); }
            if (weight is not null) { WeightD = Tile(weight, length); WeightF = WeightD.Select(v => (float)v).ToArray(); }
        }

        public int Columns { get; }
        public double[]? PosWeightD { get; }
        public float[]? PosWeightF { get; }
        public double[]? WeightD { get; }
        public float[]? WeightF { get; }

        private static double[] Tile(double[] perColumn, int length)
        {
            var tile = new double[length];
            for (int i = 0; i < length; i++) tile[i] = perColumn[perColumn.Length == 1 ? 0 : i % perColumn.Length];
            return tile;
        }
    }

    /// <summary>A binary element function as a general one: (s, t, pos_weight), the target checked to be in [0, 1].</summary>
    private readonly struct BinaryOp<TOp>(TOp op, int columns) : IElementOp where TOp : struct, IBinaryElementOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Evaluate<TV, T, TOps>(TV x0, TV x1, TV x2, TV x3, out TV loss, out TV d0, out TV d2, out TV d3)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            op.Evaluate<TV, T, TOps>(x0, x1, x2, out loss, out d0);
            d2 = d0;
            d3 = d0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Valid<TV, T, TOps>(TV x0, TV x1, TV x2, TV x3)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T> =>
            TOps.And(TOps.GreaterThanOrEqual(x1, TOps.Broadcast(T.Zero)), TOps.LessThanOrEqual(x1, TOps.Broadcast(T.One)));

        public RowException? Invalid(int index, double x0, double x1, double x2, double x3) =>
            x1 >= 0 && x1 <= 1 ? null : BinaryInput.BadTarget(index, x1, columns);

        public double Pad(int stream) => stream == 2 ? 1 : 0;
    }

    /// <summary>Runs a binary <paramref name="op"/> over the batch and returns the reduced loss.</summary>
    public static T Run<T, TOp>(TOp op, Tiles tiles, Reduction reduction, ReadOnlySpan<T> logits, ReadOnlySpan<T> targets,
        Span<T> losses, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryElementOp =>
        Run(new BinaryOp<TOp>(op, tiles.Columns), tiles, reduction, new ElementStreams<T>(logits, targets, default, default, losses, gradient, default, default));

    private unsafe struct Job<T> where T : unmanaged
    {
        public T* X0, X1, X2, X3, Losses, D0, D2, D3;
        public int Length, BlockLength, Columns;
        public double Scale;
    }

    /// <summary>Runs <paramref name="op"/> over the streams and returns the reduced loss: mean divides by the number of
    /// elements (the gradients are those of the reduced loss), sum and none return the sum.</summary>
    public static unsafe T Run<T, TOp>(TOp op, Tiles tiles, Reduction reduction, in ElementStreams<T> streams)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOp
    {
        int n = streams.X0.Length;
        int blockLength = BlockElements(tiles.Columns);
        double scale = reduction == Reduction.Mean ? 1.0 / n : 1.0;
        double total;
        fixed (T* x0 = streams.X0, x1 = streams.X1, x2 = streams.X2, x3 = streams.X3)
        fixed (T* pl = streams.Losses, g0 = streams.D0, g2 = streams.D2, g3 = streams.D3)
        {
            var job = new Job<T>
            {
                X0 = x0, X1 = x1, X2 = x2, X3 = x3, Losses = pl, D0 = g0, D2 = g2, D3 = g3,
                Length = n, BlockLength = blockLength, Columns = tiles.Columns, Scale = scale,
            };
            try
            {
                total = Parallelism.SumElements(n, blockLength, new Blocks<T, TOp>(op, tiles, job));
            }
            catch (RowException) when (n > blockLength)
            {
                // A parallel run may stop before reaching an earlier bad input: report the first one, as one thread would.
                throw FirstInvalid(op, job) ?? throw new InvalidOperationException("An input check failed but no input is out of range.");
            }
        }
        return T.CreateTruncating(reduction == Reduction.Mean ? total * scale : total);
    }

    /// <summary>The elements driver's body (a struct, so a call allocates no closure).</summary>
    private readonly struct Blocks<T, TOp>(TOp op, Tiles tiles, Job<T> job) : Parallelism.IBlockBody
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOp
    {
        public double Run(int block, int start, int end) => Block(op, tiles, job, block);
    }

    /// <summary>The error of the first element outside the op's domain, or null.</summary>
    private static unsafe RowException? FirstInvalid<T, TOp>(TOp op, Job<T> job) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOp
    {
        for (int i = 0; i < job.Length; i++)
            if (op.Invalid(i, Value(job.X0, i), Value(job.X1, i), job.X2 is null ? op.Pad(2) : Value(job.X2, i),
                    job.X3 is null ? op.Pad(3) : Value(job.X3, i)) is { } e) return e;
        return null;
    }

    private static unsafe double Value<T>(T* p, int i) where T : unmanaged, IFloatingPointIeee754<T> => double.CreateTruncating(p[i]);

    private static unsafe double Block<T, TOp>(TOp op, Tiles tiles, Job<T> job, int block)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementOp
    {
        int start = block * job.BlockLength;
        int count = Math.Min(job.BlockLength, job.Length - start);
        T* At(T* p) => p is null ? null : p + start;
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        {
            if (typeof(T) == typeof(float))
                fixed (float* pw = tiles.PosWeightF) fixed (float* w = tiles.WeightF)
                    return Width(op, new Chunk<float>((float*)At(job.X0), (float*)At(job.X1), job.X2 is null ? pw : (float*)At(job.X2),
                        (float*)At(job.X3), w, (float*)At(job.Losses), (float*)At(job.D0), (float*)At(job.D2), (float*)At(job.D3),
                        count, (float)job.Scale, start));
            fixed (double* pw = tiles.PosWeightD) fixed (double* w = tiles.WeightD)
                return Width(op, new Chunk<double>((double*)At(job.X0), (double*)At(job.X1), job.X2 is null ? pw : (double*)At(job.X2),
                    (double*)At(job.X3), w, (double*)At(job.Losses), (double*)At(job.D0), (double*)At(job.D2), (double*)At(job.D3),
                    count, job.Scale, start));
        }

        // Half: convert this block's streams to float scratch, compute in float, convert the outputs back.
        float[] scratch = ArrayPool<float>.Shared.Rent(8 * count);
        try
        {
            fixed (float* f = scratch)
            fixed (float* pw = tiles.PosWeightF)
            fixed (float* w = tiles.WeightF)
            {
                float* x2 = ToFloat(job.X2, start, count, f + 2 * count);
                double sum = Width(op, new Chunk<float>(ToFloat(job.X0, start, count, f), ToFloat(job.X1, start, count, f + count),
                    x2 is null ? pw : x2, ToFloat(job.X3, start, count, f + 3 * count), w,
                    Slot(job.Losses, f + 4 * count), Slot(job.D0, f + 5 * count), Slot(job.D2, f + 6 * count), Slot(job.D3, f + 7 * count),
                    count, (float)job.Scale, start));
                ToHalf(job.Losses, start, count, f + 4 * count);
                ToHalf(job.D0, start, count, f + 5 * count);
                ToHalf(job.D2, start, count, f + 6 * count);
                ToHalf(job.D3, start, count, f + 7 * count);
                return sum;
            }
        }
        finally { ArrayPool<float>.Shared.Return(scratch); }
    }

    /// <summary>A Half stream's block (null: absent) converted into <paramref name="slot"/>; returns the slot or null.</summary>
    private static unsafe float* ToFloat<T>(T* p, int start, int count, float* slot) where T : unmanaged
    {
        if (p is null) return null;
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(p + start, count), new Span<float>(slot, count));
        return slot;
    }

    /// <summary>The float scratch of a wanted Half output, or null when the output is not wanted.</summary>
    private static unsafe float* Slot<T>(T* p, float* slot) where T : unmanaged => p is null ? null : slot;

    /// <summary>Writes a wanted Half output's block back from its float scratch.</summary>
    private static unsafe void ToHalf<T>(T* p, int start, int count, float* slot) where T : unmanaged
    {
        if (p is not null) TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(slot, count), new Span<Half>(p + start, count));
    }

    /// <summary>One block's pointers: inputs (x2, x3 null: absent), the optional weight pattern (null: none) and the
    /// optional outputs (null: not wanted).</summary>
    private readonly unsafe struct Chunk<TC>(TC* x0, TC* x1, TC* x2, TC* x3, TC* weight, TC* losses, TC* d0, TC* d2, TC* d3,
        int count, TC scale, int start) where TC : unmanaged
    {
        public readonly TC* X0 = x0, X1 = x1, X2 = x2, X3 = x3, Weight = weight, Losses = losses, D0 = d0, D2 = d2, D3 = d3;
        public readonly int Count = count, Start = start;
        public readonly TC Scale = scale;
    }

    private static double Width<TC, TOp>(TOp op, in Chunk<TC> c) where TC : unmanaged, IFloatingPointIeee754<TC> where TOp : struct, IElementOp
    {
        if (Vector512.IsHardwareAccelerated) return Loop<TC, Vector512<TC>, Simd512<TC>, TOp>(op, c);
        if (Vector256.IsHardwareAccelerated) return Loop<TC, Vector256<TC>, Simd256<TC>, TOp>(op, c);
        return Loop<TC, Vector128<TC>, Simd128<TC>, TOp>(op, c);
    }

    /// <summary>(double)v for a float or double lane: <c>double.CreateTruncating(v)</c>, written as the cast it comes to
    /// (the generic conversion's IL counts against <see cref="Loop{TC,TV,TOps,TOp}"/>'s inlining budget, which the
    /// element function needs; see <see cref="VectorMath{TV,T,TOps}.C"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Widen<TC>(TC v) where TC : unmanaged, IFloatingPointIeee754<TC> =>
        typeof(TC) == typeof(float) ? (float)(object)v : typeof(TC) == typeof(double) ? (double)(object)v : double.CreateTruncating(v);

    /// <summary>Vectors between flushes of the vector accumulator into the double block sum.</summary>
    private const int FlushEvery = 32;

    [SkipLocalsInit]
    private static unsafe double Loop<TC, TV, TOps, TOp>(TOp op, in Chunk<TC> c)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TV : struct where TOps : ISimd<TV, TC> where TOp : struct, IElementOp
    {
        int w = TOps.Count, n = c.Count, i = 0, pending = 0;
        TV zero = TOps.Broadcast(TC.Zero), scale = TOps.Broadcast(c.Scale);
        TV pad2 = TOps.Broadcast(TC.CreateTruncating(op.Pad(2))), pad3 = TOps.Broadcast(TC.CreateTruncating(op.Pad(3)));
        TV acc = zero;
        double sum = 0;
        // The pointers in locals: read through `in c`, each would be reloaded every vector (a store through an output
        // pointer might, for all the JIT knows, change the chunk).
        TC* px0 = c.X0, px1 = c.X1, px2 = c.X2, px3 = c.X3, pWeight = c.Weight, pLosses = c.Losses, pd0 = c.D0, pd2 = c.D2, pd3 = c.D3;
        bool weightedExtra = pWeight is not null && (pd2 is not null || pd3 is not null);
        // The domain check is gathered into one mask and acted on after the loop: a call (the throw) inside the loop
        // made the JIT keep every vector live across it in memory (no vector register survives a call on x64), a store
        // and a reload per value per vector. Out-of-domain lanes compute garbage, which the throw then discards.
        TV valid = TOps.EqualTo(zero, zero);
        for (; i <= n - w; i += w)
        {
            TV x0 = TOps.Load(ref *px0, (nuint)i);
            TV x1 = TOps.Load(ref *px1, (nuint)i);
            TV x2 = px2 is null ? pad2 : TOps.Load(ref *px2, (nuint)i);
            TV x3 = px3 is null ? pad3 : TOps.Load(ref *px3, (nuint)i);
            valid = TOps.And(valid, op.Valid<TV, TC, TOps>(x0, x1, x2, x3));
            op.Evaluate<TV, TC, TOps>(x0, x1, x2, x3, out TV loss, out TV d0, out TV d2, out TV d3);
            TV factor = scale;
            if (pWeight is not null)
            {
                TV wt = TOps.Load(ref *pWeight, (nuint)i);
                loss = TOps.Multiply(loss, wt);
                d0 = TOps.Multiply(d0, wt);
                if (weightedExtra) factor = TOps.Multiply(wt, scale);   // (d·w)·scale below for d0 as before
            }
            if (pLosses is not null) TOps.Store(loss, ref *pLosses, (nuint)i);
            if (pd0 is not null) TOps.Store(TOps.Multiply(d0, scale), ref *pd0, (nuint)i);
            if (pd2 is not null) TOps.Store(TOps.Multiply(d2, factor), ref *pd2, (nuint)i);
            if (pd3 is not null) TOps.Store(TOps.Multiply(d3, factor), ref *pd3, (nuint)i);
            acc = TOps.Add(acc, loss);
            if (++pending == FlushEvery)
            {
                sum += double.CreateTruncating(TOps.Sum(acc));
                acc = zero;
                pending = 0;
            }
        }
        if (!TOps.AllTrue(valid)) ThrowInvalid(op, c, 0, i);
        sum += Widen(TOps.Sum(acc));
        return i < n ? Tail<TC, TV, TOps, TOp>(op, c, i, sum) : sum;
    }

    /// <summary>The last <c>Count − i</c> (&lt; one vector) elements of a chunk: padded to one full vector (the op's valid
    /// padding, unit weights), only the real lanes kept, their losses added to <paramref name="sum"/> one by one (the
    /// order of the sum as before), which it returns. Its own method, not inlined: a second
    /// copy of the element function in <see cref="Loop{TC,TV,TOps,TOp}"/> would spend the JIT's inlining budget there, and
    /// an element function with exp and log inlined would then leave its vector operations as calls in the main loop.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe double Tail<TC, TV, TOps, TOp>(TOp op, in Chunk<TC> c, int i, double sum)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TV : struct where TOps : ISimd<TV, TC> where TOp : struct, IElementOp
    {
        int w = TOps.Count, rest = c.Count - i;
        TV scale = TOps.Broadcast(c.Scale);
        TC* buffer = stackalloc TC[9 * w];
        TC* b0 = buffer, b1 = buffer + w, b2 = buffer + 2 * w, b3 = buffer + 3 * w, bw = buffer + 4 * w;
        TC* bl = buffer + 5 * w, bd0 = buffer + 6 * w, bd2 = buffer + 7 * w, bd3 = buffer + 8 * w;
        TC p0 = TC.CreateTruncating(op.Pad(0)), p1 = TC.CreateTruncating(op.Pad(1)), p2 = TC.CreateTruncating(op.Pad(2)), p3 = TC.CreateTruncating(op.Pad(3));
        for (int k = 0; k < w; k++)
        {
            bool real = k < rest;
            b0[k] = real ? c.X0[i + k] : p0;
            b1[k] = real ? c.X1[i + k] : p1;
            b2[k] = real && c.X2 is not null ? c.X2[i + k] : p2;
            b3[k] = real && c.X3 is not null ? c.X3[i + k] : p3;
            bw[k] = real && c.Weight is not null ? c.Weight[i + k] : TC.One;
        }
        TV x0 = TOps.Load(ref *b0, 0), x1 = TOps.Load(ref *b1, 0), x2 = TOps.Load(ref *b2, 0), x3 = TOps.Load(ref *b3, 0);
        if (!TOps.AllTrue(op.Valid<TV, TC, TOps>(x0, x1, x2, x3))) ThrowInvalid(op, c, i, rest);
        op.Evaluate<TV, TC, TOps>(x0, x1, x2, x3, out TV loss, out TV d0, out TV d2, out TV d3);
        TV wt = TOps.Load(ref *bw, 0);
        TOps.Store(TOps.Multiply(loss, wt), ref *bl, 0);
        TOps.Store(TOps.Multiply(TOps.Multiply(d0, wt), scale), ref *bd0, 0);
        TOps.Store(TOps.Multiply(TOps.Multiply(d2, wt), scale), ref *bd2, 0);
        TOps.Store(TOps.Multiply(TOps.Multiply(d3, wt), scale), ref *bd3, 0);
        for (int k = 0; k < rest; k++)
        {
            if (c.Losses is not null) c.Losses[i + k] = bl[k];
            if (c.D0 is not null) c.D0[i + k] = bd0[k];
            if (c.D2 is not null) c.D2[i + k] = bd2[k];
            if (c.D3 is not null) c.D3[i + k] = bd3[k];
            sum += double.CreateTruncating(bl[k]);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void ThrowInvalid<TC, TOp>(TOp op, in Chunk<TC> c, int offset, int count)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TOp : struct, IElementOp
    {
        for (int k = 0; k < count; k++)
        {
            int j = offset + k;
            double x2 = c.X2 is null ? op.Pad(2) : double.CreateTruncating(c.X2[j]), x3 = c.X3 is null ? op.Pad(3) : double.CreateTruncating(c.X3[j]);
            if (op.Invalid(c.Start + j, double.CreateTruncating(c.X0[j]), double.CreateTruncating(c.X1[j]), x2, x3) is { } e) throw e;
        }
    }
}
