using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Kernels;

/// <summary>Numerically careful lane-wise helpers shared by the sigmoid-family element functions.</summary>
internal static class VectorMath<TV, T, TOps> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
{
    /// <summary>The constant <paramref name="v"/> (rounded to T) in every lane: <c>T.CreateTruncating(v)</c>, written as
    /// the cast it comes to for float and double. The generic conversion is folded to that cast too, but its IL (a long
    /// chain of type tests) is what the JIT charges against a method's inlining budget, once per constant; with a dozen
    /// constants per exp or log, an element function with two of them inlined ran out of budget and left its vector
    /// operations as calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV C(double v) =>
        typeof(T) == typeof(float) ? TOps.Broadcast((T)(object)(float)v) : typeof(T) == typeof(double) ? TOps.Broadcast((T)(object)v) : TOps.Broadcast(T.CreateTruncating(v));

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
    public static TV Exp(TV x) => ExpInline(x);

    /// <summary><see cref="Exp"/> inlined into the caller (the same operations, so the same bits): for a loop whose
    /// throughput is that of its exp, where the call would keep consecutive calls from overlapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpInline(TV x)
    {
        bool isDouble = typeof(T) == typeof(double);
        TV xc = TOps.MinPropagateNaN(TOps.MaxPropagateNaN(x, C(isDouble ? -746 : -104)), C(isDouble ? 710 : 89));
        TV n = TOps.Floor(TOps.Add(TOps.Multiply(xc, C(1.4426950408889634)), C(0.5)));
        TV r = isDouble
            ? TOps.Subtract(TOps.Subtract(xc, TOps.Multiply(n, C(6.93147180369123816490e-01))), TOps.Multiply(n, C(1.90821492927058770002e-10)))
            : TOps.Subtract(TOps.Subtract(xc, TOps.Multiply(n, C(0.693145751953125))), TOps.Multiply(n, C(1.428606765330187045e-06)));
        // ½ + r/3! + … + r⁵/7! in float, up to r¹¹/13! in double, by Horner's rule (the double-only terms first).
        TV p = isDouble
            ? Horner7(r, 1.0 / 6227020800, 1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040)
            : C(1.0 / 5040);                                         // 1/7!
        p = TOps.Add(TOps.Multiply(p, r), C(1.0 / 720));
        p = TOps.Add(TOps.Multiply(p, r), C(1.0 / 120));
        p = TOps.Add(TOps.Multiply(p, r), C(1.0 / 24));
        p = TOps.Add(TOps.Multiply(p, r), C(1.0 / 6));
        p = TOps.Add(TOps.Multiply(p, r), C(0.5));
        // e^r = 1 + r + r²·(½ + r/6 + ...), the small part added last.
        p = TOps.Add(TOps.Add(TOps.Multiply(TOps.Multiply(p, r), r), r), TOps.Broadcast(T.One));
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
    public static TV Log(TV x) => LogInline(x);

    /// <summary><see cref="Log"/> inlined into the caller (the same operations, so the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogInline(TV x)
    {
        bool isDouble = typeof(T) == typeof(double);
        TV zero = TOps.Broadcast(T.Zero), one = TOps.Broadcast(T.One);
        TV tiny = TOps.LessThan(x, C(isDouble ? 2.2250738585072014e-308 : 1.17549435e-38));
        TV scaled = TOps.Select(tiny, TOps.Multiply(x, C(isDouble ? 18014398509481984.0 : 33554432.0)), x);    // ·2^54 / ·2^25
        TV m = TOps.Decompose(scaled, out TV e);
        e = TOps.Select(tiny, TOps.Subtract(e, C(isDouble ? 54 : 25)), e);
        TV big = TOps.GreaterThan(m, C(1.4142135623730951));
        m = TOps.Select(big, TOps.Multiply(m, C(0.5)), m);
        e = TOps.Select(big, TOps.Add(e, one), e);
        TV f = TOps.Subtract(m, one);
        TV s = TOps.Divide(f, TOps.Add(C(2), f));
        TV z = TOps.Multiply(s, s);
        TV rr = isDouble
            ? Horner7(z, 1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01, 2.222219843214978396e-01,
                2.857142874366239149e-01, 3.999999999940941908e-01, 6.666666666666735130e-01)
            : TOps.Add(TOps.Multiply(TOps.Add(TOps.Multiply(TOps.Add(TOps.Multiply(C(0.24279078841), z), C(0.28498786688)), z),
                C(0.40000972152)), z), C(0.66666662693));
        rr = TOps.Multiply(rr, z);
        TV hfsq = TOps.Multiply(C(0.5), TOps.Multiply(f, f));
        TV ln2Hi = C(isDouble ? 6.93147180369123816490e-01 : 6.9313812256e-01);
        TV ln2Lo = C(isDouble ? 1.90821492927058770002e-10 : 9.0580006145e-06);
        // e·ln2_hi − ((hfsq − (s·(hfsq + R) + e·ln2_lo)) − f)
        TV inner = TOps.Add(TOps.Multiply(s, TOps.Add(hfsq, rr)), TOps.Multiply(e, ln2Lo));
        TV result = TOps.Subtract(TOps.Multiply(e, ln2Hi), TOps.Subtract(TOps.Subtract(hfsq, inner), f));
        result = TOps.Select(TOps.EqualTo(x, zero), TOps.Broadcast(T.NegativeInfinity), result);
        result = TOps.Select(TOps.EqualTo(x, TOps.Broadcast(T.PositiveInfinity)), x, result);
        return TOps.Select(TOps.GreaterThanOrEqual(x, zero), result, TOps.Broadcast(T.NaN));
    }

    /// <summary>c₆x⁶ + c₅x⁵ + … + c₀ by Horner's rule, highest coefficient first (a multiply and an add per step, never
    /// fused): the double polynomials of <see cref="ExpInline"/> (its terms 1/13! to 1/7!) and <see cref="LogInline"/>.
    /// A method of its own: not called in float, its IL does not count against the caller's inlining budget (see
    /// <see cref="C"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Horner7(TV x, double c6, double c5, double c4, double c3, double c2, double c1, double c0)
    {
        TV p = TOps.Add(TOps.Multiply(C(c6), x), C(c5));
        p = TOps.Add(TOps.Multiply(p, x), C(c4));
        p = TOps.Add(TOps.Multiply(p, x), C(c3));
        p = TOps.Add(TOps.Multiply(p, x), C(c2));
        p = TOps.Add(TOps.Multiply(p, x), C(c1));
        return TOps.Add(TOps.Multiply(p, x), C(c0));
    }

    /// <summary>log(1 + x) for x ≥ 0 (here x = e^{−|s|} ∈ [0, 1]): log(u) corrected by the rounding of u = 1 + x,
    /// accurate to a few ulps where a plain log(1 + x) would lose everything for tiny x.</summary>
    /// <param name="x">x ≥ 0.</param>
    /// <param name="inlineLog">Inline the log (<see cref="LogInline"/>, the same bits) instead of calling <see cref="Log"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log1p(TV x, bool inlineLog = false)
    {
        TV one = TOps.Broadcast(T.One);
        TV u = TOps.Add(one, x);
        TV correction = TOps.Divide(TOps.Subtract(TOps.Subtract(u, one), x), u);
        // u == 1: log(u) = 0 and the correction gives exactly x.
        return TOps.Subtract(inlineLog ? LogInline(u) : Log(u), correction);
    }

    /// <summary>From one exp and one log: softplus(s) = log(1 + eˢ), softplus(−s), σ(s) and σ(−s) = 1 − σ(s),
    /// each computed without cancellation or overflow (s = ±1e30 is fine; NaN propagates). With <c>inline</c> the exp
    /// and the log are inlined (<see cref="ExpInline"/>, <see cref="LogInline"/>, the same bits) instead of called: for
    /// a small loop whose throughput is that of this function.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Logistic(TV s, out TV softplusPos, out TV softplusNeg, out TV sigmoidPos, out TV sigmoidNeg, bool inline = false)
    {
        TV zero = TOps.Broadcast(T.Zero), one = TOps.Broadcast(T.One);
        TV minusAbs = TOps.Subtract(zero, TOps.Abs(s));
        TV e = inline ? ExpInline(minusAbs) : Exp(minusAbs);       // e^{−|s|} ∈ [0, 1]
        TV u = TOps.Add(one, e);
        TV r = TOps.Divide(one, u);                                // σ(|s|) = 1/(1 + e)
        TV l = TOps.Subtract(inline ? LogInline(u) : Log(u), TOps.Multiply(TOps.Subtract(TOps.Subtract(u, one), e), r));   // log1p(e), as in Log1p
        softplusPos = TOps.Add(TOps.MaxPropagateNaN(s, zero), l);
        softplusNeg = TOps.Add(TOps.MaxPropagateNaN(TOps.Subtract(zero, s), zero), l);
        TV er = TOps.Multiply(e, r);                                 // σ(−|s|)
        TV nonNegative = TOps.GreaterThanOrEqual(s, zero);
        sigmoidPos = TOps.Select(nonNegative, r, er);
        sigmoidNeg = TOps.Select(nonNegative, er, r);
    }

    /// <summary>w·x, but exactly 0 where w = 0 (so a zero weight removes an infinite term instead of making NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV WeightedTerm(TV w, TV x) =>
        TOps.Select(TOps.EqualTo(w, TOps.Broadcast(T.Zero)), TOps.Broadcast(T.Zero), TOps.Multiply(w, x));

    /// <summary>x^γ = exp(γ·log x) for x ≥ 0 (0^γ = 0 for γ &gt; 0; x^0 = 1), exact for γ ∈ {0, 1, 2}. The exp and the
    /// log are inlined (<see cref="ExpInline"/>, <see cref="LogInline"/>: the bits of <see cref="Exp"/> and <see cref="Log"/>):
    /// its callers are element functions whose throughput is that of their transcendentals.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Pow(TV x, double gamma)
    {
        if (gamma == 0) return TOps.Broadcast(T.One);
        if (gamma == 1) return x;
        if (gamma == 2) return TOps.Multiply(x, x);
        return ExpInline(TOps.Multiply(C(gamma), LogInline(x)));
    }

    /// <summary>exp(−γ·y) for y ≥ 0, i.e. a power written in log space (x^γ with log x = −y); 1 for γ = 0. The exp is
    /// inlined (<see cref="ExpInline"/>, the bits of <see cref="Exp"/>), as in <see cref="Pow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNeg(TV y, double gamma) =>
        gamma == 0 ? TOps.Broadcast(T.One) : ExpInline(TOps.Multiply(C(-gamma), y));
}
