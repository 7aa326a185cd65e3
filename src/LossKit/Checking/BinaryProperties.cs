using LossKit.Binary;
using LossKit.Core;

namespace LossKit.Checking;

/// <summary>Properties defined only for binary outputs (<see cref="IBinaryLoss"/>): classification calibration of a
/// single logit and the margin symmetry ℓ(s, t) = ℓ(−s, 1 − t). Used by <see cref="Conformance"/> when the card claims them.</summary>
internal static class BinaryProperties
{
    private static double[] Elements(IBinaryLoss loss, double[] z, double[] t, double[]? gradient = null)
    {
        var l = new double[z.Length];
        loss.Compute<double>(z, t, l, gradient ?? default(Span<double>));
        return l;
    }

    /// <summary>For each of <paramref name="columns"/> columns, gradient descent on η·ℓ(s, 1) + (1 − η)·ℓ(s, 0) (a row of
    /// positives and a row of negatives sharing s) must end with sign(s) = sign(η·c₁ − (1 − η)·c₀), c = ℓ(0, ·): the Bayes
    /// rule weighted as the loss weighs the classes (pos_weight, α).</summary>
    public static ConformanceResult Calibrated(IBinaryLoss loss, int columns, Random rng)
    {
        int c = columns;
        var t = new double[2 * c];
        for (int k = 0; k < c; k++) t[k] = 1;
        double[] atZero = Elements(loss, new double[2 * c], t);
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
        return new ConformanceResult(ConformanceChecks.Property, "classification-calibrated: minimiser of the expected loss takes the weighted Bayes decision",
            failures, 0, $"{trials} (column, η) pairs, gradient descent");
    }

    /// <summary>ℓ(s, t) = ℓ(−s, 1 − t) and g(s, t) = −g(−s, 1 − t) on soft targets at scales 0.5 … 30.</summary>
    public static ConformanceResult MarginBased(IBinaryLoss loss, int columns, Random rng)
    {
        double worst = 0;
        foreach (double scale in new[] { 0.5, 3, 30 })
        {
            double[] z = GradientCheck.RandomLogits(rng, 6, columns, scale);
            double[] t = GradientCheck.RandomBinaryTargets(rng, z.Length, soft: true);
            var g1 = new double[z.Length];
            var g2 = new double[z.Length];
            double[] l1 = Elements(loss, z, t, g1);
            double[] l2 = Elements(loss, z.Select(v => -v).ToArray(), t.Select(v => 1 - v).ToArray(), g2);
            for (int i = 0; i < z.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(l1[i] - l2[i]) / Math.Max(1, Math.Abs(l1[i])));
                worst = Math.Max(worst, Math.Abs(g1[i] + g2[i]) / Math.Max(1, Math.Abs(g1[i])));
            }
            if (double.IsNaN(worst)) worst = double.PositiveInfinity;
        }
        return new ConformanceResult(ConformanceChecks.Property, "margin-based: ℓ(s, t) = ℓ(−s, 1 − t), g(s, t) = −g(−s, 1 − t)", worst, 1e-12,
            "scales 0.5..30, soft targets");
    }
}
