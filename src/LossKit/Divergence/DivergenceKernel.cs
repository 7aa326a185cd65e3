using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LossKit.Kernels;

namespace LossKit.Divergence;

/// <summary>
/// The vector form of an element-wise divergence (ℓ = Σ_j term_j, ∂ℓ/∂x_j = slope_j): one lane per class, in double
/// lanes, written once over <see cref="ISimd{TVec,T}"/> and run by the one loop of <see cref="DivergenceKernel"/>.
/// Each op repeats its scalar reference row (<see cref="IDivergenceRow"/>) operation for operation, with LossKit's
/// own exp and log in place of <see cref="Math.Exp"/> and <see cref="Math.Log(double)"/>. The transcendental functions
/// are not the op's: it declares which it needs (p, log p, q = exp(QScale·x), and an optional softplus of a lane
/// function), and the kernel computes them over a chunk of the row in loops of their own, so that the op's lane
/// function is plain arithmetic (small enough for the JIT to inline whole, and the exp/log loops overlap their lanes).
/// </summary>
internal interface IElementDivergence
{
    /// <summary>Whether the op reads p (else only log p).</summary>
    bool NeedsP { get; }

    /// <summary>Whether the op reads log p (else only p).</summary>
    bool NeedsLogP { get; }

    /// <summary>c in q = exp(c·x) when the op reads q (1 for q itself, ½ for √q); 0 when it does not.</summary>
    double QScale { get; }

    /// <summary>Whether the op reads <c>aux</c> = log(1 + exp(<see cref="SoftplusArgument"/>)).</summary>
    bool NeedsAux { get; }

    /// <summary>The argument a of aux = log(1 + eᵃ) (computed as written, not as a stable softplus: the op chooses a ≤ 0).</summary>
    TV SoftplusArgument<TV, TOps>(TV x, TV p, TV logP, TV q) where TV : struct where TOps : ISimd<TV, double>;

    /// <summary>Each lane's term of the row sum and its ∂/∂x, the latter already multiplied by any factor the row's value
    /// gets in <see cref="Finish"/> (as the scalar row does), before the reduction's scale.</summary>
    void Element<TV, TOps>(TV x, TV p, TV logP, TV q, TV aux, out TV term, out TV slope) where TV : struct where TOps : ISimd<TV, double>;

    /// <summary>The row's value from the sum of its terms.</summary>
    double Finish(double sum);
}

/// <summary>
/// The vector form of a divergence that is not a sum of independent terms (<c>cauchy_schwarz</c>, <c>wasserstein1</c>):
/// it gets its row as doubles (x and p, each padded to a whole number of vectors with x = −∞, p = 0 beyond K) and
/// writes the unscaled gradient into its gradient span (padded length; empty when not wanted).
/// </summary>
internal interface IRowDivergence
{
    double Row<TV, TOps>(int k, Span<double> x, Span<double> p, Span<double> gradient) where TV : struct where TOps : ISimd<TV, double>;
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

/// <summary>Lane-wise pieces of the divergence rows, the vector twins of <see cref="Divergences"/>.</summary>
internal static class DivergenceLanes<TV, TOps> where TV : struct where TOps : ISimd<TV, double>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV C(double v) => TOps.Broadcast(v);

    /// <summary>eˣ: LossKit's double exp (<see cref="VectorMath{TV,T,TOps}.Exp"/>), inlined so that the lanes of consecutive
    /// vectors overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp(TV x) => VectorMath<TV, double, TOps>.ExpInline(x);

    /// <summary>log x: LossKit's double log (<see cref="VectorMath{TV,T,TOps}.Log"/>), inlined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log(TV x) => VectorMath<TV, double, TOps>.LogInline(x);

    /// <summary>−a exactly (−0 for 0), as the scalar unary minus.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Negate(TV a) => TOps.Subtract(C(-0.0), a);

    /// <summary>a·(log a − log b), 0 where a = 0, NaN where a is NaN (<see cref="Divergences.PLogPOverQ"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV PLogPOverQ(TV a, TV logA, TV logB) =>
        TOps.Select(TOps.GreaterThan(a, C(0)), TOps.Multiply(a, TOps.Subtract(logA, logB)),
            TOps.Select(TOps.EqualTo(a, C(0)), C(0), C(double.NaN)));

