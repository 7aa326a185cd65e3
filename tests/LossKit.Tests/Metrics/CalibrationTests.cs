using FsCheck.Xunit;
using LossKit.Core;
using LossKit.Metrics;
using static LossKit.Tests.Metrics.MetricReference;

namespace LossKit.Tests.Metrics;

public class CalibrationTests
{
    private static readonly double[] Logits = ClassificationMetricsTests.HandLogits;
    private static readonly int[] Labels = ClassificationMetricsTests.HandLabels;

    [Fact]
    public void Ece_And_Mce_HandComputed()
    {
        // Confidences/hits: 0.7 ✓, 0.6 ✗, 0.8 ✓, 0.4 ✗. B = 4, bins (0,.25] (.25,.5] (.5,.75] (.75,1]:
        //   bin 1: {0.4 ✗}        acc 0,   conf 0.4  → gap 0.4,  weight 1/4 → 0.1
        //   bin 2: {0.7 ✓, 0.6 ✗} acc 0.5, conf 0.65 → gap 0.15, weight 2/4 → 0.075
        //   bin 3: {0.8 ✓}        acc 1,   conf 0.8  → gap 0.2,  weight 1/4 → 0.05
        // ECE = 0.225, MCE = 0.4.
        Assert.Equal(0.225, Calibration.ExpectedCalibrationError(Logits, 3, Labels, bins: 4), 1e-12);
        Assert.Equal(0.4, Calibration.MaximumCalibrationError(Logits, 3, Labels, bins: 4), 1e-12);
        Assert.Equal(0.225, Calibration.ExpectedCalibrationError(ToFloat(Logits), 3, Labels, bins: 4), 1e-6);
        // One bin: acc 0.5, conf (0.7+0.6+0.8+0.4)/4 = 0.625 → 0.125.
        Assert.Equal(0.125, Calibration.ExpectedCalibrationError(Logits, 3, Labels, bins: 1), 1e-12);
    }

    [Fact]
    public void Adaptive_HandComputed()
    {
        // Sorted: 0.4 ✗, 0.6 ✗ | 0.7 ✓, 0.8 ✓ (B = 2, two rows each).
        //   group 0: acc 0, conf 0.5  → 0.5 · 2/4 = 0.25
        //   group 1: acc 1, conf 0.75 → 0.25 · 2/4 = 0.125   → ACE = 0.375.
        Assert.Equal(0.375, Calibration.AdaptiveCalibrationError(Logits, 3, Labels, bins: 2), 1e-12);
        // B ≥ N: one row per group (empty groups skipped) → mean |hit − conf| = (0.3 + 0.6 + 0.2 + 0.4)/4 = 0.375 too.
        Assert.Equal(0.375, Calibration.AdaptiveCalibrationError(Logits, 3, Labels, bins: 10), 1e-12);
        // B = 3 on 4 rows: groups of positions [0,1) [1,2) [2,4):
        //   {0.4 ✗} → 0.4·1/4 = 0.1;  {0.6 ✗} → 0.6·1/4 = 0.15;  {0.7 ✓, 0.8 ✓} → |1 − 0.75|·2/4 = 0.125 → 0.375.
        Assert.Equal(0.375, Calibration.AdaptiveCalibrationError(Logits, 3, Labels, bins: 3), 1e-12);
        // B = 1: same as ECE with one bin, 0.125.
        Assert.Equal(0.125, Calibration.AdaptiveCalibrationError(Logits, 3, Labels, bins: 1), 1e-12);
    }

    [Fact]
    public void Adaptive_TiedConfidences_AreOrderedByRow()
    {
        // 40 rows of logits [0, 0]: every confidence is exactly 0.5 and the prediction is class 0.
        // Rows 0–19 have label 0 (hits), rows 20–39 label 1 (misses). Ties are ordered by row index, so with B = 2
        // group 0 = rows 0–19: |20 − 10| = 10 and group 1 = rows 20–39: |0 − 10| = 10 → ACE = 20/40 = 0.5.
        // (Any other order of the tied rows would mix hits and misses and give less.)
        float[] logits = new float[80];
        int[] labels = Enumerable.Range(0, 40).Select(r => r < 20 ? 0 : 1).ToArray();
        Assert.Equal(0.5, Calibration.AdaptiveCalibrationError(logits, 2, labels, bins: 2), 1e-15);
        // B = 4: groups of 10 rows, each all hits or all misses → every gap is 5 → 20/40 = 0.5 again; the plain ECE
        // (one bin holds everything) is |20 − 20|/40 = 0.
        Assert.Equal(0.5, Calibration.AdaptiveCalibrationError(logits, 2, labels, bins: 4), 1e-15);
        Assert.Equal(0.0, Calibration.ExpectedCalibrationError(logits, 2, labels, bins: 4), 1e-15);
    }

