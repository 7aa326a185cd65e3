using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LossKit.Kernels;

namespace LossKit.Divergence;

/// <summary>
/// The vector form of an element-wise divergence (ℓ = Σ_j term_j, ∂ℓ/∂x_j = slope_j): one lane per class, in float
/// lanes, written once over <see cref="ISimd{TVec,T}"/> and run by the one loop of <see cref="DivergenceKernel"/>.
/// Each op repeats its scalar reference row (<see cref="IDivergenceRow"/>) operation for operation, in single precision
/// with LossKit's vector exp and log (<see cref="ExpF"/>, <see cref="VectorMath{TV,T,TOps}"/>) in place of
/// <see cref="Math.Exp"/> and <see cref="Math.Log(double)"/>; the kernel adds the terms in double. The transcendental
/// functions are not the op's: it declares which it needs (p, log p, q = exp(QScale·x), and an optional log of a lane
/// function), and the kernel computes them in the same loop, in registers, just before the op's lane function (plain
/// arithmetic, small enough for the JIT to inline whole).
/// </summary>
internal interface IElementDivergence
{
    /// <summary>What the op reads besides x, and the factor of its row sum.</summary>
    ElementInputs Inputs { get; }

    /// <summary>The argument a ≥ 0 of aux = log a (jsd's mixture m = β·p + (1 − β)·q).</summary>
    TV LogArgument<TV, TOps>(TV x, TV p, TV logP, TV q) where TV : struct where TOps : ISimd<TV, float>;

    /// <summary>Each lane's term of the row sum and its ∂/∂x, the latter already multiplied by any factor the row's value
    /// gets from <see cref="ElementInputs.RowFactor"/> (as the scalar row does), before the reduction's scale. Returns
    /// false (term and slope not final) where a lane needs the op's rare, out-of-line path and <paramref name="rare"/> is
    /// false: the kernel's loop then leaves the vector to a second call with <paramref name="rare"/> true, made outside
    /// the loop (a call inside it, even one never taken, makes the JIT keep the loop's live vectors on the stack).</summary>
    bool Element<TV, TOps>(TV x, TV p, TV logP, TV q, TV aux, bool rare, out TV term, out TV slope) where TV : struct where TOps : ISimd<TV, float>;
}

/// <summary>What an element-wise divergence reads: p, log p, q = exp(<paramref name="QScale"/>·x) (1 for q itself, ½ for √q,
/// 0: not read), aux = log of its <see cref="IElementDivergence.LogArgument"/>; and the factor of its row value
/// (the row's value is <paramref name="RowFactor"/> times the double sum of its terms).</summary>
internal readonly record struct ElementInputs(bool P, bool LogP, double QScale = 0, bool Aux = false, double RowFactor = 1);

/// <summary>
/// The vector form of a divergence that is not a sum of independent terms (<c>cauchy_schwarz</c>, <c>wasserstein1</c>):
/// it gets its row in float (x and p, each padded to a whole number of the widest vectors with x = −∞, p = 0 beyond K),
/// computes per element in float lanes (TVf) and its row sums in double lanes (TV; TW widens), and writes the unscaled gradient into its gradient span (padded length; empty when
/// not wanted).
/// </summary>
internal interface IRowDivergence
{
    double Row<TVf, TFOps, TV, TOps, TW>(int k, Span<float> x, Span<float> p, Span<float> gradient)
        where TVf : struct where TFOps : ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double> where TW : IWidening<TVf, TV>;
}

/// <summary>Widening of float lanes to double lanes and back, for one vector width.</summary>
internal interface IWidening<TVf, TV> where TVf : struct where TV : struct
{
    static abstract void Widen(TVf v, out TV lower, out TV upper);
    static abstract TVf Narrow(TV lower, TV upper);
}

internal readonly struct Widening512 : IWidening<Vector512<float>, Vector512<double>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(Vector512<float> v, out Vector512<double> lower, out Vector512<double> upper) => (lower, upper) = Vector512.Widen(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Narrow(Vector512<double> lower, Vector512<double> upper) => Vector512.Narrow(lower, upper);
}

internal readonly struct Widening256 : IWidening<Vector256<float>, Vector256<double>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(Vector256<float> v, out Vector256<double> lower, out Vector256<double> upper) => (lower, upper) = Vector256.Widen(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Narrow(Vector256<double> lower, Vector256<double> upper) => Vector256.Narrow(lower, upper);
}

