using LossKit.Core;
using LossKit.Kernels;









namespace LossKit.Checking;

/// <summary>The outcome of one gradient check.</summary>
/// <param name="Case">What was checked (loss spec, scale, variant).</param>
/// <param name="MaxError">max_i |numeric_i − analytic_i| / max(1, max_j |analytic_j|).</param>
/// <param name="WorstIndex">Where the worst error is (flat index into the logits).</param>
/// <param name="Analytic">The analytic gradient there.</param>
/// <param name="Numeric">The central-difference estimate there.</param>
/// <param name="Tolerance">The tolerance the error was compared with.</param>
public sealed record GradientCheckResult(string Case, double MaxError, int WorstIndex, double Analytic, double Numeric, double Tolerance)
{
    public bool Passed => MaxError <= Tolerance;
}

/// <summary>
/// Finite-difference gradient checking in double, for LossKit's losses and for your own. Central differences
/// with a step of 1e-5·max(1, |x_i|); the error of coordinate i is |numeric − analytic| / max(1, ‖analytic‖∞),
/// so it is absolute for gradients of order 1 and relative to the gradient's size when that is large. Coordinates that are ±∞ are skipped
/// (their analytic gradient must be exactly 0, which is checked separately).
/// </summary>
/// <example><code>
/// var r = GradientCheck.Check((x, g) => MyLoss(x, g), point);   // g is null for loss-only calls
/// if (!r.Passed) Console.WriteLine(r);
/// </code></example>
public static partial class GradientCheck
{
    /// <summary>Default tolerance on the error measure above.</summary>
    public const double DefaultTolerance = 1e-6;

    /// <summary>Logit scales <see cref="CheckRandom"/> uses: small, unit, large and extreme (1e30).</summary>
    public static IReadOnlyList<double> DefaultScales { get; } = [0.01, 1, 30, 1e3, 1e30];

    /// <summary>Checks any function: <paramref name="lossAndGradient"/>(x, g) returns the loss at x and, when g is
    /// not null, writes the analytic gradient into g.</summary>
    public static GradientCheckResult Check(Func<double[], double[]?, double> lossAndGradient, double[] point,
        string name = "function", double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(lossAndGradient);
        ArgumentNullException.ThrowIfNull(point);
        var analytic = new double[point.Length];
        lossAndGradient((double[])point.Clone(), analytic);
        var x = (double[])point.Clone();
        double norm = Math.Max(1, analytic.Max(Math.Abs));
        double worst = 0, worstA = 0, worstN = 0;
        int worstI = -1;
        for (int i = 0; i < x.Length; i++)
        {
            double xi = point[i];
            if (!double.IsFinite(xi))
            {
                if (analytic[i] != 0) return new GradientCheckResult(name, double.PositiveInfinity, i, analytic[i], 0, tolerance);
                continue;
            }
            double h = 1e-5 * Math.Max(1, Math.Abs(xi));
            x[i] = xi + h;
            double up = lossAndGradient(x, null);
            x[i] = xi - h;
            double down = lossAndGradient(x, null);
            x[i] = xi;
            double numeric = (up - down) / ((xi + h) - (xi - h));
            double err = Math.Abs(numeric - analytic[i]) / norm;
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            if (err > worst || worstI < 0) { worst = err; worstI = i; worstA = analytic[i]; worstN = numeric; }
        }
        return new GradientCheckResult(name, worst, worstI, worstA, worstN, tolerance);
    }

    /// <summary>Checks a class-index loss at the given logits and targets (in double, with its own reduction and options).</summary>
    public static GradientCheckResult Check(IClassificationLoss loss, double[] logits, int classes, int[] targets,
        string? name = null, double tolerance = DefaultTolerance) =>
        Check((x, g) => loss.Compute<double>(x, classes, targets, default, g is null ? default : g.AsSpan()), logits,
            name ?? loss.Spec, tolerance);

