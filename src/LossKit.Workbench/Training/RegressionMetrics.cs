namespace LossKit.Workbench.Training;

/// <summary>
/// A predictive distribution per test row, in the target's original units: its mean, log density, CDF, CRPS and the
/// half-width of its central p interval. Every one here is symmetric about its mean, so the central p interval is
/// mean ± <see cref="HalfWidth"/> and y lies in it exactly when |2F(y) − 1| ≤ p.
/// </summary>
public abstract class Predictive(double[] mean)
{
    /// <summary>The predicted means (the point predictions).</summary>
    public double[] Mean { get; } = mean;

    public int Count => Mean.Length;

    /// <summary>log p(y) of row <paramref name="i"/>.</summary>
    public abstract double LogPdf(int i, double y);

    /// <summary>P(Y ≤ y) of row <paramref name="i"/>.</summary>
    public abstract double Cdf(int i, double y);

    /// <summary>The continuous ranked probability score ∫(F(x) − 1{x ≥ y})² dx of row <paramref name="i"/>.</summary>
    public abstract double Crps(int i, double y);

    /// <summary>h with P(|Y − mean| ≤ h) = p, for row <paramref name="i"/>.</summary>
    public abstract double HalfWidth(int i, double p);
}

/// <summary>N(μ, σ²) per row. CRPS in closed form (Gneiting &amp; Raftery 2007): σ[z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ.</summary>
public sealed class GaussianPredictive(double[] mean, double[] sigma) : Predictive(mean)
{
    public double[] Sigma { get; } = sigma;

    public override double LogPdf(int i, double y)
    {
        double z = (y - Mean[i]) / Sigma[i];
        return -0.5 * z * z - Math.Log(Sigma[i]) - 0.5 * Math.Log(2 * Math.PI);
    }

    public override double Cdf(int i, double y) => SpecialMath.NormalCdf((y - Mean[i]) / Sigma[i]);

    public override double Crps(int i, double y)
    {
        double z = (y - Mean[i]) / Sigma[i];
        return Sigma[i] * (z * (2 * SpecialMath.NormalCdf(z) - 1) + 2 * Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI) - 1 / Math.Sqrt(Math.PI));
    }

    public override double HalfWidth(int i, double p) => Sigma[i] * SpecialMath.NormalQuantile(0.5 + p / 2);
}

/// <summary>Laplace(μ, b) per row. CRPS in closed form: |y − μ| + b·exp(−|y − μ|/b) − 3b/4.</summary>
public sealed class LaplacePredictive(double[] mean, double[] scale) : Predictive(mean)
{
    public double[] Scale { get; } = scale;

    public override double LogPdf(int i, double y) => -Math.Abs(y - Mean[i]) / Scale[i] - Math.Log(2 * Scale[i]);

    public override double Cdf(int i, double y)
    {
        double r = (y - Mean[i]) / Scale[i];
        return r < 0 ? 0.5 * Math.Exp(r) : 1 - 0.5 * Math.Exp(-r);
    }

    public override double Crps(int i, double y)
    {
        double a = Math.Abs(y - Mean[i]), b = Scale[i];
        return a + b * Math.Exp(-a / b) - 0.75 * b;
    }

    public override double HalfWidth(int i, double p) => -Scale[i] * Math.Log(1 - p);
}

/// <summary>
/// The generalized Gaussian of <c>gg_nll</c> per row: density β/(2αΓ(1/β))·exp(−(|y − μ|/α)^β), CDF ½ + ½·sign(r)·P(1/β,
/// (|r|/α)^β) (P the regularised lower incomplete gamma). Its CRPS has no closed form here: it is integrated numerically
/// (trapezoid rule on 400 intervals each side of y, over μ ± 12 standard deviations widened to take in y); the half-width by bisection.
/// </summary>
public sealed class GeneralizedGaussianPredictive(double[] mean, double[] alpha, double[] beta) : Predictive(mean)
{
    public double[] Alpha { get; } = alpha;
    public double[] Beta { get; } = beta;

    public override double LogPdf(int i, double y)
    {
        double a = Alpha[i], b = Beta[i];
        return Math.Log(b) - Math.Log(2 * a) - SpecialMath.LogGamma(1 / b) - Math.Pow(Math.Abs(y - Mean[i]) / a, b);
    }

    public override double Cdf(int i, double y)
    {
        double r = y - Mean[i];
        double p = SpecialMath.GammaP(1 / Beta[i], Math.Pow(Math.Abs(r) / Alpha[i], Beta[i]));
        return r < 0 ? 0.5 - 0.5 * p : 0.5 + 0.5 * p;
    }

    /// <summary>The standard deviation α·√(Γ(3/β)/Γ(1/β)).</summary>
    public double Std(int i) => Alpha[i] * Math.Exp(0.5 * (SpecialMath.LogGamma(3 / Beta[i]) - SpecialMath.LogGamma(1 / Beta[i])));

    public override double Crps(int i, double y)
    {
        double sd = Std(i), lo = Math.Min(Mean[i] - 12 * sd, y - sd), hi = Math.Max(Mean[i] + 12 * sd, y + sd);
        return Trapezoid(lo, y, x => Cdf(i, x) is var f ? f * f : 0) + Trapezoid(y, hi, x => Cdf(i, x) is var f ? (1 - f) * (1 - f) : 0);
    }

