using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Margin;
using LossKit.Tests.Checking;

namespace LossKit.Tests.RowLosses;

/// <summary>What every row loss (margin, normalised, z-loss, sparse) promises: exact gradients, reference values, its
/// card's properties, the reductions/weight/ignore_index semantics, float/Half, extreme inputs, bad inputs and
/// thread-count independence. Every case asserts something for every spec.</summary>
public class RowLossCommonTests
{
    public static TheoryData<string> All => RowLossSpecs.AllData;

    [Theory, MemberData(nameof(All))]
    public void GradientMatchesFiniteDifferencesAtEveryScale(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        // Scales 0.01 … 1e30, an ignored row and masked classes (spherical with a tiny ε included: the check's
        // Richardson-extrapolated differences resolve its ~1/z² curvature near 0 at the default tolerance).
        var results = TestChecks.AssertConforms(loss, 3, ConformanceChecks.Gradient);
        Assert.True(results.Count >= 7, $"only {results.Count} gradient checks ran");
        Assert.Contains(results, r => r.Name.Contains("ignored row", StringComparison.Ordinal));
        Assert.Contains(results, r => r.Name.Contains("masked", StringComparison.Ordinal));
        var rng = new Random(17);
        foreach (double scale in new[] { 0.3, 2, 8 })
        {
            double[] z = GradientCheck.RandomLogits(rng, 7, 5, scale);
            var r = TestChecks.Gradient(loss, z, 5, GradientCheck.RandomTargets(rng, 7, 5));
            Assert.True(r.Passed, r.ToString());
        }
    }

    [Theory, MemberData(nameof(All))]
    public void GradientIsExactWithAnIgnoredRow(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        double[] z = RowLossReference.Logits(5, 6, 5);
        int[] y = RowLossReference.Targets(5, 6, 5);
        y[2] = loss.IgnoreIndex;
        var r = TestChecks.Gradient(loss, z, 5, y);
        Assert.True(r.Passed, r.ToString());
        var g = new double[z.Length];
        loss.Compute<double>(z, 5, y, default, g);
        Assert.All(g.AsSpan(10, 5).ToArray(), v => Assert.Equal(0.0, v));
    }

    [Theory, MemberData(nameof(All))]
    public void MatchesTheSlowReference(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        foreach (var (seed, rows, scale) in new[] { (1, 9, 2.0), (2, 3, 0.1), (3, 40, 30.0) })
        {
            double[] z = RowLossReference.Logits(seed, rows, 5, scale);
            int[] y = RowLossReference.Targets(seed, rows, 5);
            if (rows > 3) y[1] = loss.IgnoreIndex;
            var perRow = new double[rows];
            double value = loss.Compute<double>(z, 5, y, perRow);
            var (expected, expectedRows) = RowLossReference.Compute(loss, z, 5, y);
            Assert.InRange(RowLossReference.MaxError([value], [expected]), 0, 1e-12);
            Assert.InRange(RowLossReference.MaxError(perRow, expectedRows), 0, 1e-12);
        }
    }

    [Theory, MemberData(nameof(All))]
    public void ReductionsAgree(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        double[] z = RowLossReference.Logits(8, 11, 5);
        int[] y = RowLossReference.Targets(8, 11, 5);
        y[4] = loss.IgnoreIndex;
        var perRow = new double[11];
        var g = new double[z.Length];
        double value = loss.Compute<double>(z, 5, y, perRow, g);
        double sum = perRow.Sum();
        double expected = loss.Reduction switch
        {
            Reduction.Mean => sum / y.Where(t => t != loss.IgnoreIndex).Sum(t => loss is MultiMarginLoss ? 1 : loss.Weight?[t] ?? 1),
            _ => sum,
        };
        Assert.Equal(expected, value, 1e-12);
        // The gradient of the reduced loss is the per-row gradients times the reduction's scale.
        var gNone = new double[z.Length];
        string stripped = System.Text.RegularExpressions.Regex.Replace(spec, @",?\s*reduction=\w+", "").Replace("(, ", "(").Replace("()", "");
        var none = RowLossSpecs.Create(stripped.Contains('(') ? stripped.Replace(")", ", reduction=none)") : stripped + "(reduction=none)");
        if (none.Reduction == Reduction.None)
        {
            none.Compute<double>(z, 5, y, default, gNone);
            double scale = loss.Reduction == Reduction.Mean ? value / sum : 1;
            for (int i = 0; i < g.Length; i++) Assert.Equal(gNone[i] * scale, g[i], 1e-12);
        }
    }

