using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

/// <summary>The fused output layer (<c>--fused-head</c>: linear_ce) trains the same model as the unfused path.</summary>
public class FusedHeadTests
{
    private static RunConfig Config(string model, string loss) => new()
    {
        Data = "digits", Model = model, Loss = loss, Epochs = 3, BatchSize = 50, Seed = 5,
    };

    [Theory]
    [InlineData("mlp:64,32", "ce")]
    [InlineData("mlp:48", "ce(smoothing=0.1)")]
    [InlineData("linear", "ce")]
    [InlineData("mlp:32", "ce(lse_sq=0.01,temperature=2)")]
    public void FusedHeadMatchesTheUnfusedPathUpToRounding(string model, string loss)
    {
        var plain = Trainer.Run(Config(model, loss));
        var fused = Trainer.Run(Config(model, loss) with { FusedHead = true });
        Assert.Equal(plain.Epochs.Count, fused.Epochs.Count);
        for (int e = 0; e < plain.Epochs.Count; e++)
        {
            double a = plain.Epochs[e].TrainLoss, b = fused.Epochs[e].TrainLoss;
            Assert.True(Math.Abs(a - b) <= 1e-6 * Math.Abs(a), $"epoch {e + 1}: train loss {a:R} unfused, {b:R} fused");
            double va = plain.Epochs[e].ValLoss, vb = fused.Epochs[e].ValLoss;
            Assert.True(Math.Abs(va - vb) <= 1e-6 * Math.Abs(va), $"epoch {e + 1}: validation loss {va:R} unfused, {vb:R} fused");
        }
        Assert.Equal(plain.Test.Accuracy, fused.Test.Accuracy);
        Assert.Equal(plain.Test.Nll, fused.Test.Nll, 1e-6);
        Assert.NotEqual(plain.Key, fused.Key);
    }

    [Fact]
    public void FusedHeadNeedsCrossEntropy()
    {
        var e = Assert.Throws<ArgumentException>(() => Trainer.Run(Config("mlp:16", "focal(gamma=2)") with { FusedHead = true }));
        Assert.Contains("fused head", e.Message);
        Assert.Contains("focal", e.Message);
    }

    [Fact]
    public void FusedHeadKeepsTheCrossEntropyOptions()
    {
        var head = (Config("mlp:16", "ce(smoothing=0.2,lse_sq=0.001,softcap=30,temperature=1.5)") with { FusedHead = true }).CreateFusedHead();
        Assert.Equal(0.2, head.Smoothing);
        Assert.Equal(0.001, head.LseSquared);
        Assert.Equal(30, head.Softcap);
        Assert.Equal(1.5, head.Temperature);
        Assert.Equal(Reduction.Mean, head.Reduction);
    }

    [Fact]
    public void UnfusedConfigurationsKeepTheirKeys()
    {
        // FusedHead is left out of the key's JSON unless set, so results files written before it existed still match.
        string json = System.Text.Json.JsonSerializer.Serialize(new RunConfig().Canonical(), RecordJson.Options);
        Assert.DoesNotContain("fused_head", json);
        Assert.Contains("\"fused_head\":true", System.Text.Json.JsonSerializer.Serialize(new RunConfig { FusedHead = true }.Canonical(), RecordJson.Options));
    }
}
