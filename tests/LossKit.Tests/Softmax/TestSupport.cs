using LossKit.Checking;

namespace LossKit.Tests.Softmax;

/// <summary>Slow, obviously-correct references and helpers for the softmax-family tests.</summary>
internal static class Reference
{
    /// <summary>log p_k of one row by the definition, in double with max subtraction.</summary>
    public static double[] LogSoftmax(ReadOnlySpan<double> z)
    {
        double m = double.NegativeInfinity;
        foreach (double v in z) m = Math.Max(m, v);
        double s = 0;
        foreach (double v in z) s += Math.Exp(v - m);
        double lse = m + Math.Log(s);
        var r = new double[z.Length];
        for (int k = 0; k < z.Length; k++) r[k] = z[k] - lse;
        return r;
    }

    /// <summary>Per-row loss w_y·f(p_y) for a target-probability function given as f(log p).</summary>
    public static double[] TargetProbability(double[] z, int classes, int[] y, Func<double, double> fOfLogP, double[]? weight = null, int ignore = -100)
    {
        var rows = new double[y.Length];
        for (int n = 0; n < y.Length; n++)
        {
            if (y[n] == ignore) continue;
            double[] lp = LogSoftmax(z.AsSpan(n * classes, classes));
            rows[n] = (weight?[y[n]] ?? 1) * fOfLogP(lp[y[n]]);
        }
        return rows;
    }

    public static double[] Logits(int seed, int rows, int classes, double scale = 2)
    {
        var rng = new Random(seed);
        return GradientCheck.RandomLogits(rng, rows, classes, scale);
    }

    public static int[] Targets(int seed, int rows, int classes) => GradientCheck.RandomTargets(new Random(seed + 1000), rows, classes);

    /// <summary>max_i |a_i − e_i| / max(|e_i|, max_j |e_j|): relative to the array's largest magnitude (absolute when all are 0).</summary>
    public static double MaxRelative(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        double scale = 0;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / (scale > 0 ? Math.Max(Math.Abs(expected[i]), scale) : 1));
        return worst;
    }

    /// <summary>Every cross-entropy and target-probability spec and option combination the tests sweep.</summary>
    public static TheoryData<string> AllSpecs() =>
    [
        "ce", "ce(reduction=sum)", "ce(reduction=none)", "ce(smoothing=0.1)", "ce(smoothing=1)", "ce(weight=[1,2,0.5,1,3])",
        "ce(weight=[1,2,0.5,1,3], smoothing=0.2, ignore_index=2)", "ce(lse_sq=0.01)", "ce(softcap=3)", "ce(temperature=2.5)",
        "ce(softcap=5, temperature=0.5, lse_sq=0.001, smoothing=0.05)",
        "focal", "focal(gamma=0)", "focal(gamma=0.5)", "focal(gamma=3, alpha=[0.25,1,1,2,0.5])", "focal(weight=[1,2,0.5,1,3], reduction=sum)",
        "poly", "poly(eps=-1)", "poly(eps=3, weight=[1,2,0.5,1,3])",
        "polyn(eps=[1,0.5,0.25])", "polyn(eps=[-0.5])",
        "gce", "gce(q=0.3)", "gce(q=1)", "gce(q=0.7, k=0.5)", "gce(weight=[1,2,0.5,1,3], reduction=none)",
        "mae", "mae(reduction=sum)",
        "compsum(tau=0)", "compsum(tau=0.5)", "compsum(tau=1)", "compsum(tau=1.5)", "compsum(tau=2)", "compsum(tau=3)",
        "sce", "sce(alpha=1, beta=0.5, A=-6)", "sce(weight=[1,2,0.5,1,3], ignore_index=0)",
    ];
}
