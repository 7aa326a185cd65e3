using LossKit.Core;










namespace LossKit.Checking;

public static partial class LossChecks
{
    /// <summary>Checks ℓ(αz + β) = ℓ(z) and ∇(αz + β) = ∇(z)/α for α ∈ {0.01, 3, 1e6} and assorted β on seeded random rows (double).</summary>
    public static PropertyCheckResult ScaleInvariance(IClassificationLoss loss, int seed = 0)
    {
        var rng = new Random(seed);
        int K = loss.FixedClassCount ?? 6;
        const int N = 6;
        double worst = 0;
        foreach (var (alpha, beta) in new[] { (0.01, 0.0), (3.0, -7.0), (1e6, 50.0) })
        {
            double[] z = GradientCheck.RandomLogits(rng, N, K, 2);
            int[] y = GradientCheck.RandomTargets(rng, N, K);
            double[] z2 = z.Select(v => alpha * v + beta).ToArray();
            var l0 = new double[N]; var l1 = new double[N];
            var g0 = new double[z.Length]; var g1 = new double[z.Length];
            loss.Compute<double>(z, K, y, l0, g0);
            loss.Compute<double>(z2, K, y, l1, g1);
            for (int i = 0; i < N; i++) worst = Math.Max(worst, Math.Abs(l0[i] - l1[i]) / Math.Max(1, Math.Abs(l0[i])));
            double gScale = Math.Max(1, g0.Max(Math.Abs));
            for (int i = 0; i < z.Length; i++) worst = Math.Max(worst, Math.Abs(g0[i] - alpha * g1[i]) / gScale);
            if (double.IsNaN(worst)) worst = double.PositiveInfinity;
        }
        return new PropertyCheckResult("scale-invariant: ℓ(αz + β) = ℓ(z), ∇ scales by 1/α", worst, 1e-9, "α ∈ {0.01, 3, 1e6}, β ∈ {0, −7, 50}");
    }
}