internal readonly struct Widening128 : IWidening<Vector128<float>, Vector128<double>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(Vector128<float> v, out Vector128<double> lower, out Vector128<double> upper) => (lower, upper) = Vector128.Widen(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Narrow(Vector128<double> lower, Vector128<double> upper) => Vector128.Narrow(lower, upper);
}

/// <summary>Lane-wise pieces of the divergence rows in float lanes, the vector twins of <see cref="Divergences"/>.</summary>
internal static class DivergenceLanes<TV, TOps> where TV : struct where TOps : ISimd<TV, float>
{
    /// <summary>The constant <paramref name="v"/> rounded to float, in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV C(double v) => TOps.Broadcast((float)v);

    /// <summary>eˣ: LossKit's float exp (<see cref="ExpF"/>, what the cross-entropy row uses; 0 below −87.3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp(TV x) => TOps.Exp(x);

    /// <summary>log x: LossKit's float log (<see cref="VectorMath{TV,T,TOps}.Log"/>), inlined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log(TV x) => VectorMath<TV, float, TOps>.LogInline(x);

    /// <summary>−a exactly (−0 for 0), as the scalar unary minus.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Negate(TV a) => TOps.Subtract(C(-0.0), a);

    /// <summary>a·(log a − log b), 0 where a = 0, NaN where a is NaN (<see cref="Divergences.PLogPOverQ"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV PLogPOverQ(TV a, TV logA, TV logB) =>
        TOps.Select(TOps.GreaterThan(a, C(0)), TOps.Multiply(a, TOps.Subtract(logA, logB)),
            TOps.Select(TOps.EqualTo(a, C(0)), C(0), C(double.NaN)));

    /// <summary>−1, 0 or 1; NaN stays NaN (<see cref="Divergences.Sign"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sign(TV d) =>
        TOps.Select(TOps.GreaterThan(d, C(0)), C(1), TOps.Select(TOps.LessThan(d, C(0)), C(-1), TOps.Select(TOps.EqualTo(d, C(0)), C(0), C(double.NaN))));

    /// <summary>√v, correctly rounded as <see cref="MathF.Sqrt"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sqrt(TV v)
    {
        if (typeof(TV) == typeof(Vector512<float>)) return (TV)(object)Vector512.Sqrt((Vector512<float>)(object)v);
        if (typeof(TV) == typeof(Vector256<float>)) return (TV)(object)Vector256.Sqrt((Vector256<float>)(object)v);
        return (TV)(object)Vector128.Sqrt((Vector128<float>)(object)v);
    }
}

/// <summary>
/// The fast path of the divergences for float and Half inputs: one pass over each row reads the input and the target
/// once (target checked on the way), computes each element in float lanes with LossKit's vector exp and log
/// (<see cref="ExpF"/>, <see cref="VectorMath{TV,T,TOps}"/>: bit-reproducible on every JIT tier, and what the
/// cross-entropy row uses), adds the row's terms in double lanes, and writes the gradient (and kl's element values) in
/// float. The scalar reference (<see cref="IDivergenceRow"/>) computes the same quantities in double with
/// <see cref="Math.Exp"/>/<see cref="Math.Log(double)"/>; a float result differs from it by the float rounding of each
/// element's few operations (a few ulps of the element's terms), not by any error growing with K. Rows run on the rows
/// driver (<see cref="Parallelism.SumBlocks"/>): bit-identical for any thread count. Double inputs keep the scalar
/// reference path (<see cref="RowRunner"/>), whose bits are the recorded ones.
/// </summary>
internal static class DivergenceKernel
{
    /// <summary>Where a row's data lives: float input and target, gradient and element values (Half rows go through
    /// float scratch both ways), each output null when not wanted.</summary>
    private readonly unsafe struct RowData(float* x, float* t, float* gradient, float* elements, int k)
    {
        public readonly float* X = x, T = t;
        public readonly float* Gradient = gradient, Elements = elements;
        public readonly int K = k;
    }

    /// <summary>Runs the element-wise <paramref name="op"/> over the batch (float or Half) and returns the sum of the rows' values.</summary>
    public static double RunElements<T, TOp>(TOp op, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, Span<T> elements, double scale) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IElementDivergence =>
        Run(new ElementRows<TOp>(op), input, target, rows, classes, logTarget, rowLosses, gradient, elements, scale);

