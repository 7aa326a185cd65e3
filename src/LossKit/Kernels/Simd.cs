using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Kernels;

/// <summary>
/// The vector operations the kernels need, as static members of a struct so that a kernel written once
/// (<c>Kernel&lt;T, TVec, TSimd&gt;</c>) is compiled by the JIT into a separate, fully inlined loop for each
/// vector width. <typeparamref name="T"/> is <see cref="float"/> or <see cref="double"/>.
/// </summary>
internal interface ISimd<TVec, T> where TVec : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract int Count { get; }
    static abstract TVec Load(ref T source, nuint offset);
    static abstract void Store(TVec value, ref T destination, nuint offset);
    /// <summary>A non-temporal (cache-bypassing) store to an address aligned to the vector size.</summary>
    static abstract unsafe void StoreAlignedNonTemporal(TVec value, T* destination);
    static abstract TVec Broadcast(T value);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);
    /// <summary>a·b + c, fused where the hardware has FMA.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);
    /// <summary>Lane-wise max/min with the hardware's NaN behaviour (a NaN lane may be dropped): callers must
    /// not rely on them to propagate NaN.</summary>
    static abstract TVec Max(TVec a, TVec b);
    static abstract TVec Min(TVec a, TVec b);
    static abstract TVec Exp(TVec x);
    static abstract TVec Log(TVec x);
    static abstract TVec Abs(TVec x);
    /// <summary>IEEE maximum/minimum: a NaN lane stays NaN (slower than <see cref="Max"/>/<see cref="Min"/>).</summary>
    static abstract TVec MaxPropagateNaN(TVec a, TVec b);
    static abstract TVec MinPropagateNaN(TVec a, TVec b);
    static abstract TVec Floor(TVec a);
    /// <summary>x·2ⁿ for integral n with |n| ≤ 2·(max exponent) (two exact power-of-two factors, so 2ⁿ itself never overflows).</summary>
    static abstract TVec ScaleB(TVec x, TVec n);
    /// <summary>Float lanes only: 2ⁿ for t = n + 1.5·2²³ (n integral, −126 ≤ n ≤ 127), built in the exponent bits.</summary>
    static abstract TVec Pow2FromShifted(TVec t);
    /// <summary>For positive normal x: the significand m ∈ [1, 2) with x = m·2^e, and e (integral, as T).</summary>
    static abstract TVec Decompose(TVec x, out TVec exponent);
    /// <summary>Comparisons return masks (all bits set where true) for <see cref="Select"/>.</summary>
    static abstract TVec GreaterThan(TVec a, TVec b);
    static abstract TVec GreaterThanOrEqual(TVec a, TVec b);
    static abstract TVec LessThan(TVec a, TVec b);
    static abstract TVec LessThanOrEqual(TVec a, TVec b);
    static abstract TVec EqualTo(TVec a, TVec b);
    static abstract TVec And(TVec a, TVec b);
    /// <summary>mask ? a : b, lane by lane (bitwise, so a discarded NaN or ∞ does not leak).</summary>
    static abstract TVec Select(TVec mask, TVec a, TVec b);
    static abstract bool AllTrue(TVec mask);
    /// <summary>Lanes where <paramref name="mask"/> is zero become zero, others keep <paramref name="value"/>
    /// (so 0·(−∞) terms vanish instead of becoming NaN).</summary>
    static abstract TVec ZeroWhereZero(TVec mask, TVec value);
    static abstract T Sum(TVec v);
    static abstract T MaxAcross(TVec v);
    static abstract T MinAcross(TVec v);
}

