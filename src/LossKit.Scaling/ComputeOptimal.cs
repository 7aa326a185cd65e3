using MathNet.Numerics.Optimization;

namespace LossKit.Scaling;

/// <summary>The compute-optimal allocation at one compute budget C: N_opt, D_opt, D_opt/N_opt and the law's loss there.</summary>
public sealed record FrontierPoint(double Compute, double N, double D, double TokensPerParameter, double Loss);

/// <summary>The frontier at the given budgets: points, the exponents of N_opt ∝ C^a and D_opt ∝ C^b, and their 95%
/// bootstrap intervals (with those of each point's N_opt, D_opt and D/N) when the fit was bootstrapped.</summary>
public sealed record Frontier(IReadOnlyList<FrontierPoint> Points, double ExponentN, double ExponentD, double FlopsPerParameterToken,
    Interval? ExponentNInterval, Interval? ExponentDInterval, IReadOnlyList<(Interval N, Interval D, Interval TokensPerParameter)>? PointIntervals);

/// <summary>
/// The compute-optimal frontier of a law in (N, D) under C = k·N·D (k = 6 by default, the approximation of Kaplan et al.
/// and Hoffmann et al.): for each C, the N that minimises L(N, C/(kN)). <c>chinchilla</c> in closed form (N_opt =
/// G·(C/k)^(β/(α+β)), D_opt = (C/k)^(α/(α+β))/G, G = (αA/(βB))^(1/(α+β)); exponents β/(α+β) and α/(α+β)); any other law
/// over (N, D) (<c>kaplan</c>) by golden-section search in log N, its exponents as the slope of log N_opt between C/10 and 10·C.
/// </summary>
public static class ComputeOptimal
{
    /// <summary>Whether a law has a frontier: its variables are (N, D).</summary>
    public static bool Applies(ScalingLaw law) => law.Variables is ["N", "D"];

    /// <summary>N_opt and D_opt at compute <paramref name="compute"/> for the card's parameters.</summary>
    public static FrontierPoint At(ScalingLaw law, IReadOnlyList<double> parameters, double compute, double flopsPerParameterToken = 6)
    {
        ArgumentNullException.ThrowIfNull(law);
        if (!Applies(law)) throw new ArgumentException($"{law.Spec} is not a law in model size N and data D: it has no compute-optimal frontier.");
        if (!(compute > 0) || !double.IsFinite(compute)) throw new ArgumentException($"Compute {compute} is not a positive finite number.");
        if (!(flopsPerParameterToken > 0)) throw new ArgumentException($"FLOPs per parameter-token {flopsPerParameterToken} is not positive.");
        double[] p = [.. parameters];
        double n, d;
        if (law is ChinchillaLaw) (n, d) = ChinchillaLaw.Optimal(p, compute, flopsPerParameterToken);
        else
        {
            double budget = compute / flopsPerParameterToken;
            double LogLoss(double logN) => LogLossAt(law, p, Math.Exp(logN), budget / Math.Exp(logN));
            double hi = Math.Log(budget);
            var result = GoldenSectionMinimizer.Minimum(ObjectiveFunction.ScalarValue(LogLoss), 0, hi, 1e-10, 1000);
            n = Math.Exp(result.MinimizingPoint);
            d = budget / n;
        }
        return new FrontierPoint(compute, n, d, d / n, Math.Exp(LogLossAt(law, p, n, d)));
    }

    /// <summary>The exponents a, b of N_opt ∝ C^a, D_opt ∝ C^b (at <paramref name="compute"/> for laws other than chinchilla).</summary>
    public static (double N, double D) Exponents(ScalingLaw law, IReadOnlyList<double> parameters, double compute = 1e21, double flopsPerParameterToken = 6)
    {
        ArgumentNullException.ThrowIfNull(law);
        ArgumentNullException.ThrowIfNull(parameters);
        if (law is ChinchillaLaw)
        {
            double alpha = parameters[3], beta = parameters[4];
            return (beta / (alpha + beta), alpha / (alpha + beta));
        }
        var lo = At(law, parameters, compute / 10, flopsPerParameterToken);
        var hi = At(law, parameters, compute * 10, flopsPerParameterToken);
        double a = Math.Log(hi.N / lo.N) / Math.Log(100);
        return (a, 1 - a);
    }

