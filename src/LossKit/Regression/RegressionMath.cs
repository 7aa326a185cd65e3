using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>Lane-wise helpers of the regression element functions (over <see cref="ISimd{TVec,T}"/>).</summary>
internal static class RegressionMath<TV, T, TOps> where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
{
    /// <summary>A constant in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV C(double v) => TOps.Broadcast(T.CreateTruncating(v));

    /// <summary>sign(x): −1, 0 or 1, NaN for NaN (PyTorch's <c>sign</c>, the subgradient of |x| it uses at 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sign(TV x)
    {
        TV zero = TOps.Broadcast(T.Zero);
        TV s = TOps.Select(TOps.GreaterThan(x, zero), TOps.Broadcast(T.One), TOps.Select(TOps.LessThan(x, zero), C(-1), zero));
        return TOps.Select(TOps.EqualTo(x, x), s, x);
    }

    /// <summary>−x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Negate(TV x) => TOps.Subtract(TOps.Broadcast(T.Zero), x);
}
