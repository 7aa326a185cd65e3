using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Tests.Checking;

/// <summary>Checker helpers the tests share: finite-difference checks of a multi-class loss at given logits (through the
/// public <see cref="GradientCheck.Check(Func{double[], double[], double}, double[], string, double)"/>), the conformance
/// suite with its failures in the assertion message, and the 1-vs-2-threads comparison of a float call.</summary>
internal static class TestChecks
{
    /// <summary>The largest |got − expected| over the elements, relative to max(1, max |expected|): the error measure of
    /// the fixture comparisons.</summary>
    public static double NormError(ReadOnlySpan<double> got, ReadOnlySpan<double> expected)
    {
        double scale = 1, worst = 0;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(got[i] - expected[i]));
        return worst / scale;
    }

    /// <summary>∂(reduced loss)/∂logits of a class-index loss against finite differences.</summary>
    public static GradientCheckResult Gradient(IClassificationLoss loss, double[] logits, int classes, int[] targets,
        double tolerance = GradientCheck.DefaultTolerance) =>
        GradientCheck.Check((x, g) => loss.Compute<double>(x, classes, targets, default, g is null ? default : g.AsSpan()), logits, loss.Spec, tolerance);

    /// <summary>Like <see cref="Gradient"/> with soft targets.</summary>
    public static GradientCheckResult GradientSoft(ISoftTargetLoss loss, double[] logits, int classes, double[] softTargets) =>
        GradientCheck.Check((x, g) => loss.ComputeSoft<double>(x, classes, softTargets, default, g is null ? default : g.AsSpan()), logits,
            loss.Spec + " (soft targets)");

    /// <summary>The loss to finite-difference at <paramref name="inputs"/>: a copy with its own state held fixed there
    /// (<see cref="IOwnStateLoss"/>), or the loss itself.</summary>
    public static ILoss Held(ILoss loss, LossInputs inputs) =>
        loss is IOwnStateLoss own && own.CheckCopy() is var copy && copy is IOwnStateLoss held ? held.HeldFixed(inputs) : loss;

    /// <summary>Runs the conformance suite (or the given groups) and asserts that every check passed.</summary>
    public static IReadOnlyList<ConformanceResult> AssertConforms(ILoss loss, int seed = 0, params string[] checks)
    {
        var results = Conformance.Run(loss, seed, checks: checks.Length == 0 ? null : checks);
        Assert.NotEmpty(results);
        var failed = results.Where(r => !r.Passed).ToList();
        Assert.True(failed.Count == 0, $"{loss.Spec}: {failed.Count} of {results.Count} checks failed:\n" + string.Join("\n", failed));
        return results;
    }

    /// <summary>The reduced float result and gradient are bit-identical for 1 and 2 threads.</summary>
    public static void ThreadIdentity(Func<float[], float> compute, int length)
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
        Assert.Equal(BitConverter.SingleToInt32Bits(l1), BitConverter.SingleToInt32Bits(l2));
        Assert.True(g1.AsSpan().SequenceEqual(g2), "the gradient differs between 1 and 2 threads");
    }
}