    /// <summary>log(eᵃ + eᵇ), exact when either is −∞ (<see cref="Divergences.LogAddExp"/>), given
    /// <paramref name="softplus"/> = log(1 + exp(−|a − b|)) computed beforehand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogAddExp(TV a, TV b, TV softplus)
    {
        TV r = TOps.Add(TOps.MaxPropagateNaN(a, b), softplus);
        TV minusInfinity = C(double.NegativeInfinity);
        r = TOps.Select(TOps.EqualTo(b, minusInfinity), a, r);
        return TOps.Select(TOps.EqualTo(a, minusInfinity), b, r);
    }

    /// <summary>−1, 0 or 1; NaN stays NaN (<see cref="Divergences.Sign"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sign(TV d) =>
        TOps.Select(TOps.GreaterThan(d, C(0)), C(1), TOps.Select(TOps.LessThan(d, C(0)), C(-1), TOps.Select(TOps.EqualTo(d, C(0)), C(0), C(double.NaN))));

    /// <summary>√v, correctly rounded as <see cref="Math.Sqrt"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sqrt(TV v)
    {
        if (typeof(TV) == typeof(Vector512<double>)) return (TV)(object)Vector512.Sqrt((Vector512<double>)(object)v);
        if (typeof(TV) == typeof(Vector256<double>)) return (TV)(object)Vector256.Sqrt((Vector256<double>)(object)v);
        return (TV)(object)Vector128.Sqrt((Vector128<double>)(object)v);
    }
}

