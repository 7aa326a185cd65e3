using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class RetrievalTrainerTests
{
    private static readonly RetrievalRunConfig Short = new() { Epochs = 4, Model = "mlp:64", Embed = 16 };

    [Fact]
    public void ATrainedEmbeddingBeatsTheRandomTrunkOnMapAtR()
    {
        var trained = RetrievalTrainer.Run(Short with { Loss = "supcon" });
        var random = RetrievalTrainer.Run(Short with { Loss = "random_trunk" });
        Assert.Equal(359, trained.TestRows);   // round(0.2 × 1797), a fifth of digits
        Assert.Equal(1797 - 359, trained.TrainRows);
        Assert.Equal("cosine", trained.Distance);
        Assert.Equal(4, trained.TrainLoss.Count);
        Assert.True(trained.Test["map_at_r"] > random.Test["map_at_r"] + 0.2,
            $"supcon MAP@R {trained.Test["map_at_r"]} vs random trunk {random.Test["map_at_r"]}");
        Assert.All(RetrievalRunRecord.MetricNames, m => Assert.InRange(trained.Test[m], 0, 1));
    }

    [Fact]
    public void RunsAreDeterministic()
    {
        var c = Short with { Loss = "triplet(miner=semihard)", Epochs = 2, Split = "classes:0-4/5-9", Seed = 3 };
        var a = RetrievalTrainer.Run(c);
        var b = RetrievalTrainer.Run(c);
        Assert.Equal(a.TrainLoss, b.TrainLoss);
        Assert.Equal(a.Test, b.Test);
        Assert.NotEqual(a.Test, RetrievalTrainer.Run(c with { Seed = 4 }).Test);
    }

    [Fact]
    public void TheClassSplitTestsOnUnseenClassesOnly()
    {
        var r = RetrievalTrainer.Run(Short with { Loss = "raw", Split = "classes:0-4/5-9" });
        Assert.InRange(r.TestRows, 150, 210);
        Assert.InRange(r.TrainRows, 650, 800);
        Assert.Equal("euclidean", r.Distance);
    }

    [Fact]
    public void ProxyLossesTrainTheirProxies()
    {
        var r = RetrievalTrainer.Run(Short with { Loss = "arcface", Epochs = 3 });
        Assert.Equal("cosine", r.Distance);
        Assert.True(r.TrainLoss[^1] < r.TrainLoss[0], string.Join(", ", r.TrainLoss));
        Assert.True(r.Test["precision_at_1"] > 0.8, r.Test["precision_at_1"].ToString());
    }

    [Fact]
    public void PcaFindsTheDirectionsOfLargestVariance()
    {
        // Points spread 10 along (1, 1)/√2 and 1 along (1, −1)/√2: PC 1 coordinates are ±10, PC 2 ±1 (up to sign).
        float s = (float)(1 / Math.Sqrt(2));
        float[] x = [10 * s, 10 * s, -10 * s, -10 * s, s, -s, -s, s];
        var (px, py) = RetrievalTrainer.Pca2(x, 2);
        Assert.Equal([10, 10, 0, 0], px.Select(v => Math.Round(Math.Abs(v), 6)));
        Assert.Equal([0, 0, 1, 1], py.Select(v => Math.Round(Math.Abs(v), 6)));
        Assert.Equal("pca-triplet_miner_semihard", RetrievalComparison.PcaName("triplet(miner=semihard)"));
    }

    [Theory]
    [InlineData("classes:0-4", "expected plain or classes:A-B/C-D")]
    [InlineData("classes:4-0/5-9", "is empty")]
    [InlineData("classes:0-4/x", "is not a class")]
    [InlineData("0.8/0.2", "expected plain or classes")]
    public void BadSplitsAreRefused(string split, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => RetrievalTrainer.ParseSplit(split));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void NonEmbeddingLossesAndUnknownClassesAreRefused()
    {
        Assert.Contains("not an embedding loss", Assert.Throws<ArgumentException>(() => RetrievalTrainer.Run(Short with { Loss = "ce" })).Message);
        Assert.Contains("class 12 is not a class", Assert.Throws<ArgumentException>(() => RetrievalTrainer.Run(Short with { Loss = "raw", Split = "classes:0-4/12" })).Message);
        Assert.False(RetrievalTrainer.IsRetrievalLoss("ce"));
        Assert.True(RetrievalTrainer.IsRetrievalLoss("multi_similarity"));
        Assert.True(RetrievalTrainer.IsRetrievalLoss("random_trunk"));
        Assert.True(RetrievalTrainer.IsRetrievalLoss("raw:cosine"));
        Assert.False(RetrievalTrainer.IsRetrievalLoss("raw:manhattan"));
    }

    [Fact]
    public void CosineBaselinesRetrieveByCosine()
    {
        var e = RetrievalTrainer.Run(Short with { Loss = "raw" });
        var c = RetrievalTrainer.Run(Short with { Loss = "raw:cosine" });
        Assert.Equal(("euclidean", "cosine"), (e.Distance, c.Distance));
        Assert.NotEqual(e.Test["map_at_r"], c.Test["map_at_r"]);
    }

    [Fact]
    public void CompareWritesTheReportAndIncludesBothBaselines()
    {
        string dir = Path.Combine(Path.GetTempPath(), "losskit-retrieval-" + Guid.NewGuid().ToString("N"));
        try
        {
            var rows = RetrievalComparison.Run(Short with { Epochs = 2 }, ["contrastive"], 2, dir);
            string md = File.ReadAllText(Path.Combine(dir, "summary.md"));
            Assert.Contains("## Paired against `contrastive`", md);   // the first loss listed
            Assert.Contains("| `raw` | 2 |", md);
            Assert.Equal(["raw", "random_trunk", "contrastive"], rows.Select(r => r.Loss));
            Assert.Equal([true, true, false], rows.Select(r => r.Baseline));
            foreach (string f in new[] { "results.jsonl", "summary.md", "recall-at-k.png", "recall-at-k.svg", "pca-raw.png", "pca-random_trunk.svg", "pca-contrastive.png" })
                Assert.True(File.Exists(Path.Combine(dir, f)), f);
            Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
