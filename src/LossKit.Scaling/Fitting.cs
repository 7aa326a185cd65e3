using LossKit.Core;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace LossKit.Scaling;

/// <summary>What is minimised over the fitted rows.</summary>
public enum FitObjective
{
    /// <summary>Σ_i Huber_δ(log L_i − log y_i): the Chinchilla objective (Hoffmann et al. 2022, δ = 1e-3), robust to outliers in log-loss.</summary>
    Huber,
    /// <summary>Σ_i ½(L_i − y_i)²: plain least squares on the loss itself (what scipy's curve_fit minimises).</summary>
    LeastSquares,
}

/// <summary>How to fit. Defaults: the Chinchilla objective (Huber, δ = 1e-3), the law's start grid, no bootstrap.</summary>
public sealed record FitOptions
{
    public FitObjective Objective { get; init; } = FitObjective.Huber;
    /// <summary>Huber's δ on log-loss residuals.</summary>
    public double Delta { get; init; } = 1e-3;
    /// <summary>Bootstrap resamples of the fitted points (0: none); each is refitted from the best fit, as the replication did.</summary>
    public int Bootstrap { get; init; }
    /// <summary>Seed of the bootstrap's draws (System.Random, so the same seed gives the same intervals).</summary>
    public int Seed { get; init; }
    /// <summary>Leave out the K points with the highest loss before fitting (the replication drops 5).</summary>
    public int DropHighestLoss { get; init; }
    /// <summary>Starts of L-BFGS in θ; null: the law's <see cref="ScalingLaw.StartGrid"/>.</summary>
    public IReadOnlyList<double[]>? Grid { get; init; }
    /// <summary>L-BFGS iterations per start.</summary>
    public int MaxIterations { get; init; } = 1000;

    internal void Check()
    {
        if (!(Delta > 0) || !double.IsFinite(Delta)) throw new ArgumentException($"delta = {Delta} is out of range: expected a positive number.");
        if (Bootstrap < 0) throw new ArgumentException($"bootstrap = {Bootstrap} is out of range: expected 0 or more resamples.");
        if (DropHighestLoss < 0) throw new ArgumentException($"drop-highest-loss = {DropHighestLoss} is out of range: expected 0 or more points.");
        if (MaxIterations < 1) throw new ArgumentException($"max iterations = {MaxIterations} is out of range: expected at least 1.");
    }
}

/// <summary>A 95% interval (2.5th and 97.5th percentiles of the bootstrap).</summary>
public readonly record struct Interval(double Low, double High);

/// <summary>A fitted law: parameters by the card's names, the objective, what was left out, bootstrap intervals and warnings.</summary>
public sealed class FitResult
{
    internal FitResult(ScalingLaw law, LawData data, FitOptions options, int[] used, int[] dropped, double[] theta, double objective,
        int starts, IReadOnlyList<double[]> bootstrapTheta, IReadOnlyList<string> warnings)
    {
        Law = law; Data = data; Options = options; Used = used; Dropped = dropped; Theta = theta; Objective = objective; Starts = starts;
        BootstrapTheta = bootstrapTheta; Warnings = warnings;
        Values = law.ToParameters(theta);
        BootstrapParameters = [.. bootstrapTheta.Select(t => law.ToParameters(t))];
        var names = law.Card.Parameters.Select(p => p.Name).ToArray();
        Parameters = names.Select((n, i) => (n, Values[i])).ToDictionary(x => x.n, x => x.Item2);
        Intervals = bootstrapTheta.Count == 0 ? new Dictionary<string, Interval>()
            : names.Select((n, i) => (n, Fitter.Percentiles([.. BootstrapParameters.Select(p => p[i])]))).ToDictionary(x => x.n, x => x.Item2);
    }

    public ScalingLaw Law { get; }
    /// <summary>Every row given (fitted or not).</summary>
    public LawData Data { get; }
    public FitOptions Options { get; }
    /// <summary>Rows the law was fitted to.</summary>
    public IReadOnlyList<int> Used { get; }
    /// <summary>Rows left out by <see cref="FitOptions.DropHighestLoss"/>.</summary>
    public IReadOnlyList<int> Dropped { get; }
    /// <summary>The best fit in fitting coordinates.</summary>
    public double[] Theta { get; }
    /// <summary>The best fit in the card's order.</summary>
    public double[] Values { get; }
    public IReadOnlyDictionary<string, double> Parameters { get; }
    /// <summary>The minimised objective at the best fit.</summary>
    public double Objective { get; }
    /// <summary>How many L-BFGS starts were run.</summary>
    public int Starts { get; }
    public IReadOnlyList<double[]> BootstrapTheta { get; }
    /// <summary>Each bootstrap fit's parameters, in the card's order.</summary>
    public IReadOnlyList<double[]> BootstrapParameters { get; }
    /// <summary>95% bootstrap intervals by parameter name (empty without bootstrap).</summary>
    public IReadOnlyDictionary<string, Interval> Intervals { get; }
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The fitted law at every row of <see cref="Data"/> (a curve law: along the logged schedule).</summary>
    public double[] Fitted() => Law.PredictTheta(Data, Theta);

