using FsCheck.Xunit;
using LossKit.Metrics;
using static LossKit.Tests.Metrics.MetricReference;

namespace LossKit.Tests.Metrics;

public class ClassificationMetricsTests
{
    // Four rows, three classes, logits = log(probabilities) so softmax gives back these probabilities:
    //   row 0: p = [0.7, 0.2, 0.1], y = 0 → predicted 0 (hit),  confidence 0.7
    //   row 1: p = [0.2, 0.6, 0.2], y = 2 → predicted 1 (miss), confidence 0.6
    //   row 2: p = [0.1, 0.1, 0.8], y = 2 → predicted 2 (hit),  confidence 0.8
    //   row 3: p = [0.3, 0.4, 0.3], y = 0 → predicted 1 (miss), confidence 0.4
    internal static readonly double[] HandLogits =
    [
        .. Log(0.7, 0.2, 0.1),
        .. Log(0.2, 0.6, 0.2),
        .. Log(0.1, 0.1, 0.8),
        .. Log(0.3, 0.4, 0.3),
    ];
    internal static readonly int[] HandLabels = [0, 2, 2, 0];

    [Fact]
    public void Accuracy_HandComputed()
    {
        // Hits in rows 0 and 2: 2/4.
        Assert.Equal(0.5, ClassificationMetrics.Accuracy(HandLogits, 3, HandLabels), 1e-15);
        Assert.Equal(0.5, ClassificationMetrics.Accuracy(ToFloat(HandLogits), 3, HandLabels), 1e-15);
    }

    [Fact]
    public void TopK_HandComputed_WithTieBrokenByIndex()
    {
        // k = 2: row 0 rank 0 ✓; row 1: y = 2 ties class 0 (both log 0.2, bit-identical) and class 0 has the lower index,
        // and class 1 is larger, so rank 2 ✗; row 2 rank 0 ✓; row 3: only class 1 is larger, rank 1 ✓ → 3/4.
        Assert.Equal(0.75, ClassificationMetrics.TopKAccuracy(HandLogits, 3, HandLabels, k: 2), 1e-15);
        Assert.Equal(0.5, ClassificationMetrics.TopKAccuracy(HandLogits, 3, HandLabels, k: 1), 1e-15);
        Assert.Equal(1.0, ClassificationMetrics.TopKAccuracy(HandLogits, 3, HandLabels, k: 3), 1e-15);
        Assert.Equal(1.0, ClassificationMetrics.TopKAccuracy(HandLogits, 3, HandLabels, k: 10), 1e-15);
    }

    [Fact]
    public void ArgMaxTies_GoToTheLowestIndex()
    {
        // Row [1, 1]: the prediction is class 0. Label 0 is a hit, label 1 a miss.
        float[] logits = [1f, 1f, 1f, 1f];
        Assert.Equal(0.5, ClassificationMetrics.Accuracy(logits, 2, [0, 1]), 1e-15);
    }

    [Fact]
    public void Nll_HandComputed()
    {
        // −(ln 0.7 + ln 0.2 + ln 0.8 + ln 0.3)/4 = (0.356675 + 1.609438 + 0.223144 + 1.203973)/4 = 3.393229/4 = 0.848307.
        double expected = -(Math.Log(0.7) + Math.Log(0.2) + Math.Log(0.8) + Math.Log(0.3)) / 4;
        Assert.Equal(0.848307, expected, 1e-6);
        Assert.Equal(expected, ClassificationMetrics.NegativeLogLikelihood(HandLogits, 3, HandLabels), 1e-12);
        Assert.Equal(expected, ClassificationMetrics.NegativeLogLikelihood(ToFloat(HandLogits), 3, HandLabels), 1e-6);
    }

    [Fact]
    public void Brier_HandComputed_MultiClassSumForm()
    {
        // row 0: 0.3² + 0.2² + 0.1² = 0.14;  row 1: 0.2² + 0.6² + 0.8² = 1.04;
        // row 2: 0.1² + 0.1² + 0.2² = 0.06;  row 3: 0.7² + 0.4² + 0.3² = 0.74;  mean = 1.98/4 = 0.495.
        Assert.Equal(0.495, ClassificationMetrics.Brier(HandLogits, 3, HandLabels), 1e-12);
        // Binary: p = [0.5, 0.5] (equal logits), y = 1: 0.5² + 0.5² = 0.5 (twice the one-column form 0.25).
        Assert.Equal(0.5, ClassificationMetrics.Brier(new float[] { 0f, 0f }, 2, [1]), 1e-15);
    }

