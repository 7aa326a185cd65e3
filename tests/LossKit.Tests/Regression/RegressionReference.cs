using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.Regression;

/// <summary>
/// Slow, obviously-correct references for the regression losses PyTorch does not have: each loss's formula written out
/// in double with <see cref="Math"/> (no stabilisation, no vectors), and gradients by Richardson-extrapolated central
/// differences of that formula.
/// </summary>
internal static class RegressionReference
{
    /// <summary>ℓ(x, y, p, q) by spec name (p, q: the predicted parameters where the spec has them).</summary>
    public static Func<double, double, double, double, double> Of(string spec)
    {
        ILoss loss = LossRegistry.Create(spec);
        var v = loss.ParameterValues.ToDictionary(p => p.Parameter.Name, p => p.Text);
        double N(string name) => double.Parse(v[name]!.Trim('[', ']'), System.Globalization.CultureInfo.InvariantCulture);
        string name = loss.Card.Name;
        return name switch
        {
            "log_cosh" => (x, y, _, _) => Math.Log(Math.Cosh(x - y)),
            "quantile" => (x, y, _, _) => Math.Max(N("tau") * (y - x), (N("tau") - 1) * (y - x)),
            "eps_insensitive" => (x, y, _, _) => Math.Max(0, Math.Abs(x - y) - N("eps")),
            "mape" => (x, y, _, _) => Math.Abs(x - y) / Math.Max(Math.Abs(y), N("eps")),
            "smape" => (x, y, _, _) => 2 * Math.Abs(x - y) / (Math.Abs(x) + Math.Abs(y)),
            "msle" => (x, y, _, _) => Math.Pow(Math.Log(1 + x) - Math.Log(1 + y), 2),
            "cauchy" => (x, y, _, _) => N("c") * N("c") / 2 * Math.Log(1 + Math.Pow((x - y) / N("c"), 2)),
            "welsch" => (x, y, _, _) => N("c") * N("c") / 2 * (1 - Math.Exp(-Math.Pow((x - y) / N("c"), 2))),
            "tukey" => (x, y, _, _) => Math.Abs(x - y) <= N("c") ? N("c") * N("c") / 6 * (1 - Math.Pow(1 - Math.Pow((x - y) / N("c"), 2), 3)) : N("c") * N("c") / 6,
            "barron" => (x, y, _, _) => Barron(x - y, v["limit"] switch { "minus_inf" => double.NegativeInfinity, "plus_inf" => double.PositiveInfinity, _ => N("alpha") }, N("c")),
            "laplace_nll" => (x, y, b, _) => Math.Log(b) + Math.Abs(x - y) / b + (v["full"] == "true" ? Math.Log(2) : 0),
            "gg_nll" => (x, y, p, q) =>
            {
                double a = v["predict"] is "alpha" or "both" ? p : N("alpha");
                double b = v["predict"] switch { "beta" => p, "both" => q, _ => N("beta") };
                return Math.Pow(Math.Abs(x - y) / a, b) - Math.Log(b) + Math.Log(2 * a) + LogGamma(1 / b);
            },
            "tweedie" => (x, y, _, _) =>
            {
                double p = N("power"), mu = Math.Exp(x);
                return 2 * (Math.Pow(y, 2 - p) / ((1 - p) * (2 - p)) - y * Math.Pow(mu, 1 - p) / (1 - p) + Math.Pow(mu, 2 - p) / (2 - p));
            },
            "gamma_dev" => (x, y, _, _) => 2 * (y / Math.Exp(x) - Math.Log(y / Math.Exp(x)) - 1),
            "itakura_saito" => v["form"] == "ratio"
                ? (x, y, _, _) => y / x - Math.Log(y / x) - 1
                : (x, y, _, _) => Math.Exp(N("beta") * (x - y)) - 1 - N("beta") * (x - y),
            "madl" => (x, y, _, _) => -Math.Sign(x * y) * Math.Abs(y),
            "madl_smooth" => (x, y, _, _) => -Math.Tanh(N("k") * x) * y,
            _ => throw new ArgumentException($"no reference for {name}"),
        };
    }

    /// <summary>Barron 2019, eq. 1–3, with the limits as the paper writes them.</summary>
    private static double Barron(double r, double alpha, double c)
    {
        double z = r / c * (r / c);
        if (alpha == 2) return z / 2;
        if (alpha == 0) return Math.Log(z / 2 + 1);
        if (double.IsNegativeInfinity(alpha)) return 1 - Math.Exp(-z / 2);
        if (double.IsPositiveInfinity(alpha)) return Math.Exp(z / 2) - 1;
        double b = Math.Abs(alpha - 2);
        return b / alpha * (Math.Pow(z / b + 1, alpha / 2) - 1);
    }

    /// <summary>log Γ(x), x &gt; 0, by the Lanczos approximation (g = 7, n = 9; Numerical Recipes / Wikipedia's coefficients).</summary>
    public static double LogGamma(double x)
    {
        double[] g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        x -= 1;
        double a = g[0], t = x + 7.5;
        for (int i = 1; i < 9; i++) a += g[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }

    /// <summary>∂f/∂x_i by central differences with steps h and h/2, Richardson-extrapolated.</summary>
    public static double Derivative(Func<double, double> f, double x)
    {
        double h = 1e-4 * Math.Max(1, Math.Abs(x));
        double D(double s) => (f(x + s) - f(x - s)) / (2 * s);
        return (4 * D(h / 2) - D(h)) / 3;
    }
}
