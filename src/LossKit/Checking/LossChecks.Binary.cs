using LossKit.Binary;
using LossKit.Core;
using LossKit.Kernels;










namespace LossKit.Checking;

public static partial class LossChecks
{
    /// <summary>
    /// The checks for a binary or multi-label loss, on seeded random inputs in double: what every loss promises
    /// (finite loss and gradient on extreme logits, ±1e30 or the loss's <see cref="BinaryLoss.FiniteLogitScale"/>, with hard
    /// and soft targets; bit-identical results for 1 and 2 threads in float; per-element losses that add up to the
    /// returned value) and each property its configuration claims: non-negative, bounded, convex in s (element by
    /// element), classification-calibrated (gradient descent on η·ℓ(s, 1) + (1 − η)·ℓ(s, 0) must end on the side of the
    /// weighted Bayes rule, positive iff η·ℓ(0, 1) &gt; (1 − η)·ℓ(0, 0)), and margin-based (ℓ(s, t) = ℓ(−s, 1 − t)).
    /// A stateful loss is left as it was found.
    /// </summary>
    public static IReadOnlyList<PropertyCheckResult> Run(IBinaryLoss loss, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(loss);
        long savedCalls = (loss as EnsLoss)?.Calls ?? 0;
        try { return new BinaryChecker(loss).Run(seed); }
        finally { (loss as EnsLoss)?.Reset(savedCalls); }
    }
}

