using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Tests.Checking;
using LossKit.Divergence;
using LossKit.Kernels;

namespace LossKit.Tests.Divergence;

public class DivergenceTests
{
    private sealed record Case(string name, string spec, string dtype, int rows, int classes, double[] input, double[] target,
        double loss, double[] unreduced, double[] grad_input);

    private sealed record FixtureFile(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<FixtureFile>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "divergence.json")))!.cases);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_cases.Value) data.Add(c.name);
        return data;
    }

    private static DivergenceLoss Create(string spec) => Assert.IsAssignableFrom<DivergenceLoss>(LossRegistry.Create(spec));

    [Fact]
    public void FixturesCoverTheOptions()
    {
        var cases = s_cases.Value;
        foreach (string name in new[] { "kl", "reverse_kl", "jsd", "tvd", "hellinger", "cauchy_schwarz", "wasserstein1" })
            Assert.Contains(cases, c => c.spec.StartsWith(name, StringComparison.Ordinal));
        Assert.All(new[] { "reduction=sum", "reduction=none", "reduction=batchmean", "log_target=true", "beta=0,", "beta=1,", "scaled=true" },
            option => Assert.Contains(cases, c => c.spec.Contains(option, StringComparison.Ordinal) || c.spec.Contains(option.TrimEnd(',') + ")", StringComparison.Ordinal)));
        Assert.Contains(cases, c => c.classes == 1);
        Assert.Contains(cases, c => c.dtype == "float32");
        Assert.Contains(cases, c => c.spec.StartsWith("kl", StringComparison.Ordinal) && c.target.Contains(0));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        DivergenceLoss loss = Create(c.spec);
        double value;
        double[] unreduced = new double[c.unreduced.Length], gradient = new double[c.input.Length];
        double tolerance;
        if (c.dtype == "float64")
        {
            value = loss.Compute<double>(c.input, c.classes, c.target, unreduced, gradient);
            tolerance = 1e-12;
        }
        else
        {
            float[] u = new float[unreduced.Length], g = new float[gradient.Length];
            value = loss.Compute<float>([.. c.input.Select(v => (float)v)], c.classes, [.. c.target.Select(v => (float)v)], u, g);
            (unreduced, gradient) = ([.. u.Select(v => (double)v)], [.. g.Select(v => (double)v)]);
            tolerance = 2e-6;
        }
        Assert.True(Math.Abs(value - c.loss) <= tolerance * Math.Max(1, Math.Abs(c.loss)), $"{c.spec}: loss {value} vs PyTorch {c.loss}");
        Assert.True(TestChecks.NormError(unreduced, c.unreduced) <= tolerance, $"{c.spec}: unreduced differs by {TestChecks.NormError(unreduced, c.unreduced)}");
        Assert.True(TestChecks.NormError(gradient, c.grad_input) <= tolerance, $"{c.spec}: grad_input differs by {TestChecks.NormError(gradient, c.grad_input)}");
    }

    /// <summary>Rows of normalised log-probabilities and probabilities.</summary>
    private static (double[] X, double[] P) Pair(int rows, int classes, int seed, double scale = 2)
    {
        var rng = new Random(seed);
        double[] Rows(bool exp)
        {
            var v = new double[rows * classes];
            for (int r = 0; r < rows; r++)
            {
                Span<double> row = v.AsSpan(r * classes, classes);
                for (int j = 0; j < classes; j++) row[j] = scale * (2 * rng.NextDouble() - 1);
                double lse = Math.Log(row.ToArray().Sum(Math.Exp));
                for (int j = 0; j < classes; j++) row[j] = exp ? Math.Exp(row[j] - lse) : row[j] - lse;
            }
            return v;
        }
        return (Rows(false), Rows(true));
    }

    /// <summary>The divergence of each row (kl's element-wise values summed per row).</summary>
    private static double[] PerRow(string spec, double[] x, double[] p, int classes)
    {
        DivergenceLoss loss = Create(spec.EndsWith(')') ? spec[..^1] + ", reduction=none)" : spec + "(reduction=none)");
        var u = new double[loss.ElementwiseUnreduced ? x.Length : x.Length / classes];
        loss.Compute<double>(x, classes, p, u);
        return loss.ElementwiseUnreduced ? [.. u.Chunk(classes).Select(r => r.Sum())] : u;
    }

    [Fact]
    public void JsdEndsAreTheTwoKlDivergences()
    {
        var (x, p) = Pair(5, 7, 1);
        double[] atZero = PerRow("jsd(beta=0)", x, p, 7), kl = PerRow("kl", x, p, 7);
        double[] atOne = PerRow("jsd(beta=1)", x, p, 7), reverse = PerRow("reverse_kl", x, p, 7);
        for (int r = 0; r < 5; r++)
        {
            Assert.Equal(kl[r], atZero[r], 12);
            Assert.Equal(reverse[r], atOne[r], 12);
        }
    }

    [Fact]
    public void ScaledJsdIsContinuousAtBothEnds()
    {
        var (x, p) = Pair(4, 6, 2);
        double[] forward = PerRow("kl", x, p, 6), reverse = PerRow("reverse_kl", x, p, 6);
        double[] nearZero = PerRow("jsd(beta=1e-6, scaled=true)", x, p, 6), nearOne = PerRow("jsd(beta=0.999999, scaled=true)", x, p, 6);
        double[] unscaledNearZero = PerRow("jsd(beta=1e-6)", x, p, 6);
        for (int r = 0; r < 4; r++)
        {
            Assert.True(Math.Abs(nearZero[r] - forward[r]) <= 1e-4 * Math.Max(1, forward[r]), $"row {r}: {nearZero[r]} vs KL(p‖q) {forward[r]}");
            Assert.True(Math.Abs(nearOne[r] - reverse[r]) <= 1e-4 * Math.Max(1, reverse[r]), $"row {r}: {nearOne[r]} vs KL(q‖p) {reverse[r]}");
            Assert.True(unscaledNearZero[r] < 1e-5 && forward[r] > 1e-3, "the unscaled form tends to 0 as β → 0, away from its β = 0 value");
        }
    }

    [Theory]
    [InlineData("kl")]
    [InlineData("reverse_kl")]
    [InlineData("jsd")]
    [InlineData("tvd")]
    [InlineData("hellinger")]
    [InlineData("cauchy_schwarz")]
    [InlineData("wasserstein1")]
    public void ZeroExactlyAtTheTargetAndPositiveElsewhere(string name)
    {
        var (x, p) = Pair(6, 5, 3);
        double[] logP = [.. p.Select(v => Math.Log(v))];
        double[] same = PerRow(name, logP, p, 5);
        double[] other = PerRow(name, x, p, 5);
        Assert.All(same, v => Assert.True(Math.Abs(v) < 1e-14, $"{name}: {v} at q = p"));
        Assert.All(other, v => Assert.True(v > 0, $"{name}: {v} for q ≠ p"));
    }

    [Fact]
    public void BoundedDistancesStayInTheUnitInterval()
    {
        var (x, p) = Pair(50, 4, 4, scale: 30);
        Assert.All(PerRow("tvd", x, p, 4), v => Assert.InRange(v, 0, 1 + 1e-15));
        Assert.All(PerRow("hellinger", x, p, 4), v => Assert.InRange(v, 0, 1 + 1e-15));
    }

    [Fact]
    public void CauchySchwarzIgnoresTheScaleOfQ()
    {
        var (x, p) = Pair(3, 6, 5);
        double[] shifted = [.. x.Select(v => v + 7.5)];
        var g1 = new double[x.Length];
        var g2 = new double[x.Length];
        var loss = new CauchySchwarzLoss(reduction: DivergenceReduction.Sum);
        double a = loss.Compute<double>(x, 6, p, gradient: g1), b = loss.Compute<double>(shifted, 6, p, gradient: g2);
        Assert.Equal(a, b, 12);
        for (int i = 0; i < g1.Length; i++) Assert.Equal(g1[i], g2[i], 12);
    }

    [Fact]
    public void KlIsFiniteAtLargeInputs()
    {
        double[] x = [-1e30, 0, -2e30, -1e30, 0, -5], p = [0.2, 0.5, 0.3, 0, 1, 0];
        var g = new double[6];
        double v = new KlDivergenceLoss(reduction: DivergenceReduction.Sum).Compute<double>(x, 3, p, gradient: g);
        Assert.True(double.IsFinite(v));
        Assert.Equal([-0.2, -0.5, -0.3, 0, -1, 0], g);
    }

    [Fact]
    public void BatchmeanDividesByRowsAndMeanByElementsForKl()
    {
        var (x, p) = Pair(3, 4, 6);
        double sum = Create("kl(reduction=sum)").Compute<double>(x, 4, p);
        Assert.Equal(sum / 3, Create("kl(reduction=batchmean)").Compute<double>(x, 4, p), 14);
        Assert.Equal(sum / 12, Create("kl").Compute<double>(x, 4, p), 14);
        double rowSum = Create("tvd(reduction=sum)").Compute<double>(x, 4, p);
        Assert.Equal(rowSum / 3, Create("tvd").Compute<double>(x, 4, p), 14);
        Assert.Equal(rowSum / 3, Create("tvd(reduction=batchmean)").Compute<double>(x, 4, p), 14);
    }

    [Theory]
    [InlineData(false, -0.1, "a probability in [0, 1]")]
    [InlineData(false, 1.5, "a probability in [0, 1]")]
    [InlineData(false, double.NaN, "a probability in [0, 1]")]
    [InlineData(true, 0.5, "a log-probability ≤ 0")]
    [InlineData(true, double.NaN, "a log-probability ≤ 0")]
    public void BadTargetsNameTheElement(bool logTarget, double bad, string expected)
    {
        double[] x = new double[6], p = logTarget ? [-1, -1, -1, -1, -1, -1] : [0.1, 0.2, 0.7, 0.3, 0.3, 0.4];
        p[4] = bad;
        var e = Assert.Throws<RowException>(() => new JsdLoss(logTarget: logTarget).Compute<double>(x, 3, p));
        Assert.Equal("target", e.ParamName);
        Assert.Equal(1, e.Row);
        Assert.Contains("target[1][1]", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ShapeErrorsGiveBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new TvdLoss().Compute<double>(new double[6], 3, new double[9]));
        Assert.Equal("target", e.ParamName);
        Assert.Contains("9", e.Message);
        Assert.Contains("2×3", e.Message);
        var kind = Assert.Throws<ArgumentException>(() => DivergenceKind.Instance.Evaluate<double>(new TvdLoss(), new LossInputs
        {
            ["input"] = LossTensor.Matrix(new double[6], 2, 3),
            ["target"] = LossTensor.Matrix(new double[9], 3, 3),
        }));
        Assert.Equal("target", kind.ParamName);
        Assert.Contains("[3, 3]", kind.Message);
        Assert.Contains("[2, 3]", kind.Message);
    }

    [Fact]
    public void EvalOutputsFollowTheConvention()
    {
        var (x, p) = Pair(2, 3, 7);
        var inputs = new LossInputs { ["input"] = LossTensor.Matrix(x, 2, 3), ["target"] = LossTensor.Matrix(p, 2, 3) };
        LossOutputs kl = DivergenceKind.Instance.Evaluate<double>(Create("kl"), inputs);
        Assert.Equal([2, 3], kl.Unreduced.Shape);
        Assert.Equal([2, 3], kl.Gradients["input"].Shape);
        LossOutputs tvd = DivergenceKind.Instance.Evaluate<double>(Create("tvd"), inputs);
        Assert.Equal([2], tvd.Unreduced.Shape);
    }

    [Theory]
    [InlineData("jsd(beta=0.5)")]
    [InlineData("jsd(beta=0.3, reduction=sum)")]
    [InlineData("jsd(beta=0.8, scaled=true, reduction=batchmean)")]
    [InlineData("jsd(beta=0, reduction=sum)")]
    [InlineData("jsd(beta=1)")]
    [InlineData("reverse_kl(reduction=sum)")]
    [InlineData("reverse_kl(reduction=batchmean)")]
    public void TargetGradientMatchesFiniteDifferences(string spec)
    {
        foreach (bool logTarget in new[] { false, true })
        {
            var (x, p) = Pair(3, 5, 11);
            double[] t = logTarget ? [.. p.Select(v => Math.Log(v))] : p;
            DivergenceLoss loss = Create(spec[..^1] + (spec.EndsWith("()") || !spec.Contains('(') ? "" : ", ") + $"log_target={(logTarget ? "true" : "false")})");
            Assert.True(loss.OffersTargetGradient);
            var g = new double[t.Length];
            double value = loss.Compute<double>(x, 5, t, targetGradient: g);
            Assert.Equal(value, loss.Compute<double>(x, 5, t), 15);   // asking for grad_target changes nothing else
            for (int i = 0; i < t.Length; i++)
            {
                const double h = 1e-6;
                double[] up = [.. t], down = [.. t];
                up[i] += h;
                down[i] -= h;
                double numeric = (loss.Compute<double>(x, 5, up) - loss.Compute<double>(x, 5, down)) / (2 * h);
                Assert.True(Math.Abs(numeric - g[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                    $"{loss.Spec}: ∂/∂target[{i}] = {g[i]}, finite difference {numeric}");
            }
        }
    }

    [Fact]
    public void TargetGradientInFloatMatchesDouble()
    {
        var (x, p) = Pair(4, 37, 12);
        var loss = new JsdLoss(0.4);
        var gd = new double[x.Length];
        loss.Compute<double>(x, 37, p, targetGradient: gd);
        var gf = new float[x.Length];
        float[] xf = [.. x.Select(v => (float)v)], pf = [.. p.Select(v => (float)v)];
        var inputGradient = new float[x.Length];
        loss.Compute<float>(xf, 37, pf, gradient: inputGradient, targetGradient: gf);
        Assert.True(TestChecks.NormError([.. gf.Select(v => (double)v)], gd) <= 1e-5);
    }

    [Fact]
    public void TargetGradientIsRefusedWhereNotOffered()
    {
        var (x, p) = Pair(2, 3, 13);
        foreach (string name in new[] { "kl", "tvd", "hellinger", "cauchy_schwarz", "wasserstein1" })
        {
            DivergenceLoss loss = Create(name);
            Assert.False(loss.OffersTargetGradient);
            var e = Assert.Throws<ArgumentException>(() => loss.Compute<double>(x, 3, p, targetGradient: new double[6]));
            Assert.Equal("targetGradient", e.ParamName);
            Assert.Contains("grad_target", e.Message);
        }
        var shape = Assert.Throws<ArgumentException>(() => new JsdLoss().Compute<double>(x, 3, p, targetGradient: new double[5]));
        Assert.Equal("targetGradient", shape.ParamName);
    }

    /// <summary>The float and Half vector kernel against the double reference rows, on row lengths around the vector width
    /// and 512 (the kernel's former chunk length), with −∞ inputs and zero targets, every divergence and both target forms.</summary>
    [Theory]
    [InlineData("kl")]
    [InlineData("reverse_kl")]
    [InlineData("jsd")]
    [InlineData("jsd(beta=0)")]
    [InlineData("jsd(beta=0.7, scaled=true)")]
    [InlineData("tvd")]
    [InlineData("hellinger")]
    [InlineData("cauchy_schwarz")]
    [InlineData("wasserstein1")]
    public void FloatKernelMatchesTheDoubleReference(string spec)
    {
        foreach (int classes in new[] { 1, 7, 16, 17, 511, 512, 513, 1030 })
            foreach (bool logTarget in new[] { false, true })
            {
                var (x, p) = Pair(3, classes, classes + 20);
                x[1] = double.NegativeInfinity;                 // a masked class of the model (row 0)
                if (classes > 3) p[classes + 2] = 0;            // a class without target mass (row 1)
                double[] t = logTarget ? [.. p.Select(v => Math.Log(v))] : p;
                string full = (spec.EndsWith(')') ? spec[..^1] + ", " : spec + "(") + $"log_target={(logTarget ? "true" : "false")}, reduction=sum)";
                DivergenceLoss loss = Create(full);
                int unreducedLength = loss.ElementwiseUnreduced ? x.Length : 3;
                double[] ud = new double[unreducedLength], gd = new double[x.Length];
                double vd = loss.Compute<double>(x, classes, t, ud, gd);
                float[] uf = new float[unreducedLength], gf = new float[x.Length];
                float vf = loss.Compute<float>([.. x.Select(v => (float)v)], classes, [.. t.Select(v => (float)v)], uf, gf);
                Half[] uh = new Half[unreducedLength], gh = new Half[x.Length];
                Half[] xh = [.. x.Select(v => (Half)v)], th = [.. t.Select(v => (Half)v)];
                loss.Compute<Half>(xh, classes, th, uh, gh);
                double[] gdh = new double[x.Length];   // the reference on the Half-rounded inputs (tvd's and wasserstein1's signs move with them)
                loss.Compute<double>([.. xh.Select(v => (double)v)], classes, [.. th.Select(v => (double)v)], gradient: gdh);
                foreach (var (name, expected, actual, tolerance) in new[]
                {
                    ("loss", new[] { vd }, new[] { (double)vf }, 1e-5),
                    ("unreduced", ud, [.. uf.Select(v => (double)v)], 1e-5),
                    ("gradient", gd, [.. gf.Select(v => (double)v)], 1e-5),
                })
                {
                    for (int i = 0; i < expected.Length; i++)
                    {
                        double e = expected[i], a = actual[i];
                        bool same = double.IsNaN(e) ? double.IsNaN(a) : double.IsInfinity(e) ? e == a : Math.Abs(a - e) <= tolerance * Math.Max(1, Math.Abs(e));
                        Assert.True(same, $"{full}, K = {classes}: float {name}[{i}] = {a}, double {e}");
                    }
                }
                Assert.All(gh.Select(v => (double)v).Zip(gdh), pair => Assert.True(double.IsNaN(pair.Second) ? double.IsNaN(pair.First) :
                    Math.Abs(pair.First - pair.Second) <= 2e-3 * Math.Max(1, Math.Abs(pair.Second)) || double.IsInfinity(pair.Second),
                    $"{full}, K = {classes}: Half gradient {pair.First}, double {pair.Second}"));
            }
    }

    [Fact]
    public void FloatKernelNamesTheFirstBadTargetInAnyRow()
    {
        const int classes = 600;
        var (x, p) = Pair(40, classes, 14);
        float[] xf = [.. x.Select(v => (float)v)], pf = [.. p.Select(v => (float)v)];
        pf[17 * classes + 555] = 1.5f;
        pf[31 * classes + 3] = -1f;
        foreach (int threads in new[] { 1, 2 })
        {
            Parallelism.MaxThreads = threads;
            var e = Assert.Throws<RowException>(() => new KlDivergenceLoss().Compute<float>(xf, classes, pf, gradient: new float[xf.Length]));
            Assert.Equal(17, e.Row);
            Assert.Contains("target[17][555] = 1.5", e.Message);
        }
    }

    /// <summary>A float gradient over 64 MiB is streamed out of a cached scratch row with non-temporal stores: every
    /// row's gradient is the one the same row gets alone (cached stores), bit for bit, for both kernels' frames.</summary>
    /// <summary>tvd where q and p round to the same float (x = −1e−9: q = 1 in float, p = 1) takes the reference's sign,
    /// decided in double (e^{−1e−9} &lt; 1: slope −½), wherever the tie falls: in the first whole vector, a later one
    /// (the kernel's loop stops there, does that vector out of line and resumes) or the last, partial one; the other
    /// lanes, before and after the ties, as the double reference.</summary>
    [Fact]
    public void TvdTiesTakeTheReferenceSignInEveryVector()
    {
        const int classes = 40;
        int[] ties = [3, 20, 37];
        double[] x = new double[classes], p = new double[classes];
        for (int j = 0; j < classes; j++) (x[j], p[j]) = ties.Contains(j) ? (-1e-9, 1.0) : (Math.Log(0.02 + 0.001 * j), 0.03);
        DivergenceLoss loss = Create("tvd(reduction=sum)");
        double[] gd = new double[classes];
        double vd = loss.Compute<double>(x, classes, p, gradient: gd);
        float[] gf = new float[classes];
        float vf = loss.Compute<float>([.. x.Select(v => (float)v)], classes, [.. p.Select(v => (float)v)], gradient: gf);
        Assert.Equal(vd, vf, 1e-5);
        foreach (int j in ties) Assert.Equal(-0.5f, gf[j]);
        for (int j = 0; j < classes; j++)
            Assert.True(Math.Abs(gf[j] - gd[j]) <= 1e-5 * Math.Max(1, Math.Abs(gd[j])), $"gradient[{j}] = {gf[j]}, double {gd[j]}");
    }

    [Theory]
    [InlineData("kl(reduction=sum)")]
    [InlineData("jsd(reduction=sum)")]
    [InlineData("wasserstein1(reduction=sum)")]
    public void StreamedGradientIsBitIdenticalToTheCachedOne(string spec)
    {
        const int rows = 521, classes = 32257;   // 16 805 897 floats: over 64 MiB, rows not a whole number of vectors
        Assert.True((long)rows * classes * sizeof(float) >= ClassIndexLoss.StreamingThresholdBytes);
        var x = new float[rows * classes];
        var t = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = -10.5f + (float)((i * 7919L) % 1000) / 100;
            t[i] = (float)((i * 104729L) % 997) / 996 / classes;
        }
        DivergenceLoss loss = Create(spec);
        var gradient = new float[x.Length];
        loss.Compute<float>(x, classes, t, gradient: gradient);
        foreach (int r in new[] { 0, 1, rows / 2, rows - 1 })
        {
            var alone = new float[classes];
            loss.Compute<float>(x.AsSpan(r * classes, classes).ToArray(), classes, t.AsSpan(r * classes, classes).ToArray(), gradient: alone);
            Assert.True(alone.AsSpan().SequenceEqual(gradient.AsSpan(r * classes, classes)), $"{spec}: row {r}'s streamed gradient differs");
        }
    }
}
