using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Margin;
using LossKit.Softmax;
using LossKit.Tests.Softmax;










namespace LossKit.Tests.RowLosses;

/// <summary>What every section C2 loss promises: exact gradients, reference values, its card's properties, the
/// reductions/weight/ignore_index semantics, float/Half, extreme inputs, bad inputs and thread-count independence.</summary>
public class RowLossCommonTests
{
    public static TheoryData<string> All => RowLossSpecs.AllData;
    public static TheoryData<string> Unweighted => RowLossSpecs.UnweightedData;
    public static TheoryData<string> WithIgnoreIndex => RowLossSpecs.WithIgnoreIndexData;

    [Theory, MemberData(nameof(All))]
    public void GradientMatchesFiniteDifferencesAtEveryScale(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        // spherical with a tiny ε has curvature ~1/z² near 0: at scale 0.01 the finite differences themselves are only good to ~2e-6.
        double tolerance = loss is SphericalSoftmaxLoss { Epsilon: < 1e-3 } ? 1e-5 : GradientCheck.DefaultTolerance;
        var results = GradientCheck.CheckRandom(loss, rows: 4, classes: 5, seed: 3, tolerance: tolerance);
        Assert.True(results.Count >= 6, $"only {results.Count} gradient checks ran");
        foreach (var r in results) Assert.True(r.Passed, r.ToString());
        foreach (var r in GradientCheck.CheckRandom(loss, rows: 7, classes: 5, seed: 17, scales: [0.3, 2, 8])) Assert.True(r.Passed, r.ToString());
    }

    [Theory, MemberData(nameof(All))]
    public void GradientIsExactWithAnIgnoredRow(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        double[] z = RowLossReference.Logits(5, 6, 5);
        int[] y = RowLossReference.Targets(5, 6, 5);
        y[2] = loss.IgnoreIndex;
        var r = GradientCheck.Check(loss, z, 5, y);
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

    [Theory, MemberData(nameof(Unweighted))]
    public void EveryClaimedPropertyIsCheckedAndHolds(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        var results = LossChecks.Run(loss, seed: 5);
        foreach (var r in results) Assert.True(r.Passed, $"{r.Name}: worst {r.Worst} > {r.Tolerance} ({r.Detail})");
        var names = results.Select(r => r.Name).ToList();
        Assert.Contains(names, n => n.StartsWith("finite on extreme inputs", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("bit-identical", StringComparison.Ordinal));
        var expected = new (LossProperties, string)[]
        {
            (LossProperties.ShiftInvariant, "shift-invariant"), (LossProperties.NonNegative, "non-negative"), (LossProperties.Bounded, "bounded"),
            (LossProperties.ConvexInLogits, "convex"), (LossProperties.ClassificationCalibrated, "classification-calibrated"),
            (LossProperties.ScaleInvariant, "scale-invariant"),
        };
        foreach (var (flag, prefix) in expected)
            Assert.Equal(loss.Card.Properties.HasFlag(flag), names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal)));
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
        const int N = 700, K = 5;
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

    [Theory, MemberData(nameof(WithIgnoreIndex))]
    public void AllIgnoredMeanIsZero(string spec)
    {
        var loss = RowLossSpecs.Create(spec);
        Assert.True(loss.IgnoreIndex >= 0, $"{spec} has no ignore_index");
        double[] z = RowLossReference.Logits(2, 3, 5);
        var g = new double[z.Length];
        double v = loss.Compute<double>(z, 5, [loss.IgnoreIndex, loss.IgnoreIndex, loss.IgnoreIndex], default, g);
        Assert.Equal(0.0, v);
        Assert.All(g, x => Assert.Equal(0.0, x));
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
