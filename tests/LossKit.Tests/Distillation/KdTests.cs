using System.Text.Json;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Tests.Checking;
using LossKit.Distillation;
using LossKit.Softmax;
using LossKit.Tests.Softmax;

namespace LossKit.Tests.Distillation;

/// <summary>kd against PyTorch 1.13 (tools/make_fixtures_kd.py), the α = 0 identity, gradients and edge cases.</summary>
public class KdTests
{
    public sealed record Case(string name, string dtype, int rows, int classes, double temperature, double alpha, int ignore_index,
        string reduction, double[] logits, double[] teacher_logits, int[] targets, double loss, double[] per_row, double[] gradient);

    private sealed record FixtureFile(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<FixtureFile>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "kd.json")))!.cases);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_cases.Value) data.Add(c.name);
        return data;
    }

    [Fact]
    public void FixturesCoverTheOptions()
    {
        var cases = s_cases.Value;
        Assert.True(cases.Length >= 100);
        Assert.Contains(cases, c => c.alpha == 0);
        Assert.Contains(cases, c => c.alpha == 1);
        Assert.Contains(cases, c => c.classes == 1);
        Assert.Contains(cases, c => c.targets.All(t => t == c.ignore_index));
        Assert.All(new[] { "mean", "sum", "none" }, r => Assert.Contains(cases, c => c.reduction == r));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        var loss = new DistillationLoss(c.temperature, c.alpha, c.ignore_index,
            c.reduction switch { "sum" => Reduction.Sum, "none" => Reduction.None, _ => Reduction.Mean });
        double value;
        double[] rows, grad;
        double tolerance;
        if (c.dtype == "float64")
        {
            rows = new double[c.rows];
            grad = new double[c.logits.Length];
            value = loss.Compute<double>(c.logits, c.classes, c.teacher_logits, c.targets, rows, grad);
            tolerance = 1e-10;
        }
        else
        {
            var rf = new float[c.rows];
            var gf = new float[c.logits.Length];
            value = loss.Compute<float>(c.logits.Select(v => (float)v).ToArray(), c.classes, c.teacher_logits.Select(v => (float)v).ToArray(), c.targets, rf, gf);
            rows = rf.Select(v => (double)v).ToArray();
            grad = gf.Select(v => (double)v).ToArray();
            tolerance = 1e-5;
        }
        Assert.InRange(Math.Abs(value - c.loss) / Math.Max(1, Math.Abs(c.loss)), 0, tolerance);
        Assert.InRange(TestChecks.NormError(rows, c.per_row), 0, tolerance);
        Assert.InRange(TestChecks.NormError(grad, c.gradient), 0, tolerance);
    }

    [Theory]
    [InlineData("kd(alpha=0)", "ce")]
    [InlineData("kd(alpha=0, temperature=0.3, reduction=sum)", "ce(reduction=sum)")]
    [InlineData("kd(alpha=0, ignore_index=2, reduction=none)", "ce(ignore_index=2, reduction=none)")]
    public void AlphaZeroIsCrossEntropy(string kd, string ce)
    {
        const int n = 7, k = 5;
        double[] z = C1.Logits(1, n, k, 3), t = C1.Logits(2, n, k, 3);
        int[] y = C1.Targets(1, n, k);
        y[3] = 2;
        var d = (IDistillationLoss)LossRegistry.Create(kd);
        var (rowsA, gA, rowsB, gB) = (new double[n], new double[z.Length], new double[n], new double[z.Length]);
        double a = d.Compute<double>(z, k, t, y, rowsA, gA);
        double b = LossRegistry.CreateClassification(ce).Compute<double>(z, k, y, rowsB, gB);
        Assert.Equal(b, a, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(rowsA, rowsB), 0, 1e-12);
        Assert.InRange(C1.MaxAbsDiff(gA, gB), 0, 1e-12);
    }

    [Fact]
    public void TeacherEqualToStudentLeavesOnlyTheCrossEntropyPart()
    {
        const int n = 5, k = 4;
        double[] z = C1.Logits(3, n, k);
        int[] y = C1.Targets(3, n, k);
        var rows = new double[n];
        new DistillationLoss(3, 0.4, reduction: Reduction.None).Compute<double>(z, k, z, y, rows);
        var ce = new double[n];
        new CrossEntropyLoss(reduction: Reduction.None).Compute<double>(z, k, y, ce);
        for (int i = 0; i < n; i++) Assert.Equal(0.6 * ce[i], rows[i], 1e-12);
    }

    [Theory]
    [InlineData("kd")]
    [InlineData("kd(temperature=1, alpha=1)")]
    [InlineData("kd(temperature=0.5, alpha=0.2, reduction=sum)")]
    [InlineData("kd(temperature=7, alpha=0.9, ignore_index=0, reduction=none)")]
    public void GradientCheckAndLossChecksPass(string spec)
    {
        var loss = (IDistillationLoss)LossRegistry.Create(spec);
        var results = LossKit.Tests.Checking.TestChecks.AssertConforms(loss, seed: 5);
        Assert.True(results.Count(r => r.Check == ConformanceChecks.Gradient) >= 6);
        Assert.Equal(loss.Spec, LossRegistry.Create(loss.Spec).Spec);
    }

    [Fact]
    public void OneAndTwoThreadsAreBitIdenticalAndHalfWorks()
    {
        const int n = 3000, k = 40;
        var loss = new DistillationLoss();
        float[] z = C1.Logits(4, n, k, 3).Select(v => (float)v).ToArray();
        float[] t = C1.Logits(5, n, k, 3).Select(v => (float)v).ToArray();
        int[] y = C1.Targets(4, n, k);
        C1.ThreadIdentity(g => loss.Compute<float>(z, k, t, y, default, g), z.Length);
        Half[] zh = z.Take(10 * k).Select(v => (Half)v).ToArray(), th = t.Take(10 * k).Select(v => (Half)v).ToArray();
        var gh = new Half[zh.Length];
        Half lh = loss.Compute<Half>(zh, k, th, y.AsSpan(0, 10), default, gh);
        var gd = new double[zh.Length];
        double ld = loss.Compute<double>(zh.Select(v => (double)v).ToArray(), k, th.Select(v => (double)v).ToArray(), y.AsSpan(0, 10), default, gd);
        Assert.Equal(ld, (double)lh, Math.Max(1e-2, Math.Abs(ld) * 1e-3));
        Assert.InRange(C1.MaxAbsDiff(gh.Select(v => (double)v).ToArray(), gd), 0, 1e-3);
    }

    [Fact]
    public void MaskedClassesAndBadInputs()
    {
        var loss = new DistillationLoss(2, 0.5, reduction: Reduction.None);
        var g = new double[3];
        var rows = new double[1];
        // Masked in both: no mass, zero gradient. Teacher-only mask: fine. Student-only mask under teacher mass: +∞.
        loss.Compute<double>([1, double.NegativeInfinity, 0], 3, [0, double.NegativeInfinity, 2], [0], rows, g);
        Assert.True(double.IsFinite(rows[0]));
        Assert.Equal(0, g[1]);
        loss.Compute<double>([1, double.NegativeInfinity, 0], 3, [0, 1, 2], [0], rows, g);
        Assert.Equal(double.PositiveInfinity, rows[0]);
        Assert.Equal("teacherLogits", Assert.Throws<ArgumentException>(() => loss.Compute<double>(new double[6], 3, new double[3], [0, 1])).ParamName);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(new double[6], 3, new double[6], [0, 5]));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("targets[1] = 5", e.Message);
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("kd(alpha=1.5)")).ParamName);
        Assert.Equal("temperature", Assert.ThrowsAny<ArgumentException>(() => new DistillationLoss(0)).ParamName);
    }
}

