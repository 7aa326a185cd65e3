using LossKit.Checking;
using LossKit.LargeVocabulary;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>Inputs and helpers for the linear_ce tests.</summary>
internal sealed class LinearCase
{
    public required int Rows, Dim, Vocab;
    public required double[] Hidden, Weight, Bias;
    public required int[] Targets;

    /// <summary>Seeded uniform H (scale <paramref name="scale"/>), W scaled by 1/√d, small bias, random targets
    /// with every <paramref name="ignoreEvery"/>-th one ignored (0 = none).</summary>
    public static LinearCase Random(int seed, int rows, int dim, int vocab, double scale = 1, int ignoreEvery = 0, int ignoreIndex = -100)
    {
        var rng = new Random(seed);
        double[] U(int n, double s) => Enumerable.Range(0, n).Select(_ => (2 * rng.NextDouble() - 1) * s).ToArray();
        var c = new LinearCase
        {
            Rows = rows, Dim = dim, Vocab = vocab,
            Hidden = U(rows * dim, scale),
            Weight = U(vocab * dim, 2 / Math.Sqrt(dim)),
            Bias = U(vocab, 0.5),
            Targets = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray(),
        };
        if (ignoreEvery > 0) for (int i = 1; i < rows; i += ignoreEvery) c.Targets[i] = ignoreIndex;
        return c;
    }

    public static float[] F(double[] x) => x.Select(v => (float)v).ToArray();
}

/// <summary>The outputs of one call.</summary>
internal sealed record LinearResult<T>(T Loss, T[] PerRow, T[] GradHidden, T[] GradWeight, T[] GradBias);

internal static class LinearRun
{
    public static LinearResult<double> Double(LinearCrossEntropyLoss loss, LinearCase c, bool bias = true, bool materialized = false)
    {
        int predictions = loss.Shift ? c.Rows - 1 : c.Rows;
        var perRow = new double[predictions];
        var gh = new double[c.Hidden.Length];
        var gw = new double[c.Weight.Length];
        var gb = new double[c.Vocab];
        double[] b = bias ? c.Bias : [];
        double value = materialized
            ? loss.ComputeMaterialized(c.Hidden, c.Weight, b, c.Rows, c.Dim, c.Vocab, c.Targets, perRow, gh, gw, gb)
            : loss.Compute(c.Hidden, c.Weight, b, c.Rows, c.Dim, c.Vocab, c.Targets, perRow, gh, gw, gb);
        return new(value, perRow, gh, gw, gb);
    }

    public static LinearResult<float> Float(LinearCrossEntropyLoss loss, LinearCase c, bool bias = true, bool materialized = false)
    {
        int predictions = loss.Shift ? c.Rows - 1 : c.Rows;
        var perRow = new float[predictions];
        var gh = new float[c.Hidden.Length];
        var gw = new float[c.Weight.Length];
        var gb = new float[c.Vocab];
        float[] h = LinearCase.F(c.Hidden), w = LinearCase.F(c.Weight), b = bias ? LinearCase.F(c.Bias) : [];
        float value = materialized
            ? loss.ComputeMaterialized(h, w, b, c.Rows, c.Dim, c.Vocab, c.Targets, perRow, gh, gw, gb)
            : loss.Compute(h, w, b, c.Rows, c.Dim, c.Vocab, c.Targets, perRow, gh, gw, gb);
        return new(value, perRow, gh, gw, gb);
    }

