using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LossKit.Kernels;

/// <summary>
/// Single-row vector loops written once over an <see cref="ISimd{TVec,T}"/> width, each with a scalar tail.
/// Every loop visits elements in a fixed order, so results do not depend on threading.
/// Each loop is its own non-inlined method: inlined into a large caller, the JIT's inlining
/// budget runs out and the vector math (the ISimd exp) stops being inlined, which costs 2× or more.
/// </summary>
internal static class RowKernels<T, TVec, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T Max(ReadOnlySpan<T> x)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        int n = x.Length, w = TSimd.Count, i = 0;
        T max = T.NegativeInfinity;
        if (n >= 2 * w)
        {
            TVec m0 = TSimd.Load(ref src, 0), m1 = TSimd.Load(ref src, (nuint)w);
            for (i = 2 * w; i <= n - 2 * w; i += 2 * w)
            {
                m0 = TSimd.Max(m0, TSimd.Load(ref src, (nuint)i));
                m1 = TSimd.Max(m1, TSimd.Load(ref src, (nuint)(i + w)));
            }
            max = TSimd.MaxAcross(TSimd.Max(m0, m1));
        }
        for (; i < n; i++) max = T.Max(max, Unsafe.Add(ref src, i));
        return max;
    }

    /// <summary>Σ exp(x_i − shift). When <paramref name="destination"/> is not empty, each exp(x_i − shift) is also
    /// written there, so a gradient pass can rescale it instead of computing exp again. When
    /// <paramref name="prefetch"/> is given (the next row), its cache lines are requested while this compute-bound
    /// pass runs, so the next row's memory-bound max pass finds them in cache.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe T SumExp(ReadOnlySpan<T> x, T shift, Span<T> destination, ReadOnlySpan<T> prefetch)
    {
        bool store = !destination.IsEmpty;
        ref T src = ref MemoryMarshal.GetReference(x);
        ref T dst = ref MemoryMarshal.GetReference(destination);
        int n = x.Length, w = TSimd.Count, i = 0;
        T sum = T.Zero;
        byte* next = Sse.IsSupported && prefetch.Length >= n ? (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(prefetch)) : null;
        int stride = 2 * w * Unsafe.SizeOf<T>();
        if (n >= w)
        {
            TVec s = TSimd.Broadcast(shift), acc0 = TSimd.Broadcast(T.Zero), acc1 = acc0;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                if (next is not null)
                {
                    byte* line = next + (nint)i * Unsafe.SizeOf<T>();
                    for (int b = 0; b < stride; b += 64) Sse.Prefetch1(line + b);
                }
                TVec e0 = TSimd.Exp(TSimd.Subtract(TSimd.Load(ref src, (nuint)i), s));
                TVec e1 = TSimd.Exp(TSimd.Subtract(TSimd.Load(ref src, (nuint)(i + w)), s));
                if (store)
                {
                    TSimd.Store(e0, ref dst, (nuint)i);
                    TSimd.Store(e1, ref dst, (nuint)(i + w));
                }
                acc0 = TSimd.Add(acc0, e0);
                acc1 = TSimd.Add(acc1, e1);
            }
            if (i <= n - w)
            {
                TVec e0 = TSimd.Exp(TSimd.Subtract(TSimd.Load(ref src, (nuint)i), s));
                if (store) TSimd.Store(e0, ref dst, (nuint)i);
                acc0 = TSimd.Add(acc0, e0);
                i += w;
            }
            sum = TSimd.Sum(TSimd.Add(acc0, acc1));
        }
        for (; i < n; i++)
        {
            T e = T.Exp(Unsafe.Add(ref src, i) - shift);
            if (store) Unsafe.Add(ref dst, i) = e;
            sum += e;
        }
        return sum;
    }

    /// <summary>destination_i ← scale · x_i + offset (destination may be x itself; with offset 0 exactly scale · x_i);
    /// with <paramref name="streaming"/>, written with non-temporal stores (bypassing the cache) wherever the
    /// destination is vector-aligned, for outputs too large to stay in cache.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void Scale(ReadOnlySpan<T> x, T scale, T offset, Span<T> destination, bool streaming)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        ref T dst = ref MemoryMarshal.GetReference(destination);
        // Pinned: the raw pointer p must not outlive a move of the destination by the GC (an unpinned pointer once lost
        // the tail's writes to a collection that moved the row mid-call).
        fixed (T* p = destination)
        {
            int n = x.Length, w = TSimd.Count, i = 0;
            TVec c = TSimd.Broadcast(scale), o = TSimd.Broadcast(offset);
            bool shift = offset != T.Zero;
            if (streaming)
            {
                int bytes = w * Unsafe.SizeOf<T>();
                int head = (int)(((nuint)bytes - ((nuint)p % (nuint)bytes)) % (nuint)bytes);
                head = head % Unsafe.SizeOf<T>() != 0 ? n : Math.Min(head / Unsafe.SizeOf<T>(), n);
                for (; i < head; i++) p[i] = shift ? Unsafe.Add(ref src, i) * scale + offset : Unsafe.Add(ref src, i) * scale;
                if (shift)
                    for (; i <= n - w; i += w) TSimd.StoreAlignedNonTemporal(TSimd.Add(TSimd.Multiply(c, TSimd.Load(ref src, (nuint)i)), o), p + i);
                else
                    for (; i <= n - w; i += w) TSimd.StoreAlignedNonTemporal(TSimd.Multiply(c, TSimd.Load(ref src, (nuint)i)), p + i);
            }
            else if (shift)
                for (; i <= n - w; i += w) TSimd.Store(TSimd.Add(TSimd.Multiply(c, TSimd.Load(ref src, (nuint)i)), o), ref dst, (nuint)i);
            else
                for (; i <= n - w; i += w) TSimd.Store(TSimd.Multiply(c, TSimd.Load(ref src, (nuint)i)), ref dst, (nuint)i);
            for (; i < n; i++) p[i] = shift ? Unsafe.Add(ref src, i) * scale + offset : Unsafe.Add(ref src, i) * scale;
        }
    }

    /// <summary>destination_i ← scale·x_i + alpha·z_i where z_i &gt; −∞, else scale·x_i (each product rounded, then the
    /// sum: the bits of <see cref="Scale"/> followed by <see cref="AddScaledUnmasked"/>); destination may be x. With
    /// <paramref name="streaming"/>, non-temporal stores wherever the destination is vector-aligned.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void ScaleAddUnmasked(ReadOnlySpan<T> x, T scale, ReadOnlySpan<T> z, T alpha, Span<T> destination, bool streaming)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        ref T pz = ref MemoryMarshal.GetReference(z);
        fixed (T* p = destination)   // pinned, as in Scale
        {
            int n = x.Length, w = TSimd.Count, i = 0;
            TVec c = TSimd.Broadcast(scale), a = TSimd.Broadcast(alpha), masked = TSimd.Broadcast(T.NegativeInfinity);
            int head = 0;
            if (streaming)
            {
                int bytes = w * Unsafe.SizeOf<T>();
                head = (int)(((nuint)bytes - ((nuint)p % (nuint)bytes)) % (nuint)bytes);
                head = head % Unsafe.SizeOf<T>() != 0 ? n : Math.Min(head / Unsafe.SizeOf<T>(), n);
            }
            for (; i < head; i++) p[i] = Element(Unsafe.Add(ref src, i), scale, Unsafe.Add(ref pz, i), alpha);
            for (; i <= n - w; i += w)
            {
                TVec v = TSimd.Load(ref pz, (nuint)i), g = TSimd.Multiply(c, TSimd.Load(ref src, (nuint)i));
                TVec result = TSimd.Select(TSimd.GreaterThan(v, masked), TSimd.Add(g, TSimd.Multiply(a, v)), g);
                if (streaming) TSimd.StoreAlignedNonTemporal(result, p + i);
                else TSimd.Store(result, ref MemoryMarshal.GetReference(destination), (nuint)i);
            }
            for (; i < n; i++) p[i] = Element(Unsafe.Add(ref src, i), scale, Unsafe.Add(ref pz, i), alpha);
        }

        static T Element(T x, T scale, T z, T alpha)
        {
            T g = x * scale;
            return z > T.NegativeInfinity ? g + alpha * z : g;
        }
    }

    /// <summary>Σ a_i·(b_i − shift) where terms with a_i = 0 count as zero (so 0·(−∞) is 0, not NaN). Shifting by
    /// the row max before multiplying avoids cancellation when logits carry a large common offset.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T MaskedDot(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T shift) => MaskedDot<Two>(a, default, b, shift);

    /// <summary>Σ a_i·b_i·(c_i − shift) where terms with a_i·b_i = 0 count as zero.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T MaskedDot3(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, T shift) => MaskedDot<Three>(a, b, c, shift);

    /// <summary>Whether <see cref="MaskedDot{TFactors}"/> and <see cref="AddScaled{TFactors}"/> multiply two factors or three;
    /// a type argument, so each form is compiled on its own.</summary>
    private interface IFactors { static abstract bool HasB { get; } }
    private readonly struct Two : IFactors { public static bool HasB => false; }
    private readonly struct Three : IFactors { public static bool HasB => true; }

    /// <summary>Σ f_i·(c_i − shift) with f = a (two factors) or a·b (three), terms with f_i = 0 counting as zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T MaskedDot<TFactors>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, T shift) where TFactors : struct, IFactors
    {
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pc = ref MemoryMarshal.GetReference(c);
        int n = a.Length, w = TSimd.Count, i = 0;
        T sum = T.Zero;
        if (n >= w)
        {
            TVec acc = TSimd.Broadcast(T.Zero), s = TSimd.Broadcast(shift);
            for (; i <= n - w; i += w)
            {
                TVec f = TSimd.Load(ref pa, (nuint)i);
                if (TFactors.HasB) f = TSimd.Multiply(f, TSimd.Load(ref pb, (nuint)i));
                acc = TSimd.Add(acc, TSimd.ZeroWhereZero(f, TSimd.Multiply(f, TSimd.Subtract(TSimd.Load(ref pc, (nuint)i), s))));
            }
            sum = TSimd.Sum(acc);
        }
        for (; i < n; i++)
        {
            T f = TFactors.HasB ? Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i) : Unsafe.Add(ref pa, i);
            if (f != T.Zero) sum += f * (Unsafe.Add(ref pc, i) - shift);
        }
        return sum;
    }

    /// <summary>Σ (x_i − shift).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static T SumShifted(ReadOnlySpan<T> x, T shift)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        int n = x.Length, w = TSimd.Count, i = 0;
        T sum = T.Zero;
        if (n >= w)
        {
            TVec acc = TSimd.Broadcast(T.Zero), s = TSimd.Broadcast(shift);
            for (; i <= n - w; i += w) acc = TSimd.Add(acc, TSimd.Subtract(TSimd.Load(ref src, (nuint)i), s));
            sum = TSimd.Sum(acc);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref src, i) - shift;
        return sum;
    }

    /// <summary>destination_i += alpha · x_i.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AddScaled(Span<T> destination, T alpha, ReadOnlySpan<T> x) => AddScaled<Two>(destination, alpha, default, x);

    /// <summary>destination_i += alpha · x_i · y_i.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AddScaledProduct(Span<T> destination, T alpha, ReadOnlySpan<T> x, ReadOnlySpan<T> y) =>
        AddScaled<Three>(destination, alpha, x, y);

    /// <summary>destination_i += f_i · y_i with f = alpha (two factors) or alpha·x (three), fused where the hardware has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled<TFactors>(Span<T> destination, T alpha, ReadOnlySpan<T> x, ReadOnlySpan<T> y) where TFactors : struct, IFactors
    {
        ref T dst = ref MemoryMarshal.GetReference(destination);
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T py = ref MemoryMarshal.GetReference(y);
        int n = destination.Length, w = TSimd.Count, i = 0;
        if (n >= w)
        {
            TVec a = TSimd.Broadcast(alpha);
            for (; i <= n - w; i += w)
            {
                TVec f = TFactors.HasB ? TSimd.Multiply(a, TSimd.Load(ref px, (nuint)i)) : a;
                TSimd.Store(TSimd.MultiplyAdd(f, TSimd.Load(ref py, (nuint)i), TSimd.Load(ref dst, (nuint)i)), ref dst, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T f = TFactors.HasB ? alpha * Unsafe.Add(ref px, i) : alpha;
            Unsafe.Add(ref dst, i) += f * Unsafe.Add(ref py, i);
        }
    }

    /// <summary>destination_i ← destination_i + alpha·x_i (rounded product, then rounded sum: not fused) where x_i &gt; −∞;
    /// destination_i unchanged where x_i = −∞ (a masked class).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void AddScaledUnmasked(Span<T> destination, T alpha, ReadOnlySpan<T> x)
    {
        ref T dst = ref MemoryMarshal.GetReference(destination);
        ref T px = ref MemoryMarshal.GetReference(x);
        int n = destination.Length, w = TSimd.Count, i = 0;
        if (n >= w)
        {
            TVec a = TSimd.Broadcast(alpha), masked = TSimd.Broadcast(T.NegativeInfinity);
            for (; i <= n - w; i += w)
            {
                TVec v = TSimd.Load(ref px, (nuint)i), g = TSimd.Load(ref dst, (nuint)i);
                TSimd.Store(TSimd.Select(TSimd.GreaterThan(v, masked), TSimd.Add(g, TSimd.Multiply(a, v)), g), ref dst, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref px, i);
            if (v > T.NegativeInfinity) Unsafe.Add(ref dst, i) += alpha * v;
        }
    }

    /// <summary>
    /// Hinge terms of a row: with u_j = x_j + c and a_j = max(u_j, 0), returns Σ_j a_j^p and Σ_j d_j where
    /// d_j = ∂(a_j^p)/∂x_j (p = 1: 1 when u_j &gt; 0, else 0 — the subgradient 0 at the kink u_j = 0; p = 2: 2a_j).
    /// When <paramref name="gradient"/> is not empty it receives scale·d_j. −∞ elements give a_j = d_j = 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (T Sum, T DerivativeSum) Hinge(ReadOnlySpan<T> x, T c, bool squared, Span<T> gradient, T scale)
    {
        int n = x.Length, w = TSimd.Count, i = 0;
        bool hasGradient = !gradient.IsEmpty;
        T sum = T.Zero, dsum = T.Zero;
        if (System.Numerics.Vector.IsHardwareAccelerated && n >= w)
        {
            ref T src = ref MemoryMarshal.GetReference(x);
            ref T dst = ref MemoryMarshal.GetReference(gradient);
            TVec vc = TSimd.Broadcast(c), vs = TSimd.Broadcast(scale), two = TSimd.Broadcast(T.CreateTruncating(2));
            TVec zero = TSimd.Broadcast(T.Zero), one = TSimd.Broadcast(T.One);
            TVec accS = zero, accD = zero;
            for (; i <= n - w; i += w)
            {
                TVec u = TSimd.Add(TSimd.Load(ref src, (nuint)i), vc);
                TVec a = TSimd.MaxPropagateNaN(u, zero);
                TVec d;
                if (squared) { accS = TSimd.Add(accS, TSimd.Multiply(a, a)); d = TSimd.Multiply(two, a); }
                else { accS = TSimd.Add(accS, a); d = TSimd.Select(TSimd.GreaterThan(u, zero), one, zero); }
                accD = TSimd.Add(accD, d);
                if (hasGradient) TSimd.Store(TSimd.Multiply(d, vs), ref dst, (nuint)i);
            }
            sum = TSimd.Sum(accS);
            dsum = TSimd.Sum(accD);
        }
        T twoS = T.CreateTruncating(2);
        for (; i < n; i++)
        {
            T u = x[i] + c;
            T a = u > T.Zero ? u : T.Zero;
            T d = squared ? twoS * a : (u > T.Zero ? T.One : T.Zero);
            sum += squared ? a * a : a;
            dsum += d;
            if (hasGradient) gradient[i] = d * scale;
        }
        return (sum, dsum);
    }

    /// <summary>destination_i = softplus(x_i) = max(x_i, 0) + log1p(exp(−|x_i|)), with log1p(v) computed as
    /// log(u)·v/(u − 1), u = 1 + v (Goldberg), accurate to a few ulps; v where u rounds to 1.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Softplus(ReadOnlySpan<T> x, Span<T> destination)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        ref T dst = ref MemoryMarshal.GetReference(destination);
        int n = x.Length, w = TSimd.Count, i = 0;
        if (n >= w)
        {
            TVec zero = TSimd.Broadcast(T.Zero), one = TSimd.Broadcast(T.One);
            for (; i <= n - w; i += w)
            {
                TVec v = TSimd.Load(ref src, (nuint)i);
                TVec e = TSimd.Exp(TSimd.Subtract(zero, TSimd.Abs(v)));
                TVec u = TSimd.Add(one, e);
                TVec d = TSimd.Subtract(u, one);                       // exact
                TVec corrected = TSimd.Multiply(TSimd.Log(u), TSimd.Divide(e, d));
                TVec log1p = TSimd.Select(TSimd.LessThan(zero, d), corrected, e);  // d = 0: u rounded to 1, log1p(e) = e
                TSimd.Store(TSimd.Add(TSimd.Max(v, zero), log1p), ref dst, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref src, i);
            Unsafe.Add(ref dst, i) = T.CreateTruncating(StableMath.Softplus(double.CreateTruncating(v)));
        }
    }

    /// <summary>(Σ softplus(x_i), Σ σ(x_i)) with x_i ← σ(x_i), by <see cref="VectorMath{TV,T,TOps}.Logistic"/> (one exp and
    /// one log per element, inlined into the vector loop, whose throughput is theirs; x_i = +∞ gives softplus +∞ and
    /// σ = 1).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (T Softplus, T Sigmoid) LogisticSums(Span<T> x)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        int n = x.Length, w = TSimd.Count, i = 0;
        TVec softplus = TSimd.Broadcast(T.Zero), sigmoid = softplus;
        for (; i <= n - w; i += w)
        {
            VectorMath<TVec, T, TSimd>.Logistic(TSimd.Load(ref src, (nuint)i), out TVec sp, out _, out TVec sg, out _, inline: true);
            softplus = TSimd.Add(softplus, sp);
            sigmoid = TSimd.Add(sigmoid, sg);
            TSimd.Store(sg, ref src, (nuint)i);
        }
        T spSum = TSimd.Sum(softplus), sgSum = TSimd.Sum(sigmoid);
        if (i < n)
        {
            // The last partial vector through the same arithmetic: its values padded with zeros to a whole vector.
            int rest = n - i;
            Span<T> lanes = stackalloc T[2 * w];
            lanes.Clear();
            x[i..].CopyTo(lanes);
            ref T lane = ref MemoryMarshal.GetReference(lanes);
            VectorMath<TVec, T, TSimd>.Logistic(TSimd.Load(ref lane, 0), out TVec sp, out _, out TVec sg, out _);
            TSimd.Store(sp, ref lane, 0);
            TSimd.Store(sg, ref lane, (nuint)w);
            for (int j = 0; j < rest; j++)
            {
                spSum += lanes[j];
                sgSum += lanes[w + j];
                x[i + j] = lanes[w + j];
            }
        }
        return (spSum, sgSum);
    }

    /// <summary>(Σ x_i, min x_i) in one pass.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (T Sum, T Min) SumAndMin(ReadOnlySpan<T> x)
    {
        ref T src = ref MemoryMarshal.GetReference(x);
        int n = x.Length, w = TSimd.Count, i = 0;
        T sum = T.Zero, min = T.PositiveInfinity;
        if (n >= w)
        {
            TVec acc = TSimd.Broadcast(T.Zero), m = TSimd.Broadcast(T.PositiveInfinity);
            for (; i <= n - w; i += w)
            {
                TVec v = TSimd.Load(ref src, (nuint)i);
                acc = TSimd.Add(acc, v);
                m = TSimd.Min(m, v);
            }
            sum = TSimd.Sum(acc);
            min = TSimd.MinAcross(m);
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref src, i);
            sum += v;
            min = T.Min(min, v);
        }
        return (sum, min);
    }
}

