using LossKit.Core;

namespace LossKit.Checking;

/// <summary>Properties defined only for rows of K logits with class-index targets (<see cref="IClassificationLoss"/>):
/// the multi-class symmetry and classification calibration. Used by <see cref="Conformance"/> when the card claims them.</summary>
internal static class RowProperties
{
    private static double[] PerRow(IClassificationLoss loss, double[] z, int classes, int[] y, double[]? gradient = null)
    {
        var rows = new double[y.Length];
        loss.Compute<double>(z, classes, y, rows, gradient ?? default(Span<double>));
        return rows;
    }

    /// <summary>Σ_k ℓ(z, k) equals the card's constant (K − 1 unless it gives one) on 8 random rows.</summary>
    public static ConformanceResult Symmetric(IClassificationLoss loss, Random rng)
    {
        int K = loss.FixedClassCount ?? 5;
        double expected = loss.Card.SymmetricSum?.Invoke(loss, K) ?? K - 1;
        double worst = 0;
        for (int t = 0; t < 8; t++)
        {
            double[] row = GradientCheck.RandomLogits(rng, 1, K, 3);
            double[] z = Enumerable.Range(0, K).SelectMany(_ => row).ToArray();
            double sum = PerRow(loss, z, K, Enumerable.Range(0, K).ToArray()).Sum();
            worst = Math.Max(worst, double.IsNaN(sum) ? double.PositiveInfinity : Math.Abs(sum - expected));
        }
        return new ConformanceResult(ConformanceChecks.Property, $"symmetric: Σ_k ℓ(z, k) = {Conformance.G(expected)}", worst, 1e-9, $"8 random rows, K = {K}");
    }

    /// <summary>Gradient descent on the expected loss Σ_k η_k ℓ(z, k) for random η must end with argmax z = argmax η_k·c_k,
    /// where c_k ∝ ℓ(0, k) is the class's weight in the loss (1 without class weights), i.e. the weighted Bayes rule.</summary>
    public static ConformanceResult Calibrated(IClassificationLoss loss, Random rng)
    {
        int K = loss.FixedClassCount ?? 3;
        int[] y = Enumerable.Range(0, K).ToArray();
        var classWeight = new double[K];
        double atZero = loss.Compute<double>(new double[K * K], K, y, classWeight);
        // Descend on the sum of the rows' losses whatever the reduction (the mean's gradient is the sum's times
        // value/Σ rows), with a step of 0.5 over the largest class weight relative to the average one.
        double toSum = classWeight.Sum() is var total && total > 0 && atZero > 0 && double.IsFinite(total / atZero) ? total / atZero : 1;
        double spread = classWeight.Max() / classWeight.Average();
        double step = 0.5 / (spread > 1 && double.IsFinite(spread) ? spread : 1);
        int failures = 0;
        for (int t = 0; t < 5; t++)
        {
            double[] eta = GradientCheck.RandomDistributions(rng, 1, K);
            // The decision must be clear: where the two largest η_k·c_k are within 0.1 of their total, use η ∝ u_k/c_k
            // for u = 0.6 on one class and 0.4/(K − 1) on the others (a class of weight 0 gets η = 0).
            if (K > 1 && Gap(eta.Select((e, k) => e * classWeight[k]).ToArray()) < 0.1)
            {
                int j = Enumerable.Range(t, K).Select(k => k % K).FirstOrDefault(k => classWeight[k] > 0, t % K);
                eta = Enumerable.Range(0, K).Select(k => classWeight[k] > 0 ? (k == j ? 0.6 : 0.4 / (K - 1)) / classWeight[k] : 0).ToArray();
                double norm = eta.Sum();
                for (int k = 0; k < K; k++) eta[k] /= norm;
            }
            var z = new double[K];
            var zs = new double[K * K];
            var g = new double[K * K];
            for (int iteration = 0; iteration < 300; iteration++)
            {
                for (int r = 0; r < K; r++) z.CopyTo(zs, r * K);
                loss.Compute<double>(zs, K, y, default, g);
                for (int k = 0; k < K; k++)
                {
                    double d = 0;
                    for (int r = 0; r < K; r++) d += eta[r] * g[r * K + k];
                    z[k] -= step * toSum * d;
                }
            }
            double[] weighted = eta.Select((e, k) => e * classWeight[k]).ToArray();
            if (Array.IndexOf(z, z.Max()) != Array.IndexOf(weighted, weighted.Max())) failures++;
        }
        static double Gap(double[] v)
        {
            double[] sorted = v.OrderByDescending(x => x).ToArray();
            return (sorted[0] - sorted[1]) / sorted.Sum();
        }
        return new ConformanceResult(ConformanceChecks.Property, "classification-calibrated: argmin of expected loss picks argmax η", failures, 0,
            $"5 random η, K = {K}, gradient descent");
    }
}
