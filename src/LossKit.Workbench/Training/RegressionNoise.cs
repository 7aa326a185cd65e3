using System.Globalization;
using LossKit.Workbench.Data;

namespace LossKit.Workbench.Training;

/// <summary>What the noise did to the training targets: rows changed, the realised fraction, and the root mean square
/// of the change in the target's units.</summary>
public sealed record RegressionNoiseReport(string Spec, int Changed, int Rows, double RealisedFraction, double RealisedRms);

/// <summary>
/// Noise on the training targets of a regression run (never on the test split), spec <c>none</c>,
/// <c>outliers:F</c>, <c>student_t:NU:S</c> or <c>gaussian:S</c>. Scales are in units of the clean training targets'
/// standard deviation sd (and m is their mean):
/// <list type="bullet">
/// <item><c>outliers:F</c>: each training target independently, with probability F, is replaced by a gross outlier
/// m ± u·sd, the sign a fair coin and u uniform on [3, 10] (so it lies 3 to 10 sd from the mean, on either side).</item>
/// <item><c>student_t:NU:S</c>: every target gets S·sd·t added, t Student-t with NU degrees of freedom (heavy-tailed).</item>
/// <item><c>gaussian:S</c>: every target gets S·sd·z added, z standard normal.</item>
/// </list>
/// Draws come from the run's seed (purpose "regression-noise"), so a seed and a split give the same noise.
/// </summary>
public static class RegressionNoise
{
    /// <summary>The outliers' distance from the mean, in standard deviations: uniform on [<see cref="OutlierMin"/>, <see cref="OutlierMax"/>].</summary>
    public const double OutlierMin = 3, OutlierMax = 10;

    /// <summary>Checks <paramref name="spec"/>; returns (kind, a, b): outliers (F, 0), student_t (NU, S), gaussian (S, 0), none (0, 0).</summary>
    public static (string Kind, double A, double B) Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string[] parts = spec.Trim().Split(':');
        double Num(int k, string what, double min, bool exclusive, double max = double.PositiveInfinity)
        {
            if (!double.TryParse(parts[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(exclusive ? v > min : v >= min) || !(v <= max))
                throw new ArgumentException($"--noise {spec}: {what} '{parts[k]}' must be a number {(exclusive ? ">" : "≥")} {min}" + (double.IsFinite(max) ? $" and ≤ {max}" : "") + ".");
            return v;
        }
        return (parts[0], parts.Length) switch
        {
            ("none", 1) => ("none", 0, 0),
            ("outliers", 2) => ("outliers", Num(1, "the fraction", 0, false, 1), 0),
            ("student_t", 3) => ("student_t", Num(1, "nu", 0, true), Num(2, "the scale", 0, false)),
            ("gaussian", 2) => ("gaussian", Num(1, "the scale", 0, false), 0),
            _ => throw new ArgumentException($"--noise {spec}: expected none, outliers:F, student_t:NU:S or gaussian:S (S in standard deviations of the training targets)."),
        };
    }

    /// <summary>Applies <paramref name="spec"/> to <paramref name="targets"/> in place.</summary>
    public static RegressionNoiseReport Apply(Span<float> targets, string spec, int seed)
    {
        var (kind, a, b) = Parse(spec);
        int n = targets.Length;
        if (kind == "none" || n == 0) return new RegressionNoiseReport(spec, 0, n, 0, 0);
        double mean = 0, ss = 0;
        foreach (float t in targets) mean += t;
        mean /= n;
        foreach (float t in targets) ss += (t - mean) * (t - mean);
        double sd = Math.Sqrt(ss / Math.Max(1, n - 1));
        var rng = SeededRng.ForPurpose(seed, "regression-noise");
        int changed = 0;
        double sq = 0;
        for (int i = 0; i < n; i++)
        {
            double old = targets[i], value = old;
            switch (kind)
            {
                case "outliers":
                    if (rng.NextDouble() < a)
                    {
                        double u = OutlierMin + (OutlierMax - OutlierMin) * rng.NextDouble();
                        value = mean + (rng.NextDouble() < 0.5 ? -1 : 1) * u * sd;
                    }
                    break;
                case "student_t":
                    value = old + b * sd * StudentT(rng, a);
                    break;
                default:
                    value = old + a * sd * Normal(rng);
                    break;
            }
            targets[i] = (float)value;
            if (targets[i] != old) changed++;
            sq += (targets[i] - old) * (targets[i] - old);
        }
        return new RegressionNoiseReport(spec, changed, n, (double)changed / n, Math.Sqrt(sq / n));
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    internal static double Normal(SeededRng rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A Student-t draw with <paramref name="nu"/> degrees of freedom: z / √(χ²_ν/ν), χ²_ν = 2·Gamma(ν/2).</summary>
    internal static double StudentT(SeededRng rng, double nu) => Normal(rng) / Math.Sqrt(2 * Gamma(rng, nu / 2) / nu);

    /// <summary>A Gamma(shape, 1) draw (Marsaglia &amp; Tsang 2000; shape &lt; 1 through Gamma(shape + 1)·U^{1/shape}).</summary>
    internal static double Gamma(SeededRng rng, double shape)
    {
        if (shape < 1) return Gamma(rng, shape + 1) * Math.Pow(1 - rng.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do { x = Normal(rng); v = 1 + c * x; } while (v <= 0);
            v = v * v * v;
            double u = 1 - rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
