using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Binary;

/// <summary>
/// The lane-wise operations the element-wise binary kernel needs, as static members of a struct so that a
/// function written once over <typeparamref name="TV"/> is compiled by the JIT into a separate, fully inlined
/// loop for each vector width. <typeparamref name="T"/> is <see cref="float"/> or <see cref="double"/>.
/// Comparisons return masks (all bits set where true) for <see cref="Select"/>.
/// </summary>
internal interface IVec<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract int Count { get; }
    static abstract TV Load(ref T source, nuint offset);
    static abstract void Store(TV value, ref T destination, nuint offset);
    static abstract TV Splat(T value);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Div(TV a, TV b);
    static abstract TV Abs(TV a);
    /// <summary>IEEE maximum/minimum: a NaN lane stays NaN.</summary>
    static abstract TV Max(TV a, TV b);
    static abstract TV Min(TV a, TV b);
    static abstract TV Floor(TV a);
    /// <summary>x·2ⁿ for integral n with |n| ≤ 2·(max exponent) (two exact power-of-two factors, so no overflow of 2ⁿ itself).</summary>
    static abstract TV ScaleB(TV x, TV n);
    /// <summary>For positive normal x: the significand m ∈ [1, 2) with x = m·2^e, and e (integral, as T).</summary>
    static abstract TV Decompose(TV x, out TV exponent);
    static abstract TV GreaterThan(TV a, TV b);
    static abstract TV GreaterThanOrEqual(TV a, TV b);
    static abstract TV LessThan(TV a, TV b);
    static abstract TV LessThanOrEqual(TV a, TV b);
    static abstract TV EqualTo(TV a, TV b);
    static abstract TV And(TV a, TV b);
    /// <summary>mask ? a : b, lane by lane (bitwise, so a discarded NaN or ∞ does not leak).</summary>
    static abstract TV Select(TV mask, TV a, TV b);
    static abstract bool AllTrue(TV mask);
    static abstract T Sum(TV v);
}

