using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public sealed class StandardizerTests
{
    [Fact]
    public void FitsOnTrainOnlyAndAppliesToAllSplits()
    {
        var d = DatasetCatalog.Load("wine");
        var s = DatasetSplitter.Split(d, 11);
        var (z, st) = Standardizer.FitTransform(s);

        // Statistics are the training split's own (population std), not the whole data set's.
        for (int c = 0; c < d.FeatureCount; c++)
        {
            var col = Enumerable.Range(0, s.Train.Rows).Select(r => (double)s.Train.Row(r)[c]).ToArray();
            double mean = col.Average();
            double std = Math.Sqrt(col.Select(v => (v - mean) * (v - mean)).Average());
            Assert.Equal(mean, st.Mean[c], Math.Abs(mean) * 1e-6 + 1e-6);
            Assert.Equal(std, st.Scale[c], std * 1e-5);
        }
        var wholeMean = Enumerable.Range(0, d.Rows).Select(r => (double)d.Row(r)[12]).Average();
        Assert.NotEqual(wholeMean, st.Mean[12], 1e-3);

        // Train is standardised exactly; validation and test use the same affine map.
        for (int c = 0; c < d.FeatureCount; c++)
        {
            var col = Enumerable.Range(0, z.Train.Rows).Select(r => (double)z.Train.Row(r)[c]).ToArray();
            Assert.Equal(0, col.Average(), 1e-5);
            Assert.Equal(1, Math.Sqrt(col.Select(v => v * v).Average()), 1e-4);
        }
        for (int r = 0; r < s.Test.Rows; r++)
            for (int c = 0; c < d.FeatureCount; c++)
                Assert.Equal((s.Test.Row(r)[c] - st.Mean[c]) / st.Scale[c], z.Test.Row(r)[c], 1e-4);
        Assert.Equal(s.Validation.Labels, z.Validation.Labels);
        // the input splits are not modified
        Assert.Equal(d.Row(s.TrainIndices[0]).ToArray(), s.Train.Row(0).ToArray());
    }

    [Fact]
    public void ChangingValidationOrTestRowsDoesNotChangeTheFit()
    {
        var d = DatasetCatalog.Load("iris");
        var s = DatasetSplitter.Split(d, 1);
        var a = Standardizer.Fit(s.Train);
        var shifted = s with { Test = s.Test.WithFeatures(s.Test.Features.Select(v => v + 1000f).ToArray()) };
        var (_, b) = Standardizer.FitTransform(shifted);
        Assert.Equal(a.Mean, b.Mean);
        Assert.Equal(a.Scale, b.Scale);
    }

    [Fact]
    public void ConstantColumnIsCentredWithScaleOne()
    {
        float[] x = [3, 1, 3, 2, 3, 3]; // column 0 constant 3, column 1 = 1, 2, 3
        var st = Standardizer.Fit(x, 2);
        Assert.Equal(3f, st.Mean[0]);
        Assert.Equal(1f, st.Scale[0]);
        Assert.Equal(2f, st.Mean[1]);
        Assert.Equal((float)Math.Sqrt(2.0 / 3), st.Scale[1], 1e-6f);
        float[] y = [3, 2, 5, 2];
        st.TransformInPlace(y);
        Assert.Equal(new[] { 0f, 0f, 2f, 0f }, y);
    }

    [Fact]
    public void DigitsConstantPixelsStayFinite()
    {
        var s = DatasetSplitter.Split(DatasetCatalog.Load("digits"), 0);
        var (z, st) = Standardizer.FitTransform(s);
        Assert.Contains(1f, st.Scale); // pixel_0_0 is always 0
        Assert.All(z.Test.Features, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void MismatchedFeatureCountIsRejected()
    {
        var st = Standardizer.Fit(DatasetCatalog.Load("iris"));
        var e = Assert.Throws<ArgumentException>(() => st.Transform(DatasetCatalog.Load("wine")));
        Assert.Contains("13 features", e.Message);
    }
}
