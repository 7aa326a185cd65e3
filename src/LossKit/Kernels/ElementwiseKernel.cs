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

/// <summary>
/// The one fused kernel of every element-wise binary loss: reads each logit and target once, checks the target,
/// writes the per-element loss and the gradient of the reduced loss, and sums the losses — vectorised
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

    /// <summary>Per-element patterns (pos_weight, weight) tiled to one block's length, in float and double.</summary>
    internal sealed class Tiles
    {
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

    private unsafe struct Job<T> where T : unmanaged
    {
        public T* Logits, Targets, Losses, Gradient;
        public int Length, BlockLength, Columns;
        public bool HasLosses, HasGradient;
        public double Scale;
    }

    /// <summary>Runs <paramref name="op"/> over the batch and returns the reduced loss.</summary>
    public static unsafe T Run<T, TOp>(TOp op, Tiles tiles, Reduction reduction, ReadOnlySpan<T> logits, ReadOnlySpan<T> targets,
        Span<T> losses, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryElementOp
    {
        int n = logits.Length;
        int blockLength = BlockElements(tiles.Columns);
        double scale = reduction == Reduction.Mean ? 1.0 / n : 1.0;
        double total;
        fixed (T* ps = logits, pt = targets, pl = losses, pg = gradient)
        {
            var job = new Job<T>
            {
                Logits = ps, Targets = pt, Losses = pl, Gradient = pg, Length = n, BlockLength = blockLength, Columns = tiles.Columns,
                HasLosses = !losses.IsEmpty, HasGradient = !gradient.IsEmpty, Scale = scale,
            };
            try
            {
                total = Parallelism.SumElements(n, blockLength, (b, _, _) => Block(op, tiles, job, b));
            }
            catch (RowException) when (n > blockLength)
            {
                // A parallel run may stop before reaching an earlier bad target: report the first one, as one thread would.
                throw FirstBadTarget(targets, tiles.Columns) ?? throw new InvalidOperationException("A target check failed but no target is out of range.");
            }
        }
        return T.CreateTruncating(reduction == Reduction.Mean ? total * scale : total);
    }

    /// <summary>The exception for the first target that is NaN or outside [0, 1], or null.</summary>
    private static RowException? FirstBadTarget<T>(ReadOnlySpan<T> targets, int columns) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < targets.Length; i++)
        {
            double t = double.CreateTruncating(targets[i]);
            if (!(t >= 0 && t <= 1)) return BinaryInput.BadTarget(i, t, columns);
        }
        return null;
    }

    private static unsafe double Block<T, TOp>(TOp op, Tiles tiles, Job<T> job, int block)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryElementOp
    {
        int start = block * job.BlockLength;
        int count = Math.Min(job.BlockLength, job.Length - start);
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        {
            T* l = job.HasLosses ? job.Losses + start : null, g = job.HasGradient ? job.Gradient + start : null;
            if (typeof(T) == typeof(float))
                fixed (float* pw = tiles.PosWeightF) fixed (float* w = tiles.WeightF)
                    return Width(op, new Chunk<float>((float*)(job.Logits + start), (float*)(job.Targets + start), pw, w, (float*)l, (float*)g,
                        count, (float)job.Scale, start, job.Columns));
            fixed (double* pw = tiles.PosWeightD) fixed (double* w = tiles.WeightD)
                return Width(op, new Chunk<double>((double*)(job.Logits + start), (double*)(job.Targets + start), pw, w, (double*)l, (double*)g,
                    count, job.Scale, start, job.Columns));
        }

        // Half: convert this block to float scratch, compute in float, convert the outputs back.
        float[] scratch = ArrayPool<float>.Shared.Rent(4 * count);
        try
        {
            fixed (float* f = scratch)
            fixed (float* pw = tiles.PosWeightF)
            fixed (float* w = tiles.WeightF)
            {
                var s = new Span<float>(f, count);
                var t = new Span<float>(f + count, count);
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(job.Logits + start, count), s);
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(job.Targets + start, count), t);
                double sum = Width(op, new Chunk<float>(f, f + count, pw, w, job.HasLosses ? f + 2 * count : null,
                    job.HasGradient ? f + 3 * count : null, count, (float)job.Scale, start, job.Columns));
                if (job.HasLosses) TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(f + 2 * count, count), new Span<Half>(job.Losses + start, count));
                if (job.HasGradient) TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(f + 3 * count, count), new Span<Half>(job.Gradient + start, count));
                return sum;
            }
        }
        finally { ArrayPool<float>.Shared.Return(scratch); }
    }

    /// <summary>One block's pointers: inputs, optional patterns (null: absent) and optional outputs (null: not wanted).</summary>
    private readonly unsafe struct Chunk<TC>(TC* s, TC* t, TC* posWeight, TC* weight, TC* losses, TC* gradient, int count, TC scale, int start, int columns)
        where TC : unmanaged
    {
        public readonly TC* S = s, T = t, PosWeight = posWeight, Weight = weight, Losses = losses, Gradient = gradient;
        public readonly int Count = count, Start = start, Columns = columns;
        public readonly TC Scale = scale;
    }

    private static double Width<TC, TOp>(TOp op, in Chunk<TC> c) where TC : unmanaged, IFloatingPointIeee754<TC> where TOp : struct, IBinaryElementOp
    {
        if (Vector512.IsHardwareAccelerated) return Loop<TC, Vector512<TC>, Simd512<TC>, TOp>(op, c);
        if (Vector256.IsHardwareAccelerated) return Loop<TC, Vector256<TC>, Simd256<TC>, TOp>(op, c);
        return Loop<TC, Vector128<TC>, Simd128<TC>, TOp>(op, c);
    }

    /// <summary>Vectors between flushes of the vector accumulator into the double block sum.</summary>
    private const int FlushEvery = 32;

    [SkipLocalsInit]
    private static unsafe double Loop<TC, TV, TOps, TOp>(TOp op, in Chunk<TC> c)
        where TC : unmanaged, IFloatingPointIeee754<TC> where TV : struct where TOps : ISimd<TV, TC> where TOp : struct, IBinaryElementOp
    {
        int w = TOps.Count, n = c.Count, i = 0, pending = 0;
        TV zero = TOps.Broadcast(TC.Zero), one = TOps.Broadcast(TC.One), scale = TOps.Broadcast(c.Scale);
        TV acc = zero;
        double sum = 0;
        for (; i <= n - w; i += w)
        {
            TV s = TOps.Load(ref *c.S, (nuint)i);
            TV t = TOps.Load(ref *c.T, (nuint)i);
            if (!TOps.AllTrue(TOps.And(TOps.GreaterThanOrEqual(t, zero), TOps.LessThanOrEqual(t, one)))) ThrowBadTarget(c, i, w);
            TV pw = c.PosWeight is null ? one : TOps.Load(ref *c.PosWeight, (nuint)i);
            op.Evaluate<TV, TC, TOps>(s, t, pw, out TV loss, out TV grad);
            if (c.Weight is not null)
            {
                TV wt = TOps.Load(ref *c.Weight, (nuint)i);
                loss = TOps.Multiply(loss, wt);
                grad = TOps.Multiply(grad, wt);
            }
            if (c.Losses is not null) TOps.Store(loss, ref *c.Losses, (nuint)i);
            if (c.Gradient is not null) TOps.Store(TOps.Multiply(grad, scale), ref *c.Gradient, (nuint)i);
            acc = TOps.Add(acc, loss);
            if (++pending == FlushEvery)
            {
                sum += double.CreateTruncating(TOps.Sum(acc));
                acc = zero;
                pending = 0;
            }
        }
        sum += double.CreateTruncating(TOps.Sum(acc));
        int rest = n - i;
        if (rest > 0)
        {
            // Tail: pad to one full vector (s = 0, t = 0, unit weights) and keep only the real lanes.
            TC* buffer = stackalloc TC[6 * w];
            TC* bs = buffer, bt = buffer + w, bpw = buffer + 2 * w, bw = buffer + 3 * w, bl = buffer + 4 * w, bg = buffer + 5 * w;
            for (int k = 0; k < w; k++)
            {
                bool real = k < rest;
                bs[k] = real ? c.S[i + k] : TC.Zero;
                bt[k] = real ? c.T[i + k] : TC.Zero;
                bpw[k] = real && c.PosWeight is not null ? c.PosWeight[i + k] : TC.One;
                bw[k] = real && c.Weight is not null ? c.Weight[i + k] : TC.One;
            }
            TV t = TOps.Load(ref *bt, 0);
            if (!TOps.AllTrue(TOps.And(TOps.GreaterThanOrEqual(t, zero), TOps.LessThanOrEqual(t, one)))) ThrowBadTarget(c, i, rest);
            op.Evaluate<TV, TC, TOps>(TOps.Load(ref *bs, 0), t, TOps.Load(ref *bpw, 0), out TV loss, out TV grad);
            TV wt = TOps.Load(ref *bw, 0);
            TOps.Store(TOps.Multiply(loss, wt), ref *bl, 0);
            TOps.Store(TOps.Multiply(TOps.Multiply(grad, wt), scale), ref *bg, 0);
            for (int k = 0; k < rest; k++)
            {
                if (c.Losses is not null) c.Losses[i + k] = bl[k];
                if (c.Gradient is not null) c.Gradient[i + k] = bg[k];
                sum += double.CreateTruncating(bl[k]);
            }
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void ThrowBadTarget<TC>(in Chunk<TC> c, int offset, int count) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        for (int k = 0; k < count; k++)
        {
            double t = double.CreateTruncating(c.T[offset + k]);
            if (!(t >= 0 && t <= 1)) throw BinaryInput.BadTarget(c.Start + offset + k, t, c.Columns);
        }
    }
}
