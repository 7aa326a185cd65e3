using FsCheck.Fluent;
using FsCheck.Xunit;
using FsCheck;
using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public sealed class SplitTests
{
    /// <summary>A synthetic classification set whose first feature is the row index, so rows can be traced.</summary>
    internal static Dataset Synthetic(int[] classCounts, Dataset? providedTest = null)
    {
        var labels = new List<int>();
        for (int k = 0; k < classCounts.Length; k++) labels.AddRange(Enumerable.Repeat(k, classCounts[k]));
        // interleave classes deterministically so that classes are not in blocks
        var order = labels.Select((y, i) => (y, key: (i * 7919) % labels.Count)).OrderBy(t => t.key).Select(t => t.y).ToArray();
        var features = new float[order.Length * 2];
        for (int i = 0; i < order.Length; i++) { features[2 * i] = i; features[2 * i + 1] = order[i] * 10; }
        var names = Enumerable.Range(0, classCounts.Length).Select(k => "c" + k).ToArray();
        return new Dataset("synthetic", DatasetTask.Classification, features, 2, order, null, names, ["index", "class10"], providedTest);
    }

    private static void AssertPartition(DatasetSplits s, int rows)
    {
        var all = s.TrainIndices.Concat(s.ValidationIndices).Concat(s.UsesProvidedTest ? [] : s.TestIndices).ToArray();
        Assert.Equal(rows, all.Length);                      // covers all rows ...
        Assert.Equal(Enumerable.Range(0, rows), all.Order()); // ... each exactly once (disjoint)
    }

    [Fact]
    public void DefaultSplitIsStratifiedDisjointAndCoversAllRows()
    {
        var d = DatasetCatalog.Load("digits");
        var s = DatasetSplitter.Split(d, seed: 42);
        AssertPartition(s, d.Rows);
        Assert.False(s.UsesProvidedTest);
        Assert.Equal(SplitFractions.Default, s.Fractions);
        var total = d.ClassCounts();
        foreach (var (part, frac) in new[] { (s.Train, 0.6), (s.Validation, 0.2), (s.Test, 0.2) })
        {
            var counts = part.ClassCounts();
            for (int k = 0; k < d.Classes; k++)
                Assert.InRange(counts[k], Math.Floor(total[k] * frac) - 1, Math.Ceiling(total[k] * frac) + 1);
        }
        Assert.InRange(s.Train.Rows, 1075, 1081);
        // rows are copied faithfully
        for (int i = 0; i < s.Test.Rows; i++)
        {
            Assert.Equal(d.Row(s.TestIndices[i]).ToArray(), s.Test.Row(i).ToArray());
            Assert.Equal(d.Labels![s.TestIndices[i]], s.Test.Labels![i]);
        }
        Assert.Equal("digits/train", s.Train.Name);
    }

    [Fact]
    public void SameSeedSameSplitDifferentSeedDifferentSplit()
    {
        var d = DatasetCatalog.Load("wine");
        var a = DatasetSplitter.Split(d, 7);
        var b = DatasetSplitter.Split(d, 7);
        var c = DatasetSplitter.Split(d, 8);
        Assert.Equal(a.TrainIndices, b.TrainIndices);
        Assert.Equal(a.ValidationIndices, b.ValidationIndices);
        Assert.Equal(a.TestIndices, b.TestIndices);
        Assert.NotEqual(a.TrainIndices, c.TrainIndices);
        Assert.NotEqual(a.TestIndices, c.TestIndices);
    }

    [Fact]
    public void SplitIsPinnedForASeed()
    {
        // Guards against accidental changes to the generator or the allocation: a seed must keep meaning the same split.
        var s = DatasetSplitter.Split(DatasetCatalog.Load("iris"), 0);
        Assert.Equal((90, 30, 30), (s.Train.Rows, s.Validation.Rows, s.Test.Rows));
        Assert.Equal(new[] { 10, 10, 10 }, s.Test.ClassCounts());
        Assert.Equal(new[] { 0, 3, 6, 13, 22, 27, 33, 42 }, s.TestIndices[..8]);
    }

    [Fact]
    public void CustomFractions()
    {
        var d = Synthetic([100, 100]);
        var s = DatasetSplitter.Split(d, 1, new SplitFractions(0.8, 0.1, 0.1));
        Assert.Equal((160, 20, 20), (s.Train.Rows, s.Validation.Rows, s.Test.Rows));
        Assert.Equal(new[] { 10, 10 }, s.Test.ClassCounts());

        var noVal = DatasetSplitter.Split(d, 1, SplitFractions.Parse("0.5/0/0.5"));
        Assert.Equal(0, noVal.Validation.Rows);
        AssertPartition(noVal, d.Rows);
    }

    [Fact]
    public void SmallClassesAreRepresentedInEverySplitWhenPossible()
    {
        var d = Synthetic([3, 4, 50, 2, 1]);
        var s = DatasetSplitter.Split(d, 3);
        AssertPartition(s, d.Rows);
        Assert.All(new[] { 0, 1, 2 }, k =>
        {
            Assert.True(s.Train.ClassCounts()[k] >= 1);
            Assert.True(s.Validation.ClassCounts()[k] >= 1);
            Assert.True(s.Test.ClassCounts()[k] >= 1);
        });
        // 2 rows: train and test; 1 row: train only.
        Assert.Equal((1, 0, 1), (s.Train.ClassCounts()[3], s.Validation.ClassCounts()[3], s.Test.ClassCounts()[3]));
        Assert.Equal((1, 0, 0), (s.Train.ClassCounts()[4], s.Validation.ClassCounts()[4], s.Test.ClassCounts()[4]));
    }

    [Fact]
    public void ProvidedTestSplitIsKeptAndValidationComesFromTrain()
    {
        var test = Synthetic([5, 5]);
        var d = Synthetic([40, 40], test);
        var s = DatasetSplitter.Split(d, 5);
        Assert.True(s.UsesProvidedTest);
        Assert.Same(test, s.Test);
        Assert.Equal(Enumerable.Range(0, 10), s.TestIndices);
        AssertPartition(s, d.Rows);
        Assert.Equal((60, 20), (s.Train.Rows, s.Validation.Rows)); // 0.6 : 0.2 of the provided training rows
        Assert.Equal(new[] { 10, 10 }, s.Validation.ClassCounts());
        Assert.Null(s.Train.ProvidedTest);
    }

    [Fact]
    public void RegressionIsSplitWithoutStratification()
    {
        var d = DatasetCatalog.Load("diabetes");
        var s = DatasetSplitter.Split(d, 2);
        AssertPartition(s, d.Rows);
        Assert.Equal(442, s.Train.Rows + s.Validation.Rows + s.Test.Rows);
        Assert.InRange(s.Train.Rows, 264, 266);
        Assert.Equal(d.Targets![s.ValidationIndices[0]], s.Validation.Targets![0]);
    }

    [Theory]
    [InlineData(0.5, 0.3, 0.3)]
    [InlineData(-0.1, 0.6, 0.5)]
    [InlineData(0, 0.5, 0.5)]
    [InlineData(double.NaN, 0.5, 0.5)]
    public void BadFractionsAreRejected(double tr, double va, double te)
    {
        var e = Assert.Throws<ArgumentException>(() => new SplitFractions(tr, va, te));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void BadFractionTextIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => SplitFractions.Parse("0.6/0.4"));
        Assert.Contains("'0.6/0.4'", e.Message);
    }

    [Property(MaxTest = 200)]
    public Property SplitsPartitionRowsAndKeepClassesForAnySeed(int seed, PositiveInt a, PositiveInt b, PositiveInt c)
    {
        int[] counts = [a.Get % 60 + 1, b.Get % 60 + 1, c.Get % 60 + 1];
        var d = Synthetic(counts);
        var s = DatasetSplitter.Split(d, seed);
        var all = s.TrainIndices.Concat(s.ValidationIndices).Concat(s.TestIndices).Order().ToArray();
        bool partition = all.SequenceEqual(Enumerable.Range(0, d.Rows));
        bool represented = Enumerable.Range(0, 3).All(k => counts[k] < 3 ||
            (s.Train.ClassCounts()[k] > 0 && s.Validation.ClassCounts()[k] > 0 && s.Test.ClassCounts()[k] > 0));
        bool stratified = Enumerable.Range(0, 3).All(k => Math.Abs(s.Train.ClassCounts()[k] - 0.6 * counts[k]) <= 2);
        return (partition && represented && stratified).Label($"counts {string.Join(",", counts)} seed {seed}");
    }

    [Fact]
    public void GeneratorMatchesXoshiro256StarStarReference()
    {
        // SplitMix64-seeded xoshiro256** from seed 0, checked against an independent implementation.
        var r = new SeededRng(0);
        Assert.Equal(0x99ec5f36cb75f2b4UL, r.NextUInt64());
        Assert.Equal(0xbf6e1f784956452aUL, r.NextUInt64());
        Assert.Equal(0x1a5f849d4933e6e0UL, r.NextUInt64());
    }

    [Fact]
    public void NextIntIsUniformAndInRange()
    {
        var r = new SeededRng(5);
        var hits = new int[7];
        for (int i = 0; i < 70_000; i++) hits[r.NextInt(7)]++;
        Assert.All(hits, h => Assert.InRange(h, 9_500, 10_500));
    }

    [Fact]
    public void AllocateHandlesTinyGroups()
    {
        Assert.Equal(new[] { 1, 0, 0 }, DatasetSplitter.Allocate(1, [0.6, 0.2, 0.2]));
        Assert.Equal(new[] { 1, 0, 1 }, DatasetSplitter.Allocate(2, [0.6, 0.2, 0.2]));
        Assert.Equal(new[] { 1, 1, 1 }, DatasetSplitter.Allocate(3, [0.6, 0.2, 0.2]));
        Assert.Equal(new[] { 3, 1, 1 }, DatasetSplitter.Allocate(5, [0.6, 0.2, 0.2]));
        Assert.Equal(new[] { 0, 0, 0 }, DatasetSplitter.Allocate(0, [0.6, 0.2, 0.2]));
    }
}
