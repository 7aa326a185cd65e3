using LossKit.Core;
using LossKit.Distillation;
using LossKit.Softmax;









namespace LossKit.Checking;

public static partial class GradientCheck
{
    /// <summary>Checks a distillation loss on seeded random student and teacher logits at each scale (default
    /// <see cref="DefaultScales"/>), plus a case with an ignored row and one with a class masked (−∞) in both
    /// student and teacher.</summary>
    public static IReadOnlyList<GradientCheckResult> CheckRandomDistillation(IDistillationLoss loss, int rows = 4, int classes = 5, int seed = 0,
        IEnumerable<double>? scales = null, double tolerance = DefaultTolerance)
    {
        var results = new List<GradientCheckResult>();
        var rng = new Random(seed);
        GradientCheckResult One(double[] z, double[] t, int[] y, string name) =>
            Check((x, g) => loss.Compute<double>(x, classes, t, y, default, g is null ? default : g.AsSpan()), z, name, tolerance);
        foreach (double scale in scales ?? DefaultScales)
            results.Add(One(RandomLogits(rng, rows, classes, scale), RandomLogits(rng, rows, classes, scale), RandomTargets(rng, rows, classes),
                $"{loss.Spec} at scale {scale:G3}"));
        if (rows > 1 && loss.Card.Parameter("ignore_index") is not null)
        {
            int[] y = RandomTargets(rng, rows, classes);
            y[0] = Core.CommonParameters.DefaultIgnoreIndex;
            if (loss is Distillation.DistillationLoss d) y[0] = d.IgnoreIndex;
            results.Add(One(RandomLogits(rng, rows, classes, 1), RandomLogits(rng, rows, classes, 1), y, $"{loss.Spec} with an ignored row"));
        }
        if (classes > 2)
        {
            double[] z = RandomLogits(rng, rows, classes, 1), t = RandomLogits(rng, rows, classes, 1);
            int[] y = RandomTargets(rng, rows, classes);
            for (int r = 0; r < rows; r++) z[r * classes + (y[r] + 1) % classes] = t[r * classes + (y[r] + 1) % classes] = double.NegativeInfinity;
            results.Add(One(z, t, y, $"{loss.Spec} with a class masked (−∞) in student and teacher"));
        }
        return results;
    }

    /// <summary>Checks a multi-positive loss on seeded random scores at each scale, with rows of one, several and no
    /// positives, plus a case with a masked (−∞) negative.</summary>
    public static IReadOnlyList<GradientCheckResult> CheckRandomMultiPositive(IMultiPositiveLoss loss, int rows = 4, int classes = 5, int seed = 0,
        IEnumerable<double>? scales = null, double tolerance = DefaultTolerance)
    {
        var results = new List<GradientCheckResult>();
        var rng = new Random(seed);
        var (offsets, columns) = RandomPositives(rng, rows, classes);
        GradientCheckResult One(double[] s, string name) =>
            Check((x, g) => loss.Compute<double>(x, classes, offsets, columns, default, g is null ? default : g.AsSpan()), s, name, tolerance);
        foreach (double scale in scales ?? DefaultScales)
            results.Add(One(RandomLogits(rng, rows, classes, scale), $"{loss.Spec} at scale {scale:G3}"));
        if (classes > 2)
        {
            double[] s = RandomLogits(rng, rows, classes, 1);
            for (int r = 0; r < rows; r++)
            {
                var pos = new HashSet<int>(columns[offsets[r]..offsets[r + 1]]);
                int neg = Enumerable.Range(0, classes).FirstOrDefault(c => !pos.Contains(c), -1);
                if (neg >= 0 && pos.Count > 0) s[r * classes + neg] = double.NegativeInfinity;
            }
            results.Add(One(s, $"{loss.Spec} with a masked (−∞) negative"));
        }
        return results;
    }

    /// <summary>Seeded positive sets in CSR form: row r has r mod 4 positives when that fits (so 0, 1, 2, 3, ...),
    /// distinct columns in random order.</summary>
    public static (int[] Offsets, int[] Columns) RandomPositives(Random rng, int rows, int classes)
    {
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
}