    /// <summary>max_i |a_i − e_i| / max(1e-300, max_j |e_j|): relative to the array's largest magnitude.</summary>
    /// <summary>Finite differences in double over H, W and b together against the call's gradients.</summary>
    public static void AssertGradientCheck(LinearCrossEntropyLoss loss, LinearCase c)
    {
        int rows = c.Rows, dim = c.Dim, vocab = c.Vocab, nh = c.Hidden.Length, nw = c.Weight.Length;
        double[] point = [.. c.Hidden, .. c.Weight, .. c.Bias];
        double F(double[] x, double[]? g)
        {
            var h = x.AsSpan(0, nh);
            var w = x.AsSpan(nh, nw);
            var b = x.AsSpan(nh + nw, vocab);
            if (g is null) return loss.Compute(h, w, b, rows, dim, vocab, c.Targets);
            return loss.Compute(h, w, b, rows, dim, vocab, c.Targets, default, g.AsSpan(0, nh), g.AsSpan(nh, nw), g.AsSpan(nh + nw, vocab));
        }
        var result = GradientCheck.Check(F, point, loss.Spec);
        Assert.True(result.Passed, result.ToString());
    }

    public static double MaxRelative(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i].Equals(actual[i])) continue;
            double err = Math.Abs(actual[i] - expected[i]) / (scale > 0 ? scale : 1);
            worst = Math.Max(worst, double.IsNaN(err) ? double.PositiveInfinity : err);
        }
        return worst;
    }

    public static double MaxRelative(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected) =>
        MaxRelative(actual.ToArray().Select(v => (double)v).ToArray(), expected.ToArray().Select(v => (double)v).ToArray());

    public static void AssertClose(LinearResult<double> actual, LinearResult<double> expected, double tolerance, string what)
    {
        Assert.True(MaxRelative([actual.Loss], [expected.Loss]) <= tolerance, $"{what}: loss {actual.Loss:R} vs {expected.Loss:R}");
        Assert.True(MaxRelative(actual.PerRow, expected.PerRow) <= tolerance, $"{what}: per-row error {MaxRelative(actual.PerRow, expected.PerRow):E2}");
        Assert.True(MaxRelative(actual.GradHidden, expected.GradHidden) <= tolerance, $"{what}: ∂H error {MaxRelative(actual.GradHidden, expected.GradHidden):E2}");
        Assert.True(MaxRelative(actual.GradWeight, expected.GradWeight) <= tolerance, $"{what}: ∂W error {MaxRelative(actual.GradWeight, expected.GradWeight):E2}");
        Assert.True(MaxRelative(actual.GradBias, expected.GradBias) <= tolerance, $"{what}: ∂b error {MaxRelative(actual.GradBias, expected.GradBias):E2}");
    }

    public static void AssertClose(LinearResult<float> actual, LinearResult<float> expected, double tolerance, string what)
    {
        Assert.True(MaxRelative([actual.Loss], [expected.Loss]) <= tolerance, $"{what}: loss {actual.Loss:R} vs {expected.Loss:R}");
        Assert.True(MaxRelative(actual.PerRow, expected.PerRow) <= tolerance, $"{what}: per-row error {MaxRelative(actual.PerRow, expected.PerRow):E2}");
        Assert.True(MaxRelative(actual.GradHidden, expected.GradHidden) <= tolerance, $"{what}: ∂H error {MaxRelative(actual.GradHidden, expected.GradHidden):E2}");
        Assert.True(MaxRelative(actual.GradWeight, expected.GradWeight) <= tolerance, $"{what}: ∂W error {MaxRelative(actual.GradWeight, expected.GradWeight):E2}");
        Assert.True(MaxRelative(actual.GradBias, expected.GradBias) <= tolerance, $"{what}: ∂b error {MaxRelative(actual.GradBias, expected.GradBias):E2}");
    }

    public static void AssertBitIdentical<T>(LinearResult<T> a, LinearResult<T> b, string what)
    {
        Assert.True(EqualityComparer<T>.Default.Equals(a.Loss, b.Loss), $"{what}: loss differs");
        Assert.True(a.PerRow.SequenceEqual(b.PerRow), $"{what}: per-row losses differ");
        Assert.True(a.GradHidden.SequenceEqual(b.GradHidden), $"{what}: ∂H differs");
        Assert.True(a.GradWeight.SequenceEqual(b.GradWeight), $"{what}: ∂W differs");
        Assert.True(a.GradBias.SequenceEqual(b.GradBias), $"{what}: ∂b differs");
    }
}