/// <summary>Runs the binary checks for one loss.</summary>
file sealed class BinaryChecker(IBinaryLoss loss)
{
    private readonly BinaryLoss? _binary = loss as BinaryLoss;
    private int Columns(int preferred) => _binary?.FixedColumnCount ?? preferred;
    private LossProperties Properties => _binary?.Properties ?? loss.Card.Properties;

    public IReadOnlyList<PropertyCheckResult> Run(int seed)
    {
        var rng = new Random(seed);
        var results = new List<PropertyCheckResult> { ExtremeInputs(rng), Determinism(rng), Consistency(rng) };
        LossProperties props = Properties;
        if (props.HasFlag(LossProperties.NonNegative)) results.Add(NonNegative(rng));
        if (props.HasFlag(LossProperties.Bounded)) results.Add(Bounded(rng));
        if (props.HasFlag(LossProperties.ConvexInLogits)) results.Add(Convex(rng));
        if (props.HasFlag(LossProperties.ClassificationCalibrated)) results.Add(Calibrated(rng));
        if (props.HasFlag(LossProperties.MarginBased)) results.Add(MarginBased(rng));
        if (props.HasFlag(LossProperties.ShiftInvariant) || props.HasFlag(LossProperties.Symmetric))
            results.Add(new PropertyCheckResult("property not defined for binary losses", 1, 0,
                "shift invariance and the multi-class symmetry are claims about rows of K logits"));
        return results;
    }

    /// <summary>Per-element losses (and the gradient when asked) of a batch.</summary>
    private double[] Elements(double[] z, double[] t, double[]? gradient = null)
    {
        var l = new double[z.Length];
        loss.Compute<double>(z, t, l, gradient ?? default(Span<double>));
        return l;
    }

    private static double[] Targets(Random rng, int count, bool soft) => GradientCheck.RandomBinaryTargets(rng, count, soft);

    private PropertyCheckResult ExtremeInputs(Random rng)
    {
        double scale = Math.Min(1e30, _binary?.FiniteLogitScale ?? 1e30);
        int c = Columns(3);
        const int rows = 5;
        var cases = new List<(string, double[], double[])>
        {
            ($"logits in ±{scale:G3}, 0/1 targets", Clamp(GradientCheck.RandomLogits(rng, rows, c, scale), scale), Targets(rng, rows * c, false)),
            ($"logits in ±{scale:G3}, soft targets", Clamp(GradientCheck.RandomLogits(rng, rows, c, scale), scale), Targets(rng, rows * c, true)),
            ("all-zero logits", new double[rows * c], Targets(rng, rows * c, true)),
        };
        var big = new double[rows * c];
        for (int i = 0; i < big.Length; i++) big[i] = (i % 2 == 0 ? 1 : -1) * scale;
        cases.Add(($"logits exactly ±{scale:G3}", big, Targets(rng, big.Length, false)));
        foreach (var (name, z, t) in cases)
        {
            var g = new double[z.Length];
            double[] l = Elements(z, t, g);
            double value = loss.Compute<double>(z, t);
            if (!l.All(double.IsFinite) || !g.All(double.IsFinite) || !double.IsFinite(value))
                return new PropertyCheckResult("finite on extreme inputs", double.PositiveInfinity, 0, $"{name}: a loss or gradient is not finite");
        }
        return new PropertyCheckResult("finite on extreme inputs", 0, 0, $"logits ±{scale:G3}, zeros; 0/1 and soft targets");
    }

    private static double[] Clamp(double[] z, double limit) => z.Select(v => Math.Clamp(v, -limit, limit)).ToArray();

    private PropertyCheckResult Determinism(Random rng)
    {
        int c = Columns(7);
        int rows = (3 * ElementwiseKernel.TargetBlockElements + 37) / c + 1;
        float[] z = GradientCheck.RandomLogits(rng, rows, c, 4).Select(v => (float)v).ToArray();
        float[] t = Targets(rng, rows * c, true).Select(v => (float)v).ToArray();
        long calls = (loss as EnsLoss)?.Calls ?? 0;
        (float, float[], float[]) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                (loss as EnsLoss)?.Reset(calls);
                var g = new float[z.Length];
                var l = new float[z.Length];
                return (loss.Compute<float>(z, t, l, g), l, g);
            }
            finally { Parallelism.MaxThreads = saved; }
        }
        var (v1, l1, g1) = Run(1);
        var (v2, l2, g2) = Run(2);
        bool same = BitConverter.SingleToInt32Bits(v1) == BitConverter.SingleToInt32Bits(v2) && l1.AsSpan().SequenceEqual(l2) && g1.AsSpan().SequenceEqual(g2);
        return new PropertyCheckResult("bit-identical for 1 and 2 threads", same ? 0 : 1, 0, $"{rows}×{c} float");
    }

    /// <summary>The returned value is the reduction of the per-element losses (their sum, or their mean for an
    /// element-wise loss with reduction=mean; batch-level losses' shares add up to the value).</summary>
    private PropertyCheckResult Consistency(Random rng)
    {
        int c = Columns(3);
        double worst = 0;
        foreach (double scale in new[] { 0.5, 3.0 })
        {
            double[] z = GradientCheck.RandomLogits(rng, 6, c, scale);
            double[] t = Targets(rng, z.Length, true);
            long calls = (loss as EnsLoss)?.Calls ?? 0;
            var l = new double[z.Length];
            double value = loss.Compute<double>(z, t, l);
            (loss as EnsLoss)?.Reset(calls);
            bool mean = loss.Reduction == Reduction.Mean && !(_binary?.IsBatchLevel ?? false) || loss is EnsLoss { Reduction: Reduction.Mean };
            double expected = mean ? l.Sum() / l.Length : l.Sum();
            worst = Math.Max(worst, Math.Abs(value - expected) / Math.Max(1, Math.Abs(expected)));
        }
        return new PropertyCheckResult("per-element losses reduce to the returned value", worst, 1e-12, "two random batches");
    }

    private PropertyCheckResult NonNegative(Random rng)
    {
        double worst = 0;
        int c = Columns(3);
        foreach (double scale in new[] { 0.1, 1, 10, 100 })
            foreach (bool soft in new[] { false, true })
            {
                double[] z = GradientCheck.RandomLogits(rng, 16, c, scale);
                foreach (double v in Elements(z, Targets(rng, z.Length, soft))) worst = Math.Max(worst, double.IsNaN(v) ? double.PositiveInfinity : -v);
            }
        return new PropertyCheckResult("non-negative: ℓ ≥ 0", worst, 1e-12, "scales 0.1..100, 0/1 and soft targets");
    }

    private PropertyCheckResult Bounded(Random rng)
    {
        int c = Columns(3);
        double bound = loss.Card.UpperBound?.Invoke(loss, c) ?? double.NaN;
        double worst = 0;
        foreach (double scale in new[] { 1, 10, 100, 1e30 })
            foreach (bool soft in new[] { false, true })
            {
                double[] z = GradientCheck.RandomLogits(rng, 16, c, scale);
                double[] t = Targets(rng, z.Length, soft);
                double value = loss.Compute<double>(z, t);
                double[] l = Elements(z, t);
                // Element-wise losses are bounded element by element; batch-level ones as a batch.
                worst = Math.Max(worst, (_binary?.IsBatchLevel ?? false) ? value - bound : l.Max() - bound);
            }
        if (double.IsNaN(bound)) worst = double.PositiveInfinity;
        return new PropertyCheckResult($"bounded: ℓ ≤ {bound:G4}", Math.Max(worst, 0), 1e-12, "scales 1..1e30, 0/1 and soft targets");
    }

    private PropertyCheckResult Convex(Random rng)
    {
        int c = Columns(3);
        const int rows = 8;
        double worst = 0;
        for (int k = 0; k < 8; k++)
        {
            double[] a = GradientCheck.RandomLogits(rng, rows, c, 3), b = GradientCheck.RandomLogits(rng, rows, c, 3);
            double[] t = Targets(rng, a.Length, soft: k % 2 == 1);
            double lambda = rng.NextDouble();
            double[] mid = a.Zip(b, (u, v) => lambda * u + (1 - lambda) * v).ToArray();
            double[] la = Elements(a, t), lb = Elements(b, t), lm = Elements(mid, t);
            for (int i = 0; i < a.Length; i++)
                worst = Math.Max(worst, (lm[i] - (lambda * la[i] + (1 - lambda) * lb[i])) / Math.Max(1, Math.Abs(lm[i])));
        }
        return new PropertyCheckResult("convex in s: ℓ(λa + (1−λ)b) ≤ λℓ(a) + (1−λ)ℓ(b)", Math.Max(worst, 0), 1e-9, "8 random segments per element");
    }

    /// <summary>For each column, gradient descent on η·ℓ(s, 1) + (1 − η)·ℓ(s, 0) (a row of positives and a row of negatives
    /// sharing s) must end with sign(s) = sign(η·c₁ − (1 − η)·c₀), c = ℓ(0, ·): the Bayes rule weighted as the loss weighs
    /// the classes (pos_weight, α).</summary>
    private PropertyCheckResult Calibrated(Random rng)
    {
        int c = Columns(3);
        var t = new double[2 * c];
        for (int k = 0; k < c; k++) t[k] = 1;
        double[] atZero = Elements(new double[2 * c], t);
        int failures = 0, trials = 0;
        double scale = loss.Reduction == Reduction.Mean ? 2 * c : 1;
        for (int trial = 0; trial < 6; trial++)
        {
            var eta = new double[c];
            for (int k = 0; k < c; k++)
            {
                double c1 = atZero[k], c0 = atZero[c + k];
                // A class the loss does not weigh at all (ℓ(0, ·) ≤ 0) has no Bayes decision to recover: count it as failed.
                if (!(c1 > 0 && c0 > 0 && double.IsFinite(c1 + c0))) { eta[k] = double.NaN; continue; }
                double threshold = c0 / (c0 + c1);                    // η·c₁ = (1 − η)·c₀
                double side = (trial + k) % 2 == 0 ? 1 : -1;
                eta[k] = Math.Clamp(threshold + side * (0.1 + 0.2 * rng.NextDouble()), 0.02, 0.98);
            }
            var s = new double[c];
            var z = new double[2 * c];
            var g = new double[2 * c];
            for (int step = 0; step < 2000; step++)
            {
                for (int k = 0; k < c; k++) { z[k] = s[k]; z[c + k] = s[k]; }
                loss.Compute<double>(z, t, default, g);
                double lr = 0.2 / Math.Sqrt(1 + step / 50.0);
                for (int k = 0; k < c; k++) if (!double.IsNaN(eta[k])) s[k] -= lr * scale * (eta[k] * g[k] + (1 - eta[k]) * g[c + k]);
            }
            for (int k = 0; k < c; k++)
            {
                double c1 = atZero[k], c0 = atZero[c + k];
                bool positive = eta[k] * c1 > (1 - eta[k]) * c0;
                trials++;
                if (double.IsNaN(eta[k]) || positive != s[k] > 0) failures++;
            }
        }
        return new PropertyCheckResult("classification-calibrated: minimiser of the expected loss takes the weighted Bayes decision",
            failures, 0, $"{trials} (column, η) pairs, gradient descent");
    }

    private PropertyCheckResult MarginBased(Random rng)
    {
        int c = Columns(3);
        double worst = 0;
        foreach (double scale in new[] { 0.5, 3, 30 })
        {
            double[] z = GradientCheck.RandomLogits(rng, 6, c, scale);
            double[] t = Targets(rng, z.Length, soft: true);
            var g1 = new double[z.Length];
            var g2 = new double[z.Length];
            double[] l1 = Elements(z, t, g1);
            double[] l2 = Elements(z.Select(v => -v).ToArray(), t.Select(v => 1 - v).ToArray(), g2);
            for (int i = 0; i < z.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(l1[i] - l2[i]) / Math.Max(1, Math.Abs(l1[i])));
                worst = Math.Max(worst, Math.Abs(g1[i] + g2[i]) / Math.Max(1, Math.Abs(g1[i])));
            }
        }
        return new PropertyCheckResult("margin-based: ℓ(s, t) = ℓ(−s, 1 − t), g(s, t) = −g(−s, 1 − t)", worst, 1e-12, "scales 0.5..30, soft targets");
    }
}