/// <summary>
/// The fast path of the divergences for float and Half inputs: one pass over each row reads the input and the target
/// once (target checked on the way), computes in double lanes with LossKit's exp and log (<see cref="VectorMath{TV,T,TOps}"/>,
/// bit-reproducible on every JIT tier), and writes the gradient (and kl's element values) rounded once to the output
/// type — the scalar reference computes the same double quantities with <see cref="Math.Exp"/>/<see cref="Math.Log(double)"/> and
/// a sequential row sum, so a float result differs from it only where the two doubles (within an ulp or so) round to
/// different floats. Rows run on the rows driver (<see cref="Parallelism.SumBlocks"/>): bit-identical for any thread count.
/// Double inputs keep the scalar reference path (<see cref="RowRunner"/>), whose bits are the recorded ones.
/// </summary>
internal static class DivergenceKernel
{
    /// <summary>Where a row's data lives: float input and target (Half rows are converted into float scratch first), and the
    /// outputs of type <typeparamref name="TOut"/> (float, or double scratch for Half), each null when not wanted.</summary>
    private readonly unsafe struct RowData<TOut>(float* x, float* t, TOut* gradient, TOut* elements, int k) where TOut : unmanaged
    {
        public readonly float* X = x, T = t;
        public readonly TOut* Gradient = gradient, Elements = elements;
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

    /// <summary>One row, at one vector width, with outputs of one type.</summary>
    private interface IRowJob
    {
        unsafe double Row<TOut, TVf, TFOps, TV, TOps, TW>(in RowData<TOut> d, bool logTarget, double scale, Span<double> scratch)
            where TOut : unmanaged where TVf : struct where TFOps : ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>;

        /// <summary>Doubles of scratch a row of <paramref name="k"/> classes needs.</summary>
        int Scratch(int k);
    }

    private static unsafe double Run<T, TJob>(TJob job, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, Span<T> elements, double scale) where T : unmanaged, IFloatingPointIeee754<T> where TJob : struct, IRowJob
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(Half)) throw new NotSupportedException($"The vector divergence kernel takes float or Half, not {typeof(T).Name}.");
        fixed (T* pa = input, pb = target, pl = rowLosses, pg = gradient, pe = elements)
        {
            nint ia = (nint)pa, ib = (nint)pb, il = (nint)pl, ig = (nint)pg, ie = (nint)pe;
            bool hasL = !rowLosses.IsEmpty, hasG = !gradient.IsEmpty, hasE = !elements.IsEmpty;
            return Parallelism.SumBlocks(rows, classes, (_, start, end) =>
            {
                int k = classes;
                bool half = typeof(T) == typeof(Half);
                int scratchLength = job.Scratch(k) + (half ? 2 * k : 0);
                double[]? doubles = scratchLength > 0 ? ArrayPool<double>.Shared.Rent(scratchLength) : null;
                float[]? floats = half ? ArrayPool<float>.Shared.Rent(2 * k) : null;
                try
                {
                    Span<double> scratch = doubles is null ? default : doubles.AsSpan(0, job.Scratch(k));
                    double sum = 0;
                    fixed (double* pd = doubles)
                    fixed (float* pf = floats)
                    {
                        for (int r = start; r < end; r++)
                        {
                            long offset = (long)r * k;
                            double loss;
                            try
                            {
                                if (!half)
                                    loss = Width(job, new RowData<float>((float*)((T*)ia + offset), (float*)((T*)ib + offset),
                                        hasG ? (float*)((T*)ig + offset) : null, hasE ? (float*)((T*)ie + offset) : null, k), logTarget, scale, scratch);
                                else
                                {
                                    // Half: the row into float scratch (exact), computed like float, the outputs kept in double and
                                    // rounded once to Half (as the scalar path rounds its doubles).
                                    TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((T*)ia + offset, k), new Span<float>(pf, k));
                                    TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((T*)ib + offset, k), new Span<float>(pf + k, k));
                                    double* dg = pd + job.Scratch(k), de = dg + k;
                                    loss = Width(job, new RowData<double>(pf, pf + k, hasG ? dg : null, hasE ? de : null, k), logTarget, scale, scratch);
                                    if (hasG) TensorPrimitives.ConvertTruncating<double, Half>(new ReadOnlySpan<double>(dg, k), new Span<Half>((T*)ig + offset, k));
                                    if (hasE) TensorPrimitives.ConvertTruncating<double, Half>(new ReadOnlySpan<double>(de, k), new Span<Half>((T*)ie + offset, k));
                                }
                            }
                            catch (InvalidTargetException)
                            {
                                DivergenceLoss.CheckTarget(new ReadOnlySpan<T>((T*)ib + offset, k), k, logTarget, r);
                                throw new InvalidOperationException("A target check failed but no target is out of range.");
                            }
                            if (hasL) ((T*)il)[r] = T.CreateTruncating(loss);
                            sum += loss;
                        }
                    }
                    return sum;
                }
                finally
                {
                    if (doubles is not null) ArrayPool<double>.Shared.Return(doubles);
                    if (floats is not null) ArrayPool<float>.Shared.Return(floats);
                }
            });
        }
    }

    /// <summary>Thrown by a row when its target has a value outside the domain; the caller finds and names it.</summary>
    private sealed class InvalidTargetException : Exception;

    private static double Width<TOut, TJob>(TJob job, in RowData<TOut> d, bool logTarget, double scale, Span<double> scratch)
        where TOut : unmanaged where TJob : struct, IRowJob
    {
        if (Vector512.IsHardwareAccelerated)
            return job.Row<TOut, Vector512<float>, Simd512<float>, Vector512<double>, Simd512<double>, Widening512>(d, logTarget, scale, scratch);
        if (Vector256.IsHardwareAccelerated)
            return job.Row<TOut, Vector256<float>, Simd256<float>, Vector256<double>, Simd256<double>, Widening256>(d, logTarget, scale, scratch);
        return job.Row<TOut, Vector128<float>, Simd128<float>, Vector128<double>, Simd128<double>, Widening128>(d, logTarget, scale, scratch);
    }

    /// <summary>A mask of the float lanes whose target is in the domain (NaN is not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVf ValidTarget<TVf, TFOps>(TVf t, bool logTarget) where TVf : struct where TFOps : ISimd<TVf, float> =>
        logTarget ? TFOps.LessThanOrEqual(t, TFOps.Broadcast(0f))
            : TFOps.And(TFOps.GreaterThanOrEqual(t, TFOps.Broadcast(0f)), TFOps.LessThanOrEqual(t, TFOps.Broadcast(1f)));

    /// <summary>Stores two double vectors as 2·(double lanes) outputs of type <typeparamref name="TOut"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store<TOut, TVf, TFOps, TV, TOps, TW>(TV lower, TV upper, TOut* destination)
        where TOut : unmanaged where TVf : struct where TFOps : ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double> where TW : IWidening<TVf, TV>
    {
        if (typeof(TOut) == typeof(float)) TFOps.Store(TW.Narrow(lower, upper), ref *(float*)destination, 0);
        else
        {
            TOps.Store(lower, ref *(double*)destination, 0);
            TOps.Store(upper, ref *(double*)destination, (nuint)TOps.Count);
        }
    }

    /// <summary>Classes per chunk of a row: the chunk's double scratch (x, p, log p, q, aux) stays in the L1 cache.</summary>
    private const int Chunk = 512;

    /// <summary>log of each of the <paramref name="n"/> doubles (a whole number of vectors) at <paramref name="source"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MapLog<TV, TOps>(double* source, double* destination, int n) where TV : struct where TOps : ISimd<TV, double>
    {
        for (int i = 0; i < n; i += TOps.Count)
            TOps.Store(DivergenceLanes<TV, TOps>.Log(TOps.Load(ref *source, (nuint)i)), ref *destination, (nuint)i);
    }

    /// <summary>exp(<paramref name="c"/>·v) of each of the <paramref name="n"/> doubles (a whole number of vectors).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MapExp<TV, TOps>(double* source, double c, double* destination, int n) where TV : struct where TOps : ISimd<TV, double>
    {
        TV factor = TOps.Broadcast(c);
        for (int i = 0; i < n; i += TOps.Count)
        {
            TV v = TOps.Load(ref *source, (nuint)i);
            TOps.Store(DivergenceLanes<TV, TOps>.Exp(c == 1 ? v : TOps.Multiply(factor, v)), ref *destination, (nuint)i);
        }
    }

    /// <summary>log(1 + eᵛ), as written, of each of the <paramref name="n"/> doubles, in place.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MapSoftplus<TV, TOps>(double* values, int n) where TV : struct where TOps : ISimd<TV, double>
    {
        TV one = TOps.Broadcast(1.0);
        for (int i = 0; i < n; i += TOps.Count)
            TOps.Store(DivergenceLanes<TV, TOps>.Log(TOps.Add(one, DivergenceLanes<TV, TOps>.Exp(TOps.Load(ref *values, (nuint)i)))), ref *values, (nuint)i);
    }

    /// <summary>The one loop of the element-wise divergences. A row goes in chunks: the input and target read once, the
    /// target checked and both widened into double scratch (padded to whole vectors); the transcendental lanes the op
    /// declares computed by the map loops; then the op's arithmetic per lane, the slopes scaled and stored, the terms
    /// summed in double lanes (two accumulators, added lane-wise at the end, then across lanes; padding lanes masked).</summary>
    private readonly struct ElementRows<TOp>(TOp op) : IRowJob where TOp : struct, IElementDivergence
    {
        public int Scratch(int k) => 6 * Chunk;

        [SkipLocalsInit]
        public unsafe double Row<TOut, TVf, TFOps, TV, TOps, TW>(in RowData<TOut> d, bool logTarget, double scale, Span<double> scratch)
            where TOut : unmanaged where TVf : struct where TFOps : ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>
        {
            int w = TFOps.Count, dl = TOps.Count, k = d.K;
            bool needsP = op.NeedsP, needsLogP = op.NeedsLogP, needsAux = op.NeedsAux;
            double qScale = op.QScale;
            TV scaleV = TOps.Broadcast(scale), zero = TOps.Broadcast(0.0), acc0 = zero, acc1 = zero;
            double* lanes = stackalloc double[4 * 8];   // the last partial vector pair of a row (at most 8 double lanes a vector)
            fixed (double* buffer = scratch)
            {
                double* xs = buffer, ts = buffer + Chunk, ps = buffer + 2 * Chunk, lps = buffer + 3 * Chunk, qs = buffer + 4 * Chunk, aux = buffer + 5 * Chunk;
                for (int c0 = 0; c0 < k; c0 += Chunk)
                {
                    int n = Math.Min(Chunk, k - c0), padded = (n + w - 1) / w * w, i = 0;
                    float* x = d.X + c0, t = d.T + c0;
                    for (; i <= n - w; i += w)
                    {
                        TVf tf = TFOps.Load(ref *t, (nuint)i);
                        if (!TFOps.AllTrue(ValidTarget<TVf, TFOps>(tf, logTarget))) throw new InvalidTargetException();
                        TW.Widen(TFOps.Load(ref *x, (nuint)i), out TV x0, out TV x1);
                        TW.Widen(tf, out TV t0, out TV t1);
                        TOps.Store(x0, ref *xs, (nuint)i);
                        TOps.Store(x1, ref *xs, (nuint)(i + dl));
                        TOps.Store(t0, ref *ts, (nuint)i);
                        TOps.Store(t1, ref *ts, (nuint)(i + dl));
                    }
                    for (; i < padded; i++)
                    {
                        // Tail: padded with x = 0, t = 0 (a valid target); the padding lanes' terms are masked below.
                        float tv = i < n ? t[i] : 0f;
                        if (!(logTarget ? tv <= 0 : tv >= 0 && tv <= 1)) throw new InvalidTargetException();
                        (xs[i], ts[i]) = (i < n ? x[i] : 0f, tv);
                    }
                    double* p = ts, logP = ts;
                    if (logTarget && needsP) MapExp<TV, TOps>(ts, 1, p = ps, padded);
                    if (!logTarget && needsLogP) MapLog<TV, TOps>(ts, logP = lps, padded);
                    if (qScale != 0) MapExp<TV, TOps>(xs, qScale, qs, padded);
                    if (needsAux)
                    {
                        for (int j = 0; j < padded; j += dl)
                            TOps.Store(op.SoftplusArgument<TV, TOps>(TOps.Load(ref *xs, (nuint)j), TOps.Load(ref *p, (nuint)j), TOps.Load(ref *logP, (nuint)j),
                                TOps.Load(ref *qs, (nuint)j)), ref *aux, (nuint)j);
                        MapSoftplus<TV, TOps>(aux, padded);
                    }
                    TOut* gradient = d.Gradient is null ? null : d.Gradient + c0, elements = d.Elements is null ? null : d.Elements + c0;
                    for (i = 0; i < padded; i += w)
                    {
                        nuint i0 = (nuint)i, i1 = (nuint)(i + dl);
                        op.Element<TV, TOps>(TOps.Load(ref *xs, i0), TOps.Load(ref *p, i0), TOps.Load(ref *logP, i0), TOps.Load(ref *qs, i0),
                            TOps.Load(ref *aux, i0), out TV term0, out TV slope0);
                        op.Element<TV, TOps>(TOps.Load(ref *xs, i1), TOps.Load(ref *p, i1), TOps.Load(ref *logP, i1), TOps.Load(ref *qs, i1),
                            TOps.Load(ref *aux, i1), out TV term1, out TV slope1);
                        slope0 = TOps.Multiply(slope0, scaleV);
                        slope1 = TOps.Multiply(slope1, scaleV);
                        if (i + w <= n)
                        {
                            acc0 = TOps.Add(acc0, term0);
                            acc1 = TOps.Add(acc1, term1);
                            if (gradient is not null) Store<TOut, TVf, TFOps, TV, TOps, TW>(slope0, slope1, gradient + i);
                            if (elements is not null) Store<TOut, TVf, TFOps, TV, TOps, TW>(term0, term1, elements + i);
                        }
                        else
                        {
                            // The last, partial vector pair: its real lanes only.
                            TOps.Store(term0, ref *lanes, 0);
                            TOps.Store(term1, ref *lanes, (nuint)dl);
                            TOps.Store(slope0, ref *lanes, (nuint)(2 * dl));
                            TOps.Store(slope1, ref *lanes, (nuint)(3 * dl));
                            for (int j = n - i; j < w; j++) lanes[j] = 0;
                            acc0 = TOps.Add(acc0, TOps.Load(ref *lanes, 0));
                            acc1 = TOps.Add(acc1, TOps.Load(ref *lanes, (nuint)dl));
                            for (int j = 0; j < n - i; j++)
                            {
                                if (gradient is not null) gradient[i + j] = Narrow<TOut>(lanes[2 * dl + j]);
                                if (elements is not null) elements[i + j] = Narrow<TOut>(lanes[j]);
                            }
                        }
                    }
                }
            }
            return op.Finish(TOps.Sum(TOps.Add(acc0, acc1)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TOut Narrow<TOut>(double v) where TOut : unmanaged =>
        typeof(TOut) == typeof(float) ? (TOut)(object)(float)v : (TOut)(object)v;

    /// <summary>The frame of the row-wise divergences: the row widened into padded double scratch (x and p; −∞ and 0
    /// beyond K), the op's row, then its gradient scaled and rounded into the output.</summary>
    private readonly struct WholeRows<TOp>(TOp op) : IRowJob where TOp : struct, IRowDivergence
    {
        /// <summary>x, p and the gradient, each K rounded up to a whole number of the widest vectors.</summary>
        public int Scratch(int k) => 3 * Padded(k);

        private static int Padded(int k) => (k + 63) / 64 * 64;

        public unsafe double Row<TOut, TVf, TFOps, TV, TOps, TW>(in RowData<TOut> d, bool logTarget, double scale, Span<double> scratch)
            where TOut : unmanaged where TVf : struct where TFOps : ISimd<TVf, float> where TV : struct where TOps : ISimd<TV, double>
            where TW : IWidening<TVf, TV>
        {
            int k = d.K, padded = Padded(k), w = TFOps.Count, i = 0;
            Span<double> x = scratch[..padded], p = scratch.Slice(padded, padded), g = scratch.Slice(2 * padded, padded);
            fixed (double* px = x, pp = p, pg = g)
            {
                for (; i <= k - w; i += w)
                {
                    TVf tf = TFOps.Load(ref *d.T, (nuint)i);
                    if (!TFOps.AllTrue(ValidTarget<TVf, TFOps>(tf, logTarget))) throw new InvalidTargetException();
                    TW.Widen(TFOps.Load(ref *d.X, (nuint)i), out TV x0, out TV x1);
                    TW.Widen(tf, out TV t0, out TV t1);
                    TOps.Store(x0, ref *px, (nuint)i);
                    TOps.Store(x1, ref *px, (nuint)(i + TOps.Count));
                    TOps.Store(logTarget ? TOps.Exp(t0) : t0, ref *pp, (nuint)i);
                    TOps.Store(logTarget ? TOps.Exp(t1) : t1, ref *pp, (nuint)(i + TOps.Count));
                }
                for (; i < k; i++)
                {
                    float t = d.T[i];
                    if (!(logTarget ? t <= 0 : t >= 0 && t <= 1)) throw new InvalidTargetException();
                    px[i] = d.X[i];
                    pp[i] = t;
                }
                if (logTarget)
                    for (int j = k / w * w; j < k; j += TOps.Count)
                        TOps.Store(TOps.Exp(TOps.Load(ref *pp, (nuint)j)), ref *pp, (nuint)j);   // the tail's p (padding overwritten below)
                for (int j = k; j < padded; j++) (px[j], pp[j]) = (double.NegativeInfinity, 0);
                double loss = op.Row<TV, TOps>(k, x, p, d.Gradient is null ? default : g);
                if (d.Gradient is not null)
                {
                    TV scaleV = TOps.Broadcast(scale);
                    int j = 0;
                    for (; j <= k - w; j += w)
                        Store<TOut, TVf, TFOps, TV, TOps, TW>(TOps.Multiply(TOps.Load(ref *pg, (nuint)j), scaleV),
                            TOps.Multiply(TOps.Load(ref *pg, (nuint)(j + TOps.Count)), scaleV), d.Gradient + j);
                    for (; j < k; j++) d.Gradient[j] = Narrow<TOut>(pg[j] * scale);
                }
                return loss;
            }
        }
    }
}
