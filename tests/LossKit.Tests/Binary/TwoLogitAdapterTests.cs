using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;

namespace LossKit.Tests.Binary;

public class TwoLogitAdapterTests
{
    [Theory]
    [InlineData("bce")]
    [InlineData("sigmoid_focal")]
    [InlineData("hinge")]
    [InlineData("logistic")]
    [InlineData("anyloss")]
    public void EqualsTheBinaryLossOnTheLogitDifference(string spec)
    {
        var binary = (IBinaryLoss)LossRegistry.Create(spec);
        var adapter = new TwoLogitBinaryLoss((IBinaryLoss)LossRegistry.Create(spec));
        var rng = new Random(3);
        double[] z = GradientCheck.RandomLogits(rng, 8, 2, 2);
        int[] y = [0, 1, 1, 0, 1, 0, 0, 1];
        double[] s = Enumerable.Range(0, 8).Select(n => z[2 * n + 1] - z[2 * n]).ToArray();
        var gs = new double[8];
        var g = new double[16];
        double expected = binary.Compute<double>(s, y.Select(v => (double)v).ToArray(), default, gs);
        double actual = adapter.Compute<double>(z, 2, y, default, g);
        Assert.Equal(expected, actual, 1e-14);
        for (int n = 0; n < 8; n++)
        {
            Assert.Equal(gs[n], g[2 * n + 1], 1e-14);
            Assert.Equal(-gs[n], g[2 * n], 1e-14);
        }
        Assert.True(LossKit.Tests.Checking.TestChecks.Gradient(adapter, z, 2, y).Passed);
    }

    [Fact]
    public void RejectsOtherClassCountsAndLabels()
    {
        var adapter = new TwoLogitBinaryLoss((IBinaryLoss)LossRegistry.Create("bce"));
        Assert.Equal("classes", Assert.Throws<ArgumentException>(() => adapter.Compute<float>(new float[6], 3, [0, 1])).ParamName);
        var e = Assert.Throws<RowException>(() => adapter.Compute<float>(new float[4], 2, [0, 2]));
        Assert.Equal(1, e.Row);
    }

    [Fact]
    public void StepReachesAStatefulInnerLoss()
    {
        var auc = (AucMarginLoss)LossRegistry.Create("auc_m");
        var adapter = new TwoLogitBinaryLoss(auc);
        float[] z = [0, 2, 0, -1, 0, 0.5f, 0, -2];
        adapter.Compute<float>(z, 2, [1, 0, 1, 0], default, new float[8]);
        Assert.NotNull(auc.LastStateGradient);
        var (a, b, alpha) = (auc.A, auc.B, auc.Alpha);
        var g = auc.LastStateGradient!.Value;
        adapter.Step(0.1);
        Assert.NotEqual((a, b, alpha), (auc.A, auc.B, auc.Alpha));
        Assert.True(g.A == 0 || auc.A != a);
    }
}
