using LossKit.Core;

namespace LossKit.Scaling;

/// <summary>
/// <c>power</c>: L(x) = E + A·x^(−α) over one variable (N, D or C: option <c>x</c>, which only names it). Fitted as
/// log L = LSE(a − α·log x, e) with a = log A, e = log E, the Chinchilla form with one term.
/// </summary>
public sealed class PowerLaw(string x = "N") : ScalingLaw
{
    public static readonly LossParameter XOption = new("x", ParameterKind.Choice, "the variable: model size N, data D or compute C (names it only)") { Choices = ["N", "D", "C"] };

    public static LawCard Definition { get; } = new()
    {
        Name = "power", Title = "Saturating power law in one variable",
        Formula = "L(x) = E + A·x^(−α)",
        Variables = ["x"],
        Parameters = [Fitted("E", "irreducible loss", 0, true), Fitted("A", "amplitude", 0, true), Fitted("alpha", "exponent α")],
        Options = [XOption],
        Fitting = "θ = (a, e, α), a = log A, e = log E; log L = LSE(a − α·log x, e)",
        Reference = "Kaplan et al. 2020, Scaling laws for neural language models (with an irreducible term as in Hoffmann et al. 2022)",
        Verified = "The one-variable case of the chinchilla card (same log-sum-exp form and start grid: a ∈ {0, 5, …, 25}, e ∈ {−1, −0.5, …, 1}, α ∈ {0, 0.5, …, 2}).",
    };

    public static LawDefinition Registration { get; } = new(Definition, a => new PowerLaw(a.Choice(XOption)));

    public string X { get; } = XOption.Resolve(x);
    public override LawCard Card => Definition;
    public override string Spec => X == "N" ? "power" : $"power(x={X})";
    public override IReadOnlyList<string> Variables => [X];
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(1, "a = log A"), LogOf(0, "e = log E"), Plain(2, "alpha")];

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        Span<double> u = stackalloc double[2], w = stackalloc double[2];
        double[] logX = data.LogX(0);
        for (int i = 0; i < data.Rows; i++)
        {
            double lx = logX[i];
            u[0] = t[0] - t[2] * lx;
            u[1] = t[1];
            logL[i] = LogSumExp(u, w);
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 3, 3);
            g[0] = w[0]; g[1] = w[1]; g[2] = -w[0] * lx;
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data) => Product(ChinchillaLaw.AmplitudeGrid, ChinchillaLaw.EGrid, ChinchillaLaw.ExponentGrid);
}

/// <summary>
/// <c>chinchilla</c>: L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, Approach 3). Fitted as the paper and its
/// replication fit it: log L = LSE(a − α·log N, b − β·log D, e) with a = log A, b = log B, e = log E; Huber (δ = 1e-3)
/// on log L − log y, summed; L-BFGS from the grid α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}.
/// </summary>
public sealed class ChinchillaLaw : ScalingLaw
{
    internal static readonly double[] ExponentGrid = [0, 0.5, 1, 1.5, 2];
    internal static readonly double[] EGrid = [-1, -0.5, 0, 0.5, 1];
    internal static readonly double[] AmplitudeGrid = [0, 5, 10, 15, 20, 25];

    public static LawCard Definition { get; } = new()
    {
        Name = "chinchilla", Title = "Chinchilla parametric loss (Approach 3)",
        Formula = "L(N, D) = E + A/N^α + B/D^β",
        Variables = ["N", "D"],
        Parameters =
        [
            Fitted("E", "irreducible loss", 0, true), Fitted("A", "model-size amplitude", 0, true), Fitted("B", "data amplitude", 0, true),
            Fitted("alpha", "model-size exponent α"), Fitted("beta", "data exponent β"),
        ],
        Fitting = "θ = (a, b, e, α, β), a = log A, b = log B, e = log E; log L = LSE(a − α·log N, b − β·log D, e)",
        Reference = "Hoffmann et al. 2022, Training compute-optimal large language models (Approach 3, Appendix D.2); Besiroglu et al. 2024, Chinchilla scaling: a replication attempt",
        Verified = "Formula, log-sum-exp form, Huber δ = 1e-3 on log-loss residuals (summed), L-BFGS and the start grid checked against the replication's notebook " +
            "(epoch-research/analyzing-chinchilla, data_analysis.ipynb: log_sum_exp, custom_huber_loss, the 'Replicate exactly' grid). Its outlier rule " +
            "(drop the 5 highest losses) is --drop-highest-loss 5.",
    };

