using LossKit.Checking;
using LossKit.Core;

namespace LossKit.Tests.Softmax;

/// <summary>Slow, obviously-correct helpers for the softmax-variant and distillation tests.</summary>
internal static class C1
{
    public static double Lse(IEnumerable<double> values)
    {
        double[] v = values.ToArray();
        double m = v.Max();
        if (double.IsNegativeInfinity(m)) return m;
        return m + Math.Log(v.Sum(x => Math.Exp(x - m)));
    }

    public static double[] Softmax(double[] v)
    {
        double l = Lse(v);
        return v.Select(x => Math.Exp(x - l)).ToArray();
    }

    public static double[] Row(double[] z, int n, int k) => z.AsSpan(n * k, k).ToArray();

    public static double[] Logits(int seed, int rows, int classes, double scale = 2) =>
        GradientCheck.RandomLogits(new Random(seed), rows, classes, scale);

    public static int[] Targets(int seed, int rows, int classes) => GradientCheck.RandomTargets(new Random(seed + 1000), rows, classes);

    public static double MaxAbsDiff(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]) / Math.Max(1, Math.Abs(b[i])));
        return worst;
    }

    /// <summary>Runs a classification loss in double: (reduced, per-row, gradient).</summary>
    public static (double Loss, double[] Rows, double[] Grad) Run(IClassificationLoss loss, double[] z, int k, int[] y)
    {
        var rows = new double[y.Length];
        var g = new double[z.Length];
        double l = loss.Compute<double>(z, k, y, rows, g);
        return (l, rows, g);
    }

    /// <summary>Float and Half agree with double (loss and gradient), within the type's precision.</summary>
    public static void LowPrecisionAgrees(IClassificationLoss loss, double[] z, int k, int[] y)
    {
        var (ld, _, gd) = Run(loss, z, k, y);
        float[] zf = z.Select(v => (float)v).ToArray();
        var gf = new float[z.Length];
        float lf = loss.Compute<float>(zf, k, y, default, gf);
        Assert.InRange(Math.Abs(lf - ld) / Math.Max(1, Math.Abs(ld)), 0, 1e-4);
        Assert.InRange(MaxAbsDiff(gf.Select(v => (double)v).ToArray(), gd), 0, 1e-4);
        Half[] zh = z.Select(v => (Half)v).ToArray();
        var gh = new Half[z.Length];
        Half lh = loss.Compute<Half>(zh, k, y, default, gh);
        var (ldh, _, gdh) = Run(loss, zh.Select(v => (double)v).ToArray(), k, y);
        Assert.InRange(Math.Abs((double)lh - ldh) / Math.Max(1, Math.Abs(ldh)), 0, 1e-2);
        Assert.InRange(MaxAbsDiff(gh.Select(v => (double)v).ToArray(), gdh), 0, 1e-2);
    }

    /// <summary>The reduced float result and gradient are bit-identical for 1 and 2 threads on a multi-block batch.</summary>
    public static void ThreadIdentity(Func<float[], float> compute, int length)
    {
        LossKit.Tests.Checking.TestChecks.ThreadIdentity(compute, length);
    }
}