/// <summary>
/// Picks the widest hardware-accelerated vector width that fits the row, once per call, and forwards to
/// <see cref="RowKernels{T,TVec,TSimd}"/>. The element type is float or double.
/// </summary>
internal static class Row
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Width<T>(int n) where T : unmanaged
    {
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count) return 512;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count) return 256;
        return 128;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Max<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(x.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.Max(x),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.Max(x),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.Max(x),
    };

    /// <summary>Σ exp(x_i − shift); see <see cref="RowKernels{T,TVec,TSimd}.SumExp"/> for the optional store and prefetch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SumExp<T>(ReadOnlySpan<T> x, T shift, Span<T> destination = default, ReadOnlySpan<T> prefetch = default) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(x.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.SumExp(x, shift, destination, prefetch),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.SumExp(x, shift, destination, prefetch),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.SumExp(x, shift, destination, prefetch),
    };

    /// <summary>
    /// The one softmax of LossKit's kernels, for a row whose max m is finite: <paramref name="p"/> ← exp(x − m)/Σ and
    /// <paramref name="logP"/> ← (x − m) − log Σ, Σ = Σ_j exp(x_j − m) (either output may be empty; <paramref name="logP"/>
    /// may be x itself). Returns Σ. The exponentials come from the Σexp pass (stored, not recomputed) and the probabilities
    /// from one rescaling pass, as in the cross-entropy row kernel (which folds 1/Σ into its gradient coefficient instead).
    /// </summary>
    public static T Softmax<T>(ReadOnlySpan<T> x, T max, Span<T> p, Span<T> logP) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = SumExp(x, max, p);
        if (!logP.IsEmpty)
        {
            TensorPrimitives.Subtract(x, max, logP);
            TensorPrimitives.Subtract(logP, T.CreateTruncating(Math.Log(double.CreateTruncating(sum))), logP);
        }
        if (!p.IsEmpty) ScaleInPlace(p, T.One / sum, streaming: false);
        return sum;
    }

    public static void ScaleInPlace<T>(Span<T> x, T scale, bool streaming) where T : unmanaged, IFloatingPointIeee754<T> =>
        Scale<T>(x, scale, T.Zero, x, streaming);

    /// <summary>destination ← scale · x + offset (destination at least as long as x; it may be x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale<T>(ReadOnlySpan<T> x, T scale, T offset, Span<T> destination, bool streaming) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (destination.Length < x.Length)
            throw new ArgumentException($"destination has {destination.Length} values; expected at least {x.Length}.", nameof(destination));
        switch (Width<T>(x.Length))
        {
            case 512: RowKernels<T, Vector512<T>, Simd512<T>>.Scale(x, scale, offset, destination, streaming); break;
            case 256: RowKernels<T, Vector256<T>, Simd256<T>>.Scale(x, scale, offset, destination, streaming); break;
            default: RowKernels<T, Vector128<T>, Simd128<T>>.Scale(x, scale, offset, destination, streaming); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaskedDot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T shift) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(a.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.MaskedDot(a, b, shift),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.MaskedDot(a, b, shift),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.MaskedDot(a, b, shift),
    };

    public static T MaskedDot3<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, T shift) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(a.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.MaskedDot3(a, b, c, shift),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.MaskedDot3(a, b, c, shift),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.MaskedDot3(a, b, c, shift),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SumShifted<T>(ReadOnlySpan<T> x, T shift) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(x.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.SumShifted(x, shift),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.SumShifted(x, shift),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.SumShifted(x, shift),
    };

    public static void AddScaled<T>(Span<T> destination, T alpha, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Width<T>(destination.Length))
        {
            case 512: RowKernels<T, Vector512<T>, Simd512<T>>.AddScaled(destination, alpha, x); break;
            case 256: RowKernels<T, Vector256<T>, Simd256<T>>.AddScaled(destination, alpha, x); break;
            default: RowKernels<T, Vector128<T>, Simd128<T>>.AddScaled(destination, alpha, x); break;
        }
    }

    public static void AddScaledProduct<T>(Span<T> destination, T alpha, ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Width<T>(destination.Length))
        {
            case 512: RowKernels<T, Vector512<T>, Simd512<T>>.AddScaledProduct(destination, alpha, x, y); break;
            case 256: RowKernels<T, Vector256<T>, Simd256<T>>.AddScaledProduct(destination, alpha, x, y); break;
            default: RowKernels<T, Vector128<T>, Simd128<T>>.AddScaledProduct(destination, alpha, x, y); break;
        }
    }

    /// <summary>destination ← scale·x + alpha·z where z &gt; −∞ (<see cref="RowKernels{T,TVec,TSimd}.ScaleAddUnmasked"/>; x, z and
    /// destination of one length; destination may be x).</summary>
    public static void ScaleAddUnmasked<T>(ReadOnlySpan<T> x, T scale, ReadOnlySpan<T> z, T alpha, Span<T> destination, bool streaming)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (z.Length != x.Length || destination.Length != x.Length)
            throw new ArgumentException($"x, z and destination have {x.Length}, {z.Length} and {destination.Length} values; expected one length.", nameof(z));
        switch (Width<T>(x.Length))
        {
            case 512: RowKernels<T, Vector512<T>, Simd512<T>>.ScaleAddUnmasked(x, scale, z, alpha, destination, streaming); break;
            case 256: RowKernels<T, Vector256<T>, Simd256<T>>.ScaleAddUnmasked(x, scale, z, alpha, destination, streaming); break;
            default: RowKernels<T, Vector128<T>, Simd128<T>>.ScaleAddUnmasked(x, scale, z, alpha, destination, streaming); break;
        }
    }

    /// <summary>destination_i += alpha·x_i (not fused) where x_i &gt; −∞ (<see cref="RowKernels{T,TVec,TSimd}.AddScaledUnmasked"/>).</summary>
    public static void AddScaledUnmasked<T>(Span<T> destination, T alpha, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Width<T>(destination.Length))
        {
            case 512: RowKernels<T, Vector512<T>, Simd512<T>>.AddScaledUnmasked(destination, alpha, x); break;
            case 256: RowKernels<T, Vector256<T>, Simd256<T>>.AddScaledUnmasked(destination, alpha, x); break;
            default: RowKernels<T, Vector128<T>, Simd128<T>>.AddScaledUnmasked(destination, alpha, x); break;
        }
    }

    public static void Softplus<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Width<T>(x.Length))
        {
            case 512: RowKernels<T, Vector512<T>, Simd512<T>>.Softplus(x, destination); break;
            case 256: RowKernels<T, Vector256<T>, Simd256<T>>.Softplus(x, destination); break;
            default: RowKernels<T, Vector128<T>, Simd128<T>>.Softplus(x, destination); break;
        }
    }

    /// <summary>Hinge terms of a row (<see cref="RowKernels{T,TVec,TSimd}.Hinge"/>), at the width of <see cref="System.Numerics.Vector{T}"/>
    /// (256 bits on AVX-512 hardware unless configured otherwise), which fixes its summation order.</summary>
    public static (T Sum, T DerivativeSum) Hinge<T>(ReadOnlySpan<T> x, T c, bool squared, Span<T> gradient, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int count = System.Numerics.Vector<T>.Count;
        if (count == Vector512<T>.Count) return RowKernels<T, Vector512<T>, Simd512<T>>.Hinge(x, c, squared, gradient, scale);
        if (count == Vector256<T>.Count) return RowKernels<T, Vector256<T>, Simd256<T>>.Hinge(x, c, squared, gradient, scale);
        return RowKernels<T, Vector128<T>, Simd128<T>>.Hinge(x, c, squared, gradient, scale);
    }

    /// <summary>(Σ softplus(x_i), Σ σ(x_i)) with x_i ← σ(x_i) (<see cref="RowKernels{T,TVec,TSimd}.LogisticSums"/>).</summary>
    public static (T Softplus, T Sigmoid) LogisticSums<T>(Span<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(x.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.LogisticSums(x),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.LogisticSums(x),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.LogisticSums(x),
    };

    public static (T Sum, T Min) SumAndMin<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => Width<T>(x.Length) switch
    {
        512 => RowKernels<T, Vector512<T>, Simd512<T>>.SumAndMin(x),
        256 => RowKernels<T, Vector256<T>, Simd256<T>>.SumAndMin(x),
        _ => RowKernels<T, Vector128<T>, Simd128<T>>.SumAndMin(x),
    };
}