internal readonly struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T s, nuint o) => Vector512.LoadUnsafe(ref s, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> v, ref T d, nuint o) => v.StoreUnsafe(ref d, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void StoreAlignedNonTemporal(Vector512<T> v, T* d) => v.StoreAlignedNonTemporal(d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Broadcast(T x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Subtract(Vector512<T> a, Vector512<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Min(Vector512<T> a, Vector512<T> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x)
    {
        if (typeof(T) == typeof(float)) return ExpF.Exp(x.AsSingle()).As<float, T>();
        return VectorMath<Vector512<T>, T, Simd512<T>>.Exp(x);   // deterministic across JIT tiers, unlike Vector512.Exp
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log(Vector512<T> x)
    {
        return VectorMath<Vector512<T>, T, Simd512<T>>.Log(x);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> x) => Vector512.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ZeroWhereZero(Vector512<T> mask, Vector512<T> value) =>
        Vector512.ConditionalSelect(Vector512.Equals(mask, Vector512<T>.Zero), Vector512<T>.Zero, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(Vector512<T> v) => T.Max(Simd256<T>.MaxAcross(v.GetLower()), Simd256<T>.MaxAcross(v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MinAcross(Vector512<T> v) => T.Min(Simd256<T>.MinAcross(v.GetLower()), Simd256<T>.MinAcross(v.GetUpper()));
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
    public static Vector512<T> Pow2FromShifted(Vector512<T> t) => ((t.AsInt32() + Vector512.Create(ExpF.ExponentBias)) << 23).As<int, T>();
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MaxPropagateNaN(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MinPropagateNaN(Vector512<T> a, Vector512<T> b) => Vector512.Min(a, b);
}

internal readonly struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T s, nuint o) => Vector256.LoadUnsafe(ref s, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> v, ref T d, nuint o) => v.StoreUnsafe(ref d, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void StoreAlignedNonTemporal(Vector256<T> v, T* d) => v.StoreAlignedNonTemporal(d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Broadcast(T x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Subtract(Vector256<T> a, Vector256<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Multiply(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Divide(Vector256<T> a, Vector256<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Min(Vector256<T> a, Vector256<T> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> x)
    {
        if (typeof(T) == typeof(float)) return ExpF.Exp(x.AsSingle()).As<float, T>();
        return VectorMath<Vector256<T>, T, Simd256<T>>.Exp(x);   // deterministic across JIT tiers, unlike Vector256.Exp
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log(Vector256<T> x)
    {
        return VectorMath<Vector256<T>, T, Simd256<T>>.Log(x);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> x) => Vector256.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> ZeroWhereZero(Vector256<T> mask, Vector256<T> value) =>
        Vector256.ConditionalSelect(Vector256.Equals(mask, Vector256<T>.Zero), Vector256<T>.Zero, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(Vector256<T> v)
    {
        T m = v[0];
        for (int i = 1; i < Vector256<T>.Count; i++) m = T.Max(m, v[i]);
        return m;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MinAcross(Vector256<T> v)
    {
        T m = v[0];
        for (int i = 1; i < Vector256<T>.Count; i++) m = T.Min(m, v[i]);
        return m;
    }
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
    public static Vector256<T> Pow2FromShifted(Vector256<T> t) => ((t.AsInt32() + Vector256.Create(ExpF.ExponentBias)) << 23).As<int, T>();
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MaxPropagateNaN(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MinPropagateNaN(Vector256<T> a, Vector256<T> b) => Vector256.Min(a, b);
}

internal readonly struct Simd128<T> : ISimd<Vector128<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T s, nuint o) => Vector128.LoadUnsafe(ref s, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> v, ref T d, nuint o) => v.StoreUnsafe(ref d, o);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void StoreAlignedNonTemporal(Vector128<T> v, T* d) => v.StoreAlignedNonTemporal(d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Broadcast(T x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Subtract(Vector128<T> a, Vector128<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Multiply(Vector128<T> a, Vector128<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Divide(Vector128<T> a, Vector128<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> a, Vector128<T> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Min(Vector128<T> a, Vector128<T> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> x)
    {
        if (typeof(T) == typeof(float)) return ExpF.Exp(x.AsSingle()).As<float, T>();
        return VectorMath<Vector128<T>, T, Simd128<T>>.Exp(x);   // deterministic across JIT tiers, unlike Vector128.Exp
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Log(Vector128<T> x)
    {
        return VectorMath<Vector128<T>, T, Simd128<T>>.Log(x);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> x) => Vector128.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> ZeroWhereZero(Vector128<T> mask, Vector128<T> value) =>
        Vector128.ConditionalSelect(Vector128.Equals(mask, Vector128<T>.Zero), Vector128<T>.Zero, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(Vector128<T> v)
    {
        T m = v[0];
        for (int i = 1; i < Vector128<T>.Count; i++) m = T.Max(m, v[i]);
        return m;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MinAcross(Vector128<T> v)
    {
        T m = v[0];
        for (int i = 1; i < Vector128<T>.Count; i++) m = T.Min(m, v[i]);
        return m;
    }
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
    public static Vector128<T> Pow2FromShifted(Vector128<T> t) => ((t.AsInt32() + Vector128.Create(ExpF.ExponentBias)) << 23).As<int, T>();
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MaxPropagateNaN(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MinPropagateNaN(Vector128<T> a, Vector128<T> b) => Vector128.Min(a, b);
}