public class KdDivergenceTests
{
    private static double[] LogSoftmaxRows(double[] z, int k, double tau)
    {
        var r = new double[z.Length];
        for (int row = 0; row < z.Length / k; row++)
        {
            var x = z.Skip(row * k).Take(k).Select(v => v / tau).ToArray();
            double lse = x.Max() + Math.Log(x.Sum(v => Math.Exp(v - x.Max())));
            for (int j = 0; j < k; j++) r[row * k + j] = x[j] - lse;
        }
        return r;
    }

    [Theory]
    [InlineData("jsd(beta=0.5)", "jsd(reduction=batchmean)")]
    [InlineData("jsd(beta=0.2, scaled=true)", "jsd(beta=0.2, scaled=true, reduction=batchmean)")]
    [InlineData("reverse_kl", "reverse_kl(reduction=batchmean)")]
    [InlineData("tvd", "tvd(reduction=batchmean)")]
    [InlineData("wasserstein1", "wasserstein1(reduction=batchmean)")]
    public void AlphaOneIsTauSquaredTimesTheDivergenceOfTheSoftenedDistributions(string divergence, string alone)
    {
        var rng = new Random(3);
        int rows = 4, k = 6;
        double tau = 2.5;
        double[] z = [.. Enumerable.Range(0, rows * k).Select(_ => 4 * rng.NextDouble() - 2)], t = [.. Enumerable.Range(0, rows * k).Select(_ => 4 * rng.NextDouble() - 2)];
        var kd = Assert.IsType<DistillationLoss>(LossKit.Catalog.LossRegistry.Create(FormattableString.Invariant($"kd(temperature={tau}, alpha=1, divergence={divergence})")));
        double value = kd.Compute<double>(z, k, t, new int[rows]);
        double[] p = [.. LogSoftmaxRows(t, k, tau).Select(Math.Exp)];
        var d = Assert.IsAssignableFrom<LossKit.Divergence.DivergenceLoss>(LossKit.Catalog.LossRegistry.Create(alone));
        Assert.Equal(tau * tau * d.Compute<double>(LogSoftmaxRows(z, k, tau), k, p), value, 12);
    }