    [Theory, MemberData(nameof(All))]
    public void EveryClaimedPropertyIsCheckedAndHolds(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        var results = TestChecks.AssertConforms(loss, 5, ConformanceChecks.Property, ConformanceChecks.ExtremeInputs, ConformanceChecks.Threads,
            ConformanceChecks.Reductions, ConformanceChecks.BadInputs);
        foreach (string check in new[] { ConformanceChecks.ExtremeInputs, ConformanceChecks.Threads, ConformanceChecks.Reductions, ConformanceChecks.BadInputs })
            Assert.Contains(results, r => r.Check == check && !r.Skipped);
        foreach (LossProperties flag in Enum.GetValues<LossProperties>().Where(p => p != LossProperties.None))
            Assert.Equal(loss.Properties.HasFlag(flag), results.Any(r => r.Property == flag));
    }

    [Theory, MemberData(nameof(All))]
    public void FloatAndHalfFollowDouble(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        const int N = 13, K = 5;
        double[] zd = RowLossReference.Logits(21, N, K, 1.5).Select(v => (double)(Half)v).ToArray();   // representable in Half
        int[] y = RowLossReference.Targets(21, N, K);
        var rd = new double[N]; var gd = new double[zd.Length];
        double ld = loss.Compute<double>(zd, K, y, rd, gd);

        var rf = new float[N]; var gf = new float[zd.Length];
        float lf = loss.Compute<float>(zd.Select(v => (float)v).ToArray(), K, y, rf, gf);
        Assert.InRange(RowLossReference.MaxError([lf], [ld]), 0, 1e-5);
        Assert.InRange(RowLossReference.MaxError(rf.Select(v => (double)v).ToArray(), rd), 0, 1e-5);
        Assert.InRange(RowLossReference.MaxError(gf.Select(v => (double)v).ToArray(), gd), 0, 1e-5);

        var rh = new Half[N]; var gh = new Half[zd.Length];
        Half lh = loss.Compute<Half>(zd.Select(v => (Half)v).ToArray(), K, y, rh, gh);
        Assert.InRange(RowLossReference.MaxError([(double)lh], [ld]), 0, 2e-3);
        Assert.InRange(RowLossReference.MaxError(rh.Select(v => (double)v).ToArray(), rd), 0, 2e-3);
        Assert.InRange(RowLossReference.MaxError(gh.Select(v => (double)v).ToArray(), gd), 0, 2e-3);
    }

