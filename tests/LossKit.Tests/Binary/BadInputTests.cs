using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Tests.Binary;

/// <summary>Bad input gets an ArgumentException that names the argument, the index or row, and the value.</summary>
public class BadInputTests
{
    public static TheoryData<string> All => BinarySpecs.AllData;

    private static IBinaryLoss Create(string spec) => (IBinaryLoss)LossRegistry.Create(spec);

    [Theory, MemberData(nameof(All))]
    public void TargetOutOfRangeNamesIndexAndValue(string spec)
    {
        var loss = Create(spec);
        int c = (loss as BinaryLoss)?.FixedColumnCount ?? 1;
        int n = 4 * c * 3;
        var z = new double[n];
        var t = new double[n];
        t[0] = 1;
        t[7] = 1.5;
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, t));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains("1.5", e.Message);
        Assert.Contains(c > 1 ? $"row {7 / c}, column {7 % c}" : "targets[7]", e.Message);
        Assert.Contains("[0, 1]", e.Message);
    }

    [Theory, MemberData(nameof(All))]
    public void NanAndNegativeTargetsAreRejected(string spec)
    {
        var loss = Create(spec);
        int c = (loss as BinaryLoss)?.FixedColumnCount ?? 1;
        foreach (double bad in new[] { double.NaN, -0.25, double.PositiveInfinity })
        {
            var z = new double[6 * c];
            var t = new double[6 * c];
            t[0] = 1;
            t[^1] = bad;
            var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(z.Select(v => (float)v).ToArray(), t.Select(v => (float)v).ToArray()));
            Assert.Equal("targets", e.ParamName);
            Assert.Contains(" = " + bad.ToString("G9", System.Globalization.CultureInfo.InvariantCulture) + " is not a probability", e.Message);
            int last = 6 * c - 1;
            Assert.Contains(c > 1 ? $"row {last / c}, column {last % c}" : $"targets[{last}]", e.Message);
        }
    }

    [Fact]
    public void TheFirstBadTargetIsReportedWhateverTheThreads()
    {
        var loss = new BinaryCrossEntropyLoss();
        var z = new float[100_000];
        var t = new float[100_000];
        t[70_001] = 2;
        t[40_003] = -1;
        foreach (int threads in new[] { 1, 2 })
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(z, t));
                Assert.Contains("targets[40003] = -1", e.Message);
            }
            finally { Parallelism.MaxThreads = saved; }
        }
    }

    /// <summary>Within one block the kernel checks the whole vector part before it throws: the first bad target is
    /// still the one reported, whether the later one is in the vector part or the tail, and in float and double.</summary>
    [Theory]
    [InlineData(500, 700)]
    [InlineData(3, 1001)]
    [InlineData(999, 1002)]
    public void TheFirstBadTargetInABlockIsReported(int first, int second)
    {
        var loss = new HingeLoss();
        var t = new double[1003];
        t[first] = -0.5;
        t[second] = 3;
        var z = new double[t.Length];
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, t));
        Assert.Contains($"targets[{first}] = -0.5", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<float>(z.Select(v => (float)v).ToArray(), t.Select(v => (float)v).ToArray()));
        Assert.Contains($"targets[{first}] = -0.5", e.Message);
    }

    [Theory, MemberData(nameof(All))]
    public void ShapeMismatchNamesBothLengths(string spec)
    {
        var loss = Create(spec);
        int c = (loss as BinaryLoss)?.FixedColumnCount ?? 1;
        double[] z = new double[4 * c], t = new double[4 * c + 1];
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, t));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains($"targets has {4 * c + 1} values but logits has {4 * c}", e.Message);

        t = new double[4 * c];
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, t, new double[3]));
        Assert.Equal("elementLosses", e.ParamName);
        Assert.Contains($"elementLosses has 3 values; expected {4 * c}", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(z, t, default, new double[4 * c + 2]));
        Assert.Equal("gradient", e.ParamName);
        Assert.Contains($"gradient has {4 * c + 2} values; expected {4 * c}", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>([], []));
        Assert.Equal("logits", e.ParamName);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void PerColumnOptionsNeedWholeRows()
    {
        var loss = new BinaryCrossEntropyLoss(posWeight: [1, 2, 3]);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Compute<double>(new double[8], new double[8]));
        Assert.Equal("logits", e.ParamName);
        Assert.Contains("8 values", e.Message);
        Assert.Contains("3 columns", e.Message);
        Assert.Contains("pos_weight has 3 values", e.Message);

        e = Assert.ThrowsAny<ArgumentException>(() => new BinaryCrossEntropyLoss(weight: [1, 2]).Compute<double>(new double[5], new double[5]));
        Assert.Contains("weight has 2 values", e.Message);

        e = Assert.ThrowsAny<ArgumentException>(() => new BinaryCrossEntropyLoss(posWeight: [1, 2, 3], weight: [1, 2]));
        Assert.Equal("weight", e.ParamName);
        Assert.Contains("weight has 2 values but pos_weight has 3", e.Message);
    }

    public static TheoryData<string, string, string> BadSpecs => new()
    {
        { "bce(pos_weight=[1,-2])", "pos_weight", "pos_weight[1] = -2" },
        { "bce(weight=[-1])", "weight", "weight[0] = -1" },
        { "bce(pos_weight=[])", "pos_weight", "empty" },
        { "sigmoid_focal(gamma=-1)", "gamma", "gamma = -1 is out of range: expected 0 ≤ value" },
        { "sigmoid_focal(alpha=1.5)", "alpha", "alpha = 1.5 is out of range" },
        { "smoothed_hinge(h=-0.5)", "h", "h = -0.5 is out of range" },
        { "exponential(beta=0)", "beta", "beta = 0 is out of range: expected 0 < value" },
        { "asl(clip=1)", "clip", "clip = 1 is out of range" },
        { "asl(gamma_neg=-4)", "gamma_neg", "gamma_neg = -4" },
        { "auc_m(margin=-1)", "margin", "margin = -1" },
        { "auc_m(imratio=1)", "imratio", "imratio = 1" },
        { "anyloss(L=0)", "L", "L = 0 is out of range" },
        { "anyloss(L=5000)", "L", "L = 5000" },
        { "anyloss(metric=auc)", "metric", "metric = auc" },
        { "anyloss(beta=2)", "beta", "applies to metric=fbeta only" },
        { "anyloss(metric=fbeta, beta=-1)", "beta", "beta = -1" },
        { "ensloss(period=0)", "period", "period = 0" },
        { "ensloss(period=1.5)", "period", "period = 1.5" },
        { "hinge(h=1)", "spec", "hinge has no parameter 'h'" },
        { "bce(reduction=avg)", "reduction", "reduction = avg" },
    };

    [Theory, MemberData(nameof(BadSpecs))]
    public void BadParametersNameParameterValueAndRange(string spec, string param, string text)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec));
        Assert.Equal(param, e.ParamName);
        Assert.Contains(text, e.Message);
    }

    [Fact]
    public void ConstructorsCheckTheirParameters()
    {
        Assert.Equal("gamma", Assert.ThrowsAny<ArgumentException>(() => new SigmoidFocalLoss(gamma: double.NaN)).ParamName);
        Assert.Equal("h", Assert.ThrowsAny<ArgumentException>(() => new SmoothedHingeLoss(h: double.PositiveInfinity)).ParamName);
        Assert.Equal("gamma_pos", Assert.ThrowsAny<ArgumentException>(() => new AsymmetricLoss(gammaPos: -1)).ParamName);
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(() => new AucMarginLoss(alpha: -0.1)).ParamName);
        Assert.Equal("lambda", Assert.ThrowsAny<ArgumentException>(() => new EnsLoss(lambda: double.NaN)).ParamName);
        Assert.Equal("period", Assert.ThrowsAny<ArgumentException>(() => new EnsLoss(period: 0)).ParamName);
        Assert.Equal("reduction", Assert.ThrowsAny<ArgumentException>(() => new HingeLoss((Reduction)7)).ParamName);
        Assert.Equal("metric", Assert.ThrowsAny<ArgumentException>(() => new AnyLoss((AnyLossMetric)9)).ParamName);
    }

    [Theory]
    [InlineData(AnyLossMetric.BalancedAccuracy, 1.0, "no negatives")]
    [InlineData(AnyLossMetric.GMean, 0.0, "no positives")]
    public void AnyLossMetricsOfBothClassesNeedBothClasses(AnyLossMetric metric, double target, string text)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new AnyLoss(metric).Compute<double>([0.1, 0.2, 0.3], [target, target, target]));
        Assert.Equal("targets", e.ParamName);
        Assert.Contains(text, e.Message);
        // F1 and accuracy are defined on a one-class batch.
        Assert.True(double.IsFinite(new AnyLoss().Compute<double>([0.1, 0.2], [0.0, 0.0])));
    }

    [Fact]
    public void AucStepNeedsAComputeAndSaneRates()
    {
        var loss = new AucMarginLoss();
        Assert.Throws<InvalidOperationException>(() => loss.Step(0.1));
        loss.Compute<double>([0.1, -0.2], [1.0, 0.0]);
        Assert.Equal("learningRate", Assert.ThrowsAny<ArgumentException>(() => loss.Step(-0.1)).ParamName);
        Assert.Equal("dualLearningRate", Assert.ThrowsAny<ArgumentException>(() => loss.Step(0.1, double.NaN)).ParamName);
    }

    [Fact]
    public void EnsLossFixedDerivativesNeedOnePerLogit()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new EnsLoss().ComputeWithDerivatives<double>([1.0, 2.0], [1.0, 0.0], [0.5]));
        Assert.Equal("derivatives", e.ParamName);
        Assert.Contains("derivatives has 1 values but logits has 2", e.Message);
        Assert.Equal("calls", Assert.ThrowsAny<ArgumentException>(() => new EnsLoss().Reset(-1)).ParamName);
    }
}