    /// <summary>∫ g over [a, b] by the trapezoid rule on 400 intervals.</summary>
    private static double Trapezoid(double a, double b, Func<double, double> g)
    {
        const int n = 400;
        double h = (b - a) / n, sum = 0.5 * (g(a) + g(b));
        for (int k = 1; k < n; k++) sum += g(a + k * h);
        return sum * h;
    }

    public override double HalfWidth(int i, double p)
    {
        double lo = 0, hi = Alpha[i];
        while (2 * Cdf(i, Mean[i] + hi) - 1 < p && hi < 1e300) hi *= 2;
        for (int k = 0; k < 80; k++)
        {
            double mid = 0.5 * (lo + hi);
            if (2 * Cdf(i, Mean[i] + mid) - 1 < p) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }
}

/// <summary>The test metrics of a regression run and the calibration data behind its plots.</summary>
/// <param name="Test">rmse, mae, nll, crps, coverage_90, width_90.</param>
/// <param name="Pit">The probability integral transform F(y) of every test row.</param>
/// <param name="Calibration">(nominal p, observed coverage of the central p intervals) at <see cref="RegressionMetrics.CalibrationLevels"/>.</param>
public sealed record RegressionEvaluation(IReadOnlyDictionary<string, double> Test, double[] Pit, IReadOnlyList<(double Nominal, double Observed)> Calibration);

/// <summary>The regression workbench's test metrics, in the target's original units.</summary>
public static class RegressionMetrics
{
    /// <summary>The metric names, in report order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["rmse", "mae", "nll", "crps", "coverage_90", "width_90"];

    /// <summary>Nominal levels of the calibration curve.</summary>
    public static IReadOnlyList<double> CalibrationLevels { get; } = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

    /// <summary>
    /// RMSE and MAE of the means; NLL = mean −log p(y); mean CRPS; coverage_90 and width_90: the fraction of targets in
    /// the central 90% interval and its mean width (from <paramref name="interval"/> instead when given: a quantile
    /// model's own 5% and 95% outputs per row).
    /// </summary>
    public static RegressionEvaluation Evaluate(ReadOnlySpan<double> y, Predictive p, (double[] Low, double[] High)? interval = null)
    {
        int n = y.Length;
        if (n != p.Count) throw new ArgumentException($"{n} targets for {p.Count} predictions.");
        double se = 0, ae = 0, nll = 0, crps = 0, covered = 0, width = 0;
        var pit = new double[n];
        for (int i = 0; i < n; i++)
        {
            double r = y[i] - p.Mean[i];
            se += r * r;
            ae += Math.Abs(r);
            nll -= p.LogPdf(i, y[i]);
            crps += p.Crps(i, y[i]);
            pit[i] = p.Cdf(i, y[i]);
            if (interval is { } iv)
            {
                if (y[i] >= iv.Low[i] && y[i] <= iv.High[i]) covered++;
                width += iv.High[i] - iv.Low[i];
            }
            else
            {
                double h = p.HalfWidth(i, 0.9);
                if (Math.Abs(r) <= h) covered++;
                width += 2 * h;
            }
        }
        var test = new Dictionary<string, double>
        {
            ["rmse"] = Math.Sqrt(se / n), ["mae"] = ae / n, ["nll"] = nll / n, ["crps"] = crps / n, ["coverage_90"] = covered / n, ["width_90"] = width / n,
        };
        var calibration = CalibrationLevels.Select(level => (level, pit.Count(u => Math.Abs(2 * u - 1) <= level) / (double)n)).ToList();
        return new RegressionEvaluation(test, pit, calibration);
    }

    /// <summary>Counts of <paramref name="pit"/> in <paramref name="bins"/> equal bins of [0, 1].</summary>
    public static int[] PitHistogram(IEnumerable<double> pit, int bins = 10)
    {
        var counts = new int[bins];
        foreach (double u in pit) counts[Math.Clamp((int)(u * bins), 0, bins - 1)]++;
        return counts;
    }
}

/// <summary>Scalar special functions of the metrics and the noise.</summary>
internal static class SpecialMath
{
    /// <summary>Φ(z) through erfc (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    public static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>Φ⁻¹(p) (Acklam's rational approximation, relative error below 1.2e-9), 0 &lt; p &lt; 1.</summary>
    public static double NormalQuantile(double p)
    {
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (p < low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - low) return -NormalQuantile(1 - p);
        double s = p - 0.5, r = s * s;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * s / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }

    /// <summary>log Γ(x), x &gt; 0 (Lanczos, g = 7, 9 terms).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        double[] g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        x -= 1;
        double sum = g[0], t = x + 7.5;
        for (int k = 1; k < 9; k++) sum += g[k] / (x + k);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    /// <summary>The regularised lower incomplete gamma P(a, x) (series below a + 1, continued fraction above).</summary>
    public static double GammaP(double a, double x)
    {
        if (x <= 0) return 0;
        if (double.IsPositiveInfinity(x)) return 1;
        double lead = a * Math.Log(x) - x - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1 / a, sum = term;
            for (int n = 1; n < 500; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-15) break;
            }
            return Math.Min(1, sum * Math.Exp(lead));
        }
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int n = 1; n < 500; n++)
        {
            double an = -n * (n - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return Math.Max(0, 1 - Math.Exp(lead) * h);
    }
}
