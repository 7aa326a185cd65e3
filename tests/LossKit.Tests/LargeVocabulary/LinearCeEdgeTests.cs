using LossKit.Catalog;
using LossKit.Core;
using LossKit.LargeVocabulary;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>linear_ce on extreme and bad input, and its card and spec.</summary>
public class LinearCeEdgeTests
{
    [Fact]
    public void MaskedClassesViaMinusInfinityBiasHaveZeroGradient()
    {
        var c = LinearCase.Random(2, 12, 6, 31, ignoreEvery: 5);
        c.Bias[4] = double.NegativeInfinity;
        c.Bias[30] = double.NegativeInfinity;
        for (int i = 0; i < c.Rows; i++) if (c.Targets[i] is 4 or 30) c.Targets[i] = 0;
        foreach (var loss in new[] { new LinearCrossEntropyLoss(chunkRows: 5), new LinearCrossEntropyLoss(lseSquared: 0.1, softcap: 3, chunkRows: 5) })
        {
            var r = LinearRun.Double(loss, c);
            Assert.True(double.IsFinite(r.Loss));
            Assert.All(r.GradHidden, v => Assert.True(double.IsFinite(v)));
            Assert.Equal(0, r.GradBias[4]);
            Assert.Equal(0, r.GradBias[30]);
            for (int j = 0; j < c.Dim; j++) Assert.Equal(0, r.GradWeight[4 * c.Dim + j]);
            LinearRun.AssertClose(r, LinearRun.Double(loss, c, materialized: true), 1e-12, loss.Spec);
            var f = LinearRun.Float(loss, c);
            Assert.True(float.IsFinite(f.Loss));
            Assert.Equal(0, f.GradBias[30]);
        }
    }