    public static LawDefinition Registration { get; } = new(Definition, _ => new ChinchillaLaw());

    public override LawCard Card => Definition;
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(1, "a = log A"), LogOf(2, "b = log B"), LogOf(0, "e = log E"), Plain(3, "alpha"), Plain(4, "beta")];

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        Span<double> u = stackalloc double[3], w = stackalloc double[3];
        double[] logN = data.LogX(0), logD = data.LogX(1);
        for (int i = 0; i < data.Rows; i++)
        {
            double ln = logN[i], ld = logD[i];
            u[0] = t[0] - t[3] * ln;
            u[1] = t[1] - t[4] * ld;
            u[2] = t[2];
            logL[i] = LogSumExp(u, w);
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 5, 5);
            g[0] = w[0]; g[1] = w[1]; g[2] = w[2]; g[3] = -w[0] * ln; g[4] = -w[1] * ld;
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data) => Product(AmplitudeGrid, AmplitudeGrid, EGrid, ExponentGrid, ExponentGrid);

    /// <summary>The compute-optimal allocation in closed form (Hoffmann et al. 2022, eq. 4) under C = k·N·D:
    /// N_opt = G·(C/k)^(β/(α+β)), D_opt = (C/k)^(α/(α+β))/G, G = (αA/(βB))^(1/(α+β)).</summary>
    public static (double N, double D) Optimal(ReadOnlySpan<double> p, double compute, double k)
    {
        double a = p[1], b = p[2], alpha = p[3], beta = p[4];
        double g = Math.Pow(alpha * a / (beta * b), 1 / (alpha + beta));
        double c = compute / k;
        return (g * Math.Pow(c, beta / (alpha + beta)), Math.Pow(c, alpha / (alpha + beta)) / g);
    }
}

/// <summary>
/// <c>kaplan</c>: L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D (Kaplan et al. 2020, eq. 1.5). No irreducible term.
/// Fitted as log L = α_D·LSE((α_N/α_D)(n_c − log N), d_c − log D), n_c = log N_c, d_c = log D_c.
/// </summary>
public sealed class KaplanLaw : ScalingLaw
{
    public static LawCard Definition { get; } = new()
    {
        Name = "kaplan", Title = "Kaplan et al. joint law in model size and data",
        Formula = "L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D",
        Variables = ["N", "D"],
        Parameters =
        [
            Fitted("N_c", "model-size scale", 0, true), Fitted("D_c", "data scale", 0, true),
            Fitted("alpha_N", "model-size exponent α_N"), Fitted("alpha_D", "data exponent α_D", 0, true),
        ],
        Fitting = "θ = (n_c, d_c, α_N, α_D), n_c = log N_c, d_c = log D_c; log L = α_D·LSE((α_N/α_D)(n_c − log N), d_c − log D); " +
            "start grid n_c, d_c ∈ {20, 25, 30, 35}, α_N, α_D ∈ {0.05, 0.1, 0.2, 0.4}",
        Reference = "Kaplan et al. 2020, Scaling laws for neural language models, eq. (1.5)",
        Verified = "Formula as the issue and catalog section K state it (eq. 1.5 of the paper); the fit is LossKit's (the paper fits it differently, on early-stopped runs).",
    };

    public static LawDefinition Registration { get; } = new(Definition, _ => new KaplanLaw());

