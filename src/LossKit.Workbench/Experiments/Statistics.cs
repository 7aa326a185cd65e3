namespace LossKit.Workbench.Experiments;

/// <summary>Mean, sample standard deviation and a two-sided 95% confidence interval of the mean (Student's t; for a
/// bounded metric on the logit or log scale, see <see cref="Of(IReadOnlyList{double}, double, double)"/>).</summary>
/// <param name="N">Number of values.</param>
/// <param name="Mean">Their mean.</param>
/// <param name="Std">Sample standard deviation (divide by N − 1); NaN when N &lt; 2.</param>
/// <param name="CiLow">Mean − t(0.975, N − 1)·Std/√N; NaN when N &lt; 2.</param>
/// <param name="CiHigh">Mean + t(0.975, N − 1)·Std/√N; NaN when N &lt; 2.</param>
public readonly record struct MeanStats(int N, double Mean, double Std, double CiLow, double CiHigh)
{
    /// <summary>Half the width of the confidence interval.</summary>
    public double HalfWidth => (CiHigh - CiLow) / 2;

    /// <summary>Statistics of <paramref name="values"/> (NaN values count and make the results NaN).</summary>
    public static MeanStats Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int n = values.Count;
        if (n == 0) return new MeanStats(0, double.NaN, double.NaN, double.NaN, double.NaN);
        double mean = 0;
        foreach (double v in values) mean += v;
        mean /= n;
        if (n < 2) return new MeanStats(n, mean, double.NaN, double.NaN, double.NaN);
        double ss = 0;
        foreach (double v in values) ss += (v - mean) * (v - mean);
        double std = Math.Sqrt(ss / (n - 1));
        double half = StudentT.Quantile975(n - 1) * std / Math.Sqrt(n);
        return new MeanStats(n, mean, std, mean - half, mean + half);
    }

    /// <summary>
    /// Statistics of a metric that lies in [<paramref name="lower"/>, <paramref name="upper"/>]: mean and standard
    /// deviation as <see cref="Of(IReadOnlyList{double})"/>, the 95% interval computed on a scale where the metric is
    /// unbounded and mapped back, so that it stays in range: the logit of (v − lower)/(upper − lower) when both bounds
    /// are finite, log(v − lower) when only the lower one is, the values themselves when neither is. Values closer to a
    /// bound than <paramref name="margin"/> are moved to that distance first (an empirical-logit correction: with a
    /// metric counted on n samples, half a sample, 0.5/n; otherwise a value at the bound would be infinitely far from
    /// its neighbours on the transformed scale and the interval would span nearly the whole range).
    /// </summary>
    public static MeanStats Of(IReadOnlyList<double> values, double lower, double upper, double margin = 0)
    {
        var plain = Of(values);
        if (plain.N < 2 || double.IsNaN(plain.Std) || (double.IsNegativeInfinity(lower) && double.IsPositiveInfinity(upper))) return plain;
        bool both = double.IsFinite(lower) && double.IsFinite(upper);
        double eps = Math.Max(margin, both ? 1e-6 * (upper - lower) : 1e-9);
        double To(double v)
        {
            v = Math.Clamp(v, lower + eps, both ? upper - eps : double.MaxValue);
            if (!both) return Math.Log(v - lower);
            double u = (v - lower) / (upper - lower);
            return Math.Log(u / (1 - u));
        }
        double From(double t) => both ? lower + (upper - lower) / (1 + Math.Exp(-t)) : lower + Math.Exp(t);
        var t = Of(values.Select(To).ToArray());
        return plain with { CiLow = From(t.CiLow), CiHigh = From(t.CiHigh) };
    }
}

/// <summary>The 0.975 quantile of Student's t distribution, for 95% two-sided intervals.</summary>
public static class StudentT
{
    // t(0.975, ν) for ν = 1..30, to 4 decimals.
    private static readonly double[] s_table =
    [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
        2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
        2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    ];

    /// <summary>t(0.975, <paramref name="degreesOfFreedom"/>): a table up to 30, beyond that the Cornish–Fisher expansion
    /// around the normal quantile (error below 1e-4).</summary>
    public static double Quantile975(int degreesOfFreedom)
    {
        if (degreesOfFreedom < 1) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "degrees of freedom must be at least 1.");
        if (degreesOfFreedom <= s_table.Length) return s_table[degreesOfFreedom - 1];
        const double z = 1.959963984540054;
        double v = degreesOfFreedom, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
    }
}