    [Theory, MemberData(nameof(All))]
    public void OneAndTwoThreadsAreBitIdentical(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        // K = 5 puts 1024 rows in a block: 2600 rows are three blocks, so that two threads really split the batch.
        const int N = 2600, K = 5;
        double[] z = RowLossReference.Logits(31, N, K, 3);
        float[] zf = z.Select(v => (float)v).ToArray();
        int[] y = RowLossReference.Targets(31, N, K);
        (double, double[], float, float[]) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var g = new double[z.Length]; var gf = new float[z.Length];
                return (loss.Compute<double>(z, K, y, default, g), g, loss.Compute<float>(zf, K, y, default, gf), gf);
            }
            finally { Parallelism.MaxThreads = saved; }
        }
        var a = Run(1);
        var b = Run(2);
        Assert.Equal(BitConverter.DoubleToInt64Bits(a.Item1), BitConverter.DoubleToInt64Bits(b.Item1));
        Assert.True(a.Item2.AsSpan().SequenceEqual(b.Item2));
        Assert.Equal(BitConverter.SingleToInt32Bits(a.Item3), BitConverter.SingleToInt32Bits(b.Item3));
        Assert.True(a.Item4.AsSpan().SequenceEqual(b.Item4));
    }

    [Theory, MemberData(nameof(All))]
    public void ExtremeLogitsGiveFiniteLossAndGradient(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        const int K = 5;
        foreach (double scale in new[] { 1e3, 1e15, 1e30 })
        {
            double[] z = RowLossReference.Logits(41, 6, K, scale);
            int[] y = RowLossReference.Targets(41, 6, K);
            var rows = new double[6]; var g = new double[z.Length];
            loss.Compute<double>(z, K, y, rows, g);
            Assert.All(rows, v => Assert.True(double.IsFinite(v), $"loss {v} at scale {scale:G3}"));
            Assert.All(g, v => Assert.True(double.IsFinite(v), $"gradient {v} at scale {scale:G3}"));
        }
        // All-equal rows, and a row of all −∞ (+∞ loss, zero gradient), and NaN (NaN row only).
        double[] zz = new double[3 * K];
        for (int k = 0; k < K; k++) { zz[K + k] = double.NegativeInfinity; }
        zz[2 * K + 1] = double.NaN;
        var r = new double[3]; var gg = new double[zz.Length];
        loss.Compute<double>(zz, K, [4, 4, 4], r, gg);
        Assert.True(double.IsFinite(r[0]));
        Assert.Equal(double.PositiveInfinity, r[1]);
        Assert.All(gg.AsSpan(K, K).ToArray(), v => Assert.Equal(0.0, v));
        Assert.True(double.IsNaN(r[2]));
        Assert.All(gg.AsSpan(0, K).ToArray(), v => Assert.True(double.IsFinite(v)));
    }

    /// <summary>Every row ignored (the default ignore index −100 as much as a class index): loss 0 (a mean over no rows is 0,
    /// not NaN), zero per-row losses and zero gradient, in every reduction.</summary>
    [Theory, MemberData(nameof(All))]
    public void AllIgnoredRowsGiveZeroLossAndGradient(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        double[] z = RowLossReference.Logits(2, 3, 5);
        int[] y = [loss.IgnoreIndex, loss.IgnoreIndex, loss.IgnoreIndex];
        var g = new double[z.Length];
        var rows = new double[3];
        Array.Fill(g, double.NaN);
        Array.Fill(rows, double.NaN);
        double v = loss.Compute<double>(z, 5, y, rows, g);
        Assert.Equal(0.0, v);
        Assert.All(rows, x => Assert.Equal(0.0, x));
        Assert.All(g, x => Assert.Equal(0.0, x));
        // One kept row among them carries the whole loss: the mean divides by its weight alone.
        y[1] = 3;
        double kept = loss.Compute<double>(z, 5, y, rows, g);
        Assert.Equal(0.0, rows[0]);
        Assert.Equal(0.0, rows[2]);
        double weight = loss is MultiMarginLoss ? 1 : loss.Weight?[3] ?? 1;
        Assert.Equal(loss.Reduction == Reduction.Mean && weight > 0 ? rows[1] / weight : rows[1], kept, 1e-12);
        Assert.All(g.AsSpan(0, 5).ToArray().Concat(g.AsSpan(10, 5).ToArray()), x => Assert.Equal(0.0, x));
    }

    [Theory, MemberData(nameof(All))]
    public void BadInputsNameTheArgumentRowAndValue(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        double[] z = RowLossReference.Logits(2, 4, 5);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, 5, [0, 1, 7, 2]));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("targets[2] = 7", e.Message);
        Assert.Equal(2, Assert.IsType<RowException>(e).Row);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, 5, [0, 1, 2]));
        Assert.Equal("logits", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, 5, [0, 1, 2, 3], new double[3]));
        Assert.Equal("rowLosses", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, 5, [0, 1, 2, 3], default, new double[19]));
        Assert.Equal("gradient", e.ParamName);
        Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, 0, [0, 1, 2, 3]));
        if (loss.Weight is not null)
        {
            double[] z4 = RowLossReference.Logits(2, 5, 4);
            e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z4, 4, [0, 1, 2, 3, 0]));
            Assert.Equal("weight", e.ParamName);
            Assert.Contains("5 values", e.Message);
        }
    }

    [Theory, MemberData(nameof(All))]
    public void SpecRoundTrips(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        var again = RowLossSpecs.Create(loss.Spec);
        Assert.Equal(loss.Spec, again.Spec);
        Assert.Same(loss.Card, again.Card);
        Assert.Contains(LossRegistry.All, d => d.Card.Name == loss.Card.Name);
        Assert.False(string.IsNullOrWhiteSpace(loss.Card.Reference));
        Assert.False(string.IsNullOrWhiteSpace(loss.Card.Gradient));
    }
}