/// <summary>A function of one float logit and its derivative, over <see cref="Vector{T}"/> lanes and for one value,
/// computed by the same float operations in the same order in both forms (so a vector lane and the scalar tail
/// give the same bits).</summary>
internal interface IFloatMap
{
    Vector<float> Value(Vector<float> z, out Vector<float> derivative);
    float Value(float z, out float derivative);
}

/// <summary>
/// Row loops over float rows whose sums are kept in double: each float term is widened exactly and added into
/// double lanes, so a sum differs from the sequential double sum of the same terms only by the order of the
/// additions (a relative 1e-16 or so, far below the float results' rounding). −∞ elements (masked classes) are
/// left out of every sum and get derivative 0. Written over <see cref="Vector{T}"/> (256 bits on AVX-512 hardware
/// unless configured otherwise, 128 without AVX2, scalar where nothing is accelerated), which fixes the order.
/// </summary>
internal static class FloatRow
{
    /// <summary>Σ map(z_k) over the unmasked z_k, in double; when <paramref name="derivative"/> is not empty it receives
    /// map'(z_k) (0 where z_k = −∞). When <paramref name="prefetch"/> is given (the next row), its cache lines are
    /// requested during this pass, so the next row's first pass finds them in cache.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe double MapSum<TMap>(ReadOnlySpan<float> z, TMap map, Span<float> derivative, ReadOnlySpan<float> prefetch)
        where TMap : struct, IFloatMap
    {
        ref float src = ref MemoryMarshal.GetReference(z);
        ref float dst = ref MemoryMarshal.GetReference(derivative);
        bool store = !derivative.IsEmpty;
        int n = z.Length, w = Vector<float>.Count, i = 0;
        byte* next = Sse.IsSupported && prefetch.Length >= n ? (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(prefetch)) : null;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && n >= w)
        {
            Vector<float> masked = new(float.NegativeInfinity);
            Vector<double> lo = Vector<double>.Zero, hi = Vector<double>.Zero;
            for (; i <= n - w; i += w)
            {
                if (next is not null && (i & 15) == 0) Sse.Prefetch1(next + i * sizeof(float));   // one request per 64-byte line
                Vector<float> v = Vector.LoadUnsafe(ref src, (nuint)i);
                Vector<int> kept = Vector.GreaterThan(v, masked);
                Vector<float> value = Vector.ConditionalSelect(kept, map.Value(v, out Vector<float> d), Vector<float>.Zero);
                if (store) Vector.ConditionalSelect(kept, d, Vector<float>.Zero).StoreUnsafe(ref dst, (nuint)i);
                Widen(value, ref lo, ref hi);
            }
            sum = Vector.Sum(lo + hi);
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref src, i);
            float d = 0;
            if (v > float.NegativeInfinity) sum += map.Value(v, out d);
            if (store) Unsafe.Add(ref dst, i) = d;
        }
        return sum;
    }

    /// <summary>Σ z_k² over the unmasked z_k, each square formed in double (exact for a float) and summed in double
    /// (on 512-bit lanes where the CPU has them, then <see cref="Vector{T}"/> lanes, then one by one).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double SquareSum(ReadOnlySpan<float> z)
    {
        ref float src = ref MemoryMarshal.GetReference(z);
        int n = z.Length, w = Vector<float>.Count, i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            Vector512<float> masked = Vector512.Create(float.NegativeInfinity);
            Vector512<double> lo = Vector512<double>.Zero, hi = lo;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref src, (nuint)i);
                (Vector512<double> a, Vector512<double> b) = Vector512.Widen(Vector512.ConditionalSelect(Vector512.GreaterThan(v, masked), v, Vector512<float>.Zero));
                lo = Vector512.FusedMultiplyAdd(a, a, lo);
                hi = Vector512.FusedMultiplyAdd(b, b, hi);
            }
            sum = Vector512.Sum(lo + hi);
        }
        if (Vector.IsHardwareAccelerated && n - i >= w)
        {
            Vector<float> masked = new(float.NegativeInfinity);
            Vector<double> lo = Vector<double>.Zero, hi = Vector<double>.Zero;
            for (; i <= n - w; i += w)
            {
                Vector<float> v = Vector.LoadUnsafe(ref src, (nuint)i);
                Vector.Widen(Vector.ConditionalSelect(Vector.GreaterThan(v, masked), v, Vector<float>.Zero), out Vector<double> a, out Vector<double> b);
                lo += a * a;
                hi += b * b;
            }
            sum += Vector.Sum(lo + hi);
        }
        for (; i < n; i++)
        {
            double v = Unsafe.Add(ref src, i);
            if (double.IsFinite(v)) sum += v * v;
        }
        return sum;
    }

    /// <summary>Count, Σd and Σd² of the unmasked z (in double, d = z − <paramref name="shift"/> formed exactly in double),
    /// in one pass: with a shift inside the row's range (a finite logit of the row), the mean and variance follow as
    /// shift + Σd/n and Σd²/n − (Σd/n)² without overflow for any finite float, and without the cancellation of raw
    /// moments about 0.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (int Count, double Sum, double SquareSum) CountShiftedMoments(ReadOnlySpan<float> z, double shift)
    {
        ref float src = ref MemoryMarshal.GetReference(z);
        int n = z.Length, w = Vector<float>.Count, i = 0, count = 0;
        double sum = 0, squares = 0;
        if (Vector.IsHardwareAccelerated && n >= w)
        {
            Vector<float> masked = new(float.NegativeInfinity);
            Vector<double> vShift = new(shift), lo = Vector<double>.Zero, hi = Vector<double>.Zero, lo2 = lo, hi2 = lo;
            Vector<int> kept = Vector<int>.Zero;
            for (; i <= n - w; i += w)
            {
                Vector<float> v = Vector.LoadUnsafe(ref src, (nuint)i);
                Vector<int> unmasked = Vector.GreaterThan(v, masked);
                kept -= unmasked;                                  // a true lane is −1
                Vector.Widen(v, out Vector<double> a, out Vector<double> b);
                Vector.Widen(unmasked, out Vector<long> ka, out Vector<long> kb);
                Vector<double> da = Vector.ConditionalSelect(ka, a - vShift, Vector<double>.Zero);
                Vector<double> db = Vector.ConditionalSelect(kb, b - vShift, Vector<double>.Zero);
                lo += da;
                hi += db;
                lo2 += da * da;
                hi2 += db * db;
            }
            for (int l = 0; l < w; l++) count += kept[l];
            sum = Vector.Sum(lo + hi);
            squares = Vector.Sum(lo2 + hi2);
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref src, i);
            if (v == float.NegativeInfinity) continue;
            count++;
            double d = v - shift;
            sum += d;
            squares += d * d;
        }
        return (count, sum, squares);
    }

    /// <summary>g_k = c·(common − slope·(z_k·inv − mean)) in double, rounded once to float (0 where z_k = −∞); with
    /// <paramref name="streaming"/> (and 512-bit lanes) written with non-temporal stores from the first 64-byte boundary of
    /// the destination on, for a gradient too large to stay in cache (the same values).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void AffineInDouble(ReadOnlySpan<float> z, Span<float> gradient, double c, double common, double slope, double inv, double mean,
        bool streaming = false)
    {
        ref float src = ref MemoryMarshal.GetReference(z);
        ref float dst = ref MemoryMarshal.GetReference(gradient);
        int n = z.Length, w = Vector<float>.Count, i = 0;
        fixed (float* p = gradient)   // pinned: the non-temporal stores write through the raw pointer
        {
            if (Vector512.IsHardwareAccelerated)
            {
                // The same double operations per element on 512-bit lanes (element-wise: the same bits on any width).
                if (streaming)
                    for (int head = (int)((64 - (nuint)p % 64) % 64 / sizeof(float)); i < Math.Min(head, n); i++)
                        p[i] = Element(Unsafe.Add(ref src, i));
                Vector512<float> masked = Vector512.Create(float.NegativeInfinity);
                Vector512<double> vc = Vector512.Create(c), vCommon = Vector512.Create(common), vSlope = Vector512.Create(slope),
                    vInv = Vector512.Create(inv), vMean = Vector512.Create(mean);
                for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                {
                    Vector512<float> v = Vector512.LoadUnsafe(ref src, (nuint)i);
                    (Vector512<double> a, Vector512<double> b) = Vector512.Widen(v);
                    Vector512<float> g = Vector512.Narrow(vc * (vCommon - vSlope * (a * vInv - vMean)), vc * (vCommon - vSlope * (b * vInv - vMean)));
                    g = Vector512.ConditionalSelect(Vector512.GreaterThan(v, masked), g, Vector512<float>.Zero);
                    if (streaming) g.StoreAlignedNonTemporal(p + i);
                    else g.StoreUnsafe(ref dst, (nuint)i);
                }
            }
            if (Vector.IsHardwareAccelerated && n - i >= w)
            {
                Vector<float> masked = new(float.NegativeInfinity);
                Vector<double> vc = new(c), vCommon = new(common), vSlope = new(slope), vInv = new(inv), vMean = new(mean);
                for (; i <= n - w; i += w)
                {
                    Vector<float> v = Vector.LoadUnsafe(ref src, (nuint)i);
                    Vector.Widen(v, out Vector<double> a, out Vector<double> b);
                    Vector<float> g = Vector.Narrow(vc * (vCommon - vSlope * (a * vInv - vMean)), vc * (vCommon - vSlope * (b * vInv - vMean)));
                    Vector.ConditionalSelect(Vector.GreaterThan(v, masked), g, Vector<float>.Zero).StoreUnsafe(ref dst, (nuint)i);
                }
            }
            for (; i < n; i++) p[i] = Element(Unsafe.Add(ref src, i));
        }

        float Element(float v) => v == float.NegativeInfinity ? 0f : (float)(c * (common - slope * (v * inv - mean)));
    }

    /// <summary>lo, hi += the two halves of <paramref name="v"/>, widened to double (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(Vector<float> v, ref Vector<double> lo, ref Vector<double> hi)
    {
        Vector.Widen(v, out Vector<double> a, out Vector<double> b);
        lo += a;
        hi += b;
    }
}