    [Fact]
    public void MacroF1_HandComputed()
    {
        // predictions [0, 1, 2, 1], labels [0, 2, 2, 0]:
        // class 0: TP 1, FP 0, FN 1 → 2/(2+0+1) = 2/3;  class 1: TP 0, FP 2 → 0;  class 2: TP 1, FN 1 → 2/3.
        // Mean over the 3 classes present = (4/3)/3 = 4/9.
        Assert.Equal(4.0 / 9, ClassificationMetrics.MacroF1(HandLogits, 3, HandLabels), 1e-15);
    }

    [Fact]
    public void MacroF1_AveragesOnlyOverClassesInLabelsOrPredictions()
    {
        // Five classes, but only classes 0 and 1 occur (as labels and predictions); every row is correct.
        // Classes 2–4 are in neither, so they are left out: F1 = (1 + 1)/2 = 1, not 2/5.
        float[] logits =
        [
            5, 0, 0, 0, 0,
            0, 5, 0, 0, 0,
        ];
        Assert.Equal(1.0, ClassificationMetrics.MacroF1(logits, 5, [0, 1]), 1e-15);

        // Class 3 predicted but never a label: it is in the union with F1 = 0 → (1 + 0 + 0)/3 with class 1 missed.
        // rows: y=0 pred 0 (class 0: TP 1 → F1 1); y=1 pred 3 (class 1: FN 1 → 0; class 3: FP 1 → 0) → 1/3.
        float[] logits2 =
        [
            5, 0, 0, 0, 0,
            0, 0, 0, 5, 0,
        ];
        Assert.Equal(1.0 / 3, ClassificationMetrics.MacroF1(logits2, 5, [0, 1]), 1e-15);
    }

