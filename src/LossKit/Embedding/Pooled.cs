using System.Buffers;

namespace LossKit.Embedding;

/// <summary>Scratch rented from the shared array pool and returned on dispose: the embedding losses' N×N Gram,
/// distance, coefficient and weight matrices and the miner's masks (and their float rows), so that a steady stream of
/// calls of one size reuses the same arrays instead of allocating — and page-faulting in — fresh ones per call. The
/// pool's arrays may be longer than asked and hold old values: <see cref="Values"/> is valid up to
/// <see cref="Length"/>, and only a cleared one starts at zero.</summary>
internal readonly struct Pooled<T> : IDisposable where T : unmanaged
{
    private Pooled(int length, bool clear)
    {
        Length = length;
        Values = ArrayPool<T>.Shared.Rent(length);
        if (clear) Array.Clear(Values, 0, length);
    }

    /// <summary>An N×N matrix, zeroed when <paramref name="clear"/>.</summary>
    public static Pooled<T> Square(int n, bool clear = false) => new(checked(n * n), clear);

    /// <summary><paramref name="length"/> values, zeroed when <paramref name="clear"/>.</summary>
    public static Pooled<T> Of(int length, bool clear = false) => new(length, clear);

    /// <summary>The pooled array (at least <see cref="Length"/> values).</summary>
    public T[] Values { get; }

    /// <summary>The values in use.</summary>
    public int Length { get; }

    /// <summary>The values in use, as a span.</summary>
    public Span<T> Span => Values.AsSpan(0, Length);

    public void Dispose() => ArrayPool<T>.Shared.Return(Values);
}
