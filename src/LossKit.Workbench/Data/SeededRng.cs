namespace LossKit.Workbench.Data;

/// <summary>
/// A small deterministic pseudo-random generator (xoshiro256** seeded through SplitMix64) used for splits and
/// label noise. It is this library's own code, so a given seed yields the same sequence on every platform and
/// .NET version (unlike relying on <see cref="Random"/>'s unspecified algorithm). Not for cryptography.
/// </summary>
public sealed class SeededRng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a 64-bit seed; every seed (including 0) gives a valid, distinct state.</summary>
    public SeededRng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>
    /// A generator for one purpose (e.g. splitting vs. label noise) derived from a user seed, so that the same user
    /// seed used for two purposes gives unrelated streams.
    /// </summary>
    public static SeededRng ForPurpose(int seed, string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        // FNV-1a of the purpose text, mixed with the seed.
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in purpose) { h ^= c; h *= 0x100000001B3UL; }
        return new SeededRng(unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ h);
    }

    /// <summary>The next 64 uniformly random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire's method).</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be at least 1.");
        ulong b = (ulong)bound;
        ulong m = (NextUInt64() >> 32) * b;          // 32 random bits times bound: fits in 64 bits
        if ((uint)m < b)
        {
            uint threshold = (uint)((0x1_0000_0000UL - b) % b);
            while ((uint)m < threshold)
                m = (NextUInt64() >> 32) * b;
        }
        return (int)(m >> 32);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