    [Fact]
    public void Classwise_HandComputed()
    {
        // B = 4. Per class k: Σ_b |hits_b − Σconf_b| / N.
        // class 0: p = [.7 .2 .1 .3], y=0 at rows 0, 3. bin0 {.2,.1} |0−.3| = .3; bin1 {.3 ✓} .7; bin2 {.7 ✓} .3 → 1.3/4 = .325
        // class 1: p = [.2 .6 .1 .4], never the label. bin0 {.2,.1} .3; bin1 {.4} .4; bin2 {.6} .6 → 1.3/4 = .325
        // class 2: p = [.1 .2 .8 .3], y=2 at rows 1, 2. bin0 {.1, .2 ✓} |1−.3| = .7; bin1 {.3} .3; bin3 {.8 ✓} .2 → 1.2/4 = .3
        // mean = (.325 + .325 + .3)/3 = 0.95/3.
        Assert.Equal(0.95 / 3, Calibration.ClasswiseCalibrationError(Logits, 3, Labels, bins: 4), 1e-12);
    }

    [Fact]
    public void ReliabilityDiagram_HandComputed()
    {
        ReliabilityBin[] bins = Calibration.ReliabilityDiagram(Logits, 3, Labels, bins: 4);
        Assert.Equal(4, bins.Length);
        Assert.Equal(new ReliabilityBin(0, 0.25, 0, double.NaN, double.NaN), bins[0]);
        Assert.Equal((0.25, 0.5, 1), (bins[1].Lower, bins[1].Upper, bins[1].Count));
        Assert.Equal(0.4, bins[1].MeanConfidence, 1e-12);
        Assert.Equal(0.0, bins[1].Accuracy);
        Assert.Equal((0.5, 0.75, 2), (bins[2].Lower, bins[2].Upper, bins[2].Count));
        Assert.Equal(0.65, bins[2].MeanConfidence, 1e-12);
        Assert.Equal(0.5, bins[2].Accuracy);
        Assert.Equal((0.75, 1.0, 1), (bins[3].Lower, bins[3].Upper, bins[3].Count));
        Assert.Equal(0.8, bins[3].MeanConfidence, 1e-12);
        Assert.Equal(1.0, bins[3].Accuracy);
    }

    [Fact]
    public void BinEdges_AreUpperInclusive()
    {
        // Equal logits give exactly representable probabilities: 2 classes → 0.5, 4 classes → 0.25, 1 class → 1.
        // With B = 2 the edges are 0, 0.5, 1: confidence 0.5 belongs to bin 0 = (0, 0.5].
        var two = Calibration.ReliabilityDiagram(new float[] { 0f, 0f }, 2, [0], bins: 2);
        Assert.Equal(new[] { 1, 0 }, two.Select(b => b.Count));
        // B = 4: 0.25 lies on the edge between bins 0 and 1 → bin 0; B = 8: 0.25 → bin 1 = (0.125, 0.25].
        Assert.Equal(new[] { 1, 0, 0, 0 }, Calibration.ReliabilityDiagram(new float[] { 3f, 3f, 3f, 3f }, 4, [2], bins: 4).Select(b => b.Count));
        Assert.Equal(1, Calibration.ReliabilityDiagram(new float[] { 3f, 3f, 3f, 3f }, 4, [2], bins: 8)[1].Count);
        // Confidence 1 goes to the last bin.
        Assert.Equal(new[] { 0, 0, 1 }, Calibration.ReliabilityDiagram(new float[] { 7f }, 1, [0], bins: 3).Select(b => b.Count));
    }

    [Fact]
    public void ZeroProbability_GoesToTheFirstBin_InClasswise()
    {
        // Row [0, −∞], y = 0: p = [1, 0] exactly. Class 0: p = 1 in bin B−1, hit → gap 0.
        // Class 1: p = 0 goes to bin 0 = (0, 1/B] ∪ {0}, no hit → gap 0. So SCE = 0 for any B.
        float[] logits = [0f, float.NegativeInfinity];
        Assert.Equal(0.0, Calibration.ClasswiseCalibrationError(logits, 2, [0], bins: 5));
        // With y = 1 instead: class 0 gap |0 − 1| = 1, class 1 gap |1 − 0| = 1 → mean 1.
        Assert.Equal(1.0, Calibration.ClasswiseCalibrationError(logits, 2, [1], bins: 5));
    }

