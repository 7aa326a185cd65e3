using LossKit.Core;
using LossKit.Kernels;
using LossKit.Softmax;










namespace LossKit.Checking;

/// <summary>One property check: what was checked, the worst deviation seen, and whether it is within tolerance.</summary>
public sealed record PropertyCheckResult(string Name, double Worst, double Tolerance, string Detail)
{
    public bool Passed => Worst <= Tolerance;
}

/// <summary>
/// Verifies on seeded random inputs (in double) the properties a loss's card claims, plus what every loss
/// promises: finite loss and gradient on extreme logits (±1e30, masked −∞ classes, all-equal rows, K = 1) and
/// bit-identical results for 1 and 2 threads. Used by <c>losskit check</c> and by the tests.
/// </summary>
public static partial class LossChecks
{
    public static IReadOnlyList<PropertyCheckResult> Run(IClassificationLoss loss, int seed = 0)
    {
        var results = new List<PropertyCheckResult>(new Checker(loss.FixedClassCount).Run(loss, seed));
        if (loss.Properties.HasFlag(LossProperties.ScaleInvariant)) results.Add(ScaleInvariance(loss, seed));
        return results;
    }
}

/// <summary>Runs the checks for one loss; <c>fixedClasses</c> is the class count its configuration requires.</summary>
file sealed class Checker(int? fixedClasses)
{
    public IReadOnlyList<PropertyCheckResult> Run(IClassificationLoss loss, int seed)
    {
        var rng = new Random(seed);
        LossProperties props = loss.Properties;
        var results = new List<PropertyCheckResult> { ExtremeInputs(loss, rng), Determinism(loss, rng) };
        if (props.HasFlag(LossProperties.ShiftInvariant)) results.Add(ShiftInvariance(loss, rng));
        if (props.HasFlag(LossProperties.NonNegative)) results.Add(NonNegative(loss, rng));
        if (props.HasFlag(LossProperties.Bounded)) results.Add(Bounded(loss, rng));
        if (props.HasFlag(LossProperties.Symmetric)) results.Add(Symmetric(loss, rng));
        if (props.HasFlag(LossProperties.ConvexInLogits)) results.Add(Convex(loss, rng));
        if (props.HasFlag(LossProperties.ClassificationCalibrated)) results.Add(Calibrated(loss, rng));
        return results;
    }

    /// <summary>The class count to use: the loss's fixed one (class weights) or the preferred one.</summary>
    private int Classes(int preferred) => fixedClasses ?? preferred;

    private static double[] PerRow(IClassificationLoss loss, double[] z, int classes, int[] y, double[]? gradient = null)
    {
        var rows = new double[y.Length];
        loss.Compute<double>(z, classes, y, rows, gradient ?? default(Span<double>));
        return rows;
    }

    private PropertyCheckResult ExtremeInputs(IClassificationLoss loss, Random rng)
    {
        double scale = loss.FiniteLogitScale;
        int K = Classes(6);
        const int N = 4;
        var cases = new List<(string, double[], int, int[])>
        {
            ($"logits ±{scale:G3}", GradientCheck.RandomLogits(rng, N, K, scale), K, GradientCheck.RandomTargets(rng, N, K)),
            ("all-equal rows", new double[N * K], K, GradientCheck.RandomTargets(rng, N, K)),
        };
        if (Classes(1) == 1) cases.Add(("K = 1", GradientCheck.RandomLogits(rng, N, 1, 3), 1, new int[N]));
        if (!(loss is CrossEntropyLoss { Smoothing: > 0 }))
        {
            var masked = GradientCheck.RandomLogits(rng, N, K, 3);
            var y = GradientCheck.RandomTargets(rng, N, K);
            for (int r = 0; r < N; r++) { masked[r * K + (y[r] + 1) % K] = double.NegativeInfinity; masked[r * K + (y[r] + 2) % K] = double.NegativeInfinity; }
            cases.Add(("masked (−∞) classes", masked, K, y));
        }
        foreach (var (name, z, k, y) in cases)
        {
            var g = new double[z.Length];
            double[] rows = PerRow(loss, z, k, y, g);
            if (!rows.All(double.IsFinite) || !g.All(double.IsFinite))
                return new PropertyCheckResult("finite on extreme inputs", double.PositiveInfinity, 0, $"{name}: a loss or gradient is not finite");
        }
        return new PropertyCheckResult("finite on extreme inputs", 0, 0, $"±{scale:G3}, −∞ masks, all-equal rows, K = 1");
    }

    private PropertyCheckResult Determinism(IClassificationLoss loss, Random rng)
    {
        int K = Classes(257);
        const int N = 300;
        float[] z = GradientCheck.RandomLogits(rng, N, K, 4).Select(v => (float)v).ToArray();
        int[] y = GradientCheck.RandomTargets(rng, N, K);
        (float, float[]) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var g = new float[z.Length];
                return (loss.Compute<float>(z, K, y, default, g), g);
            }
            finally { Parallelism.MaxThreads = saved; }
        }
        var (l1, g1) = Run(1);
        var (l2, g2) = Run(2);
        bool same = BitConverter.SingleToInt32Bits(l1) == BitConverter.SingleToInt32Bits(l2) && g1.AsSpan().SequenceEqual(g2);
        return new PropertyCheckResult("bit-identical for 1 and 2 threads", same ? 0 : 1, 0, $"{N}×{K} float");
    }

    private PropertyCheckResult ShiftInvariance(IClassificationLoss loss, Random rng)
    {
        int K = Classes(7);
        const int N = 6;
        double worst = 0;
        foreach (double shift in new[] { -50.0, 3.0, 1e3 })
        {
            double[] z = GradientCheck.RandomLogits(rng, N, K, 2);
            int[] y = GradientCheck.RandomTargets(rng, N, K);
            var g0 = new double[z.Length]; var g1 = new double[z.Length];
            double[] a = PerRow(loss, z, K, y, g0);
            double[] b = PerRow(loss, z.Select(v => v + shift).ToArray(), K, y, g1);
            for (int i = 0; i < N; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]) / Math.Max(1, Math.Abs(a[i])));
            for (int i = 0; i < z.Length; i++) worst = Math.Max(worst, Math.Abs(g0[i] - g1[i]));
        }
        return new PropertyCheckResult("shift-invariant: ℓ(z + c) = ℓ(z)", worst, 1e-9, "c ∈ {−50, 3, 1000}");
    }

    private PropertyCheckResult NonNegative(IClassificationLoss loss, Random rng)
    {
        double worst = 0;
        foreach (double scale in new[] { 0.1, 1, 10, 100 })
        {
            int k = Classes(5);
            double[] z = GradientCheck.RandomLogits(rng, 32, k, scale);
            foreach (double v in PerRow(loss, z, k, GradientCheck.RandomTargets(rng, 32, k))) worst = Math.Max(worst, -v);
        }
        return new PropertyCheckResult("non-negative: ℓ ≥ 0", worst, 1e-12, "scales 0.1..100");
    }

    private PropertyCheckResult Bounded(IClassificationLoss loss, Random rng)
    {
        double bound = loss is CompSumLoss c ? CompSumLoss.UpperBoundFor(c.Tau)
            : loss.Card.UpperBound?.Invoke(loss, Classes(5)) ?? double.NaN;
        // The card's bound is for unit weights; class weights scale it by the largest weight.
        bound *= (loss as ClassIndexLoss)?.Weight?.Max() ?? 1;
        double worst = 0;
        foreach (double scale in new[] { 1, 10, 100, 1e30 })
        {
            int k = Classes(5);
            double[] z = GradientCheck.RandomLogits(rng, 32, k, scale);
            foreach (double v in PerRow(loss, z, k, GradientCheck.RandomTargets(rng, 32, k))) worst = Math.Max(worst, v - bound);
        }
        if (double.IsNaN(bound)) worst = double.PositiveInfinity;
        return new PropertyCheckResult($"bounded: ℓ ≤ {bound:G4}", Math.Max(worst, 0), 1e-12, "scales 1..1e30");
    }

    private PropertyCheckResult Symmetric(IClassificationLoss loss, Random rng)
    {
        int K = Classes(5);
        double expected = loss.Card.SymmetricSum?.Invoke(loss, K) ?? K - 1;
        double worst = 0;
        for (int t = 0; t < 8; t++)
        {
            double[] row = GradientCheck.RandomLogits(rng, 1, K, 3);
            double[] z = Enumerable.Range(0, K).SelectMany(_ => row).ToArray();
            double sum = PerRow(loss, z, K, Enumerable.Range(0, K).ToArray()).Sum();
            worst = Math.Max(worst, Math.Abs(sum - expected));
        }
        return new PropertyCheckResult($"symmetric: Σ_k ℓ(z, k) = {expected:G4}", worst, 1e-9, "8 random rows, K = 5");
    }

    private PropertyCheckResult Convex(IClassificationLoss loss, Random rng)
    {
        int K = Classes(5);
        const int N = 16;
        double worst = 0;
        for (int t = 0; t < 8; t++)
        {
            double[] a = GradientCheck.RandomLogits(rng, N, K, 3), b = GradientCheck.RandomLogits(rng, N, K, 3);
            int[] y = GradientCheck.RandomTargets(rng, N, K);
            double lambda = rng.NextDouble();
            double[] mid = a.Zip(b, (u, v) => lambda * u + (1 - lambda) * v).ToArray();
            double[] la = PerRow(loss, a, K, y), lb = PerRow(loss, b, K, y), lm = PerRow(loss, mid, K, y);
            for (int i = 0; i < N; i++) worst = Math.Max(worst, lm[i] - (lambda * la[i] + (1 - lambda) * lb[i]));
        }
        return new PropertyCheckResult("convex in z: ℓ(λa + (1−λ)b) ≤ λℓ(a) + (1−λ)ℓ(b)", Math.Max(worst, 0), 1e-9, "8 random segments");
    }

    /// <summary>Gradient descent on the expected loss Σ_k η_k ℓ(z, k) for random η must end with argmax z = argmax η_k·c_k,
    /// where c_k ∝ ℓ(0, k) is the class's weight in the loss (1 without class weights), i.e. the weighted Bayes rule.</summary>
    private PropertyCheckResult Calibrated(IClassificationLoss loss, Random rng)
    {
        int K = Classes(3);
        double[] classWeight = PerRow(loss, new double[K * K], K, Enumerable.Range(0, K).ToArray());
        int failures = 0;
        for (int t = 0; t < 5; t++)
        {
            double[] eta = GradientCheck.RandomDistributions(rng, 1, K);
            double[] sorted = eta.OrderByDescending(v => v).ToArray();
            if (K > 1 && sorted[0] - sorted[1] < 0.1) { eta = new double[K]; eta[t % K] = 0.6; for (int k = 0; k < K; k++) if (k != t % K) eta[k] = 0.4 / (K - 1); }
            var z = new double[K];
            var zs = new double[K * K];
            var g = new double[K * K];
            int[] y = Enumerable.Range(0, K).ToArray();
            for (int step = 0; step < 300; step++)
            {
                for (int r = 0; r < K; r++) z.CopyTo(zs, r * K);
                loss.Compute<double>(zs, K, y, default, g);
                for (int k = 0; k < K; k++)
                {
                    double d = 0;
                    for (int r = 0; r < K; r++) d += eta[r] * g[r * K + k];
                    z[k] -= 0.5 * K * d;
                }
            }
            double[] weighted = eta.Select((e, k) => e * classWeight[k]).ToArray();
            if (Array.IndexOf(z, z.Max()) != Array.IndexOf(weighted, weighted.Max())) failures++;
        }
        return new PropertyCheckResult("classification-calibrated: argmin of expected loss picks argmax η", failures, 0, $"5 random η, K = {K}, gradient descent");
    }
}