    /// <summary>The frontier of a fit at the given budgets, with bootstrap intervals when the fit has bootstrap samples.</summary>
    public static Frontier Of(FitResult fit, IReadOnlyList<double> budgets, double flopsPerParameterToken = 6)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(budgets);
        var points = budgets.Select(c => At(fit.Law, fit.Values, c, flopsPerParameterToken)).ToArray();
        double reference = budgets.Count > 0 ? budgets[0] : 1e21;
        var (a, b) = Exponents(fit.Law, fit.Values, reference, flopsPerParameterToken);
        if (fit.BootstrapParameters.Count == 0) return new Frontier(points, a, b, flopsPerParameterToken, null, null, null);
        var exps = fit.BootstrapParameters.Select(p => Exponents(fit.Law, p, reference, flopsPerParameterToken)).ToArray();
        var intervals = budgets.Select(c =>
        {
            var at = fit.BootstrapParameters.Select(p => At(fit.Law, p, c, flopsPerParameterToken)).ToArray();
            return (Fitter.Percentiles([.. at.Select(x => x.N)]), Fitter.Percentiles([.. at.Select(x => x.D)]), Fitter.Percentiles([.. at.Select(x => x.TokensPerParameter)]));
        }).ToArray();
        return new Frontier(points, a, b, flopsPerParameterToken, Fitter.Percentiles([.. exps.Select(e => e.N)]), Fitter.Percentiles([.. exps.Select(e => e.D)]), intervals);
    }

    private static double LogLossAt(ScalingLaw law, double[] p, double n, double d) => Math.Log(law.PredictAt(p, n, d));
}

/// <summary>One held-out point of an extrapolation check.</summary>
public sealed record HeldOutPoint(int Row, double Split, double Observed, double Predicted)
{
    /// <summary>|predicted − observed| / observed.</summary>
    public double AbsoluteRelativeError => Math.Abs(Predicted - Observed) / Observed;
}

/// <summary>An extrapolation check: the fit on the rows at or below the threshold, and its predictions for the rest.</summary>
public sealed record ExtrapolationCheck(FitResult Fit, string Column, double Threshold, IReadOnlyList<HeldOutPoint> HeldOut)
{
    /// <summary>The mean absolute relative error over the held-out points (the Hitchhiker's guide's measure).</summary>
    public double MeanAbsoluteRelativeError => HeldOut.Count == 0 ? double.NaN : HeldOut.Average(p => p.AbsoluteRelativeError);
}

/// <summary>
/// Extrapolation checks (Choshen et al. 2024, A hitchhiker's guide to scaling law estimation): fit on the points whose
/// value in a column (compute, model size, or a curve's step) is at most a threshold, predict every point above it, report
/// the absolute relative error of each and their mean.
/// </summary>
public static class Extrapolation
{
    /// <summary>Fits on the rows with <paramref name="split"/>[row] ≤ <paramref name="threshold"/> and predicts the others.</summary>
    public static ExtrapolationCheck Check(ScalingLaw law, LawData data, double[] split, string column, double threshold, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(law);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(split);
        if (split.Length != data.Rows) throw new ArgumentException($"The split column has {split.Length} values for {data.Rows} rows.");
        int[] below = [.. Enumerable.Range(0, data.Rows).Where(r => split[r] <= threshold)];
        int[] above = [.. Enumerable.Range(0, data.Rows).Where(r => split[r] > threshold)];
        if (above.Length == 0) throw new ArgumentException($"No point has {column} above {threshold:G4}: nothing is held out.");
        if (below.Length <= law.ParameterCount)
            throw new ArgumentException($"{law.Spec} has {law.ParameterCount} parameters: it needs at least {law.ParameterCount + 1} points at or below {column} = {threshold:G4}, there are {below.Length}.");
        FitResult fit = Fitter.Fit(law, data, options, below);
        double[] predicted = fit.Fitted();
        return new ExtrapolationCheck(fit, column, threshold, [.. above.Select(r => new HeldOutPoint(r, split[r], data.Y[r], predicted[r]))]);
    }
}