    [Property(MaxTest = 60)]
    public void Errors_MatchPerBinLoopReferences(int seed)
    {
        var rng = new Random(seed);
        int classes = rng.Next(1, 7), rows = rng.Next(1, 120), bins = rng.Next(1, 21);
        var (logits, labels) = rng.Next(2) == 0 ? Uniform(rng, rows, classes, 4) : Calibrated(rng, rows, classes, 2);
        var (ece, mce, perBin) = TopLabel(logits, classes, labels, bins);

        Assert.Equal(ece, Calibration.ExpectedCalibrationError(logits, classes, labels, bins), 1e-12);
        Assert.Equal(mce, Calibration.MaximumCalibrationError(logits, classes, labels, bins), 1e-12);
        Assert.Equal(Adaptive(logits, classes, labels, bins), Calibration.AdaptiveCalibrationError(logits, classes, labels, bins), 1e-12);
        Assert.Equal(Classwise(logits, classes, labels, bins), Calibration.ClasswiseCalibrationError(logits, classes, labels, bins), 1e-12);

        ReliabilityBin[] diagram = Calibration.ReliabilityDiagram(logits, classes, labels, bins);
        Assert.Equal(bins, diagram.Length);
        for (int b = 0; b < bins; b++)
        {
            Assert.Equal((double)b / bins, diagram[b].Lower);
            Assert.Equal((double)(b + 1) / bins, diagram[b].Upper);
            Assert.Equal(perBin[b].Count, diagram[b].Count);
            Assert.Equal(perBin[b].Conf, diagram[b].MeanConfidence, 1e-12);
            Assert.Equal(perBin[b].Acc, diagram[b].Accuracy, 1e-12);
        }
        Assert.Equal(rows, diagram.Sum(b => b.Count));
    }

    [Fact]
    public void CalibratedSyntheticData_HasNearZeroErrors_AndScaledLogitsDoNot()
    {
        // Labels drawn from softmax(logits): calibrated by construction, so only sampling noise remains
        // (roughly Σ_b (n_b/N)·sqrt(acc(1−acc)/n_b) ≈ 0.003 here).
        var (logits, labels) = Calibrated(new Random(1234), 100_000, 4, 1.5);
        Assert.InRange(Calibration.ExpectedCalibrationError(logits, 4, labels), 0, 0.01);
        Assert.InRange(Calibration.AdaptiveCalibrationError(logits, 4, labels), 0, 0.01);
        Assert.InRange(Calibration.ClasswiseCalibrationError(logits, 4, labels), 0, 0.01);

        // The same data made over-confident (logits × 3) is clearly mis-calibrated.
        double[] sharp = logits.Select(v => 3 * v).ToArray();
        Assert.True(Calibration.ExpectedCalibrationError(sharp, 4, labels) > 0.1);
        Assert.True(Calibration.AdaptiveCalibrationError(sharp, 4, labels) > 0.1);
    }

    [Fact]
    public void ExtremeLogits_GiveFiniteErrors()
    {
        float[] logits =
        [
            1e30f, -1e30f, float.NegativeInfinity,
            -1e30f, 1e30f, 0f,
            float.NegativeInfinity, 0f, float.NegativeInfinity,
            3f, float.NegativeInfinity, 1e30f,
        ];
        int[] labels = [0, 2, 1, 2];
        // Every confidence is exactly 1 (last bin), hits 3 of 4 → ECE = |0.75 − 1| = 0.25 = MCE = ACE (one group).
        Assert.Equal(0.25, Calibration.ExpectedCalibrationError(logits, 3, labels), 1e-15);
        Assert.Equal(0.25, Calibration.MaximumCalibrationError(logits, 3, labels), 1e-15);
        Assert.Equal(0.25, Calibration.AdaptiveCalibrationError(logits, 3, labels, bins: 1), 1e-15);
        // Probabilities are all exactly 0 or 1; only row 1 (y = 2, p = [0, 1, 0]) is wrong, on classes 1 and 2:
        // class 1: p = 1 at rows 1, 2 with hits only at row 2 → |1 − 2|/4 = 0.25; class 2: p = 0 at row 1, hit → 0.25.
        // Class 0 is exact. SCE = (0 + 0.25 + 0.25)/3 = 1/6.
        Assert.Equal(1.0 / 6, Calibration.ClasswiseCalibrationError(logits, 3, labels), 1e-15);
        Assert.Equal(4, Calibration.ReliabilityDiagram(logits, 3, labels)[14].Count);
    }

    [Fact]
    public void UndefinedSoftmax_GivesNaN_AndTheDiagramThrows()
    {
        float[] logits = [1f, 2f, float.NaN, 0f, 0f, 0f];
        int[] labels = [1, 0, 1];
        Assert.True(double.IsNaN(Calibration.ExpectedCalibrationError(logits, 2, labels)));
        Assert.True(double.IsNaN(Calibration.MaximumCalibrationError(logits, 2, labels)));
        Assert.True(double.IsNaN(Calibration.AdaptiveCalibrationError(logits, 2, labels)));
        Assert.True(double.IsNaN(Calibration.ClasswiseCalibrationError(logits, 2, labels)));
        var e = Assert.Throws<RowException>(() => Calibration.ReliabilityDiagram(logits, 2, labels));
        Assert.Equal("logits", e.ParamName);
        Assert.Equal(1, e.Row);
        Assert.Contains("row 1", e.Message);

        float[] allMinusInfinity = [0f, 0f, float.NegativeInfinity, float.NegativeInfinity];
        Assert.True(double.IsNaN(Calibration.ExpectedCalibrationError(allMinusInfinity, 2, [0, 0])));
        Assert.Equal(1, Assert.Throws<RowException>(() => Calibration.ReliabilityDiagram(allMinusInfinity, 2, [0, 0])).Row);
    }
}
