using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class BinaryLossTrainingTests
{
    [Theory]
    [InlineData("bce")]
    [InlineData("auc_m")]
    [InlineData("ensloss")]
    public void BinaryLossesTrainOnATwoClassSetAndReportAuroc(string loss)
    {
        // The last epoch: this checks that training gets there; the epoch of best validation accuracy (the default) need
        // not be the one of best AUROC, which is what auc_m optimises.
        var config = new RunConfig { Data = "breast_cancer", Loss = loss, Model = "linear", Epochs = 30, Seed = 1, ModelEpoch = "last" };
        var (c, data) = Trainer.Prepare(config);
        var record = Trainer.Run(c, data, null);
        Assert.NotNull(record.Test.Auroc);
        Assert.InRange(record.Test.Auroc!.Value, 0.9, 1.0);
    }

    [Fact]
    public void ABinaryLossOnAMultiClassSetSaysWhy()
    {
        var config = new RunConfig { Data = "iris", Loss = "bce", Model = "linear", Epochs = 1 };
        var (c, data) = Trainer.Prepare(config);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Run(c, data, null));
        Assert.Contains("binary loss", e.Message);
        Assert.Contains("3 classes", e.Message);
    }
}
