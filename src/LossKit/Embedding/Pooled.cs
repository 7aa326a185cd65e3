using System.Runtime.CompilerServices;

namespace LossKit.Embedding;

/// <summary>Scratch of exactly <see cref="Length"/> values, rented from this thread's <see cref="ExactArrays{T}"/> and
/// returned on dispose: the embedding losses' copies of their inputs, their N×N Gram, distance, coefficient and weight
/// matrices, the miner's masks and the gradient buffers, so that a steady stream of calls of one shape reuses the same
/// arrays instead of allocating — and page-faulting in — fresh ones per call. The array holds old values unless
/// cleared; its length is exactly the length asked for, so code may use <c>Values.Length</c>.</summary>
internal readonly struct Pooled<T> : IDisposable where T : unmanaged
{
    private Pooled(int length, bool clear)
    {
        Length = length;
        Values = ExactArrays<T>.Rent(length);
        if (clear) Array.Clear(Values);
    }

    /// <summary>An N×N matrix, zeroed when <paramref name="clear"/>.</summary>
    public static Pooled<T> Square(int n, bool clear = false) => new(checked(n * n), clear);

    /// <summary><paramref name="length"/> values, zeroed when <paramref name="clear"/>.</summary>
    public static Pooled<T> Of(int length, bool clear = false) => new(length, clear);

    /// <summary>The rented array, exactly <see cref="Length"/> values (null for a default instance).</summary>
    public T[] Values { get; }

    /// <summary>The values in use.</summary>
    public int Length { get; }

    /// <summary>The values, as a span.</summary>
    public Span<T> Span => Values.AsSpan(0, Length);

    /// <summary>Returns the array (a default instance, never rented, has none).</summary>
    public void Dispose()
    {
        if (Values is not null) ExactArrays<T>.Return(Values);
    }
}

/// <summary>
/// Arrays of exact lengths kept per thread for the next call: <see cref="Rent"/> takes a kept array of the length asked
/// for (else allocates one), <see cref="Return"/> keeps it. <see cref="System.Buffers.ArrayPool{T}"/> rounds lengths up
/// to powers of two, so every array would need its length carried beside it; these losses index N×N and N×d arrays by
/// their shape and read whole arrays, so an exact length keeps that code as it is. At most <see cref="Kept"/> arrays and
/// <see cref="KeptBytes"/> bytes per element type and thread are kept (the least recently returned are dropped first),
/// so a run whose shapes change keeps no more than that; a call whose scratch is larger than that allocates its largest
/// arrays again on each call (at such sizes — N×N matrices of thousands of rows — the products cost far more).
/// </summary>
internal static class ExactArrays<T> where T : unmanaged
{
    /// <summary>Arrays kept per thread and element type: more than one call of the largest loss uses at once.</summary>
    public const int Kept = 24;

    /// <summary>Bytes kept per thread and element type, at most (1 GiB: the N×N matrices of one call on 4096 rows).</summary>
    public const long KeptBytes = 1L << 30;

    [ThreadStatic] private static T[]?[]? t_kept;
    [ThreadStatic] private static long[]? t_returned;
    [ThreadStatic] private static long t_clock, t_bytes;

    /// <summary>An array of exactly <paramref name="length"/> values (old values: not cleared).</summary>
    public static T[] Rent(int length)
    {
        if (length == 0) return [];
        T[]?[]? kept = t_kept;
        if (kept is not null)
            for (int i = 0; i < kept.Length; i++)
                if (kept[i] is { } array && array.Length == length)
                {
                    kept[i] = null;
                    t_bytes -= Bytes(array);
                    return array;
                }
        return GC.AllocateUninitializedArray<T>(length);
    }

    /// <summary>Keeps <paramref name="array"/> for a later <see cref="Rent"/> on this thread, in an empty place or in
    /// place of the least recently returned one, dropping the least recently returned ones while more than
    /// <see cref="KeptBytes"/> would be kept (an array larger than that is not kept).</summary>
    public static void Return(T[] array)
    {
        long bytes = Bytes(array);
        if (bytes == 0 || bytes > KeptBytes) return;
        T[]?[] kept = t_kept ??= new T[Kept][];
        long[] returned = t_returned ??= new long[Kept];
        while (true)
        {
            int place = -1, oldest = -1;
            for (int i = 0; i < kept.Length; i++)
            {
                if (kept[i] is null) { place = i; continue; }
                if (oldest < 0 || returned[i] < returned[oldest]) oldest = i;
            }
            if (place >= 0 && t_bytes + bytes <= KeptBytes)
            {
                (kept[place], returned[place]) = (array, ++t_clock);
                t_bytes += bytes;
                return;
            }
            t_bytes -= Bytes(kept[oldest]!);   // full, or too many bytes: drop the least recently returned
            kept[oldest] = null;
        }
    }

    private static long Bytes(T[] array) => (long)array.Length * Unsafe.SizeOf<T>();
}

/// <summary>One instance of <typeparamref name="T"/> kept per thread for the next call (the embedding losses' batch,
/// miner, reducer and centroids, whose arrays are pooled): <see cref="Take"/> gives this thread's kept instance, or a new
/// one when it has none (or it is in use), and <see cref="Keep"/> keeps it again.</summary>
internal static class PerThread<T> where T : class
{
    [ThreadStatic] private static T? t_kept;

    public static T Take(Func<T> create)
    {
        T item = t_kept ?? create();
        t_kept = null;
        return item;
    }

    public static void Keep(T item) => t_kept = item;
}
