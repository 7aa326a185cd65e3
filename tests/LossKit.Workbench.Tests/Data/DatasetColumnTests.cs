using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

/// <summary>A data set has its task's column (labels or targets), one value per row, and not the other task's.</summary>
public class DatasetColumnTests
{
    private static readonly float[] Features = [1, 2, 3, 4];

    [Fact]
    public void A_regression_set_needs_its_targets_and_no_labels()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset("r", DatasetTask.Regression, Features, 2, null, null, null, null));
        Assert.Equal("targets", e.ParamName);
        Assert.StartsWith("data set 'r': a regression data set needs targets.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dataset("r", DatasetTask.Regression, Features, 2, [0, 1], [1f, 2f], null, null));
        Assert.Equal("labels", e.ParamName);
        Assert.StartsWith("data set 'r': a regression data set has targets, not labels.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dataset("r", DatasetTask.Regression, Features, 2, null, [1f], null, null));
        Assert.Equal("targets", e.ParamName);
        Assert.StartsWith("targets has 1 values but there are 2 rows.", e.Message);
        Assert.Equal(2, new Dataset("r", DatasetTask.Regression, Features, 2, null, [1f, 2f], null, null).Rows);
    }

    [Fact]
    public void A_classification_set_needs_its_labels_and_no_targets()
    {
        string[] classes = ["a", "b"];
        var e = Assert.Throws<ArgumentException>(() => new Dataset("c", DatasetTask.Classification, Features, 2, null, null, classes, null));
        Assert.Equal("labels", e.ParamName);
        Assert.StartsWith("data set 'c': a Classification data set needs labels.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dataset("c", DatasetTask.Binary, Features, 2, [0, 1], [1f, 2f], classes, null));
        Assert.Equal("targets", e.ParamName);
        Assert.StartsWith("data set 'c': a Binary data set has labels, not targets.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dataset("c", DatasetTask.Classification, Features, 2, [0, 1, 1], null, classes, null));
        Assert.Equal("labels", e.ParamName);
        Assert.StartsWith("labels has 3 values but there are 2 rows.", e.Message);
        Assert.Equal(2, new Dataset("c", DatasetTask.Classification, Features, 2, [0, 1], null, classes, null).Rows);
    }
}
