using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LossKit.Kernels;

/// <summary>Vector row loops for the multi-class margin and sparse losses (float or double), each with a
/// scalar tail; every loop visits elements in a fixed order, so results do not depend on threading.</summary>
internal static class MarginRow
{
    /// <summary>
    /// Hinge terms of a row: with u_j = x_j + c and a_j = max(u_j, 0), returns Σ_j a_j^p and Σ_j d_j where
    /// d_j = ∂(a_j^p)/∂x_j (p = 1: 1 when u_j &gt; 0, else 0 — the subgradient 0 at the kink u_j = 0; p = 2: 2a_j).
    /// When <paramref name="gradient"/> is not empty it receives scale·d_j. −∞ elements give a_j = d_j = 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (T Sum, T DerivativeSum) Hinge<T>(ReadOnlySpan<T> x, T c, bool squared, Span<T> gradient, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, w = Vector<T>.Count, i = 0;
        bool hasGradient = !gradient.IsEmpty;
        T sum = T.Zero, dsum = T.Zero;
        if (Vector.IsHardwareAccelerated && n >= w)
        {
            ref T src = ref MemoryMarshal.GetReference(x);
            ref T dst = ref MemoryMarshal.GetReference(gradient);
            Vector<T> vc = new(c), vs = new(scale), two = new(T.CreateTruncating(2)), one = Vector<T>.One;
            Vector<T> accS = Vector<T>.Zero, accD = Vector<T>.Zero;
            for (; i <= n - w; i += w)
            {
                Vector<T> u = Vector.LoadUnsafe(ref src, (nuint)i) + vc;
                Vector<T> a = Vector.Max(u, Vector<T>.Zero);
                Vector<T> d;
                if (squared) { accS += a * a; d = two * a; }
                else { accS += a; d = Vector.ConditionalSelect(Vector.GreaterThan(u, Vector<T>.Zero), one, Vector<T>.Zero); }
                accD += d;
                if (hasGradient) (d * vs).StoreUnsafe(ref dst, (nuint)i);
            }
            sum = Vector.Sum(accS);
            dsum = Vector.Sum(accD);
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
}
