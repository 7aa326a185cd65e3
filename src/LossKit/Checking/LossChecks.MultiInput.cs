using LossKit.Core;
using LossKit.Distillation;
using LossKit.Kernels;
using LossKit.Softmax;










namespace LossKit.Checking;

public static partial class LossChecks
{
    /// <summary>Checks for a distillation loss: finite on extreme inputs (±1e30, −∞ classes masked in both, K = 1),
    /// bit-identical for 1 and 2 threads, and the card's non-negativity when claimed.</summary>
    public static IReadOnlyList<PropertyCheckResult> Run(IDistillationLoss loss, int seed = 0)
    {
        var rng = new Random(seed);
        var results = new List<PropertyCheckResult>();
        const int N = 4, K = 6;
        var cases = new List<(string, double[], double[], int, int[])>
        {
            ("logits ±1e30", GradientCheck.RandomLogits(rng, N, K, 1e30), GradientCheck.RandomLogits(rng, N, K, 1e30), K, GradientCheck.RandomTargets(rng, N, K)),
            ("all-equal rows", new double[N * K], new double[N * K], K, GradientCheck.RandomTargets(rng, N, K)),
            ("K = 1", GradientCheck.RandomLogits(rng, N, 1, 3), GradientCheck.RandomLogits(rng, N, 1, 3), 1, new int[N]),
        };
        {
            double[] z = GradientCheck.RandomLogits(rng, N, K, 3), t = GradientCheck.RandomLogits(rng, N, K, 3);
            int[] y = GradientCheck.RandomTargets(rng, N, K);
            for (int r = 0; r < N; r++) z[r * K + (y[r] + 1) % K] = t[r * K + (y[r] + 1) % K] = double.NegativeInfinity;
            cases.Add(("masked (−∞) classes", z, t, K, y));
        }
        string bad = "";
        foreach (var (name, z, t, k, y) in cases)
        {
            var g = new double[z.Length];
            var rows = new double[y.Length];
            loss.Compute<double>(z, k, t, y, rows, g);
            if (!rows.All(double.IsFinite) || !g.All(double.IsFinite)) { bad = name; break; }
        }
        results.Add(new PropertyCheckResult("finite on extreme inputs", bad.Length == 0 ? 0 : double.PositiveInfinity, 0,
            bad.Length == 0 ? "±1e30, −∞ masks, all-equal rows, K = 1" : $"{bad}: a loss or gradient is not finite"));
        {
            const int n = 300, k = 257;
            float[] z = GradientCheck.RandomLogits(rng, n, k, 4).Select(v => (float)v).ToArray();
            float[] t = GradientCheck.RandomLogits(rng, n, k, 4).Select(v => (float)v).ToArray();
            int[] y = GradientCheck.RandomTargets(rng, n, k);
            results.Add(Determinism((g) => loss.Compute<float>(z, k, t, y, default, g), z.Length, $"{n}×{k} float"));
        }
        if (loss.Card.Properties.HasFlag(LossProperties.NonNegative))
        {
            double worst = 0;
            foreach (double scale in new[] { 0.1, 1, 10, 100 })
            {
                var rows = new double[32];
                loss.Compute<double>(GradientCheck.RandomLogits(rng, 32, 5, scale), 5, GradientCheck.RandomLogits(rng, 32, 5, scale),
                    GradientCheck.RandomTargets(rng, 32, 5), rows);
                foreach (double v in rows) worst = Math.Max(worst, -v);
            }
            results.Add(new PropertyCheckResult("non-negative: ℓ ≥ 0", worst, 1e-12, "scales 0.1..100"));
        }
        return results;
    }

