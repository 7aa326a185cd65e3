using System.Text.Json;

namespace LossKit.Cli.Tests;

public class RetrievalCliTests
{
    [Fact]
    public void TrainWithAnEmbeddingLossPrintsRetrievalMetricsAsJson()
    {
        var (code, output, _) = CliHarness.Run("train", "--data", "digits", "--loss", "triplet(miner=semihard)", "--embed", "16", "--model", "mlp:32",
            "--split", "classes:0-4/5-9", "--epochs", "1", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var test = doc.RootElement.GetProperty("test");
        Assert.Equal(["precision_at_1", "r_precision", "map_at_r", "recall_at_k", "knn_accuracy"], test.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["1", "2", "4", "8"], test.GetProperty("recall_at_k").EnumerateObject().Select(p => p.Name));
        Assert.InRange(test.GetProperty("map_at_r").GetDouble(), 0, 1);
        Assert.Equal(16, doc.RootElement.GetProperty("embed").GetInt32());
        Assert.Equal("cosine", doc.RootElement.GetProperty("distance").GetString());
    }

    [Fact]
    public void TrainPrintsATable()
    {
        var (code, output, _) = CliHarness.Run("train", "--data", "digits", "--loss", "contrastive", "--embed", "8", "--model", "mlp:16", "--epochs", "1");
        Assert.Equal(0, code);
        Assert.Contains("map_at_r", output);
        Assert.Contains("retrieval by cosine", output);
    }

    [Fact]
    public void CompareJsonHasBaselinesAndEveryMetric()
    {
        string dir = Path.Combine(Path.GetTempPath(), "losskit-retcli-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, _) = CliHarness.Run("compare", "--data", "digits", "--losses", "supcon; arcface", "--embed", "8", "--model", "mlp:16",
                "--epochs", "1", "--seeds", "2", "--out", dir, "--json");
            Assert.Equal(0, code);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal(["raw", "random_trunk", "supcon", "arcface"], doc.RootElement.EnumerateArray().Select(r => r.GetProperty("loss").GetString()));
            var m = doc.RootElement[2].GetProperty("metrics").GetProperty("map_at_r");
            Assert.Equal(JsonValueKind.Number, m.GetProperty("mean").ValueKind);
            Assert.Equal(2, m.GetProperty("ci").GetArrayLength());
            Assert.True(File.Exists(Path.Combine(dir, "recall-at-k.png")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void CompareWithEmbedAndNoLossesRunsTheDefaultEmbeddingLosses()
    {
        string dir = Path.Combine(Path.GetTempPath(), "losskit-retcli-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, _) = CliHarness.Run("compare", "--data", "digits", "--embed", "8", "--model", "mlp:16", "--epochs", "1", "--seeds", "1",
                "--split", "classes:0-4/5-9", "--out", dir, "--json");
            Assert.Equal(0, code);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal(["raw", "random_trunk", "contrastive", "triplet(miner=semihard)", "multi_similarity", "supcon", "arcface"],
                doc.RootElement.EnumerateArray().Select(r => r.GetProperty("loss").GetString()));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData(new[] { "train", "--data", "digits", "--loss", "ce", "--embed", "8" }, "--embed applies to the embedding losses only")]
    [InlineData(new[] { "train", "--data", "digits", "--loss", "supcon", "--split", "classes:0-4" }, "expected plain or classes:A-B/C-D")]
    [InlineData(new[] { "train", "--data", "digits", "--loss", "supcon", "--optimizer", "sgd" }, "--optimizer does not apply to the embedding losses")]
    [InlineData(new[] { "train", "--data", "digits", "--loss", "supcon", "--per-class", "1" }, "--per-class 1: expected at least 2")]
    [InlineData(new[] { "compare", "--data", "digits", "--losses", "ce; supcon" }, "--losses mixes embedding losses with others (ce)")]
    public void BadOptionsAreOneLineErrors(string[] args, string message)
    {
        var (code, _, error) = CliHarness.Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
    }
}