    /// <summary>Checks a soft-target loss at the given logits and soft targets.</summary>
    public static GradientCheckResult CheckSoft(ISoftTargetLoss loss, double[] logits, int classes, double[] softTargets,
        string? name = null, double tolerance = DefaultTolerance) =>
        Check((x, g) => loss.ComputeSoft<double>(x, classes, softTargets, default, g is null ? default : g.AsSpan()), logits,
            name ?? loss.Spec + " (soft targets)", tolerance);

    /// <summary>Checks a class-index loss on seeded random logits at each scale (default <see cref="DefaultScales"/>),
    /// with one row's target set to the loss's ignore index when it has one, and a masked (−∞) non-target class.</summary>
    /// Scales above the loss's <see cref="IClassificationLoss.FiniteLogitScale"/> are skipped, and a loss
    /// configured for a fixed number of classes (class weights) is checked with that many.
    public static IReadOnlyList<GradientCheckResult> CheckRandom(IClassificationLoss loss, int rows = 4, int classes = 5, int seed = 0,
        IEnumerable<double>? scales = null, double tolerance = DefaultTolerance)
    {
        var results = new List<GradientCheckResult>();
        var rng = new Random(seed);
        classes = loss.FixedClassCount ?? classes;
        foreach (double scale in scales ?? DefaultScales)
        {
            if (scale > loss.FiniteLogitScale) continue;
            double[] z = RandomLogits(rng, rows, classes, scale);
            int[] y = RandomTargets(rng, rows, classes);
            results.Add(Check(loss, z, classes, y, $"{loss.Spec} at scale {scale:G3}", tolerance));
        }
        if (classes > 2)
        {
            double[] z = RandomLogits(rng, rows, classes, 1);
            int[] y = RandomTargets(rng, rows, classes);
            for (int r = 0; r < rows; r++) z[r * classes + (y[r] + 1) % classes] = double.NegativeInfinity;
            // A loss that puts target mass on every class (label smoothing) is +∞ here by definition: nothing to check.
            if (double.IsFinite(loss.Compute<double>(z, classes, y)))
                results.Add(Check(loss, z, classes, y, $"{loss.Spec} with a masked (−∞) class per row", tolerance));
        }
        if (loss is Kernels.ClassIndexLoss s && rows > 1)
        {
            double[] z = RandomLogits(rng, rows, classes, 1);
            int[] y = RandomTargets(rng, rows, classes);
            y[0] = s.IgnoreIndex;
            results.Add(Check(loss, z, classes, y, $"{loss.Spec} with an ignored row", tolerance));
        }
        if (loss is ISoftTargetLoss soft)
        {
            double[] z = RandomLogits(rng, rows, classes, 1);
            results.Add(CheckSoft(soft, z, classes, RandomDistributions(rng, rows, classes), null, tolerance));
        }
        return results;
    }

    /// <summary>Seeded normal logits times <paramref name="scale"/>.</summary>
    public static double[] RandomLogits(Random rng, int rows, int classes, double scale)
    {
        var z = new double[rows * classes];
        for (int i = 0; i < z.Length; i++) z[i] = scale * Normal(rng);
        return z;
    }

    public static int[] RandomTargets(Random rng, int rows, int classes)
    {
        var y = new int[rows];
        for (int r = 0; r < rows; r++) y[r] = rng.Next(classes);
        return y;
    }

    /// <summary>Random probability rows (some entries exactly 0 when classes &gt; 2).</summary>
    public static double[] RandomDistributions(Random rng, int rows, int classes)
    {
        var q = new double[rows * classes];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int k = 0; k < classes; k++)
            {
                double v = classes > 2 && k == (r % classes) ? 0 : rng.NextDouble() + 0.05;
                q[r * classes + k] = v;
                sum += v;
            }
            for (int k = 0; k < classes; k++) q[r * classes + k] /= sum;
        }
        return q;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
