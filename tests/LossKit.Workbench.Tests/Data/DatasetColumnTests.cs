using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

/// <summary>A data set has its task's column (labels or targets), one value per row, and not the other task's.</summary>
public class DatasetColumnTests
{
    private static readonly float[] Features = [1, 2, 3, 4];   // two rows of two features

    private static string[]? ClassesOf(DatasetTask task) => task == DatasetTask.Regression ? null : ["a", "b"];

    public static TheoryData<DatasetTask, int[]?, float[]?, string, string> WrongColumns => new()
    {
        { DatasetTask.Regression, null, null, "targets", "data set 'd': a regression data set needs targets." },
        { DatasetTask.Regression, [0, 1], [1f, 2f], "labels", "data set 'd': a regression data set has targets, not labels." },
        { DatasetTask.Regression, null, [1f], "targets", "targets has 1 values but there are 2 rows." },
        { DatasetTask.Classification, null, null, "labels", "data set 'd': a Classification data set needs labels." },
        { DatasetTask.Binary, [0, 1], [1f, 2f], "targets", "data set 'd': a Binary data set has labels, not targets." },
        { DatasetTask.Classification, [0, 1, 1], null, "labels", "labels has 3 values but there are 2 rows." },
    };

    [Theory]
    [MemberData(nameof(WrongColumns))]
    public void A_missing_foreign_or_misshapen_column_is_named(DatasetTask task, int[]? labels, float[]? targets, string parameter, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset("d", task, Features, 2, labels, targets, ClassesOf(task), null));
        Assert.Equal(parameter, e.ParamName);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Each_task_loads_with_its_own_column()
    {
        Assert.Equal(2, new Dataset("d", DatasetTask.Regression, Features, 2, null, [1f, 2f], null, null).Rows);
        Assert.Equal(2, new Dataset("d", DatasetTask.Classification, Features, 2, [0, 1], null, ClassesOf(DatasetTask.Classification), null).Rows);
    }
}