    [Fact]
    public void TargetOnAMaskedClassGivesInfiniteLossAndFiniteGradient()
    {
        var c = LinearCase.Random(2, 4, 3, 7);
        c.Bias[2] = double.NegativeInfinity;
        c.Targets[1] = 2;
        var r = LinearRun.Double(new LinearCrossEntropyLoss(reduction: Reduction.Sum), c);
        Assert.Equal(double.PositiveInfinity, r.PerRow[1]);
        Assert.True(double.IsFinite(r.PerRow[0]));
        Assert.All(r.GradWeight, v => Assert.True(double.IsFinite(v)));
        Assert.All(r.GradHidden, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void EveryClassMaskedGivesInfiniteLossAndZeroGradient()
    {
        var c = LinearCase.Random(2, 3, 3, 5);
        Array.Fill(c.Bias, double.NegativeInfinity);
        var r = LinearRun.Double(new LinearCrossEntropyLoss(), c);
        Assert.All(r.PerRow, v => Assert.Equal(double.PositiveInfinity, v));
        Assert.All(r.GradHidden, v => Assert.Equal(0, v));
        Assert.All(r.GradWeight, v => Assert.Equal(0, v));
    }

    [Theory]
    [InlineData(1e3)]
    [InlineData(1e15)]
    [InlineData(1e28)]
    public void HugeLogitsStayFinite(double scale)
    {
        // Logits of order scale·√d: up to ~1e29 in double (float overflows past 3.4e38, so keep float below that).
        var c = LinearCase.Random(8, 10, 4, 13, scale: scale);
        foreach (var loss in new[] { new LinearCrossEntropyLoss(chunkRows: 3), new LinearCrossEntropyLoss(smoothing: 0.1, chunkRows: 3) })
        {
            var r = LinearRun.Double(loss, c);
            Assert.True(double.IsFinite(r.Loss), $"{loss.Spec}: {r.Loss}");
            Assert.All(r.GradHidden, v => Assert.True(double.IsFinite(v)));
            Assert.All(r.GradWeight, v => Assert.True(double.IsFinite(v)));
            LinearRun.AssertClose(r, LinearRun.Double(loss, c, materialized: true), 1e-12, $"{loss.Spec} scale {scale}");
            if (scale <= 1e15)
            {
                var f = LinearRun.Float(loss, c);
                Assert.True(float.IsFinite(f.Loss));
                Assert.All(f.GradWeight, v => Assert.True(float.IsFinite(v)));
            }
        }
    }

    [Fact]
    public void NaNInARowOfHiddenMakesThatRowNaN()
    {
        var c = LinearCase.Random(2, 6, 3, 9);
        c.Hidden[2 * 3 + 1] = double.NaN;
        var r = LinearRun.Double(new LinearCrossEntropyLoss(chunkRows: 4), c);
        Assert.True(double.IsNaN(r.PerRow[2]));
        Assert.True(double.IsNaN(r.Loss));
        Assert.All(r.PerRow.Where((_, i) => i != 2), v => Assert.True(double.IsFinite(v)));
        Assert.True(double.IsFinite(r.GradHidden[0]));
    }

    [Theory]
    [InlineData(1000, 32000 * 128, 32000, 8, "hidden has 1000 values; expected rows×dim = 8×128 = 1024")]
    [InlineData(1024, 32000 * 127, 32000, 8, "weight has 4064000 values; expected vocab×dim = 32000×128 = 4096000")]
    [InlineData(1024, 32000 * 128, 31999, 8, "bias has 31999 values; expected vocab = 32000")]
    [InlineData(1024, 32000 * 128, 32000, 9, "targets has 9 values; expected one per row of hidden, rows = 8")]
    public void ShapeMismatchesNameEveryShape(int hidden, int weight, int bias, int targets, string expected)
    {
        var loss = new LinearCrossEntropyLoss();
        var e = Assert.ThrowsAny<ArgumentException>(() =>
            loss.Compute(new float[hidden], new float[weight], new float[bias], 8, 128, 32000, new int[targets]));
        Assert.Contains(expected, e.Message);
        Assert.Contains("rows = 8, dim = 128, vocab = 32000", e.Message);
        Assert.Contains("weight is", e.Message);
        Assert.Contains("hidden is", e.Message);
        Assert.Contains($"targets has {targets}", e.Message);
    }

    [Fact]
    public void OutputShapesAndTargetsAreChecked()
    {
        var c = LinearCase.Random(1, 4, 3, 5);
        var loss = new LinearCrossEntropyLoss();
        void Call(LinearCrossEntropyLoss l, int[] y, int perRow = 0, int gh = 0, int gw = 0, int gb = 0) =>
            l.Compute(c.Hidden, c.Weight, c.Bias, 4, 3, 5, y, new double[perRow], new double[gh], new double[gw], new double[gb]);
        Assert.Contains("rowLosses has 3 values; expected 4", Assert.ThrowsAny<ArgumentException>(() => Call(loss, c.Targets, perRow: 3)).Message);
        Assert.Contains("gradHidden has 11 values", Assert.ThrowsAny<ArgumentException>(() => Call(loss, c.Targets, gh: 11)).Message);
        Assert.Contains("gradWeight has 14 values", Assert.ThrowsAny<ArgumentException>(() => Call(loss, c.Targets, gw: 14)).Message);
        Assert.Contains("gradBias has 4 values", Assert.ThrowsAny<ArgumentException>(() => Call(loss, c.Targets, gb: 4)).Message);
        var bad = Assert.Throws<RowException>(() => Call(loss, [0, 1, 5, 2]));
        Assert.Equal(2, bad.Row);
        Assert.Contains("targets[2] = 5 is not a class index: expected 0 ≤ target < 5", bad.Message);
        Assert.Contains("rowLosses has 4 values; expected 3 (one per prediction: rows − 1 with shift)",
            Assert.ThrowsAny<ArgumentException>(() => Call(new LinearCrossEntropyLoss(shift: true), c.Targets, perRow: 4)).Message);
        Assert.Contains("weight (class weights) has 2 values but vocab = 5",
            Assert.ThrowsAny<ArgumentException>(() => Call(new LinearCrossEntropyLoss(weight: [1, 2]), c.Targets)).Message);
        Assert.Contains("shift needs at least 2 rows", Assert.ThrowsAny<ArgumentException>(() =>
            new LinearCrossEntropyLoss(shift: true).Compute(new double[3], c.Weight, c.Bias, 1, 3, 5, [0])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearCrossEntropyLoss(smoothing: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearCrossEntropyLoss(chunkRows: -1));
    }

    [Fact]
    public void SpecRoundTripsThroughTheRegistry()
    {
        var loss = (LinearCrossEntropyLoss)LossRegistry.Create("linear_ce(smoothing=0.1, weight=[1,2,3], ignore_index=0, reduction=sum, shift=true, chunk_rows=64, softcap=30, temperature=2, lse_sq=0.0001)");
        Assert.True(loss.Shift);
        Assert.Equal(64, loss.ChunkRows);
        Assert.Equal(0.1, loss.Smoothing);
        Assert.Equal(Reduction.Sum, loss.Reduction);
        var again = (LinearCrossEntropyLoss)LossRegistry.Create(loss.Spec);
        Assert.Equal(loss.Spec, again.Spec);
        Assert.Equal("linear_ce", LossRegistry.Create("linear_ce").Spec);
        Assert.Contains("shift", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("linear_ce(shift=maybe)")).Message);
        Assert.Same(LinearCrossEntropyLoss.Definition, LossRegistry.Find("linear_ce").Card);
        Assert.Contains(LossRegistry.All, d => d.Card.Name == "linear_ce");
    }
}
