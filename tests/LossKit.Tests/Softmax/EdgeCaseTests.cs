using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

/// <summary>Extreme inputs, NaN handling, empty means, determinism, Half, and bad input messages.</summary>
public class EdgeCaseTests
{
    public static TheoryData<string> Specs() => Reference.AllSpecs();

    [Theory]
    [MemberData(nameof(Specs))]
    public void ExtremeLogitsGiveFiniteLossAndGradient(string spec)
    {
        var loss = (SoftmaxLoss)LossRegistry.CreateClassification(spec);
        int k = loss.FixedClassCount ?? 5;
        double scale = loss.FiniteLogitScale;
        double[] z = Reference.Logits(5, 4, k, 1).Select(v => v * scale).ToArray();
        int[] y = Reference.Targets(5, 4, k);
        var g = new double[z.Length];
        var rows = new double[4];
        loss.Compute<double>(z, k, y, rows, g);
        Assert.All(rows, v => Assert.True(double.IsFinite(v)));
        Assert.All(g, v => Assert.True(double.IsFinite(v)));
        var gf = new float[z.Length];
        loss.Compute<float>(z.Select(v => (float)v).ToArray(), k, y, default, gf);
        Assert.All(gf, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void MaskedClassesGetZeroGradientAndAMaskedTargetGivesInfinity()
    {
        double[] z = [1, double.NegativeInfinity, 2, 0.5, double.NegativeInfinity, 3];
        var g = new double[6];
        var rows = new double[2];
        new CrossEntropyLoss(reduction: Reduction.Sum).Compute<double>(z, 3, [0, 1], rows, g);
        Assert.Equal(0, g[1]);
        Assert.True(double.IsFinite(rows[0]));
        Assert.Equal(double.PositiveInfinity, rows[1]);
        Assert.All(g, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(-1, g[4]);           // the masked target: p_y = 0, so ∇_y = p_y − 1 = −1 (finite; the loss is +∞)
        Assert.Equal(Math.Exp(0.5) / (Math.Exp(0.5) + Math.Exp(3)), g[3], 12);
    }

    [Fact]
    public void AllEqualRowsAndSingleClassRows()
    {
        var g = new double[4];
        double l = new CrossEntropyLoss().Compute<double>(new double[4], 4, [2], default, g);
        Assert.Equal(Math.Log(4), l, 14);
        Assert.Equal([0.25, 0.25, -0.75, 0.25], g);
        var g1 = new double[3];
        Assert.Equal(0, new FocalLoss().Compute<double>([5.0, -1e30, 1e30], 1, [0, 0, 0], default, g1));
        Assert.Equal(new double[3], g1);
    }

    [Fact]
    public void NaNLogitsMakeOnlyTheirRowNaN()
    {
        double[] z = [1, 2, double.NaN, 0, 1, 2];
        var rows = new double[2];
        var g = new double[6];
        double l = new CrossEntropyLoss().Compute<double>(z, 3, [0, 1], rows, g);
        Assert.True(double.IsNaN(l));
        Assert.True(double.IsNaN(rows[0]));
        Assert.True(double.IsFinite(rows[1]));
        Assert.All(g.AsSpan(0, 3).ToArray(), v => Assert.True(double.IsNaN(v)));
        Assert.All(g.AsSpan(3, 3).ToArray(), v => Assert.True(double.IsFinite(v)));
        var e = Assert.Throws<RowException>(() => InputChecks.RequireFinite<double>(z, 3));
        Assert.Equal(0, e.Row);
        Assert.Contains("class 2", e.Message);
    }

    [Fact]
    public void MeanOverOnlyIgnoredRowsIsZeroWithZeroGradient()
    {
        var g = Enumerable.Repeat(double.NaN, 6).ToArray();
        double l = new FocalLoss().Compute<double>([1, 2, 3, 4, 5, 6], 3, [-100, -100], default, g);
        Assert.Equal(0, l);
        Assert.Equal(new double[6], g);
    }

    [Fact]
    public void ResultsAreBitIdenticalForOneAndTwoThreads()
    {
        const int rows = 700, k = 333;
        float[] z = Reference.Logits(9, rows, k, 5).Select(v => (float)v).ToArray();
        int[] y = Reference.Targets(9, rows, k);
        foreach (string spec in new[] { "ce(smoothing=0.1)", "ce(softcap=4)", "focal", "gce(k=0.2)" })
        {
            var loss = LossRegistry.CreateClassification(spec);
            (float, float[], float[]) Run(int threads)
            {
                Parallelism.MaxThreads = threads;
                var g = new float[z.Length];
                var r = new float[rows];
                return (loss.Compute<float>(z, k, y, r, g), g, r);
            }
            var (l1, g1, r1) = Run(1);
            var (l2, g2, r2) = Run(2);
            Assert.Equal(BitConverter.SingleToInt32Bits(l1), BitConverter.SingleToInt32Bits(l2));
            Assert.True(g1.AsSpan().SequenceEqual(g2), spec);
            Assert.True(r1.AsSpan().SequenceEqual(r2), spec);
        }
    }

    [Theory]
    [InlineData("ce(smoothing=0.1)")]
    [InlineData("focal(gamma=2)")]
    [InlineData("ce(temperature=2, softcap=6)")]
    public void FloatAndHalfAgreeWithDouble(string spec)
    {
        const int rows = 40, k = 37;
        double[] z = Reference.Logits(11, rows, k, 3).Select(v => (double)(Half)v).ToArray();
        int[] y = Reference.Targets(11, rows, k);
        var loss = LossRegistry.CreateClassification(spec);
        var gd = new double[z.Length];
        double ld = loss.Compute<double>(z, k, y, default, gd);
        var gf = new float[z.Length];
        float lf = loss.Compute<float>(z.Select(v => (float)v).ToArray(), k, y, default, gf);
        var gh = new Half[z.Length];
        Half lh = loss.Compute<Half>(z.Select(v => (Half)v).ToArray(), k, y, default, gh);
        Assert.Equal(ld, lf, 1e-5 * Math.Abs(ld));
        Assert.InRange(Reference.MaxRelative(gf.Select(v => (double)v).ToArray(), gd), 0, 1e-5);
        Assert.Equal(ld, (double)lh, 2e-3 * Math.Abs(ld));   // Half has 11 significant bits
        Assert.InRange(Reference.MaxRelative(gh.Select(v => (double)v).ToArray(), gd), 0, 2e-3);
    }

    [Fact]
    public void SoftTargetsEqualIndexTargetsWhenOneHot()
    {
        double[] z = Reference.Logits(12, 3, 4, 2);
        int[] y = [1, 3, 0];
        double[] q = new double[12];
        for (int n = 0; n < 3; n++) q[n * 4 + y[n]] = 1;
        var ce = new CrossEntropyLoss(smoothing: 0.2, weight: [1, 2, 3, 4], reduction: Reduction.Sum);
        var g1 = new double[12]; var g2 = new double[12];
        Assert.Equal(ce.Compute<double>(z, 4, y, default, g1), ce.ComputeSoft<double>(z, 4, q, default, g2), 12);
        Assert.InRange(Reference.MaxRelative(g1, g2), 0, 1e-12);
    }

    [Fact]
    public void SoftTargetZerosOnMaskedClassesAreNotNaN()
    {
        double[] z = [1, double.NegativeInfinity, 2];
        var g = new double[3];
        double l = new CrossEntropyLoss().ComputeSoft<double>(z, 3, [0.5, 0, 0.5], default, g);
        Assert.True(double.IsFinite(l));
        Assert.Equal(0, g[1]);
    }

    [Fact]
    public void BadInputsNameTheArgumentRowAndValue()
    {
        var ce = new CrossEntropyLoss();
        var e1 = Assert.Throws<ArgumentException>(() => ce.Compute<float>(new float[11], 4, [0, 1, 2]));
        Assert.Equal("logits", e1.ParamName);
        Assert.Contains("11", e1.Message);
        Assert.Contains("12", e1.Message);

        var e2 = Assert.Throws<RowException>(() => ce.Compute<float>(new float[12], 4, [0, 7, 2]));
        Assert.Equal("targets", e2.ParamName);
        Assert.Equal(1, e2.Row);
        Assert.Contains("targets[1] = 7", e2.Message);
        Assert.Contains("0 ≤ target < 4", e2.Message);

        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(weight: [1, -2, 1]));
        Assert.Equal("weight", e3.ParamName);
        Assert.Contains("weight[1] = -2", e3.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(weight: [1, double.NaN, 1]));

        var e4 = Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(weight: [1, 2]).Compute<float>(new float[6], 3, [0, 1]));
        Assert.Equal("weight", e4.ParamName);

        var e5 = Assert.Throws<RowException>(() => ce.ComputeSoft<double>(new double[6], 3, [0.5, 0.5, 0, 0.2, 0.2, 0.2]));
        Assert.Equal(1, e5.Row);
        Assert.Contains("sums to", e5.Message);
        var e6 = Assert.Throws<RowException>(() => ce.ComputeSoft<double>(new double[3], 3, [1.5, -0.5, 0]));
        Assert.Contains("class 1", e6.Message);

        var e7 = Assert.Throws<ArgumentOutOfRangeException>(() => new FocalLoss(gamma: -1));
        Assert.Equal("gamma", e7.ParamName);
        Assert.Contains("0 ≤ value", e7.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GeneralizedCrossEntropyLoss(q: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(smoothing: 1.5));

        var e8 = Assert.Throws<ArgumentException>(() => ce.Compute<float>([], 3, []));
        Assert.Equal("targets", e8.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ce.Compute<float>(new float[3], 0, [0]));
        var e9 = Assert.Throws<ArgumentException>(() => ce.Compute<float>(new float[6], 3, [0, 1], new float[3]));
        Assert.Equal("rowLosses", e9.ParamName);
        var e10 = Assert.Throws<ArgumentException>(() => ce.Compute<float>(new float[6], 3, [0, 1], default, new float[5]));
        Assert.Equal("gradient", e10.ParamName);
    }

    [Fact]
    public void ParallelErrorsReportTheLowestBadRow()
    {
        const int rows = 5000, k = 50;
        var q = new double[rows * k];
        for (int n = 0; n < rows; n++) q[n * k] = 1;
        q[4321 * k] = 0.5;
        q[77 * k + 1] = -1;
        var e = Assert.Throws<RowException>(() => new CrossEntropyLoss().ComputeSoft<double>(new double[rows * k], k, q));
        Assert.Equal(77, e.Row);
    }
}