    [Property(MaxTest = 60)]
    public void AllMetrics_MatchSlowReferences(int seed)
    {
        var rng = new Random(seed);
        int classes = rng.Next(1, 9), rows = rng.Next(1, 80);
        // Coarse grid values so that ties occur.
        var logits = new double[rows * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = rng.Next(-6, 7) * 0.5;
        var labels = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        int k = rng.Next(1, classes + 2);

        Assert.Equal(TopK(logits, classes, labels, 1), ClassificationMetrics.Accuracy(logits, classes, labels), 1e-15);
        Assert.Equal(TopK(logits, classes, labels, k), ClassificationMetrics.TopKAccuracy(logits, classes, labels, k), 1e-15);
        Assert.Equal(Nll(logits, classes, labels), ClassificationMetrics.NegativeLogLikelihood(logits, classes, labels), 1e-12);
        Assert.Equal(Brier(logits, classes, labels), ClassificationMetrics.Brier(logits, classes, labels), 1e-12);
        Assert.Equal(MacroF1(logits, classes, labels), ClassificationMetrics.MacroF1(logits, classes, labels), 1e-12);

        float[] f = ToFloat(logits); // grid values are exact in float
        Assert.Equal(TopK(logits, classes, labels, k), ClassificationMetrics.TopKAccuracy(f, classes, labels, k), 1e-15);
        Assert.Equal(Nll(logits, classes, labels), ClassificationMetrics.NegativeLogLikelihood(f, classes, labels), 1e-12);
    }

    [Property(MaxTest = 60)]
    public void AddingAConstantToEveryLogit_ChangesNoPrediction(int seed)
    {
        var rng = new Random(seed);
        int classes = rng.Next(1, 7), rows = rng.Next(1, 50);
        // Quarter-integers and an integer shift: every sum is exact in float, so ties stay ties.
        float[] logits = Enumerable.Range(0, rows * classes).Select(_ => rng.Next(-16, 17) / 4f).ToArray();
        int[] labels = Enumerable.Range(0, rows).Select(_ => rng.Next(classes)).ToArray();
        float shift = rng.Next(-1000, 1001);
        float[] shifted = logits.Select(v => v + shift).ToArray();
        int k = rng.Next(1, classes + 1);

        Assert.Equal(ClassificationMetrics.Accuracy(logits, classes, labels), ClassificationMetrics.Accuracy(shifted, classes, labels));
        Assert.Equal(ClassificationMetrics.TopKAccuracy(logits, classes, labels, k), ClassificationMetrics.TopKAccuracy(shifted, classes, labels, k));
        Assert.Equal(ClassificationMetrics.MacroF1(logits, classes, labels), ClassificationMetrics.MacroF1(shifted, classes, labels));
        // Softmax is shift-invariant too; only the rounding of the shifted logits in double differs.
        Assert.Equal(ClassificationMetrics.NegativeLogLikelihood(logits, classes, labels),
            ClassificationMetrics.NegativeLogLikelihood(shifted, classes, labels), 9);
    }

    [Property(MaxTest = 40)]
    public void TopK_IsNonDecreasingInK_AndReachesOne(int seed)
    {
        var rng = new Random(seed);
        int classes = rng.Next(2, 10), rows = rng.Next(1, 40);
        var (logits, labels) = Uniform(rng, rows, classes, 3);
        double previous = 0;
        for (int k = 1; k <= classes; k++)
        {
            double a = ClassificationMetrics.TopKAccuracy(logits, classes, labels, k);
            Assert.True(a >= previous, $"top-{k} accuracy {a} < top-{k - 1} accuracy {previous}");
            previous = a;
        }
        Assert.Equal(1.0, previous);
    }

    [Fact]
    public void ExtremeLogits_GiveFiniteMetrics()
    {
        // ±1e30 and −∞ entries; no true-class logit is −∞.
        float[] logits =
        [
            1e30f, -1e30f, float.NegativeInfinity,   // y = 0: p = [1, 0, 0], NLL 0
            -1e30f, 1e30f, 0f,                       // y = 2: p = [0, 1, 0], NLL = 1e30 − 0 = 1e30
            float.NegativeInfinity, 0f, float.NegativeInfinity, // y = 1: p = [0, 1, 0], NLL 0
            3f, float.NegativeInfinity, 1e30f,       // y = 2: p = [0, 0, 1], NLL 0
        ];
        int[] labels = [0, 2, 1, 2];
        // Predictions 0, 1, 1, 2: three hits.
        Assert.Equal(0.75, ClassificationMetrics.Accuracy(logits, 3, labels));
        Assert.Equal(1e30 / 4, ClassificationMetrics.NegativeLogLikelihood(logits, 3, labels), 1e30 * 1e-6);
        // Brier: rows 0, 2, 3 are exact (0); row 1 is 1² + 1² = 2 → 2/4.
        Assert.Equal(0.5, ClassificationMetrics.Brier(logits, 3, labels), 1e-15);
        double f1 = ClassificationMetrics.MacroF1(logits, 3, labels);
        Assert.True(double.IsFinite(f1));

        double[] asDouble = logits.Select(v => (double)v).ToArray();
        Assert.Equal(1e30 / 4, ClassificationMetrics.NegativeLogLikelihood(asDouble, 3, labels), 1e30 * 1e-6);
        Assert.Equal(0.5, ClassificationMetrics.Brier(asDouble, 3, labels), 1e-15);
    }

    [Fact]
    public void TrueClassAtMinusInfinity_GivesInfiniteNll()
    {
        float[] logits = [0f, float.NegativeInfinity];
        Assert.Equal(double.PositiveInfinity, ClassificationMetrics.NegativeLogLikelihood(logits, 2, [1]));
        Assert.Equal(0.0, ClassificationMetrics.Accuracy(logits, 2, [1]));
    }

    [Fact]
    public void NaNLogit_MakesMetricsNaN()
    {
        float[] logits = [1f, 2f, float.NaN, 0f];
        int[] labels = [1, 0];
        Assert.True(double.IsNaN(ClassificationMetrics.Accuracy(logits, 2, labels)));
        Assert.True(double.IsNaN(ClassificationMetrics.TopKAccuracy(logits, 2, labels, 1)));
        Assert.True(double.IsNaN(ClassificationMetrics.NegativeLogLikelihood(logits, 2, labels)));
        Assert.True(double.IsNaN(ClassificationMetrics.Brier(logits, 2, labels)));
        Assert.True(double.IsNaN(ClassificationMetrics.MacroF1(logits, 2, labels)));
    }

    [Fact]
    public void PositiveInfinityLogit_KeepsArgMaxButMakesProbabilityMetricsNaN()
    {
        float[] logits = [float.PositiveInfinity, 0f, 0f, 1f];
        int[] labels = [0, 1];
        Assert.Equal(1.0, ClassificationMetrics.Accuracy(logits, 2, labels));
        Assert.True(double.IsNaN(ClassificationMetrics.NegativeLogLikelihood(logits, 2, labels)));
        Assert.True(double.IsNaN(ClassificationMetrics.Brier(logits, 2, labels)));
    }

    [Fact]
    public void HalfLogits_AreAccepted()
    {
        Half[] logits = HandLogits.Select(v => (Half)v).ToArray();
        Assert.Equal(0.5, ClassificationMetrics.Accuracy(logits, 3, HandLabels));
        Assert.Equal(0.848307, ClassificationMetrics.NegativeLogLikelihood(logits, 3, HandLabels), 1e-2);
    }
}
