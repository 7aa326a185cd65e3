using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class LossKindTests
{
    [Theory]
    [InlineData("kd", "distillation loss")]
    [InlineData("decoupled_softmax", "multi-positive loss")]
    public void LossesThatNeedOtherInputsAreRejectedWithAReason(string loss, string kind)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Run(new RunConfig { Data = "iris", Loss = loss, Epochs = 1 }));
        Assert.Contains("does not fit this task", e.Message);
        Assert.Contains(kind, e.Message);
    }

    [Fact]
    public void SumReductionIsRefusedBecauseTrainingUsesTheMean()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Run(new RunConfig { Data = "iris", Loss = "ce(reduction=sum)", Epochs = 1 }));
        Assert.Contains("reduction=sum", e.Message);
    }
}
