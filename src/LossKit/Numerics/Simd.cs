using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Numerics;

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
    /// <summary>Lanes where a &lt; b take <paramref name="ifLess"/>, others <paramref name="otherwise"/>.</summary>
    static abstract TVec SelectLess(TVec a, TVec b, TVec ifLess, TVec otherwise);
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
        return Vector512.Exp(x.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log(Vector512<T> x)
    {
        if (typeof(T) == typeof(float)) return Vector512.Log(x.AsSingle()).As<float, T>();
        return Vector512.Log(x.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> x) => Vector512.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SelectLess(Vector512<T> a, Vector512<T> b, Vector512<T> ifLess, Vector512<T> otherwise) =>
        Vector512.ConditionalSelect(Vector512.LessThan(a, b), ifLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ZeroWhereZero(Vector512<T> mask, Vector512<T> value) =>
        Vector512.ConditionalSelect(Vector512.Equals(mask, Vector512<T>.Zero), Vector512<T>.Zero, value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(Vector512<T> v) => T.Max(Simd256<T>.MaxAcross(v.GetLower()), Simd256<T>.MaxAcross(v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MinAcross(Vector512<T> v) => T.Min(Simd256<T>.MinAcross(v.GetLower()), Simd256<T>.MinAcross(v.GetUpper()));
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
        return Vector256.Exp(x.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log(Vector256<T> x)
    {
        if (typeof(T) == typeof(float)) return Vector256.Log(x.AsSingle()).As<float, T>();
        return Vector256.Log(x.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> x) => Vector256.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SelectLess(Vector256<T> a, Vector256<T> b, Vector256<T> ifLess, Vector256<T> otherwise) =>
        Vector256.ConditionalSelect(Vector256.LessThan(a, b), ifLess, otherwise);
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
        return Vector128.Exp(x.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Log(Vector128<T> x)
    {
        if (typeof(T) == typeof(float)) return Vector128.Log(x.AsSingle()).As<float, T>();
        return Vector128.Log(x.AsDouble()).As<double, T>();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> x) => Vector128.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> SelectLess(Vector128<T> a, Vector128<T> b, Vector128<T> ifLess, Vector128<T> otherwise) =>
        Vector128.ConditionalSelect(Vector128.LessThan(a, b), ifLess, otherwise);
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
}
