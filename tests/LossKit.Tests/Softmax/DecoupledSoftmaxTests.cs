using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

public class DecoupledSoftmaxTests
{
    private const int K = 6;

    private static double Slow(double[] s, int[] positives, double tau)
    {
        if (positives.Length == 0) return 0;
        double negatives = Enumerable.Range(0, s.Length).Where(m => !positives.Contains(m)).Sum(m => Math.Exp(s[m] / tau));
        return -positives.Average(l => Math.Log(Math.Exp(s[l] / tau) / (Math.Exp(s[l] / tau) + negatives)));
    }

    [Theory]
    [InlineData(1.0, "mean")]
    [InlineData(0.5, "sum")]
    [InlineData(3.0, "none")]
    public void MatchesSlowReference(double tau, string reduction)
    {
        const int n = 8;
        double[] s = C1.Logits(1, n, K);
        var (offsets, columns) = GradientCheck.RandomPositives(new Random(3), n, K);
        var loss = (IMultiPositiveLoss)LossRegistry.Create($"decoupled_softmax(tau={tau}, reduction={reduction})");
        var rows = new double[n];
        var g = new double[s.Length];
        double value = loss.Compute<double>(s, K, offsets, columns, rows, g);
        double sum = 0;
        int counted = 0;
        for (int r = 0; r < n; r++)
        {
            int[] pos = columns[offsets[r]..offsets[r + 1]];
            Assert.Equal(Slow(C1.Row(s, r, K), pos, tau), rows[r], 1e-12);
            sum += rows[r];
            if (pos.Length > 0) counted++;
        }
        Assert.True(counted < n);   // some rows have no positives
        Assert.Equal(reduction == "mean" ? sum / counted : sum, value, 1e-12);
        var check = GradientCheck.Check((x, gg) => loss.Compute<double>(x, K, offsets, columns, default, gg is null ? default : gg.AsSpan()), s);
        Assert.True(check.Passed, check.ToString());
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.3)]
    [InlineData(2.5)]
    public void OnePositivePerRowIsCrossEntropyAtTemperatureTau(double tau)
    {
        const int n = 7;
        double[] s = C1.Logits(2, n, K, 3);
        int[] y = C1.Targets(2, n, K);
        int[] offsets = Enumerable.Range(0, n + 1).ToArray();
        var (ra, ga, rb, gb) = (new double[n], new double[s.Length], new double[n], new double[s.Length]);
        double a = new DecoupledSoftmaxLoss(tau).Compute<double>(s, K, offsets, y, ra, ga);
        double b = new CrossEntropyLoss(temperature: tau).Compute<double>(s, K, y, rb, gb);
        Assert.Equal(b, a, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ra, rb), 0, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(ga, gb), 0, 1e-12);
    }

    [Theory]
    [InlineData("decoupled_softmax")]
    [InlineData("decoupled_softmax(tau=0.1)")]
    [InlineData("decoupled_softmax(tau=4, reduction=sum)")]
    [InlineData("decoupled_softmax(reduction=none)")]
    public void GradientCheckAndLossChecksPass(string spec)
    {
        var loss = (IMultiPositiveLoss)LossRegistry.Create(spec);
        var results = LossKit.Tests.Checking.TestChecks.AssertConforms(loss, seed: 4);
        Assert.True(results.Count(r => r.Check == ConformanceChecks.Gradient) >= 6);
        Assert.Equal(loss.Spec, LossRegistry.Create(loss.Spec).Spec);
    }

    [Fact]
    public void ThreadsHalfAndEdgeRows()
    {
        const int n = 4000, k = 30;
        var loss = new DecoupledSoftmaxLoss(0.7);
        float[] s = C1.Logits(5, n, k, 3).Select(v => (float)v).ToArray();
        var (o, c) = GradientCheck.RandomPositives(new Random(5), n, k);
        C1.ThreadIdentity(g => loss.Compute<float>(s, k, o, c, default, g), s.Length);
        Half[] sh = s.Take(8 * k).Select(v => (Half)v).ToArray();
        int[] oh = o.Take(9).ToArray();
        int[] ch = c.Take(oh[8]).ToArray();
        var gh = new Half[sh.Length];
        Half lh = loss.Compute<Half>(sh, k, oh, ch, default, gh);
        var gd = new double[sh.Length];
        double ld = loss.Compute<double>(sh.Select(v => (double)v).ToArray(), k, oh, ch, default, gd);
        Assert.Equal(ld, (double)lh, Math.Max(1e-2, ld * 1e-3));
        Assert.InRange(C1.MaxAbsDiff(gh.Select(v => (double)v).ToArray(), gd), 0, 1e-3);
        // No positives anywhere: mean 0, zero gradient. All positive: 0. Positive at −∞: +∞.
        var g2 = new double[6];
        Assert.Equal(0, loss.Compute<double>(new double[6], 3, [0, 0, 0], [], default, g2));
        Assert.All(g2, v => Assert.Equal(0, v));
        var rows = new double[1];
        loss.Compute<double>([1.0, 2, 3], 3, [0, 3], [0, 1, 2], rows);
        Assert.Equal(0, rows[0]);
        loss.Compute<double>([double.NegativeInfinity, 2, 3], 3, [0, 1], [0], rows);
        Assert.Equal(double.PositiveInfinity, rows[0]);
    }

    [Fact]
    public void BadInputsNameTheArgumentAndRow()
    {
        var loss = new DecoupledSoftmaxLoss();
        double[] s = new double[6];
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(s, 3, [0, 1, 2], [0, 3]));
        Assert.Equal("positiveColumns", e.ParamName);
        Assert.Contains("row 1", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(s, 3, [0, 2, 2], [1, 1]));
        Assert.Contains("twice", e.Message);
        Assert.Equal("positiveOffsets", Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(s, 3, [0, 1, 1], [0, 2])).ParamName);
        Assert.Equal("positiveOffsets", Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(s, 3, [0, 2, 1], [0, 2])).ParamName);
        Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(s, 3, [0, 1, 2, 2], [0, 2]));
        Assert.Equal("tau", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("decoupled_softmax(tau=0)")).ParamName);
    }

    /// <summary>Float rows check their columns inside the row pass: the error still names the first bad row, also when
    /// a later row is bad as well, when the bad row holds NaN (no gather) or a positive scored −∞ (the slow check).</summary>
    [Fact]
    public void FloatRowsReportTheFirstBadRow()
    {
        const int k = 40;
        var loss = new DecoupledSoftmaxLoss();
        float[] s = C1.Logits(3, 6, k, 2).Select(v => (float)v).ToArray();
        var g = new float[s.Length];
        int[] o = [0, 2, 4, 6, 8, 10, 12];
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(s, k, o, [0, 1, 2, 3, 4, k, 6, 7, 8, 8, 9, 10], default, g));
        Assert.Equal("positiveColumns", e.ParamName);
        Assert.Contains("row 2", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(s, k, o, [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, -1], default, g));
        Assert.Contains("row 4", e.Message);
        Assert.Contains("twice", e.Message);
        float[] masked = (float[])s.Clone();
        masked[k + 3] = float.NegativeInfinity;                               // row 1: a positive at −∞, listed twice
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(masked, k, o, [0, 1, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11], default, g));
        Assert.Contains("row 1", e.Message);
        masked[k + 3] = float.NaN;                                            // row 1 holds NaN
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(masked, k, o, [0, 1, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11], default, g));
        Assert.Contains("row 1", e.Message);
        Assert.Equal("positiveOffsets", Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(s, k, [0, 2, 1, 6, 8, 10, 12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], default, g)).ParamName);
        // A positive scored −∞ that is not a duplicate is fine: the row's loss is +∞.
        masked[k + 3] = float.NegativeInfinity;
        var rows = new float[6];
        loss.Compute<float>(masked, k, o, [0, 1, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11], rows, g);
        Assert.Equal(float.PositiveInfinity, rows[1]);
    }

    /// <summary>Float rows run in float on the row kernels, double rows in double: they agree to float rounding on rows
    /// long enough for vector loops with tails, with masked negatives, a masked positive, a row of positives only, a
    /// row without positives and a row holding NaN.</summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.35)]
    public void FloatRowsAgreeWithDoubleRows(double tau)
    {
        const int n = 9, k = 203;
        double[] s = C1.Logits(7, n, k, 4);
        var rng = new Random(8);
        var positives = new List<int>[n];
        for (int r = 0; r < n; r++) positives[r] = [.. Enumerable.Range(0, k).OrderBy(_ => rng.Next()).Take(1 + r % 4)];
        positives[5] = [.. Enumerable.Range(0, k)];                           // row 5: every class positive (no negatives)
        positives[7] = [];                                                     // row 7: no positives
        s[2 * k + positives[2][0]] = double.NegativeInfinity;                  // row 2: a masked positive (+∞)
        s[3 * k + 5] = s[3 * k + 100] = double.NegativeInfinity;               // row 3: masked classes (negatives unless listed)
        s[8 * k + 3] = double.NaN;                                             // row 8: NaN
        int[] o = new int[n + 1];
        for (int r = 0; r < n; r++) o[r + 1] = o[r] + positives[r].Count;
        int[] c = [.. positives.SelectMany(p => p)];
        var loss = new DecoupledSoftmaxLoss(tau, Reduction.None);
        var (rd, gd) = (new double[n], new double[s.Length]);
        float[] sf = s.Select(v => (float)v).ToArray();
        loss.Compute<double>(sf.Select(v => (double)v).ToArray(), k, o, c, rd, gd);
        var (rf, gf) = (new float[n], new float[s.Length]);
        loss.Compute<float>(sf, k, o, c, rf, gf);
        for (int r = 0; r < n; r++)
        {
            if (!double.IsFinite(rd[r])) { Assert.Equal(rd[r], (double)rf[r]); continue; }
            Assert.Equal(rd[r], rf[r], Math.Max(1e-5, Math.Abs(rd[r]) * 1e-5));
            for (int j = 0; j < k; j++)
                Assert.True(Math.Abs(gd[r * k + j] - gf[r * k + j]) <= 1e-6 + 1e-5 * Math.Abs(gd[r * k + j]), $"row {r}, class {j}: {gf[r * k + j]} vs {gd[r * k + j]}");
        }
        Assert.Equal(double.PositiveInfinity, rf[2]);
        Assert.Equal(0, rf[5]);
        Assert.Equal(0, rf[7]);
        Assert.True(float.IsNaN(rf[8]));
    }
}
