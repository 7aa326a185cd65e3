using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Softmax;
using LossKit.Tests.RowLosses;

namespace LossKit.Tests.Softmax;

/// <summary>zloss: shift and scale invariance, the σ = 0 convention, its bound and extreme rows in every precision.</summary>
public class ZLossTests
{
    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(0.5, 2.0)]
    [InlineData(4.0, -0.5)]
    public void InvariantToPositiveAffineMapsOfTheRow(double a, double b)
    {
        var loss = new ZLoss(a, b, reduction: Reduction.Sum);
        const int N = 8, K = 6;
        double[] z = RowLossReference.Logits(12, N, K, 2);
        int[] y = RowLossReference.Targets(12, N, K);
        var l0 = new double[N]; var g0 = new double[z.Length];
        loss.Compute<double>(z, K, y, l0, g0);
        foreach (var (alpha, beta) in new[] { (1e-3, 5.0), (2.5, -3.0), (1e12, 1e3), (1e25, 0.0) })
        {
            var l1 = new double[N]; var g1 = new double[z.Length];
            loss.Compute<double>(z.Select(v => alpha * v + beta).ToArray(), K, y, l1, g1);
            Assert.InRange(RowLossReference.MaxError(l1, l0), 0, 1e-9);
            Assert.InRange(RowLossReference.MaxError(g1.Select(v => v * alpha).ToArray(), g0), 0, 1e-9);
        }
        var check = Conformance.Run(loss, seed: 2, checks: [ConformanceChecks.Property]).Single(r => r.Property == LossProperties.ScaleInvariant);
        Assert.True(check.Passed, check.ToString());
    }

    [Fact]
    public void AllEqualRowsHaveTheDocumentedValueAndZeroGradient()
    {
        var loss = new ZLoss(2, 0.5, reduction: Reduction.Sum);
        var g = new double[8];
        var rows = new double[2];
        loss.Compute<double>([3, 3, 3, 3, -1e30, -1e30, -1e30, -1e30], 4, [1, 2], rows, g);
        double expected = Math.Log(1 + Math.Exp(2 * 0.5)) / 2;
        Assert.Equal(expected, rows[0], 14);
        Assert.Equal(expected, rows[1], 14);
        Assert.All(g, v => Assert.Equal(0.0, v));
        Assert.Equal(Math.Log(1 + Math.E), new ZLoss().Compute<double>([42], 1, [0]), 14);   // K = 1
    }

    [Fact]
    public void BoundIsAttainedByTheStandardisedExtremes()
    {
        var loss = new ZLoss(reduction: Reduction.Sum);
        // Target alone at the bottom: ẑ_y = −√(K−1), the largest loss.
        double v = loss.Compute<double>([-1, 0, 0, 0, 0], 5, [0]);
        Assert.Equal(loss.UpperBoundFor(5), v, 12);
        Assert.Equal(LossProperties.Bounded, loss.Card.Properties & LossProperties.Bounded);
    }

    [Fact]
    public void MaskedClassesAreLeftOutOfTheStatistics()
    {
        var loss = new ZLoss(reduction: Reduction.Sum);
        double ninf = double.NegativeInfinity;
        var g = new double[5];
        Assert.Equal(loss.Compute<double>([1, 2, -0.5, 4], 4, [1]), loss.Compute<double>([1, 2, ninf, -0.5, 4], 5, [1], default, g), 14);
        Assert.Equal(0.0, g[2]);
        var r = LossKit.Tests.Checking.TestChecks.Gradient(loss, [1, 2, ninf, -0.5, 4], 5, [1]);
        Assert.True(r.Passed, r.ToString());
        var rows = new double[1];
        loss.Compute<double>([1, 2, ninf, -0.5, 4], 5, [2], rows, g);
        Assert.Equal(double.PositiveInfinity, rows[0]);
        Assert.All(g, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void FloatAndHalfAreFiniteAndAccurateForHugeRows()
    {
        var loss = new ZLoss();
        double[] z = [3e38, -1e38, 2e37, 0];
        double d = loss.Compute<double>(z, 4, [1]);
        float f = loss.Compute<float>(z.Select(v => (float)v).ToArray(), 4, [1]);
        Assert.Equal(d, f, 5);
        Half[] zh = [(Half)60000, (Half)(-20000), (Half)4000, Half.Zero];
        var gh = new Half[4];
        Half h = loss.Compute<Half>(zh, 4, [1], default, gh);
        Assert.Equal(loss.Compute<double>([60000.0, -20000, 4000, 0], 4, [1]), (double)h, 2);
        Assert.All(gh, v => Assert.True(Half.IsFinite(v)));
    }

    [Theory]
    [InlineData("zloss(a=0)", "a")]
    [InlineData("zloss(a=-1)", "a")]
    [InlineData("zloss(b=[1,2])", "b")]
    public void BadParametersAreRejected(string spec, string param) =>
        Assert.Equal(param, Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec)).ParamName);

    [Fact]
    public void ScaleInvarianceCheckCatchesALossThatIsNot()
    {
        // hinge_ww claiming scale invariance (it is not: its margin is in logit units) must fail the check.
        var r = Conformance.Run(new LossKit.Tests.Checking.ClaimingLoss("hinge_ww", LossProperties.ScaleInvariant), checks: [ConformanceChecks.Property])
            .Single(c => c.Property == LossProperties.ScaleInvariant);
        Assert.False(r.Passed);
        Assert.Equal("scale-invariant", LossCard.PropertyName(LossProperties.ScaleInvariant));
    }
}