    /// <summary>Checks for a multi-positive loss: finite on extreme inputs (±1e30, −∞ negatives, rows with no or
    /// all positives), bit-identical for 1 and 2 threads, and the card's non-negativity and shift invariance when claimed.</summary>
    public static IReadOnlyList<PropertyCheckResult> Run(IMultiPositiveLoss loss, int seed = 0)
    {
        var rng = new Random(seed);
        var results = new List<PropertyCheckResult>();
        const int N = 6, K = 6;
        var (offsets, columns) = GradientCheck.RandomPositives(rng, N, K);
        double[] masked = GradientCheck.RandomLogits(rng, N, K, 3);
        for (int r = 0; r < N; r++)
        {
            var pos = new HashSet<int>(columns[offsets[r]..offsets[r + 1]]);
            int neg = Enumerable.Range(0, K).FirstOrDefault(c => !pos.Contains(c), -1);
            if (neg >= 0 && pos.Count > 0) masked[r * K + neg] = double.NegativeInfinity;
        }
        int[] allOffsets = [0, K];
        int[] all = Enumerable.Range(0, K).ToArray();
        var cases = new List<(string, double[], int[], int[])>
        {
            ("scores ±1e30", GradientCheck.RandomLogits(rng, N, K, 1e30), offsets, columns),
            ("all-equal rows", new double[N * K], offsets, columns),
            ("masked (−∞) negatives", masked, offsets, columns),
            ("a row whose classes are all positive", GradientCheck.RandomLogits(rng, 1, K, 3), allOffsets, all),
        };
        string bad = "";
        foreach (var (name, s, o, c) in cases)
        {
            var g = new double[s.Length];
            var rows = new double[o.Length - 1];
            loss.Compute<double>(s, K, o, c, rows, g);
            if (!rows.All(double.IsFinite) || !g.All(double.IsFinite)) { bad = name; break; }
        }
        results.Add(new PropertyCheckResult("finite on extreme inputs", bad.Length == 0 ? 0 : double.PositiveInfinity, 0,
            bad.Length == 0 ? "±1e30, −∞ negatives, all-equal rows, rows with no or only positives" : $"{bad}: a loss or gradient is not finite"));
        {
            const int n = 300, k = 257;
            float[] s = GradientCheck.RandomLogits(rng, n, k, 4).Select(v => (float)v).ToArray();
            var (o, c) = GradientCheck.RandomPositives(rng, n, k);
            results.Add(Determinism((g) => loss.Compute<float>(s, k, o, c, default, g), s.Length, $"{n}×{k} float"));
        }
        if (loss.Card.Properties.HasFlag(LossProperties.NonNegative))
        {
            double worst = 0;
            foreach (double scale in new[] { 0.1, 1, 10, 100 })
            {
                var rows = new double[N];
                loss.Compute<double>(GradientCheck.RandomLogits(rng, N, K, scale), K, offsets, columns, rows);
                foreach (double v in rows) worst = Math.Max(worst, -v);
            }
            results.Add(new PropertyCheckResult("non-negative: ℓ ≥ 0", worst, 1e-12, "scales 0.1..100"));
        }
        if (loss.Card.Properties.HasFlag(LossProperties.ShiftInvariant))
        {
            double worst = 0;
            foreach (double shift in new[] { -50.0, 3.0, 1e3 })
            {
                double[] s = GradientCheck.RandomLogits(rng, N, K, 2);
                var (ra, ga) = (new double[N], new double[s.Length]);
                var (rb, gb) = (new double[N], new double[s.Length]);
                loss.Compute<double>(s, K, offsets, columns, ra, ga);
                loss.Compute<double>(s.Select(v => v + shift).ToArray(), K, offsets, columns, rb, gb);
                for (int i = 0; i < N; i++) worst = Math.Max(worst, Math.Abs(ra[i] - rb[i]) / Math.Max(1, Math.Abs(ra[i])));
                for (int i = 0; i < s.Length; i++) worst = Math.Max(worst, Math.Abs(ga[i] - gb[i]));
            }
            results.Add(new PropertyCheckResult("shift-invariant: ℓ(s + c) = ℓ(s)", worst, 1e-9, "c ∈ {−50, 3, 1000}"));
        }
        return results;
    }

    internal static PropertyCheckResult Determinism(Func<float[], float> compute, int length, string detail)
    {
        (float, float[]) With(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try { var g = new float[length]; return (compute(g), g); }
            finally { Parallelism.MaxThreads = saved; }
        }
        var (l1, g1) = With(1);
        var (l2, g2) = With(2);
        bool same = BitConverter.SingleToInt32Bits(l1) == BitConverter.SingleToInt32Bits(l2) && g1.AsSpan().SequenceEqual(g2);
        return new PropertyCheckResult("bit-identical for 1 and 2 threads", same ? 0 : 1, 0, detail);
    }
}