    public override LawCard Card => Definition;
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(0, "n_c = log N_c"), LogOf(1, "d_c = log D_c"), Plain(2, "alpha_N"), Plain(3, "alpha_D")];

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        Span<double> u = stackalloc double[2], w = stackalloc double[2];
        double[] logN = data.LogX(0), logD = data.LogX(1);
        double aN = t[2], aD = t[3], r = aN / aD;
        for (int i = 0; i < data.Rows; i++)
        {
            double q = t[0] - logN[i];
            u[0] = r * q;
            u[1] = t[1] - logD[i];
            double s = LogSumExp(u, w);
            logL[i] = aD > 0 ? aD * s : double.NaN;
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 4, 4);
            g[0] = w[0] * aN;
            g[1] = aD * w[1];
            g[2] = w[0] * q;
            g[3] = s - w[0] * r * q;
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data)
    {
        double[] scales = [20, 25, 30, 35], exponents = [0.05, 0.1, 0.2, 0.4];
        return Product(scales, scales, exponents, exponents);
    }
}

/// <summary>
/// <c>loss_to_loss</c>: L_y = K·(L_x − E_x)^κ + E_y (Brandfonbrener et al. 2024): one data set's loss from another's.
/// Fitted as log L_y = LSE(k + κ·log(L_x − E_x), e_y), k = log K, e_x = log E_x, e_y = log E_y; rows with L_x ≤ E_x are
/// outside the law.
/// </summary>
public sealed class LossToLossLaw : ScalingLaw
{
    public static LawCard Definition { get; } = new()
    {
        Name = "loss_to_loss", Title = "Loss-to-loss prediction across data sets",
        Formula = "L_y = K·(L_x − E_x)^κ + E_y",
        Variables = ["L_x"],
        Parameters =
        [
            Fitted("K", "scale", 0, true), Fitted("kappa", "exponent κ"),
            Fitted("E_x", "irreducible loss of the x data set (below every L_x)", 0, true), Fitted("E_y", "irreducible loss of the y data set", 0, true),
        ],
        Fitting = "θ = (k, κ, e_x, e_y), k = log K, e_x = log E_x, e_y = log E_y; log L_y = LSE(k + κ·log(L_x − E_x), e_y); " +
            "starts: E_x, E_y ∈ {0.2, 0.5, 0.8}·(smallest loss), κ ∈ {0.5, 1, 2}, K through the mean point",
        Reference = "Brandfonbrener et al. 2024, Loss-to-loss prediction: scaling laws for all datasets",
        Verified = "Formula as the issue and catalog section K state it (the paper's train-to-train and train-to-test form, E_x and E_y the two irreducible losses).",
    };

    public static LawDefinition Registration { get; } = new(Definition, _ => new LossToLossLaw());

    public override LawCard Card => Definition;
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(0, "k = log K"), Plain(1, "kappa"), LogOf(2, "e_x = log E_x"), LogOf(3, "e_y = log E_y")];

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        Span<double> u = stackalloc double[2], w = stackalloc double[2];
        double[] lx = data.X[0];
        double ex = Math.Exp(t[2]);
        for (int i = 0; i < data.Rows; i++)
        {
            double d = lx[i] - ex;
            if (!(d > 0))
            {
                logL[i] = double.NaN;
                if (!jacobian.IsEmpty) jacobian.Slice(i * 4, 4).Clear();
                continue;
            }
            double ld = Math.Log(d);
            u[0] = t[0] + t[1] * ld;
            u[1] = t[3];
            logL[i] = LogSumExp(u, w);
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 4, 4);
            g[0] = w[0]; g[1] = w[0] * ld; g[2] = -w[0] * t[1] * ex / d; g[3] = w[1];
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data)
    {
        double minX = data.X[0].Min(), minY = data.Y.Min(), meanX = data.X[0].Average(), meanY = data.Y.Average();
        var starts = new List<double[]>();
        foreach (double fx in (double[])[0.2, 0.5, 0.8])
            foreach (double fy in (double[])[0.2, 0.5, 0.8])
                foreach (double kappa in (double[])[0.5, 1, 2])
                {
                    double ex = fx * minX, ey = fy * minY;
                    double k = Math.Log((meanY - ey) / Math.Pow(meanX - ex, kappa));
                    starts.Add([k, kappa, Math.Log(ex), Math.Log(ey)]);
                }
        return starts;
    }
}

