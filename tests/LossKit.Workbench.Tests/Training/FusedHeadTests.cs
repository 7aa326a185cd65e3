using LossKit.Core;
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
    [InlineData("mlp:32", "ce(softcap=5,smoothing=0.05)")]
    [InlineData("mlp:16", "ce(weight=[1,2,1,1,0.5,1,1,1,3,1],smoothing=0.2)")]
    public void FusedHeadGivesTheUnfusedRecordBitForBit(string model, string loss)
    {
        // 1078 training rows in batches of 50: the last batch has 28 rows, so the mean's factor is not a power of two.
        var plain = Trainer.Run(Config(model, loss)).WithoutTimings();
        var fused = Trainer.Run(Config(model, loss) with { FusedHead = true }).WithoutTimings();
        Assert.NotEqual(plain.Key, fused.Key);
        Assert.True(fused.Config.FusedHead);
        Assert.Equal(plain.ToJson(), (fused with { Key = plain.Key, Config = plain.Config }).ToJson());
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
