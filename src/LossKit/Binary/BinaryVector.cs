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
    static abstract TV Exp(TV a);
    static abstract TV Log(TV a);
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x) => typeof(T) == typeof(float)
        ? Vector512.Exp(x.AsSingle()).As<float, T>() : Vector512.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log(Vector512<T> x) => typeof(T) == typeof(float)
        ? Vector512.Log(x.AsSingle()).As<float, T>() : Vector512.Log(x.AsDouble()).As<double, T>();
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> x) => typeof(T) == typeof(float)
        ? Vector256.Exp(x.AsSingle()).As<float, T>() : Vector256.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log(Vector256<T> x) => typeof(T) == typeof(float)
        ? Vector256.Log(x.AsSingle()).As<float, T>() : Vector256.Log(x.AsDouble()).As<double, T>();
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> x) => typeof(T) == typeof(float)
        ? Vector128.Exp(x.AsSingle()).As<float, T>() : Vector128.Exp(x.AsDouble()).As<double, T>();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Log(Vector128<T> x) => typeof(T) == typeof(float)
        ? Vector128.Log(x.AsSingle()).As<float, T>() : Vector128.Log(x.AsDouble()).As<double, T>();
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
    /// <summary>log(1 + x) for x ≥ 0 (here x = e^{−|s|} ∈ [0, 1]): log(u) corrected by the rounding of u = 1 + x,
    /// accurate to a few ulps where a plain log(1 + x) would lose everything for tiny x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log1p(TV x)
    {
        TV one = TOps.Splat(T.One);
        TV u = TOps.Add(one, x);
        TV correction = TOps.Div(TOps.Sub(TOps.Sub(u, one), x), u);
        // u == 1: log(u) = 0 and the correction gives exactly x.
        return TOps.Sub(TOps.Log(u), correction);
    }

    /// <summary>From one exp and one log: softplus(s) = log(1 + eˢ), softplus(−s), σ(s) and σ(−s) = 1 − σ(s),
    /// each computed without cancellation or overflow (s = ±1e30 is fine; NaN propagates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Logistic(TV s, out TV softplusPos, out TV softplusNeg, out TV sigmoidPos, out TV sigmoidNeg)
    {
        TV zero = TOps.Splat(T.Zero), one = TOps.Splat(T.One);
        TV e = TOps.Exp(TOps.Sub(zero, TOps.Abs(s)));          // e^{−|s|} ∈ [0, 1]
        TV l = Log1p(e);
        softplusPos = TOps.Add(TOps.Max(s, zero), l);
        softplusNeg = TOps.Add(TOps.Max(TOps.Sub(zero, s), zero), l);
        TV r = TOps.Div(one, TOps.Add(one, e));                 // σ(|s|)
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
        return TOps.Exp(TOps.Mul(TOps.Splat(T.CreateTruncating(gamma)), TOps.Log(x)));
    }

    /// <summary>exp(−γ·y) for y ≥ 0, i.e. a power written in log space (x^γ with log x = −y); 1 for γ = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNeg(TV y, double gamma) =>
        gamma == 0 ? TOps.Splat(T.One) : TOps.Exp(TOps.Mul(TOps.Splat(T.CreateTruncating(-gamma)), y));
}
