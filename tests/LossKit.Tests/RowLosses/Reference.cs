using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Margin;
using LossKit.Softmax;
using LossKit.Sparse;

namespace LossKit.Tests.RowLosses;

/// <summary>Slow, obviously-correct double references for the row losses, straight from the formulas.</summary>
internal static class RowLossReference
{
    /// <summary>The unweighted loss of one row with class target y.</summary>
    public static double Row(RowLoss loss, double[] z, int y)
    {
        int K = z.Length;
        switch (loss)
        {
            case CrammerSingerHingeLoss cs:
            {
                double worst = double.NegativeInfinity;
                for (int j = 0; j < K; j++) if (j != y) worst = Math.Max(worst, cs.Margin + z[j] - z[y]);
                return Math.Max(0, worst);
            }
            case WestonWatkinsHingeLoss ww:
            {
                double s = 0;
                for (int j = 0; j < K; j++) if (j != y) s += Math.Max(0, ww.Margin + z[j] - z[y]);
                return s;
            }
            case MultiMarginLoss mm:
            {
                double s = 0;
                for (int j = 0; j < K; j++) if (j != y) s += Math.Pow(Math.Max(0, mm.Margin - z[y] + z[j]), mm.Power);
                return s / K;
            }
            case OneVsRestSquaredHingeLoss:
            {
                double s = 0;
                for (int k = 0; k < K; k++) { double t = k == y ? 1 : -1; s += Math.Pow(Math.Max(0, 1 - t * z[k]), 2); }
                return s;
            }
            case PerceptronLoss:
                return z.Max() - z[y];
            case TaylorSoftmaxLoss:
                return -Math.Log(Probabilities(z, v => 1 + v + v * v / 2)[y]);
            case SphericalSoftmaxLoss sp:
                return -Math.Log(Probabilities(z, v => v * v + sp.Epsilon)[y]);
            case StablemaxLoss:
                return -Math.Log(Probabilities(z, v => v >= 0 ? v + 1 : 1 / (1 - v))[y]);
            case ZLoss zl:
            {
                double mean = z.Average();
                double sigma = Math.Sqrt(z.Select(v => (v - mean) * (v - mean)).Average());
                double zHat = sigma > 0 ? (z[y] - mean) / sigma : 0;
                double x = zl.A * (zl.B - zHat);
                return (x > 30 ? x : Math.Log(1 + Math.Exp(x))) / zl.A;
            }
            case SparsemaxLoss or Entmax15Loss:
            {
                var q = new double[K];
                q[y] = 1;
                return SoftRow(loss, z, q);
            }
            default:
                throw new NotSupportedException(loss.Spec);
        }
    }

    /// <summary>Sparsemax and 1.5-entmax probabilities by bisection on τ (no sorting): Σ_j π(z_j − τ) = 1, with
    /// π(u) = max(u, 0) (sparsemax) or max(u/2, 0)² (entmax15, τ on the z/2 scale).</summary>
    public static (double[] P, double Tau) SparseMap(RowLoss loss, double[] z)
    {
        bool entmax = loss is Entmax15Loss;
        Func<double, double, double> map = entmax ? (u, t) => Math.Pow(Math.Max(u / 2 - t, 0), 2) : (u, t) => Math.Max(u - t, 0);
        double max = z.Max();
        double lo = entmax ? max / 2 - 1 : max - 1, hi = entmax ? max / 2 : max;   // Σπ ≥ 1 at lo, 0 at hi
        for (int it = 0; it < 200; it++)
        {
            double mid = 0.5 * (lo + hi);
            if (mid == lo || mid == hi) break;
            double s = z.Sum(v => map(v, mid));
            if (s >= 1) lo = mid; else hi = mid;
        }
        double tau = 0.5 * (lo + hi);
        return (z.Select(v => map(v, tau)).ToArray(), tau);
    }

    /// <summary>The sparse losses against a soft target, by the catalog's formulas.</summary>
    public static double SoftRow(RowLoss loss, double[] z, double[] q)
    {
        var (p, tau) = SparseMap(loss, z);
        if (loss is SparsemaxLoss)
        {
            // ℓ = −q·z + ½Σ_{j∈S}(z_j² − τ²) + ½‖q‖²
            double l = 0;
            for (int j = 0; j < z.Length; j++)
            {
                if (q[j] > 0) l -= q[j] * z[j];
                if (p[j] > 0) l += 0.5 * (z[j] * z[j] - tau * tau);
                l += 0.5 * q[j] * q[j];
            }
            return l;
        }
        double H(double[] r) => 4.0 / 3.0 * r.Sum(v => v - Math.Pow(v, 1.5));
        double dot = 0;
        for (int j = 0; j < z.Length; j++) if (p[j] != q[j]) dot += (p[j] - q[j]) * z[j];
        return dot + H(p) - H(q);
    }

    /// <summary>p_k = t(z_k)/Σ t, masked (−∞) classes 0.</summary>
    public static double[] Probabilities(double[] z, Func<double, double> t)
    {
        double[] v = z.Select(x => double.IsNegativeInfinity(x) ? 0 : t(x)).ToArray();
        double s = v.Sum();
        return v.Select(x => x / s).ToArray();
    }

    /// <summary>Per-row losses (w_y·ℓ, 0 for ignored rows) and the reduced loss with the loss's semantics.</summary>
    public static (double Loss, double[] PerRow) Compute(RowLoss loss, double[] z, int K, int[] y)
    {
        var rows = new double[y.Length];
        double total = 0, denominator = 0;
        for (int n = 0; n < y.Length; n++)
        {
            if (y[n] == loss.IgnoreIndex) continue;
            double w = loss.Weight?[y[n]] ?? 1;
            rows[n] = w * Row(loss, z.AsSpan(n * K, K).ToArray(), y[n]);
            total += rows[n];
            denominator += loss is MultiMarginLoss ? 1 : w;
        }
        if (loss.Reduction == Reduction.Mean) total = denominator > 0 ? total / denominator : 0;
        return (total, rows);
    }

    public static double[] Logits(int seed, int rows, int classes, double scale = 2) =>
        GradientCheck.RandomLogits(new Random(seed), rows, classes, scale);

    public static int[] Targets(int seed, int rows, int classes) => GradientCheck.RandomTargets(new Random(seed + 1000), rows, classes);

    /// <summary>max_i |a_i − e_i| / max(1, max_j |e_j|).</summary>
    public static double MaxError(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        double scale = 1;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(actual[i] - expected[i]);
            worst = Math.Max(worst, double.IsNaN(e) ? double.PositiveInfinity : e / scale);
        }
        return worst;
    }
}
