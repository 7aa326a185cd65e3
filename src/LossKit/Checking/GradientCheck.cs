using LossKit.Core;

namespace LossKit.Checking;

/// <summary>The outcome of one gradient check.</summary>
/// <param name="Case">What was checked (loss spec, input, scale, variant).</param>
/// <param name="MaxError">max_i |numeric_i − analytic_i| / max(1, max_j |analytic_j|).</param>
/// <param name="WorstIndex">Where the worst error is (flat index into the checked input).</param>
/// <param name="Analytic">The analytic gradient there.</param>
/// <param name="Numeric">The central-difference estimate there.</param>
/// <param name="Tolerance">The tolerance the error was compared with.</param>
public sealed record GradientCheckResult(string Case, double MaxError, int WorstIndex, double Analytic, double Numeric, double Tolerance)
{
    public bool Passed => MaxError <= Tolerance;
}

/// <summary>
/// Finite-difference gradient checking in double, for LossKit's losses and for your own. Central differences with
/// steps h = 1e-5·max(1, |x_i|) and h/2, combined by Richardson extrapolation, (4·D(h/2) − D(h))/3, whose error falls as
/// h⁴ (a plain central difference's falls as h² and is too coarse where the loss curves on the scale of the step, as
/// near 0 for a loss like spherical softmax with a small ε); the error of coordinate i is |numeric − analytic| / max(1, ‖analytic‖∞),
/// so it is absolute for gradients of order 1 and relative to the gradient's size when that is large. Coordinates that
/// are ±∞ are skipped; their analytic gradient must be exactly 0.
/// </summary>
/// <example><code>
/// var r = GradientCheck.Check((x, g) => MyLoss(x, g), point);   // g is null for loss-only calls
/// if (!r.Passed) Console.WriteLine(r);
/// </code></example>
public static class GradientCheck
{
    /// <summary>Default tolerance on the error measure above.</summary>
    public const double DefaultTolerance = 1e-6;

