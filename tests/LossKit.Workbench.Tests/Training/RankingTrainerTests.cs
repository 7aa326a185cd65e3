using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class RankingTrainerTests
{
    private static readonly RankingRunConfig Short = new() { Epochs = 8, Model = "mlp:32" };

    [Fact]
    public void ATrainedScorerBeatsRandomScoresOnTheTestQueries()
    {
        var trained = RankingTrainer.Run(Short with { Loss = "lambdarank" });
        var random = RankingTrainer.Run(Short with { Loss = "random" });
        Assert.Equal(50, trained.TestQueries);
        Assert.Equal(201, trained.TrainQueries + trained.ValidationQueries);
        Assert.InRange(trained.BestEpoch, 1, 8);
        Assert.True(trained.Test["ndcg_at_5"] > random.Test["ndcg_at_5"] + 0.05,
            $"lambdarank NDCG@5 {trained.Test["ndcg_at_5"]} vs random {random.Test["ndcg_at_5"]}");
        Assert.All(RankingRunRecord.MetricNames, m => Assert.InRange(trained.Test[m], 0, 1));
    }

    [Fact]
    public void RunsAreDeterministic()
    {
        var a = RankingTrainer.Run(Short with { Loss = "listnet", Epochs = 3, Seed = 4 });
        var b = RankingTrainer.Run(Short with { Loss = "listnet", Epochs = 3, Seed = 4 });
        Assert.Equal(a.Test, b.Test);
        Assert.Equal(a.TrainLoss, b.TrainLoss);
    }

    [Fact]
    public void AClassificationLossIsRefusedWithAClearMessage()
    {
        var e = Assert.Throws<ArgumentException>(() => RankingTrainer.Run(Short with { Loss = "ce" }));
        Assert.Contains("not a ranking loss", e.Message);
    }

    [Fact]
    public void TheComparisonAlwaysHasBothBaselinesAndWritesItsReport()
    {
        string dir = Path.Combine(Path.GetTempPath(), "losskit-rank-" + Guid.NewGuid().ToString("N"));
        try
        {
            var rows = RankingComparison.Run(Short with { Epochs = 2 }, ["ranknet"], 2, dir);
            Assert.Equal(["random", "mse", "ranknet"], rows.Select(r => r.Loss));
            Assert.All(rows, r => Assert.Equal(2, r.Seeds));
            Assert.True(rows[0].Baseline && rows[1].Baseline && !rows[2].Baseline);
            foreach (string file in new[] { "results.jsonl", "summary.md", "ndcg-at-k.png", "ndcg-at-k.svg" })
                Assert.True(File.Exists(Path.Combine(dir, file)), file);
            Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);
            // Every loss paired against the pointwise mse over the same seeds.
            string md = File.ReadAllText(Path.Combine(dir, "summary.md"));
            Assert.Contains("## Paired against `mse`", md);
            Assert.Contains("| `ranknet` | 2 |", md);
            Assert.Contains("| `random` | 2 |", md);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