    /// <summary>Runs the row-wise <paramref name="op"/> over the batch (float or Half) and returns the sum of the rows' values.</summary>
    public static double RunRows<T, TOp>(TOp op, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, double scale) where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IRowDivergence =>
        Run(new WholeRows<TOp>(op), input, target, rows, classes, logTarget, rowLosses, gradient, default, scale);

    /// <summary>One row, at one vector width.</summary>
    private interface IRowJob
    {
        /// <summary>One row's value (before the reduction's scale); the gradient written times <paramref name="scale"/>, with
        /// non-temporal stores when <paramref name="stream"/> (a gradient too large to stay in cache).</summary>
        double Row<TVf, TFOps, TV, TOps, TW>(in RowData d, bool logTarget, double scale, bool stream, Span<float> scratch)
            where TVf : struct where TFOps : struct, ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>;

        /// <summary>Floats of scratch a row of <paramref name="k"/> classes needs.</summary>
        int Scratch(int k);
    }

    private static unsafe double Run<T, TJob>(TJob job, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, Span<T> elements, double scale) where T : unmanaged, IFloatingPointIeee754<T> where TJob : struct, IRowJob
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(Half)) throw new NotSupportedException($"The vector divergence kernel takes float or Half, not {typeof(T).Name}.");
        // A float gradient larger than the last-level cache is streamed out (Half rows go through float scratch, which is reused).
        bool stream = typeof(T) == typeof(float) && (long)gradient.Length * sizeof(float) >= ClassIndexLoss.StreamingThresholdBytes;
        fixed (T* pa = input, pb = target, pl = rowLosses, pg = gradient, pe = elements)
            return Parallelism.SumBlocks(rows, classes, new Blocks<T, TJob>(job, classes, logTarget, scale, stream, pa, pb,
                rowLosses.IsEmpty ? null : pl, gradient.IsEmpty ? null : pg, elements.IsEmpty ? null : pe));
    }

    /// <summary>The rows [start, end) of one block of the rows driver: float rows in place, Half rows through float scratch
    /// (exact both ways but the outputs' rounding). A struct body, so a call allocates no closure. Null pointers: an
    /// output that is not wanted.</summary>
    private readonly unsafe struct Blocks<T, TJob>(TJob job, int k, bool logTarget, double scale, bool stream, T* a, T* b, T* losses, T* gradient, T* elements)
        : Parallelism.IBlockBody where T : unmanaged, IFloatingPointIeee754<T> where TJob : struct, IRowJob
    {
        public double Run(int block, int start, int end)
        {
            int own = job.Scratch(k);
            bool half = typeof(T) == typeof(Half);
            float[] floats = ArrayPool<float>.Shared.Rent(own + (half ? 4 * k : 0));
            try
            {
                Span<float> scratch = floats.AsSpan(0, own);
                double sum = 0;
                fixed (float* pf = floats)
                {
                    float* hx = pf + own, ht = hx + k, hg = ht + k, he = hg + k;
                    for (int r = start; r < end; r++)
                    {
                        long offset = (long)r * k;
                        double loss;
                        try
                        {
                            if (!half)
                                loss = Width(job, new RowData((float*)(a + offset), (float*)(b + offset),
                                    gradient != null ? (float*)(gradient + offset) : null, elements != null ? (float*)(elements + offset) : null, k), logTarget, scale, stream, scratch);
                            else
                            {
                                // Half: the row into float scratch (exact), computed as float, the outputs rounded from float to Half.
                                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(a + offset, k), new Span<float>(hx, k));
                                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(b + offset, k), new Span<float>(ht, k));
                                loss = Width(job, new RowData(hx, ht, gradient != null ? hg : null, elements != null ? he : null, k), logTarget, scale, false, scratch);
                                if (gradient != null) TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(hg, k), new Span<Half>(gradient + offset, k));
                                if (elements != null) TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(he, k), new Span<Half>(elements + offset, k));
                            }
                        }
                        catch (InvalidTargetException)
                        {
                            DivergenceLoss.CheckTarget(new ReadOnlySpan<T>(b + offset, k), k, logTarget, r);
                            throw new InvalidOperationException("A target check failed but no target is out of range.");
                        }
                        if (losses != null) losses[r] = T.CreateTruncating(loss);
                        sum += loss;
                    }
                }
                return sum;
            }
            finally
            {
                ArrayPool<float>.Shared.Return(floats);
            }
        }
    }

    /// <summary>Thrown by a row when its target has a value outside the domain; the caller finds and names it.</summary>
    private sealed class InvalidTargetException : Exception;

    private static double Width<TJob>(TJob job, in RowData d, bool logTarget, double scale, bool stream, Span<float> scratch) where TJob : struct, IRowJob
    {
        if (Vector512.IsHardwareAccelerated)
            return job.Row<Vector512<float>, Simd512<float>, Vector512<double>, Simd512<double>, Widening512>(d, logTarget, scale, stream, scratch);
        if (Vector256.IsHardwareAccelerated)
            return job.Row<Vector256<float>, Simd256<float>, Vector256<double>, Simd256<double>, Widening256>(d, logTarget, scale, stream, scratch);
        return job.Row<Vector128<float>, Simd128<float>, Vector128<double>, Simd128<double>, Widening128>(d, logTarget, scale, stream, scratch);
    }

    /// <summary>A mask of the float lanes whose target is in the domain (NaN is not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVf ValidTarget<TVf, TFOps>(TVf t, bool logTarget) where TVf : struct where TFOps : ISimd<TVf, float> =>
        logTarget ? TFOps.LessThanOrEqual(t, TFOps.Broadcast(0f))
            : TFOps.And(TFOps.GreaterThanOrEqual(t, TFOps.Broadcast(0f)), TFOps.LessThanOrEqual(t, TFOps.Broadcast(1f)));

    /// <summary>Whether the scalar target <paramref name="t"/> is in the domain (NaN is not).</summary>
    private static bool ValidTarget(float t, bool logTarget) => logTarget ? t <= 0 : t >= 0 && t <= 1;

    /// <summary>The one loop of the element-wise divergences, one pass over the row: each vector of x and the target is
    /// read once, the target checked, the transcendental lanes the op declares (p = exp of a log-target, log p, q =
    /// exp(QScale·x), log of its argument) computed in registers, then the op's float arithmetic; the slope scaled and
    /// stored, the term widened and summed in double lanes (two accumulators, added lane-wise at the end, then across
    /// lanes). The last, partial vector goes through a padded copy (x = 0, t = 0, a valid target; its padding lanes'
    /// terms zeroed). The vectors are added in row order, so the sum is the same for any thread count. With
    /// <c>stream</c>, the unscaled slopes go to a scratch row (which stays in cache) and are scaled into the output with
    /// non-temporal stores (<see cref="RowKernels{T,TVec,TSimd}.Scale"/>), as the cross-entropy row does: the output is
    /// then written once without first being read into the cache.</summary>
    private readonly struct ElementRows<TOp>(TOp op) : IRowJob where TOp : struct, IElementDivergence
    {
        public int Scratch(int k) => k;

        /// <summary>The term and slope (unscaled) of one vector of lanes from x and the target t; false where the op
        /// needs its rare path and <paramref name="rare"/> is false (<see cref="IElementDivergence.Element"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool Lanes<TVf, TFOps>(TVf x, TVf t, bool expP, bool logP, bool aux, float qScale, bool rare, out TVf term, out TVf slope)
            where TVf : struct where TFOps : struct, ISimd<TVf, float>
        {
            TVf p = expP ? DivergenceLanes<TVf, TFOps>.Exp(t) : t;
            TVf lp = logP ? DivergenceLanes<TVf, TFOps>.Log(t) : t;
            TVf q = qScale == 0 ? x : DivergenceLanes<TVf, TFOps>.Exp(qScale == 1 ? x : TFOps.Multiply(TFOps.Broadcast(qScale), x));
            TVf a = aux ? DivergenceLanes<TVf, TFOps>.Log(op.LogArgument<TVf, TFOps>(x, p, lp, q)) : x;
            return op.Element<TVf, TFOps>(x, p, lp, q, a, rare, out term, out slope);
        }

        /// <summary>One vector of the row from lane <paramref name="i"/> on with <paramref name="n"/> ≤ w real lanes (the
        /// last, partial vector; or a whole one that needs the op's rare path), with the op's rare path: x and t padded
        /// with 0 (a valid target), the real lanes' slopes (times <paramref name="scale"/> unless null) and terms written
        /// to <paramref name="gradient"/> and the row's element values; returns the terms with the padding lanes zeroed.
        /// Out of line: its scalar loops and calls would otherwise make the main loop keep its live vectors on the stack.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        [SkipLocalsInit]
        private unsafe TVf Vector<TVf, TFOps>(in RowData d, int i, int n, bool logTarget, bool expP, bool logP, bool aux, float qScale, float? scale, float* gradient)
            where TVf : struct where TFOps : struct, ISimd<TVf, float>
        {
            int w = TFOps.Count;
            float* lanes = stackalloc float[2 * 16];
            for (int j = 0; j < w; j++)
            {
                float t = j < n ? d.T[i + j] : 0;
                if (!ValidTarget(t, logTarget)) throw new InvalidTargetException();
                (lanes[j], lanes[w + j]) = (j < n ? d.X[i + j] : 0, t);
            }
            Lanes<TVf, TFOps>(TFOps.Load(ref *lanes, 0), TFOps.Load(ref *lanes, (nuint)w), expP, logP, aux, qScale, rare: true, out TVf term, out TVf slope);
            TFOps.Store(term, ref *lanes, 0);
            TFOps.Store(scale is { } s ? TFOps.Multiply(slope, TFOps.Broadcast(s)) : slope, ref *lanes, (nuint)w);
            for (int j = n; j < w; j++) lanes[j] = 0;
            for (int j = 0; j < n; j++)
            {
                if (gradient is not null) gradient[i + j] = lanes[w + j];
                if (d.Elements is not null) d.Elements[i + j] = lanes[j];
            }
            return TFOps.Load(ref *lanes, 0);
        }

        public unsafe double Row<TVf, TFOps, TV, TOps, TW>(in RowData d, bool logTarget, double scale, bool stream, Span<float> scratch)
            where TVf : struct where TFOps : struct, ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>
        {
            int k = d.K, full = k / TFOps.Count * TFOps.Count;
            ElementInputs inputs = op.Inputs;
            bool expP = logTarget && inputs.P, logP = !logTarget && inputs.LogP, aux = inputs.Aux;
            float qScale = (float)inputs.QScale;
            stream &= d.Gradient is not null;
            float? slopeScale = stream ? null : (float)scale;
            fixed (float* buffer = scratch)
            {
                float* gradient = stream ? buffer : d.Gradient;
                // The loop over the whole vectors is a method of its own with no call in it (a call in or after the loop
                // would make its accumulators live across it, which the JIT does by keeping them on the stack, stored and
                // reloaded every iteration); it stops at a vector that needs the op's rare path, done here out of line.
                TV acc0 = TOps.Broadcast(0.0), acc1 = acc0;
                int i = 0;
                while ((i = Vectors<TVf, TFOps, TV, TOps, TW>(d, i, full, logTarget, expP, logP, aux, qScale, slopeScale, gradient, ref acc0, ref acc1)) < full)
                {
                    Add<TVf, TV, TOps, TW>(Vector<TVf, TFOps>(d, i, TFOps.Count, logTarget, expP, logP, aux, qScale, slopeScale, gradient), ref acc0, ref acc1);
                    i += TFOps.Count;
                }
                if (full < k)
                    Add<TVf, TV, TOps, TW>(Vector<TVf, TFOps>(d, full, k - full, logTarget, expP, logP, aux, qScale, slopeScale, gradient), ref acc0, ref acc1);
                double sum = TOps.Sum(TOps.Add(acc0, acc1));
                if (stream)
                    RowKernels<float, TVf, TFOps>.Scale(new ReadOnlySpan<float>(buffer, k), (float)scale, 0, new Span<float>(d.Gradient, k), streaming: true);
                return inputs.RowFactor * sum;
            }
        }

        /// <summary>The terms widened to double and added lane-wise to the two accumulators (lower and upper half).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Add<TVf, TV, TOps, TW>(TVf term, ref TV acc0, ref TV acc1)
            where TVf : struct where TV : struct where TOps : ISimd<TV, double> where TW : IWidening<TVf, TV>
        {
            TW.Widen(term, out TV term0, out TV term1);
            acc0 = TOps.Add(acc0, term0);
            acc1 = TOps.Add(acc1, term1);
        }

        /// <summary>The whole vectors of the row from lane <paramref name="start"/> up to <paramref name="full"/>: their
        /// slopes (times <paramref name="scale"/> unless null) to <paramref name="gradient"/> (unless null), terms to the
        /// row's element values and added to the accumulators; returns where it stopped: <paramref name="full"/>, or the
        /// first vector that needs the op's rare path (nothing of it written).</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private unsafe int Vectors<TVf, TFOps, TV, TOps, TW>(in RowData d, int start, int full, bool logTarget, bool expP, bool logP, bool aux, float qScale,
            float? scale, float* gradient, ref TV accumulator0, ref TV accumulator1)
            where TVf : struct where TFOps : struct, ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>
        {
            int w = TFOps.Count, i = start;
            bool scaled = scale.HasValue;
            TVf scaleV = TFOps.Broadcast(scale.GetValueOrDefault());
            TV acc0 = accumulator0, acc1 = accumulator1;   // in registers in the loop, written back once
            float* elements = d.Elements;
            for (; i < full; i += w)
            {
                nuint at = (nuint)i;
                TVf t = TFOps.Load(ref *d.T, at);
                if (!TFOps.AllTrue(ValidTarget<TVf, TFOps>(t, logTarget))) throw new InvalidTargetException();
                if (!Lanes<TVf, TFOps>(TFOps.Load(ref *d.X, at), t, expP, logP, aux, qScale, rare: false, out TVf term, out TVf slope)) break;
                Add<TVf, TV, TOps, TW>(term, ref acc0, ref acc1);
                if (gradient is not null) TFOps.Store(scaled ? TFOps.Multiply(slope, scaleV) : slope, ref *gradient, at);
                if (elements is not null) TFOps.Store(term, ref *elements, at);
            }
            (accumulator0, accumulator1) = (acc0, acc1);
            return i;
        }
    }

    /// <summary>The frame of the row-wise divergences: the row copied into padded float scratch (x and p; −∞ and 0
    /// beyond K, p = exp of a log-target), the op's row, then its gradient scaled into the output (with non-temporal stores when streamed).</summary>
    private readonly struct WholeRows<TOp>(TOp op) : IRowJob where TOp : struct, IRowDivergence
    {
        /// <summary>x, p and the gradient, each K rounded up to a whole number of the widest vectors.</summary>
        public int Scratch(int k) => 3 * Padded(k);

        private static int Padded(int k) => (k + 63) / 64 * 64;

        public unsafe double Row<TVf, TFOps, TV, TOps, TW>(in RowData d, bool logTarget, double scale, bool stream, Span<float> scratch)
            where TVf : struct where TFOps : struct, ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>
        {
            int k = d.K, padded = Padded(k), w = TFOps.Count, i = 0;
            Span<float> x = scratch[..padded], p = scratch.Slice(padded, padded), g = scratch.Slice(2 * padded, padded);
            fixed (float* px = x, pp = p, pg = g)
            {
                for (; i <= k - w; i += w)
                {
                    TVf tf = TFOps.Load(ref *d.T, (nuint)i);
                    if (!TFOps.AllTrue(ValidTarget<TVf, TFOps>(tf, logTarget))) throw new InvalidTargetException();
                    TFOps.Store(TFOps.Load(ref *d.X, (nuint)i), ref *px, (nuint)i);
                    TFOps.Store(logTarget ? DivergenceLanes<TVf, TFOps>.Exp(tf) : tf, ref *pp, (nuint)i);
                }
                for (; i < k; i++)
                {
                    float t = d.T[i];
                    if (!ValidTarget(t, logTarget)) throw new InvalidTargetException();
                    px[i] = d.X[i];
                    pp[i] = t;
                }
                if (logTarget && k % w != 0)
                    TFOps.Store(DivergenceLanes<TVf, TFOps>.Exp(TFOps.Load(ref *pp, (nuint)(k / w * w))), ref *pp, (nuint)(k / w * w));   // the tail's p (padding overwritten below)
                for (int j = k; j < padded; j++) (px[j], pp[j]) = (float.NegativeInfinity, 0);
                double loss = op.Row<TVf, TFOps, TV, TOps, TW>(k, x, p, d.Gradient is null ? default : g);
                if (d.Gradient is not null)
                    RowKernels<float, TVf, TFOps>.Scale(g[..k], (float)scale, 0, new Span<float>(d.Gradient, k), stream);
                return loss;
            }
        }
    }
}