    /// <summary>The fitted law's value at one point of a point law (no interval).</summary>
    public double At(params double[] x) => Law.PredictAtTheta(Theta, x);

    /// <summary>The fitted law at one point of a point law (values of <see cref="ScalingLaw.Variables"/> in order), with the
    /// 95% bootstrap interval of the prediction when the fit was bootstrapped.</summary>
    public (double Value, Interval? Interval) Predict(params double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        foreach (double v in x)
            if (!(v > 0) || !double.IsFinite(v)) throw new ArgumentException($"Cannot predict at {LossParameter.FormatNumber(v)}: every variable must be a positive finite number.");
        double value = Law.PredictAtTheta(Theta, x);
        if (BootstrapTheta.Count == 0) return (value, null);
        return (value, Fitter.Percentiles([.. BootstrapTheta.Select(t => Law.PredictAtTheta(t, x))]));
    }
}

/// <summary>
/// Fits a <see cref="ScalingLaw"/>: the objective (<see cref="FitObjective"/>) with its exact gradient through the law's
/// Jacobian, minimised by MathNet.Numerics' L-BFGS from every start of the grid, keeping the best (Hoffmann et al. 2022;
/// Besiroglu et al. 2024). Then, optionally, a seeded bootstrap over the fitted points (each resample refitted from the
/// best fit) for 95% intervals. Warnings: a fitted coordinate at or beyond the edge of the start grid (the grid may not
/// bracket the optimum), two coordinates whose bootstrap correlation is beyond ±0.95 (nearly unidentifiable), starts or
/// resamples that failed.
/// </summary>
public static class Fitter
{
    /// <summary>Bootstrap correlation beyond which two parameters are reported as nearly unidentifiable.</summary>
    public const double CorrelationWarning = 0.95;

    /// <summary>Fits <paramref name="law"/> to the rows of <paramref name="data"/> (all, or <paramref name="rows"/>),
    /// less the highest losses when <see cref="FitOptions.DropHighestLoss"/> says so.</summary>
    public static FitResult Fit(ScalingLaw law, LawData data, FitOptions? options = null, IReadOnlyList<int>? rows = null)
    {
        ArgumentNullException.ThrowIfNull(law);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        options.Check();
        int[] candidates = rows?.ToArray() ?? [.. Enumerable.Range(0, data.Rows)];
        if (options.DropHighestLoss >= candidates.Length)
            throw new ArgumentException($"drop-highest-loss = {options.DropHighestLoss} leaves no points of {candidates.Length}.");
        int[] dropped = [.. candidates.OrderByDescending(r => data.Y[r]).ThenBy(r => r).Take(options.DropHighestLoss).Order()];
        int[] used = [.. candidates.Except(dropped)];
        if (used.Length <= law.ParameterCount)
            throw new ArgumentException($"{law.Spec} has {law.ParameterCount} parameters: it needs at least {law.ParameterCount + 1} points to fit, {used.Length} are left.");
        var weights = new double[data.Rows];
        foreach (int r in used) weights[r] = 1;

        var warnings = new List<string>();
        IReadOnlyList<double[]> grid = options.Grid ?? law.StartGrid(data);
        var fits = new (double[] Theta, double Value)?[grid.Count];
        Parallel.For(0, grid.Count, s => fits[s] = Minimise(law, data, weights, options, grid[s]));
        int best = -1;
        for (int s = 0; s < fits.Length; s++)
            if (fits[s] is { } f && (best < 0 || f.Value < fits[best]!.Value.Value)) best = s;
        if (best < 0) throw new ArgumentException($"{law.Spec}: no start of the grid ({grid.Count}) gave a finite fit; the law is not defined on these data.");
        var (theta, objective) = fits[best]!.Value;
        int failed = fits.Count(f => f is null);
        if (failed > 0) warnings.Add($"{failed} of {grid.Count} starts gave no finite fit (the law is undefined there) and were skipped.");
        warnings.AddRange(EdgeWarnings(law, grid, theta));

        var boot = new List<double[]>();
        if (options.Bootstrap > 0)
        {
            // All draws first, in order, from one seeded generator: the intervals do not depend on the thread count.
            var rng = new Random(options.Seed);
            var draws = new double[options.Bootstrap][];
            for (int b = 0; b < draws.Length; b++)
            {
                var w = new double[data.Rows];
                for (int i = 0; i < used.Length; i++) w[used[rng.Next(used.Length)]] += 1;
                draws[b] = w;
            }
            var results = new (double[] Theta, double Value)?[draws.Length];
            Parallel.For(0, draws.Length, b => results[b] = Minimise(law, data, draws[b], options, theta));
            boot.AddRange(results.Where(r => r is not null).Select(r => r!.Value.Theta));
            int lost = results.Count(r => r is null);
            if (lost > 0) warnings.Add($"{lost} of {draws.Length} bootstrap resamples gave no finite fit and are left out of the intervals.");
            warnings.AddRange(CorrelationWarnings(law, boot));
        }
        if (dropped.Length > 0)
            warnings.Insert(0, DroppedText(data, dropped));
        return new FitResult(law, data, options, used, dropped, theta, objective, grid.Count, boot, warnings);
    }

