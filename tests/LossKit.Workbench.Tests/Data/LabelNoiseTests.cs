using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public sealed class LabelNoiseTests
{
    private static int[] Labels(int n, int k) => Enumerable.Range(0, n).Select(i => i % k).ToArray();

    [Theory]
    [InlineData("symmetric:0.4", NoiseKind.Symmetric, 0.4)]
    [InlineData("pairflip:0.2", NoiseKind.PairFlip, 0.2)]
    [InlineData(" PairFlip : 0 ", NoiseKind.PairFlip, 0.0)]
    [InlineData("none", NoiseKind.None, 0.0)]
    [InlineData("none:0", NoiseKind.None, 0.0)]
    public void ParsesValidSpecs(string text, NoiseKind kind, double rate)
    {
        var spec = NoiseSpec.Parse(text);
        Assert.Equal(kind, spec.Kind);
        Assert.Equal(rate, spec.Rate);
        Assert.Equal(spec, NoiseSpec.Parse(spec.ToString()));
    }

    [Theory]
    [InlineData("symmetric:1")]
    [InlineData("symmetric:1.5")]
    [InlineData("pairflip:-0.1")]
    [InlineData("symmetric:NaN")]
    public void RateOutsideRangeNamesValueAndRange(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => NoiseSpec.Parse(text));
        Assert.Contains(text[(text.IndexOf(':') + 1)..], e.Message);
        Assert.Contains("[0, 1)", e.Message);
    }

    [Fact]
    public void ConstructorChecksRate()
    {
        var e = Assert.Throws<ArgumentException>(() => new NoiseSpec(NoiseKind.Symmetric, 1.0));
        Assert.Equal("rate", e.ParamName);
        Assert.Contains("noise rate 1 is out of range; it must lie in [0, 1)", e.Message);
    }

    [Theory]
    [InlineData("uniform:0.2")]
    [InlineData("")]
    public void UnknownKindListsValidKinds(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => NoiseSpec.Parse(text));
        Assert.Contains("none, symmetric:RATE, pairflip:RATE", e.Message);
    }

    [Theory]
    [InlineData("symmetric")]
    [InlineData("pairflip:abc")]
    [InlineData("none:0.3")]
    public void MissingOrBadRateIsExplained(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => NoiseSpec.Parse(text));
        Assert.Contains(text, e.Message);
    }

    [Theory]
    [InlineData("symmetric:0.4")]
    [InlineData("symmetric:0.1")]
    [InlineData("pairflip:0.2")]
    [InlineData("pairflip:0.45")]
    public void RealisedRateIsNearRequestedOnTenThousandLabels(string text)
    {
        var spec = NoiseSpec.Parse(text);
        var clean = Labels(10_000, 10);
        var noisy = spec.Apply(clean, 10, seed: 123);
        // binomial sd at n = 10k is at most 0.005; allow 4 sd
        Assert.InRange(noisy.RealisedRate, spec.Rate - 0.02, spec.Rate + 0.02);
        Assert.Equal(noisy.Changed, clean.Zip(noisy.Labels).Count(t => t.First != t.Second));
        Assert.Equal(clean, noisy.CleanLabels);
        Assert.Equal(Labels(10_000, 10), clean); // input untouched
    }

    [Fact]
    public void SymmetricNeverKeepsTheClassAndSpreadsOverOthers()
    {
        var clean = Labels(20_000, 4);
        var noisy = new NoiseSpec(NoiseKind.Symmetric, 0.5).Apply(clean, 4, seed: 9);
        var hits = new int[4, 4];
        for (int i = 0; i < clean.Length; i++)
        {
            Assert.InRange(noisy.Labels[i], 0, 3);
            if (noisy.IsChanged(i)) hits[clean[i], noisy.Labels[i]]++;
        }
        // Every changed label is a different class (IsChanged), and each of the 3 other classes gets about a third.
        for (int y = 0; y < 4; y++)
            for (int t = 0; t < 4; t++)
                if (t == y) Assert.Equal(0, hits[y, t]);
                else Assert.InRange(hits[y, t], 2500 / 3 - 150, 2500 / 3 + 150);
    }

    [Fact]
    public void SymmetricWithRateNearOneChangesAlmostEverything()
    {
        var clean = Labels(5000, 2);
        var noisy = new NoiseSpec(NoiseKind.Symmetric, 0.99).Apply(clean, 2, 1);
        // With two classes the only other class is 1 - y.
        for (int i = 0; i < clean.Length; i++)
            if (noisy.IsChanged(i)) Assert.Equal(1 - clean[i], noisy.Labels[i]);
        Assert.True(noisy.RealisedRate > 0.97);
    }

    [Fact]
    public void PairFlipMapsToNextClassModK()
    {
        var clean = Labels(5000, 5);
        var noisy = new NoiseSpec(NoiseKind.PairFlip, 0.3).Apply(clean, 5, seed: 4);
        for (int i = 0; i < clean.Length; i++)
            if (noisy.IsChanged(i)) Assert.Equal((clean[i] + 1) % 5, noisy.Labels[i]);
        Assert.Contains(noisy.Labels.Where((_, i) => clean[i] == 4 && noisy.IsChanged(i)), y => y == 0);
    }

    [Theory]
    [InlineData("symmetric:0")]
    [InlineData("pairflip:0")]
    [InlineData("none")]
    public void RateZeroChangesNothing(string text)
    {
        var clean = Labels(1000, 3);
        var noisy = NoiseSpec.Parse(text).Apply(clean, 3, 5);
        Assert.Equal(clean, noisy.Labels);
        Assert.Equal(0, noisy.Changed);
        Assert.Equal(0.0, noisy.RealisedRate);
    }

    [Fact]
    public void SeededAndDeterministic()
    {
        var clean = Labels(2000, 10);
        var spec = NoiseSpec.Parse("symmetric:0.3");
        Assert.Equal(spec.Apply(clean, 10, 1).Labels, spec.Apply(clean, 10, 1).Labels);
        Assert.NotEqual(spec.Apply(clean, 10, 1).Labels, spec.Apply(clean, 10, 2).Labels);
    }

    [Fact]
    public void OnlyTrainingLabelsChange()
    {
        var d = DatasetCatalog.Load("digits");
        var s = DatasetSplitter.Split(d, 3);
        var (noisy, noise) = LabelNoise.ApplyToTrain(s, NoiseSpec.Parse("symmetric:0.4"), seed: 3);
        Assert.Same(s.Validation, noisy.Validation);
        Assert.Same(s.Test, noisy.Test);
        Assert.Equal(d.Labels!.Where((_, i) => s.ValidationIndices.Contains(i)), noisy.Validation.Labels!);
        Assert.Equal(d.Labels!.Where((_, i) => s.TestIndices.Contains(i)), noisy.Test.Labels!);
        Assert.Equal(s.Train.Labels, noise.CleanLabels);
        Assert.Equal(noise.Labels, noisy.Train.Labels);
        Assert.Same(s.Train.Features, noisy.Train.Features);
        Assert.InRange(noise.RealisedRate, 0.33, 0.47);
        // the original split's training labels are untouched
        Assert.Equal(s.TrainIndices.Select(i => d.Labels![i]), s.Train.Labels!);
    }

    [Fact]
    public void RegressionAndSingleClassAreRejected()
    {
        var s = DatasetSplitter.Split(DatasetCatalog.Load("diabetes"), 0);
        Assert.Throws<InvalidOperationException>(() => LabelNoise.ApplyToTrain(s, NoiseSpec.Parse("symmetric:0.1"), 0));
        var e = Assert.Throws<ArgumentException>(() => NoiseSpec.Parse("symmetric:0.1").Apply([0, 0], 1, 0));
        Assert.Contains("at least 2 classes", e.Message);
    }

    [Fact]
    public void LabelsOutOfRangeAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => NoiseSpec.Parse("pairflip:0.1").Apply([0, 5], 3, 0));
        Assert.Contains("labels[1] is 5", e.Message);
    }
}
