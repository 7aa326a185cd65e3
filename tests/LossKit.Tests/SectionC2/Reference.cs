using LossKit.Classification;

namespace LossKit.Tests.SectionC2;

/// <summary>Slow, obviously-correct double references for the section C2 losses, straight from the formulas.</summary>
internal static class Reference
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
            default:
                throw new NotSupportedException(loss.Spec);
        }
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
