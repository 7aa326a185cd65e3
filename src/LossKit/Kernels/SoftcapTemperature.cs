using System.Numerics;
using System.Numerics.Tensors;

namespace LossKit.Kernels;

/// <summary>
/// Logit soft-capping (Gemma 2) with a temperature, <c>z' = c·tanh(z/c)/T</c> (<c>z/T</c> when c = 0), and its chain
/// rule <c>dz'/dz = (1 − tanh²(z/c))/T</c>: the one implementation <c>ce</c>'s kernel and <c>linear_ce</c> share (so the
/// two give the same bits on the same logits).
/// </summary>
internal static class SoftcapTemperature
{
    /// <summary>destination ← c·tanh(z/c)/T, or z/T for c = 0 (destination may be z).</summary>
    public static void Apply<T>(ReadOnlySpan<T> z, Span<T> destination, double softcap, double temperature)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (softcap > 0)
        {
            TensorPrimitives.Multiply(z, T.CreateTruncating(1 / softcap), destination);
            Tanh(destination);
            TensorPrimitives.Multiply(destination, T.CreateTruncating(softcap / temperature), destination);
        }
        else TensorPrimitives.Multiply(z, T.CreateTruncating(1 / temperature), destination);
    }

    /// <summary>x ← tanh(x). Double uses <see cref="Math.Tanh"/> element by element: TensorPrimitives' double tanh gives
    /// different bits before and after the JIT recompiles its ahead-of-time code (so a result would depend on how long
    /// the process has run). Float's vector tanh gives the same bits either way and stays.</summary>
    private static void Tanh<T>(Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
            foreach (ref T v in x) v = T.CreateTruncating(Math.Tanh(double.CreateTruncating(v)));
        else TensorPrimitives.Tanh(x, x);
    }

    /// <summary>gradient ← gradient·dz'/dz, where <paramref name="transformed"/> holds z' = <see cref="Apply"/>(z) (it is
    /// overwritten).</summary>
    public static void Chain<T>(Span<T> gradient, Span<T> transformed, double softcap, double temperature)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (softcap > 0)
        {
            // tanh(z/c) = z'·T/c; factor = (1 − tanh²)/T
            TensorPrimitives.Multiply(transformed, T.CreateTruncating(temperature / softcap), transformed);
            TensorPrimitives.Multiply(transformed, transformed, transformed);
            TensorPrimitives.Subtract(T.One, transformed, transformed);
            TensorPrimitives.Multiply(gradient, transformed, gradient);
        }
        TensorPrimitives.Multiply(gradient, T.CreateTruncating(1 / temperature), gradient);
    }
}
