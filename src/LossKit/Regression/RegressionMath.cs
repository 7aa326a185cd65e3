using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>Lane-wise helpers of the regression element functions (over <see cref="ISimd{TVec,T}"/>).</summary>
internal static class RegressionMath<TV, T, TOps> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
{
    /// <summary>A constant in every lane (<see cref="VectorMath{TV,T,TOps}.C"/>: the same value, cheap for the JIT's inlining budget).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV C(double v) => VectorMath<TV, T, TOps>.C(v);

    /// <summary>eˣ with the bits of <c>TOps.Exp</c> (<see cref="ExpF"/> for float lanes, <see cref="VectorMath{TV,T,TOps}.Exp"/>
    /// for double), inlined: <c>TOps.Exp</c> and <c>TOps.Log</c> are calls the JIT keeps out of line, and a call per
    /// vector (its arguments through memory, nothing overlapping it) made the transcendental regression losses run at a
    /// fraction of the memory bandwidth.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp(TV x)
    {
        if (typeof(TV) == typeof(Vector512<float>)) return (TV)(object)ExpF.Exp<Vector512<float>, Simd512<float>>((Vector512<float>)(object)x);
        if (typeof(TV) == typeof(Vector256<float>)) return (TV)(object)ExpF.Exp<Vector256<float>, Simd256<float>>((Vector256<float>)(object)x);
        if (typeof(TV) == typeof(Vector128<float>)) return (TV)(object)ExpF.Exp<Vector128<float>, Simd128<float>>((Vector128<float>)(object)x);
        return VectorMath<TV, T, TOps>.ExpInline(x);
    }

    /// <summary>log x with the bits of <c>TOps.Log</c> (<see cref="VectorMath{TV,T,TOps}.Log"/>), inlined (see <see cref="Exp"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log(TV x) => VectorMath<TV, T, TOps>.LogInline(x);

    /// <summary>log(1 + x) for x ≥ 0: <see cref="VectorMath{TV,T,TOps}.Log1p"/> with its log inlined (the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log1p(TV x) => VectorMath<TV, T, TOps>.Log1p(x, inlineLog: true);

    /// <summary>sign(x): −1, 0 or 1, NaN for NaN (PyTorch's <c>sign</c>, the subgradient of |x| it uses at 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sign(TV x)
    {
        TV zero = TOps.Broadcast(T.Zero);
        TV s = TOps.Select(TOps.GreaterThan(x, zero), TOps.Broadcast(T.One), TOps.Select(TOps.LessThan(x, zero), C(-1), zero));
        return TOps.Select(TOps.EqualTo(x, x), s, x);
    }

    /// <summary>p·x + c: one step of Horner's rule (a multiply and an add, never fused).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV HornerStep(TV p, TV x, double c) => TOps.Add(TOps.Multiply(p, x), C(c));

    // c₀ + c₁x + c₂x² + … by Horner's rule, coefficients lowest first: ((c_n·x + c_{n−1})·x + …)·x + c₀. One overload per
    // degree, each the step over the next lower one, so the steps are written out in the caller: a loop over a span of
    // coefficients stayed a loop in the kernel (the JIT does not unroll it), converting and broadcasting each
    // coefficient per vector. The same operations in the same order as that loop, so the same bits.

    /// <summary>c₀ + c₁x + c₂x² by Horner's rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Polynomial(TV x, double c0, double c1, double c2) => HornerStep(HornerStep(C(c2), x, c1), x, c0);

    /// <summary>c₀ + c₁x + … + c₃x³ by Horner's rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Polynomial(TV x, double c0, double c1, double c2, double c3) => HornerStep(Polynomial(x, c1, c2, c3), x, c0);

    /// <summary>c₀ + c₁x + … + c₄x⁴ by Horner's rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Polynomial(TV x, double c0, double c1, double c2, double c3, double c4) => HornerStep(Polynomial(x, c1, c2, c3, c4), x, c0);

    /// <summary>c₀ + c₁x + … + c₈x⁸ by Horner's rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Polynomial(TV x, double c0, double c1, double c2, double c3, double c4, double c5, double c6, double c7, double c8) =>
        HornerStep(HornerStep(HornerStep(HornerStep(Polynomial(x, c4, c5, c6, c7, c8), x, c3), x, c2), x, c1), x, c0);

    /// <summary>−x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Negate(TV x) => TOps.Subtract(TOps.Broadcast(T.Zero), x);