    /// <summary>
    /// No fitting: the card's <paramref name="parameters"/> (e.g. a paper's published estimates) evaluated on the rows of
    /// <paramref name="data"/> (less the highest losses when <see cref="FitOptions.DropHighestLoss"/> says so): the objective
    /// there, and a result that predicts, plots and gives a frontier like a fit (no bootstrap: there is nothing to refit).
    /// </summary>
    public static FitResult Evaluate(ScalingLaw law, LawData data, IReadOnlyList<double> parameters, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(law);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(parameters);
        options ??= new FitOptions();
        options.Check();
        if (options.Bootstrap > 0) throw new ArgumentException("Given parameters are not fitted: bootstrap does not apply to them.");
        if (options.DropHighestLoss >= data.Rows) throw new ArgumentException($"drop-highest-loss = {options.DropHighestLoss} leaves no points of {data.Rows}.");
        int[] dropped = [.. Enumerable.Range(0, data.Rows).OrderByDescending(r => data.Y[r]).ThenBy(r => r).Take(options.DropHighestLoss).Order()];
        int[] used = [.. Enumerable.Range(0, data.Rows).Except(dropped)];
        var weights = new double[data.Rows];
        foreach (int r in used) weights[r] = 1;
        double[] theta = law.ToTheta([.. parameters]);
        double objective = Objective(law, data, weights, options, theta, default);
        var warnings = new List<string> { "parameters given, not fitted." };
        if (dropped.Length > 0) warnings.Insert(0, DroppedText(data, dropped, "evaluating"));
        return new FitResult(law, data, options, used, dropped, theta, objective, 0, [], warnings);
    }

    private static string DroppedText(LawData data, int[] dropped, string before = "fitting") =>
        $"dropped the {dropped.Length} point(s) with the highest {data.YName} before {before} (rows {string.Join(", ", dropped.Select(r => r + 1))}; " +
        $"{data.YName} {string.Join(", ", dropped.Select(r => LossParameter.FormatNumber(data.Y[r])))}).";

