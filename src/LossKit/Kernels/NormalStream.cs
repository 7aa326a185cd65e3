namespace LossKit.Kernels;

/// <summary>Standard normals from SplitMix64 (seeded by seed and draw index) through Box–Muller; the same
/// (seed, draw) gives the same sequence on every run and platform (<c>ensloss</c>'s derivatives, <c>elasticface_*</c>'s margins).</summary>
internal struct NormalStream(int seed, long draw)
{
    private ulong _state = Mix((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ Mix((ulong)draw + 0xD1B54A32D192ED03UL));
    private double _spare = double.NaN;

    public double Next()
    {
        if (!double.IsNaN(_spare)) { double v = _spare; _spare = double.NaN; return v; }
        double u1 = Uniform(), u2 = Uniform();
        double r = Math.Sqrt(-2 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Uniform in (0, 1]: 53 random bits.</summary>
    private double Uniform() => ((NextBits() >> 11) + 1) * (1.0 / (1UL << 53));

    private ulong NextBits()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
