using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Cli;

/// <summary>train and compare with the embedding losses: the retrieval workbench (docs/metric-learning.md).</summary>
internal static partial class WorkbenchCommands
{
    /// <summary>The options only the retrieval workbench reads.</summary>
    private sealed class RetrievalOptions
    {
        public Option<int?> Embed { get; } = new("--embed") { Description = "Embedding losses: the embedding dimension d, the MLP's last layer (default: 64)." };
        public Option<int?> PerClass { get; } = new("--per-class") { Description = "Embedding losses: images of each class in a batch (default: 4), of as many classes as fit in --batch-size." };

        public void AddTo(Command cmd)
        {
            cmd.Options.Add(Embed);
            cmd.Options.Add(PerClass);
        }

        /// <summary>True when --embed or --per-class is on the command line.</summary>
        public bool Given(ParseResult p) => p.GetResult(Embed) is { Implicit: false } || p.GetResult(PerClass) is { Implicit: false };

        /// <summary>One-line error when an option of the retrieval workbench is given to another workbench.</summary>
        public void Refuse(ParseResult p) =>
            RefuseGiven(p, [Embed, PerClass], "applies to the embedding losses only (kind embeddings: contrastive, triplet, supcon, arcface, ...; docs/metric-learning.md).");
    }

    /// <summary>The losses compare runs when --embed or --per-class is given without --losses (beside the raw and random_trunk baselines).</summary>
    public static IReadOnlyList<string> DefaultRetrievalLosses { get; } = ["contrastive", "triplet(miner=semihard)", "multi_similarity", "supcon", "arcface"];

    /// <summary>True when every given loss is an embedding loss or a retrieval baseline (raw, random_trunk).</summary>
    private static bool IsRetrieval(IReadOnlyList<string> losses)
    {
        if (losses.Count == 0) return false;
        int hits = losses.Count(RetrievalTrainer.IsRetrievalLoss);
        if (hits == 0) return false;
        if (hits < losses.Count)
            throw new ArgumentException($"--losses mixes embedding losses with others ({losses.First(l => !RetrievalTrainer.IsRetrievalLoss(l))}): compare the embedding losses (kind embeddings) by themselves.");
        return true;
    }

    private static RetrievalRunConfig RetrievalConfig(ParseResult p, WorkbenchOptions o, RetrievalOptions r, params Option[] others)
    {
        var d = new RetrievalRunConfig();
        RefuseGiven(p, [.. o.ClassificationTrainingOnly, o.Patience, .. others],
            "does not apply to the embedding losses: retrieval runs train on class-balanced batches with AdamW at a constant rate and test the last epoch (docs/metric-learning.md).");
        return d with
        {
            Data = p.GetValue(o.Data) ?? d.Data,
            Model = p.GetValue(o.Model) ?? d.Model,
            Embed = p.GetValue(r.Embed) ?? d.Embed,
            PerClass = p.GetValue(r.PerClass) ?? d.PerClass,
            Split = p.GetValue(o.Split) ?? d.Split,
            Epochs = p.GetValue(o.Epochs) ?? d.Epochs,
            BatchSize = p.GetValue(o.BatchSize) ?? d.BatchSize,
            Lr = p.GetValue(o.Lr) ?? d.Lr,
            WeightDecay = p.GetValue(o.WeightDecay) ?? d.WeightDecay,
        };
    }

    private static int TrainRetrieval(ParseResult p, WorkbenchOptions o, RetrievalOptions r, Option<string?> loss, Option<int?> seed, Option<bool> json, params Option[] unsupported)
    {
        var c = RetrievalConfig(p, o, r, unsupported) with { Loss = p.GetValue(loss)!, Seed = p.GetValue(seed) ?? 0 };
        RetrievalTrainer.ParseSplit(c.Split);
        var output = p.InvocationConfiguration.Output;
        if (p.GetValue(json))
        {
            output.WriteLine(RetrievalTrainer.Run(c).ToJson());
            return 0;
        }
        output.WriteLine($"train: {c.Data} (retrieval, split {c.Split}), model {c.Model} → {c.Embed}-d embedding, loss {c.Loss}, seed {c.Seed}; " +
            $"AdamW lr={G(c.Lr)}, {c.Epochs} epochs, batches of {c.PerClass} per class (≤ {c.BatchSize} rows)");
        var rec = RetrievalTrainer.Run(c, (e, l) => output.WriteLine(FormattableString.Invariant($"epoch {e,3}/{c.Epochs}  train loss {l:0.0000}")));
        output.WriteLine($"{rec.TrainRows} train / {rec.TestRows} test images, {rec.Features} features; retrieval by {rec.Distance}, each test image against all others; last epoch tested");
        WriteTestMetrics(p, RetrievalRunRecord.MetricNames, rec.Test);
        return 0;
    }

    private static int CompareRetrieval(ParseResult p, WorkbenchOptions o, RetrievalOptions r, GridOptions g, Option<bool> json, IReadOnlyList<string> losses)
    {
        var c = RetrievalConfig(p, o, r, g.NotForSeedComparisons);
        RetrievalTrainer.ParseSplit(c.Split);
        var (seeds, dir, quiet) = SeedComparisonOptions(p, g, json, c.Data + "-retrieval");
        var output = p.InvocationConfiguration.Output;
        var rows = RetrievalComparison.Run(c, losses, seeds, dir,
            rec => { if (!quiet) output.WriteLine(FormattableString.Invariant($"  {rec.Config.Loss}, seed {rec.Config.Seed}: MAP@R {rec.Test["map_at_r"]:0.0000} ({rec.Seconds:0.0} s)")); });
        if (quiet)
        {
            output.WriteLine(JsonSerializer.Serialize(rows.Select(row => new
            {
                loss = row.Loss, baseline = row.Baseline, seeds = row.Seeds, distance = row.Distance,
                metrics = MetricsJson(row.Metrics),
            })));
            return 0;
        }
        var table = new TextTable(["loss", "distance", .. RetrievalRunRecord.MetricNames]) { RightAligned = [.. Enumerable.Range(2, RetrievalRunRecord.MetricNames.Count)] };
        foreach (var row in rows)
            table.Add([LossCell(row.Loss, row.Baseline), row.Distance, .. RetrievalRunRecord.MetricNames.Select(m => (TableCell)RankingComparison.Cell(row.Metrics[m]))]);
        Tables.Write(output, table, Tables.Format(p));
        WriteSeedComparisonFooter(output, dir, "recall-at-k.png/.svg");
        return 0;
    }
}