internal readonly struct Vec512<T> : IVec<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T s, nuint o) => Vector512.LoadUnsafe(ref s, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> v, ref T d, nuint o) => v.StoreUnsafe(ref d, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Splat(T x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Sub(Vector512<T> a, Vector512<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Mul(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Div(Vector512<T> a, Vector512<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Min(Vector512<T> a, Vector512<T> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Floor(Vector512<T> x) => typeof(T) == typeof(double) ? Vector512.Floor(x.AsDouble()).As<double, T>() : Vector512.Floor(x.AsSingle()).As<float, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ScaleB(Vector512<T> x, Vector512<T> n)
    {
        if (typeof(T) == typeof(double))
        {
            Vector512<long> k = Vector512.ConvertToInt64(n.AsDouble());
            Vector512<long> k1 = Vector512.ShiftRightArithmetic(k, 1), k2 = k - k1;
            Vector512<double> f1 = Vector512.ShiftLeft(k1 + Vector512.Create(1023L), 52).AsDouble();
            Vector512<double> f2 = Vector512.ShiftLeft(k2 + Vector512.Create(1023L), 52).AsDouble();
            return (x.AsDouble() * f1 * f2).As<double, T>();
        }
        Vector512<int> j = Vector512.ConvertToInt32(n.AsSingle());
        Vector512<int> j1 = Vector512.ShiftRightArithmetic(j, 1), j2 = j - j1;
        Vector512<float> g1 = Vector512.ShiftLeft(j1 + Vector512.Create(127), 23).AsSingle();
        Vector512<float> g2 = Vector512.ShiftLeft(j2 + Vector512.Create(127), 23).AsSingle();
        return (x.AsSingle() * g1 * g2).As<float, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Decompose(Vector512<T> x, out Vector512<T> exponent)
    {
        if (typeof(T) == typeof(double))
        {
            Vector512<long> bits = x.AsInt64();
            exponent = Vector512.ConvertToDouble(Vector512.ShiftRightLogical(bits, 52) - Vector512.Create(1023L)).As<double, T>();
            return ((bits & Vector512.Create(0x000F_FFFF_FFFF_FFFFL)) | Vector512.Create(0x3FF0_0000_0000_0000L)).AsDouble().As<double, T>();
        }
        Vector512<int> b = x.AsInt32();
        exponent = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(b, 23) - Vector512.Create(127)).As<float, T>();
        return ((b & Vector512.Create(0x007F_FFFF)) | Vector512.Create(0x3F80_0000)).AsSingle().As<float, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> GreaterThan(Vector512<T> a, Vector512<T> b) => Vector512.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> GreaterThanOrEqual(Vector512<T> a, Vector512<T> b) => Vector512.GreaterThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> LessThan(Vector512<T> a, Vector512<T> b) => Vector512.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> LessThanOrEqual(Vector512<T> a, Vector512<T> b) => Vector512.LessThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> EqualTo(Vector512<T> a, Vector512<T> b) => Vector512.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> And(Vector512<T> a, Vector512<T> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Select(Vector512<T> m, Vector512<T> a, Vector512<T> b) => Vector512.ConditionalSelect(m, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AllTrue(Vector512<T> m) => m.ExtractMostSignificantBits() == (1UL << Vector512<T>.Count) - 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> v) => Vector512.Sum(v);
}

internal readonly struct Vec256<T> : IVec<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T s, nuint o) => Vector256.LoadUnsafe(ref s, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> v, ref T d, nuint o) => v.StoreUnsafe(ref d, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Splat(T x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Sub(Vector256<T> a, Vector256<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Mul(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Div(Vector256<T> a, Vector256<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Min(Vector256<T> a, Vector256<T> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Floor(Vector256<T> x) => typeof(T) == typeof(double) ? Vector256.Floor(x.AsDouble()).As<double, T>() : Vector256.Floor(x.AsSingle()).As<float, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ScaleB(Vector256<T> x, Vector256<T> n)
    {
        if (typeof(T) == typeof(double))
        {
            Vector256<long> k = Vector256.ConvertToInt64(n.AsDouble());
            Vector256<long> k1 = Vector256.ShiftRightArithmetic(k, 1), k2 = k - k1;
            Vector256<double> f1 = Vector256.ShiftLeft(k1 + Vector256.Create(1023L), 52).AsDouble();
            Vector256<double> f2 = Vector256.ShiftLeft(k2 + Vector256.Create(1023L), 52).AsDouble();
            return (x.AsDouble() * f1 * f2).As<double, T>();
        }
        Vector256<int> j = Vector256.ConvertToInt32(n.AsSingle());
        Vector256<int> j1 = Vector256.ShiftRightArithmetic(j, 1), j2 = j - j1;
        Vector256<float> g1 = Vector256.ShiftLeft(j1 + Vector256.Create(127), 23).AsSingle();
        Vector256<float> g2 = Vector256.ShiftLeft(j2 + Vector256.Create(127), 23).AsSingle();
        return (x.AsSingle() * g1 * g2).As<float, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Decompose(Vector256<T> x, out Vector256<T> exponent)
    {
        if (typeof(T) == typeof(double))
        {
            Vector256<long> bits = x.AsInt64();
            exponent = Vector256.ConvertToDouble(Vector256.ShiftRightLogical(bits, 52) - Vector256.Create(1023L)).As<double, T>();
            return ((bits & Vector256.Create(0x000F_FFFF_FFFF_FFFFL)) | Vector256.Create(0x3FF0_0000_0000_0000L)).AsDouble().As<double, T>();
        }
        Vector256<int> b = x.AsInt32();
        exponent = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(b, 23) - Vector256.Create(127)).As<float, T>();
        return ((b & Vector256.Create(0x007F_FFFF)) | Vector256.Create(0x3F80_0000)).AsSingle().As<float, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> GreaterThan(Vector256<T> a, Vector256<T> b) => Vector256.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> GreaterThanOrEqual(Vector256<T> a, Vector256<T> b) => Vector256.GreaterThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> LessThan(Vector256<T> a, Vector256<T> b) => Vector256.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> LessThanOrEqual(Vector256<T> a, Vector256<T> b) => Vector256.LessThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> EqualTo(Vector256<T> a, Vector256<T> b) => Vector256.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> And(Vector256<T> a, Vector256<T> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Select(Vector256<T> m, Vector256<T> a, Vector256<T> b) => Vector256.ConditionalSelect(m, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AllTrue(Vector256<T> m) => m.ExtractMostSignificantBits() == (1U << Vector256<T>.Count) - 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> v) => Vector256.Sum(v);
}

internal readonly struct Vec128<T> : IVec<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T s, nuint o) => Vector128.LoadUnsafe(ref s, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> v, ref T d, nuint o) => v.StoreUnsafe(ref d, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Splat(T x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Sub(Vector128<T> a, Vector128<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Mul(Vector128<T> a, Vector128<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Div(Vector128<T> a, Vector128<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Min(Vector128<T> a, Vector128<T> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Floor(Vector128<T> x) => typeof(T) == typeof(double) ? Vector128.Floor(x.AsDouble()).As<double, T>() : Vector128.Floor(x.AsSingle()).As<float, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ScaleB(Vector128<T> x, Vector128<T> n)
    {
        if (typeof(T) == typeof(double))
        {
            Vector128<long> k = Vector128.ConvertToInt64(n.AsDouble());
            Vector128<long> k1 = Vector128.ShiftRightArithmetic(k, 1), k2 = k - k1;
            Vector128<double> f1 = Vector128.ShiftLeft(k1 + Vector128.Create(1023L), 52).AsDouble();
            Vector128<double> f2 = Vector128.ShiftLeft(k2 + Vector128.Create(1023L), 52).AsDouble();
            return (x.AsDouble() * f1 * f2).As<double, T>();
        }
        Vector128<int> j = Vector128.ConvertToInt32(n.AsSingle());
        Vector128<int> j1 = Vector128.ShiftRightArithmetic(j, 1), j2 = j - j1;
        Vector128<float> g1 = Vector128.ShiftLeft(j1 + Vector128.Create(127), 23).AsSingle();
        Vector128<float> g2 = Vector128.ShiftLeft(j2 + Vector128.Create(127), 23).AsSingle();
        return (x.AsSingle() * g1 * g2).As<float, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Decompose(Vector128<T> x, out Vector128<T> exponent)
    {
        if (typeof(T) == typeof(double))
        {
            Vector128<long> bits = x.AsInt64();
            exponent = Vector128.ConvertToDouble(Vector128.ShiftRightLogical(bits, 52) - Vector128.Create(1023L)).As<double, T>();
            return ((bits & Vector128.Create(0x000F_FFFF_FFFF_FFFFL)) | Vector128.Create(0x3FF0_0000_0000_0000L)).AsDouble().As<double, T>();
        }
        Vector128<int> b = x.AsInt32();
        exponent = Vector128.ConvertToSingle(Vector128.ShiftRightLogical(b, 23) - Vector128.Create(127)).As<float, T>();
        return ((b & Vector128.Create(0x007F_FFFF)) | Vector128.Create(0x3F80_0000)).AsSingle().As<float, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> GreaterThan(Vector128<T> a, Vector128<T> b) => Vector128.GreaterThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> GreaterThanOrEqual(Vector128<T> a, Vector128<T> b) => Vector128.GreaterThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> LessThan(Vector128<T> a, Vector128<T> b) => Vector128.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> LessThanOrEqual(Vector128<T> a, Vector128<T> b) => Vector128.LessThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> EqualTo(Vector128<T> a, Vector128<T> b) => Vector128.Equals(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> And(Vector128<T> a, Vector128<T> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Select(Vector128<T> m, Vector128<T> a, Vector128<T> b) => Vector128.ConditionalSelect(m, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AllTrue(Vector128<T> m) => m.ExtractMostSignificantBits() == (1U << Vector128<T>.Count) - 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> v) => Vector128.Sum(v);
}

/// <summary>Numerically careful lane-wise helpers shared by the sigmoid-family element functions.</summary>
internal static class VMath<TV, T, TOps> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : IVec<TV, T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV C(double v) => TOps.Splat(T.CreateTruncating(v));

    /// <summary>
    /// eˣ from additions, multiplications and exact power-of-two scaling only, so the result is the same bit for bit
    /// whatever the JIT tier, inlining, thread count or vector width (the BCL's vector Exp may or may not fuse its
    /// multiply-adds depending on how it was compiled, which changed results between the first calls and later ones).
    /// x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·ln2_hi is exact), eʳ by its Taylor polynomial
    /// (degree 13 in double, 7 in float: truncation below half an ulp), then ·2ⁿ. About 1 ulp; overflows to +∞ and
    /// underflows to 0 (through the subnormals) like <see cref="Math.Exp"/>; NaN stays NaN.
    /// </summary>
    // Not inlined: one call per vector is cheap, and inlining these into a kernel exhausts the JIT's inlining budget
    // there, leaving the small vector operations as calls. Optimised at once (no tier-0 code).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static TV Exp(TV x)
    {
        bool isDouble = typeof(T) == typeof(double);
        TV xc = TOps.Min(TOps.Max(x, C(isDouble ? -746 : -104)), C(isDouble ? 710 : 89));
        TV n = TOps.Floor(TOps.Add(TOps.Mul(xc, C(1.4426950408889634)), C(0.5)));
        TV r = isDouble
            ? TOps.Sub(TOps.Sub(xc, TOps.Mul(n, C(6.93147180369123816490e-01))), TOps.Mul(n, C(1.90821492927058770002e-10)))
            : TOps.Sub(TOps.Sub(xc, TOps.Mul(n, C(0.693145751953125))), TOps.Mul(n, C(1.428606765330187045e-06)));
        TV p;
        if (isDouble)
        {
            p = C(1.0 / 6227020800);                                  // 1/13!
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 479001600));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 39916800));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 3628800));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 362880));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 40320));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 5040));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 720));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 120));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 24));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 6));
            p = TOps.Add(TOps.Mul(p, r), C(0.5));
        }
        else
        {
            p = C(1.0 / 5040);                                        // 1/7!
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 720));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 120));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 24));
            p = TOps.Add(TOps.Mul(p, r), C(1.0 / 6));
            p = TOps.Add(TOps.Mul(p, r), C(0.5));
        }
        // e^r = 1 + r + r²·(½ + r/6 + ...), the small part added last.
        p = TOps.Add(TOps.Add(TOps.Mul(TOps.Mul(p, r), r), r), TOps.Splat(T.One));
        TV result = TOps.ScaleB(p, n);
        return TOps.Select(TOps.EqualTo(x, x), result, x);
    }

    /// <summary>
    /// log x with the same bit-for-bit reproducibility as <see cref="Exp"/>: x = m·2^e with m ∈ [√½, √2), f = m − 1,
    /// s = f/(2 + f), log m = f − (f²/2 − s·(f²/2 + R(s²))) with the classic minimax R (fdlibm's coefficients: 7 terms in
    /// double, 4 in float), plus e·ln2 in two parts. Below 1 ulp; log 0 = −∞, log of a negative or NaN = NaN, log ∞ = ∞;
    /// subnormal inputs are scaled into the normal range first.
    /// </summary>
    // Not inlined: one call per vector is cheap, and inlining these into a kernel exhausts the JIT's inlining budget
    // there, leaving the small vector operations as calls. Optimised at once (no tier-0 code).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static TV Log(TV x)
    {
        bool isDouble = typeof(T) == typeof(double);
        TV zero = TOps.Splat(T.Zero), one = TOps.Splat(T.One);
        TV tiny = TOps.LessThan(x, C(isDouble ? 2.2250738585072014e-308 : 1.17549435e-38));
        TV scaled = TOps.Select(tiny, TOps.Mul(x, C(isDouble ? 18014398509481984.0 : 33554432.0)), x);    // ·2^54 / ·2^25
        TV m = TOps.Decompose(scaled, out TV e);
        e = TOps.Select(tiny, TOps.Sub(e, C(isDouble ? 54 : 25)), e);
        TV big = TOps.GreaterThan(m, C(1.4142135623730951));
        m = TOps.Select(big, TOps.Mul(m, C(0.5)), m);
        e = TOps.Select(big, TOps.Add(e, one), e);
        TV f = TOps.Sub(m, one);
        TV s = TOps.Div(f, TOps.Add(C(2), f));
        TV z = TOps.Mul(s, s);
        TV rr;
        if (isDouble)
        {
            rr = C(1.479819860511658591e-01);
            rr = TOps.Add(TOps.Mul(rr, z), C(1.531383769920937332e-01));
            rr = TOps.Add(TOps.Mul(rr, z), C(1.818357216161805012e-01));
            rr = TOps.Add(TOps.Mul(rr, z), C(2.222219843214978396e-01));
            rr = TOps.Add(TOps.Mul(rr, z), C(2.857142874366239149e-01));
            rr = TOps.Add(TOps.Mul(rr, z), C(3.999999999940941908e-01));
            rr = TOps.Add(TOps.Mul(rr, z), C(6.666666666666735130e-01));
        }
        else
        {
            rr = C(0.24279078841);
            rr = TOps.Add(TOps.Mul(rr, z), C(0.28498786688));
            rr = TOps.Add(TOps.Mul(rr, z), C(0.40000972152));
            rr = TOps.Add(TOps.Mul(rr, z), C(0.66666662693));
        }
        rr = TOps.Mul(rr, z);
        TV hfsq = TOps.Mul(C(0.5), TOps.Mul(f, f));
        TV ln2Hi = C(isDouble ? 6.93147180369123816490e-01 : 6.9313812256e-01);
        TV ln2Lo = C(isDouble ? 1.90821492927058770002e-10 : 9.0580006145e-06);
        // e·ln2_hi − ((hfsq − (s·(hfsq + R) + e·ln2_lo)) − f)
        TV inner = TOps.Add(TOps.Mul(s, TOps.Add(hfsq, rr)), TOps.Mul(e, ln2Lo));
        TV result = TOps.Sub(TOps.Mul(e, ln2Hi), TOps.Sub(TOps.Sub(hfsq, inner), f));
        result = TOps.Select(TOps.EqualTo(x, zero), TOps.Splat(T.NegativeInfinity), result);
        result = TOps.Select(TOps.EqualTo(x, TOps.Splat(T.PositiveInfinity)), x, result);
        return TOps.Select(TOps.GreaterThanOrEqual(x, zero), result, TOps.Splat(T.NaN));
    }

    /// <summary>log(1 + x) for x ≥ 0 (here x = e^{−|s|} ∈ [0, 1]): log(u) corrected by the rounding of u = 1 + x,
    /// accurate to a few ulps where a plain log(1 + x) would lose everything for tiny x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log1p(TV x)
    {
        TV one = TOps.Splat(T.One);
        TV u = TOps.Add(one, x);
        TV correction = TOps.Div(TOps.Sub(TOps.Sub(u, one), x), u);
        // u == 1: log(u) = 0 and the correction gives exactly x.
        return TOps.Sub(Log(u), correction);
    }

    /// <summary>From one exp and one log: softplus(s) = log(1 + eˢ), softplus(−s), σ(s) and σ(−s) = 1 − σ(s),
    /// each computed without cancellation or overflow (s = ±1e30 is fine; NaN propagates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Logistic(TV s, out TV softplusPos, out TV softplusNeg, out TV sigmoidPos, out TV sigmoidNeg)
    {
        TV zero = TOps.Splat(T.Zero), one = TOps.Splat(T.One);
        TV e = Exp(TOps.Sub(zero, TOps.Abs(s)));               // e^{−|s|} ∈ [0, 1]
        TV u = TOps.Add(one, e);
        TV r = TOps.Div(one, u);                                // σ(|s|) = 1/(1 + e)
        TV l = TOps.Sub(Log(u), TOps.Mul(TOps.Sub(TOps.Sub(u, one), e), r));   // log1p(e), as in Log1p
        softplusPos = TOps.Add(TOps.Max(s, zero), l);
        softplusNeg = TOps.Add(TOps.Max(TOps.Sub(zero, s), zero), l);
        TV er = TOps.Mul(e, r);                                 // σ(−|s|)
        TV nonNegative = TOps.GreaterThanOrEqual(s, zero);
        sigmoidPos = TOps.Select(nonNegative, r, er);
        sigmoidNeg = TOps.Select(nonNegative, er, r);
    }

    /// <summary>w·x, but exactly 0 where w = 0 (so a zero weight removes an infinite term instead of making NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV WeightedTerm(TV w, TV x) =>
        TOps.Select(TOps.EqualTo(w, TOps.Splat(T.Zero)), TOps.Splat(T.Zero), TOps.Mul(w, x));

    /// <summary>x^γ for x ≥ 0 (0^γ = 0 for γ &gt; 0; x^0 = 1), exact for γ ∈ {0, 1, 2}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Pow(TV x, double gamma)
    {
        if (gamma == 0) return TOps.Splat(T.One);
        if (gamma == 1) return x;
        if (gamma == 2) return TOps.Mul(x, x);
        return Exp(TOps.Mul(TOps.Splat(T.CreateTruncating(gamma)), Log(x)));
    }

    /// <summary>exp(−γ·y) for y ≥ 0, i.e. a power written in log space (x^γ with log x = −y); 1 for γ = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNeg(TV y, double gamma) =>
        gamma == 0 ? TOps.Splat(T.One) : Exp(TOps.Mul(TOps.Splat(T.CreateTruncating(-gamma)), y));
}