    /// <summary>
    /// The objective at θ over rows weighted by <paramref name="weights"/> (0: left out; bootstrap: the draw counts),
    /// and its exact gradient into <paramref name="gradient"/> when that is not empty. Huber:
    /// Σ w_i·h_δ(r_i), r_i = log L_i − log y_i, h_δ(r) = r²/2 for |r| ≤ δ, δ(|r| − δ/2) otherwise, ∇ = Σ w_i·h'_δ(r_i)·∂log L_i/∂θ.
    /// Least squares: Σ w_i·(L_i − y_i)²/2, ∇ = Σ w_i·(L_i − y_i)·L_i·∂log L_i/∂θ. +∞ where the law is undefined at a weighted row.
    /// </summary>
    public static double Objective(ScalingLaw law, LawData data, ReadOnlySpan<double> weights, FitOptions options, ReadOnlySpan<double> theta, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(law);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        int n = data.Rows, p = theta.Length;
        var logL = new double[n];
        var jac = gradient.IsEmpty ? [] : new double[n * p];
        law.LogPredict(data, theta, logL, jac);
        if (!gradient.IsEmpty) gradient.Clear();
        double total = 0, delta = options.Delta;
        double[] logY = data.LogY;
        for (int i = 0; i < n; i++)
        {
            double w = weights[i];
            if (w == 0) continue;
            if (!double.IsFinite(logL[i])) return double.PositiveInfinity;
            double coef;
            if (options.Objective == FitObjective.Huber)
            {
                double r = logL[i] - logY[i];
                double a = Math.Abs(r);
                total += w * (a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta));
                coef = w * (a <= delta ? r : delta * Math.Sign(r));
            }
            else
            {
                double l = Math.Exp(logL[i]), r = l - data.Y[i];
                total += w * 0.5 * r * r;
                coef = w * r * l;
            }
            if (gradient.IsEmpty) continue;
            for (int j = 0; j < p; j++) gradient[j] += coef * jac[i * p + j];
        }
        return total;
    }

    /// <summary>One L-BFGS run from <paramref name="start"/>; the best point it evaluated when MathNet stops on an
    /// exception (iteration limit, a line search that cannot progress); null when nothing finite was found.</summary>
    internal static (double[] Theta, double Value)? Minimise(ScalingLaw law, LawData data, double[] weights, FitOptions options, double[] start)
    {
        double bestValue = double.PositiveInfinity;
        double[]? bestTheta = null;
        var function = ObjectiveFunction.Gradient(v =>
        {
            double[] t = v.ToArray();
            var g = new double[t.Length];
            double value = Objective(law, data, weights, options, t, g);
            if (!double.IsFinite(value) || g.Any(x => !double.IsFinite(x)))
                return (1e300, Vector<double>.Build.Dense(t.Length));   // outside the law's domain: the line search steps back
            if (value < bestValue) { bestValue = value; bestTheta = t; }
            return (value, Vector<double>.Build.Dense(g));
        });
        var minimizer = new LimitedMemoryBfgsMinimizer(gradientTolerance: 1e-9, parameterTolerance: 1e-10, functionProgressTolerance: 1e-12,
            memory: 10, maximumIterations: options.MaxIterations);
        try
        {
            if (!double.IsFinite(Objective(law, data, weights, options, start, default))) return null;
            minimizer.FindMinimum(function, Vector<double>.Build.Dense(start));
        }
        catch (Exception e) when (e is OptimizationException or MaximumIterationsException or ArithmeticException or ArgumentException)
        {
            // Keep the best point evaluated.
        }
        return bestTheta is null ? null : (bestTheta, bestValue);
    }

    private static IEnumerable<string> EdgeWarnings(ScalingLaw law, IReadOnlyList<double[]> grid, double[] theta)
    {
        for (int j = 0; j < theta.Length; j++)
        {
            double lo = grid.Min(g => g[j]), hi = grid.Max(g => g[j]);
            if (lo == hi) continue;
            double tol = 1e-3 * (hi - lo);
            if (theta[j] <= lo + tol || theta[j] >= hi - tol)
                yield return $"the best fit has {law.ThetaNames[j]} = {theta[j]:G4}, at or beyond the edge of the start grid [{lo:G4}, {hi:G4}]: the grid may not bracket the optimum.";
        }
    }

    private static IEnumerable<string> CorrelationWarnings(ScalingLaw law, IReadOnlyList<double[]> samples)
    {
        if (samples.Count < 3) yield break;
        int p = samples[0].Length;
        for (int a = 0; a < p; a++)
            for (int b = a + 1; b < p; b++)
            {
                double r = Correlation([.. samples.Select(s => s[a])], [.. samples.Select(s => s[b])]);
                if (Math.Abs(r) > CorrelationWarning)
                    yield return $"{law.ThetaNames[a]} and {law.ThetaNames[b]} are nearly unidentifiable: their bootstrap correlation is {r:F3}.";
            }
    }

    /// <summary>Pearson correlation (0 when either is constant).</summary>
    public static double Correlation(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>The 2.5th and 97.5th percentiles (linear interpolation between order statistics, as numpy's default).</summary>
    public static Interval Percentiles(double[] values)
    {
        double[] s = [.. values.Order()];
        double At(double q)
        {
            double pos = q * (s.Length - 1);
            int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, s.Length - 1);
            return s[lo] + (pos - lo) * (s[hi] - s[lo]);
        }
        return new Interval(At(0.025), At(0.975));
    }
}