    [Fact]
    public void KlByNameIsTheDefaultBitForBit()
    {
        var rng = new Random(5);
        double[] z = [.. Enumerable.Range(0, 30).Select(_ => 3 * rng.NextDouble())], t = [.. Enumerable.Range(0, 30).Select(_ => 3 * rng.NextDouble())];
        int[] y = [0, 1, 2, 3, 4];
        var g1 = new double[30];
        var g2 = new double[30];
        double a = new DistillationLoss().Compute<double>(z, 6, t, y, default, g1);
        double b = new DistillationLoss(divergence: "kl").Compute<double>(z, 6, t, y, default, g2);
        Assert.Equal(a, b);
        Assert.Equal(g1, g2);
        Assert.Equal("kd", new DistillationLoss(divergence: "kl").Spec);
        Assert.Equal("kd(divergence=jsd(beta=0.3))", new DistillationLoss(divergence: "jsd(beta=0.3)").Spec);
        Assert.Equal("kd(divergence=jsd(beta=0.3))", LossKit.Catalog.LossRegistry.Create("kd(divergence=jsd(beta=0.3))").Spec);
    }

    [Fact]
    public void ANestedSpecTakesOnlyTheDivergencesOwnParameters()
    {
        var e = Assert.Throws<ArgumentException>(() => LossKit.Catalog.LossRegistry.Create("kd(divergence=jsd(log_target=true))"));
        Assert.Contains("'log_target' is not a parameter jsd takes here", e.Message);
        Assert.Throws<ArgumentException>(() => LossKit.Catalog.LossRegistry.Create("kd(divergence=mse)"));
        Assert.Throws<ArgumentException>(() => LossKit.Catalog.LossRegistry.Create("kd(divergence=jsd(beta=0.5)"));
        Assert.Throws<ArgumentException>(() => LossKit.Catalog.LossRegistry.Create("ce(reduction=sum(x=1))"));
    }
}