    /// <summary>Input scales the conformance suite checks gradients at: small, unit, large and extreme (1e30).</summary>
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
        double norm = analytic.Length == 0 ? 1 : Math.Max(1, analytic.Max(Math.Abs));
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
            double numeric = (4 * Central(lossAndGradient, x, i, h / 2) - Central(lossAndGradient, x, i, h)) / 3;
            double err = Math.Abs(numeric - analytic[i]) / norm;
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            if (err > worst || worstI < 0) { worst = err; worstI = i; worstA = analytic[i]; worstN = numeric; }
        }
        return new GradientCheckResult(name, worst, worstI, worstA, worstN, tolerance);
    }

    /// <summary>(f(x + h·e_i) − f(x − h·e_i)) / (2h), with the step as represented; leaves x as it was.</summary>
    private static double Central(Func<double[], double[]?, double> f, double[] x, int i, double h)
    {
        double xi = x[i];
        x[i] = xi + h;
        double up = f(x, null);
        x[i] = xi - h;
        double down = f(x, null);
        x[i] = xi;
        return (up - down) / ((xi + h) - (xi - h));
    }

    /// <summary>
    /// Checks any loss, whatever its kind, at the given named inputs: for each differentiable input of the loss's
    /// <see cref="ILoss.Kind"/> that <paramref name="inputs"/> holds, the <c>grad_&lt;name&gt;</c> the loss returns (in
    /// double, with its own reduction and options) against central differences of its reduced loss, the other inputs held.
    /// </summary>
    /// <example><code>
    /// var inputs = new LossInputs { ["logits"] = LossTensor.Matrix(z, rows, classes), ["targets"] = LossTensor.Vector(y) };
    /// foreach (var r in GradientCheck.Check(LossRegistry.Create("focal(gamma=2)"), inputs)) Console.WriteLine(r);
    /// </code></example>
    public static IReadOnlyList<GradientCheckResult> Check(ILoss loss, LossInputs inputs, string? name = null, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(inputs);
        var results = new List<GradientCheckResult>();
        foreach (LossInput input in loss.Kind.Inputs)
        {
            if (!input.Differentiable || !inputs.TryGetValue(input.Name, out LossTensor? tensor)) continue;
            results.Add(Check(WithRespectTo(loss, inputs, input.Name), tensor.Values, $"{name ?? loss.Spec}: {input.Name}", tolerance));
        }
        return results;
    }

    /// <summary>The reduced loss (in double) as a function of the input named <paramref name="input"/>, the other
    /// inputs held, with its gradient <c>grad_&lt;input&gt;</c>: the function <see cref="Check(Func{double[], double[], double}, double[], string, double)"/> takes.</summary>
    public static Func<double[], double[]?, double> WithRespectTo(ILoss loss, LossInputs inputs, string input)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(inputs);
        LossTensor at = inputs.Required(input, loss.Kind);
        return (x, g) =>
        {
            var moved = new LossInputs();
            foreach (var (key, tensor) in inputs) moved[key] = tensor;
            moved[input] = new LossTensor(x, at.Shape);
            LossCall call = loss.Kind.Prepare<double>(loss, moved);
            double value = call.Run(gradients: g is not null);
            if (g is not null)
            {
                LossOutputs outputs = call.Outputs();
                if (!outputs.Gradients.TryGetValue(input, out LossTensor? gradient) || gradient.Length != g.Length)
                    throw new InvalidOperationException($"{loss.Spec}: the call returned no grad_{input} of {g.Length} values.");
                gradient.Values.CopyTo(g, 0);
            }
            return value;
        };
    }

    /// <summary>Seeded normal logits times <paramref name="scale"/>.</summary>
    public static double[] RandomLogits(Random rng, int rows, int classes, double scale)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var z = new double[rows * classes];
        for (int i = 0; i < z.Length; i++) z[i] = scale * Normal(rng);
        return z;
    }

    /// <summary>Seeded class indices in [0, classes).</summary>
    public static int[] RandomTargets(Random rng, int rows, int classes)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var y = new int[rows];
        for (int r = 0; r < rows; r++) y[r] = rng.Next(classes);
        return y;
    }

    /// <summary>Random probability rows (some entries exactly 0 when classes &gt; 2).</summary>
    public static double[] RandomDistributions(Random rng, int rows, int classes)
    {
        ArgumentNullException.ThrowIfNull(rng);
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

    /// <summary>Random binary targets in [0, 1]: 0/1 labels, or (soft) a mixture of 0, 1 and values in between; the first
    /// two are always 1 and 0 so every batch has both classes.</summary>
    public static double[] RandomBinaryTargets(Random rng, int count, bool soft)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = new double[count];
        for (int i = 0; i < count; i++)
        {
            t[i] = i switch
            {
                0 => 1,
                1 => 0,
                _ => soft && rng.Next(3) == 0 ? rng.NextDouble() : rng.Next(2),
            };
            if (soft && i >= 2 && rng.Next(4) == 0) t[i] = 0.05 + 0.9 * rng.NextDouble();
        }
        return t;
    }

    /// <summary>Seeded positive sets in CSR form: row r has r mod 4 positives when that fits (so 0, 1, 2, 3, ...),
    /// distinct columns in random order.</summary>
    public static (int[] Offsets, int[] Columns) RandomPositives(Random rng, int rows, int classes)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var offsets = new int[rows + 1];
        var columns = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            int count = Math.Min(r % 4 == 0 && rows > 1 ? 0 : Math.Max(1, r % 4), classes);
            if (rows == 1) count = Math.Min(1, classes);
            columns.AddRange(Enumerable.Range(0, classes).OrderBy(_ => rng.Next()).Take(count));
            offsets[r + 1] = columns.Count;
        }
        return (offsets, columns.ToArray());
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