/// <summary>
/// <c>broken_power</c>: a smoothly broken power law with one break (Caballero et al. 2022, eq. 1 with n = 1):
/// L(x) = a + b·x^(−c0)·(1 + (x/d1)^(1/f1))^(−c1·f1). Below the break the slope is −c0, above it −(c0 + c1); f1 sets how
/// sharp the break is. Fitted as log L = LSE(log a, log b − c0·log x − c1·f1·softplus((log x − log d1)/f1)).
/// </summary>
public sealed class BrokenPowerLaw : ScalingLaw
{
    public static LawCard Definition { get; } = new()
    {
        Name = "broken_power", Title = "Broken neural scaling law, one break",
        Formula = "L(x) = a + b·x^(−c0)·(1 + (x/d1)^(1/f1))^(−c1·f1)",
        Variables = ["x"],
        Parameters =
        [
            Fitted("a", "limit as x → ∞ (here > 0: the law is fitted in logs)", 0, true), Fitted("b", "amplitude", 0, true),
            Fitted("c0", "slope of the first segment"), Fitted("c1", "change of slope at the break"),
            Fitted("d1", "where the break is", 0, true), Fitted("f1", "sharpness of the break (smaller: sharper)", 0, true),
        ],
        Fitting = "θ = (log a, log b, c0, c1, log d1, log f1); log L = LSE(log a, log b − c0·log x − c1·f1·softplus((log x − log d1)/f1)); " +
            "starts: a ∈ {0.3, 0.7}·(smallest loss), c0 ∈ {0.1, 0.5}, c1 ∈ {0.1, 0.5, 1}, d1 at the 25th/50th/75th percentile of x, f1 ∈ {0.3, 1, 3}, b through the first point",
        Reference = "Caballero, Gupta, Rish & Krueger 2022, Broken neural scaling laws (eq. 1, n = 1 break)",
        Verified = "The form y = a + (b·x^(−c0))·Π_i (1 + (x/d_i)^(1/f_i))^(−c_i·f_i) with one factor, as the paper's eq. 1 writes it; a is kept positive (LossKit fits in logs).",
    };

    public static LawDefinition Registration { get; } = new(Definition, _ => new BrokenPowerLaw());

    public override LawCard Card => Definition;
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(0, "log a"), LogOf(1, "log b"), Plain(2, "c0"), Plain(3, "c1"), LogOf(4, "log d1"), LogOf(5, "log f1")];

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        Span<double> u = stackalloc double[2], w = stackalloc double[2];
        double[] logX = data.LogX(0);
        double c0 = t[2], c1 = t[3], ld = t[4], f = Math.Exp(t[5]);
        for (int i = 0; i < data.Rows; i++)
        {
            double lx = logX[i];
            double z = (lx - ld) / f;
            double sp = Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            double sig = 1 / (1 + Math.Exp(-z));
            u[0] = t[0];
            u[1] = t[1] - c0 * lx - c1 * f * sp;
            logL[i] = LogSumExp(u, w);
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 6, 6);
            g[0] = w[0];
            g[1] = w[1];
            g[2] = -w[1] * lx;
            g[3] = -w[1] * f * sp;
            g[4] = w[1] * c1 * sig;
            g[5] = w[1] * f * (-c1 * sp + c1 * sig * z);
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data)
    {
        double[] lx = [.. data.X[0].Select(v => Math.Log(v)).Order()];
        double Quantile(double q) => lx[(int)Math.Round(q * (lx.Length - 1))];
        int first = Array.IndexOf(data.X[0], data.X[0].Min());
        double x0 = Math.Log(data.X[0][first]), y0 = data.Y[first], minY = data.Y.Min();
        var starts = new List<double[]>();
        foreach (double fa in (double[])[0.3, 0.7])
            foreach (double c0 in (double[])[0.1, 0.5])
                foreach (double c1 in (double[])[0.1, 0.5, 1])
                    foreach (double q in (double[])[0.25, 0.5, 0.75])
                        foreach (double f in (double[])[0.3, 1, 3])
                        {
                            double a = fa * minY, ld = Quantile(q), z = (x0 - ld) / f;
                            double sp = Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                            double lb = Math.Log(Math.Max(y0 - a, 1e-6 * y0)) + c0 * x0 + c1 * f * sp;
                            starts.Add([Math.Log(a), lb, c0, c1, ld, Math.Log(f)]);
                        }
        return starts;
    }
}