    /// <summary>tanh(x) and 1 − tanh²(x) from one exp of −2|x| (no overflow; a short series below |x| = 0.01, where
    /// 1 − e^{−2|x|} would cancel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tanh(TV x, out TV tanh, out TV sech2)
    {
        TV one = TOps.Broadcast(T.One), a = TOps.Abs(x);
        TV e = Exp(TOps.Multiply(C(-2), a));
        TV u = TOps.Add(one, e);
        TV big = TOps.Divide(TOps.Subtract(one, e), u);
        TV a2 = TOps.Multiply(a, a);
        // tanh a = a − a³/3 + 2a⁵/15 − 17a⁷/315 for small a.
        TV series = TOps.Multiply(a, Polynomial(a2, 1, -1.0 / 3, 2.0 / 15, -17.0 / 315));
        TV t = TOps.Select(TOps.LessThan(a, C(0.01)), series, big);
        tanh = TOps.Select(TOps.LessThan(x, TOps.Broadcast(T.Zero)), Negate(t), TOps.Select(TOps.EqualTo(x, x), t, x));
        sech2 = TOps.Divide(TOps.Multiply(C(4), e), TOps.Multiply(u, u));
    }

    /// <summary>e^δ − 1 − δ given δ and e^δ (the caller's, e.g. a ratio u/v), and e^δ − 1: a Taylor series where |δ| &lt;
    /// 0.1 (both would cancel there), the direct forms elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExpRemainders(TV delta, TV expDelta, out TV expm1MinusDelta, out TV expm1)
    {
        TV one = TOps.Broadcast(T.One);
        // Σ_{k≥2} δ^k/k! to k = 10 (truncation below 1e-17 relative for |δ| < 0.1).
        TV p = Polynomial(delta, 0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800);
        TV series = TOps.Multiply(TOps.Multiply(p, delta), delta);
        TV small = TOps.LessThan(TOps.Abs(delta), C(0.1));
        TV direct = TOps.Subtract(expDelta, one);
        expm1MinusDelta = TOps.Select(small, series, TOps.Subtract(direct, delta));
        expm1 = TOps.Select(small, TOps.Add(series, delta), direct);
    }

    /// <summary>log Γ(x) for x &gt; 0: Γ's recurrence up to y = x + 10 (two products of five factors, which stay finite in
    /// float for x ≤ 1e7), then Stirling's series to the y⁻⁹ term (error about 2e-14 at y ≥ 10).</summary>
    public static TV LogGamma(TV x)
    {
        TV y = TOps.Add(x, C(10));
        TV p1 = TOps.Multiply(TOps.Multiply(TOps.Multiply(x, TOps.Add(x, C(1))), TOps.Multiply(TOps.Add(x, C(2)), TOps.Add(x, C(3)))), TOps.Add(x, C(4)));
        TV p2 = TOps.Multiply(TOps.Multiply(TOps.Multiply(TOps.Add(x, C(5)), TOps.Add(x, C(6))), TOps.Multiply(TOps.Add(x, C(7)), TOps.Add(x, C(8)))), TOps.Add(x, C(9)));
        TV inv = TOps.Divide(TOps.Broadcast(T.One), y), inv2 = TOps.Multiply(inv, inv);
        TV series = TOps.Multiply(Polynomial(inv2, 1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188), inv);
        TV stirling = TOps.Add(TOps.Subtract(TOps.Multiply(TOps.Subtract(y, C(0.5)), Log(y)), y), TOps.Add(C(0.5 * Math.Log(2 * Math.PI)), series));
        return TOps.Subtract(stirling, TOps.Add(Log(p1), Log(p2)));
    }

    /// <summary>ψ(x) = d log Γ(x)/dx for x &gt; 0: ψ(x) = ψ(x + 10) − Σ_{k&lt;10} 1/(x + k), the asymptotic series at x + 10 to
    /// the y⁻¹⁰ term (error below 1e-14).</summary>
    public static TV Digamma(TV x)
    {
        TV one = TOps.Broadcast(T.One);
        TV sum = TOps.Broadcast(T.Zero);
        for (int k = 0; k < 10; k++) sum = TOps.Add(sum, TOps.Divide(one, TOps.Add(x, C(k))));
        TV y = TOps.Add(x, C(10));
        TV inv = TOps.Divide(one, y), inv2 = TOps.Multiply(inv, inv);
        TV series = TOps.Multiply(Polynomial(inv2, -1.0 / 12, 1.0 / 120, -1.0 / 252, 1.0 / 240, -1.0 / 132), inv2);
        return TOps.Subtract(TOps.Add(TOps.Subtract(Log(y), TOps.Multiply(C(0.5), inv)), series), sum);
    }

    /// <summary>x^a = exp(a·log x) for x ≥ 0 and a &gt; 0 (0^a = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Power(TV x, TV a) => Exp(TOps.Multiply(a, Log(x)));
}

/// <summary>Scalar special functions for constants, from the same series as the lane-wise ones.</summary>
internal static class SpecialFunctions
{
    /// <summary>log Γ(x) for x &gt; 0.</summary>
    public static double LogGamma(double x) =>
        RegressionMath<Vector128<double>, double, Simd128<double>>.LogGamma(Vector128.Create(x)).ToScalar();

    /// <summary>ψ(x) for x &gt; 0.</summary>
    public static double Digamma(double x) =>
        RegressionMath<Vector128<double>, double, Simd128<double>>.Digamma(Vector128.Create(x)).ToScalar();
}
