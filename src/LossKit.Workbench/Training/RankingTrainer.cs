using System.Diagnostics;
using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Metrics;
using LossKit.Ranking;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Training;

/// <summary>One learning-to-rank run: a per-item scorer (linear or MLP with one output) trained on whole queries.</summary>
public sealed record RankingRunConfig
{
    /// <summary>An embedded ranking set (<see cref="SvmLight.Embedded"/>).</summary>
    public string Data { get; init; } = "letor-sample";

    /// <summary>A ranking loss from the registry, or one of the two baselines: <c>mse</c> (pointwise regression of the
    /// label on the same scorer) and <c>random</c> (seeded random scores, no training).</summary>
    public string Loss { get; init; } = "lambdarank";

    /// <summary><c>linear</c> or <c>mlp:H1,...</c>; the output layer has one unit, the item's score.</summary>
    public string Model { get; init; } = "mlp:64";

    public int Epochs { get; init; } = 40;

    /// <summary>Queries per minibatch (padded to the longest).</summary>
    public int QueriesPerBatch { get; init; } = 8;

    /// <summary>AdamW's learning rate.</summary>
    public double Lr { get; init; } = 1e-3;

    /// <summary>Decoupled weight decay on the weight matrices.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Fraction of the training queries held out to choose the tested epoch (best validation NDCG@5).</summary>
    public double ValidationFraction { get; init; } = 0.2;

    public int Seed { get; init; }
}

/// <summary>The result of a ranking run: the tested epoch and the test queries' metrics.</summary>
public sealed record RankingRunRecord(RankingRunConfig Config, int Features, int TrainQueries, int ValidationQueries, int TestQueries,
    int BestEpoch, IReadOnlyList<double> TrainLoss, IReadOnlyList<double> ValidationNdcg5, IReadOnlyDictionary<string, double> Test, double Seconds)
{
    /// <summary>The metric names of <see cref="Test"/>, in report order.</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["ndcg_at_1", "ndcg_at_3", "ndcg_at_5", "ndcg_at_10", "mrr"];

    /// <summary>One JSON object: the configuration, the sizes, the tested epoch, the test metrics under <c>test</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        data = Config.Data, loss = Config.Loss, model = Config.Model, seed = Config.Seed, epochs = Config.Epochs, lr = Config.Lr,
        features = Features, train_queries = TrainQueries, validation_queries = ValidationQueries, test_queries = TestQueries,
        best_epoch = BestEpoch, test = Test, seconds = Seconds,
    });
}

/// <summary>
/// Trains a scorer on a learning-to-rank set with a ranking loss and reports NDCG@1, 3, 5, 10 and MRR on the test
/// queries. Each minibatch pads its queries to the longest (the loss sees the padding mask), scores every item with the
/// model, takes the loss's gradient by the scores and backpropagates it through the scorer. Features are standardised
/// with the training items' statistics; a seeded fifth of the training queries is held out, and the epoch with the best
/// validation NDCG@5 is the one tested. The two baselines every comparison needs: <c>mse</c> (pointwise regression of
/// the relevance label, ½(s − y)² averaged over the batch's items) and <c>random</c> (seeded random scores).
/// </summary>
public static class RankingTrainer
{
    /// <summary>The cut-offs of the reported NDCG.</summary>
    public static readonly int[] NdcgCutoffs = [1, 3, 5, 10];

    /// <summary>Runs <paramref name="config"/>; <paramref name="onEpoch"/> gets (epoch, train loss, validation NDCG@5).</summary>
    public static RankingRunRecord Run(RankingRunConfig config, Action<int, double, double>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var clock = Stopwatch.StartNew();
        TrainerChecks.AtLeast(config.Epochs, 1, "--epochs");
        TrainerChecks.AtLeast(config.QueriesPerBatch, 1, "--batch-size", " query");
        var (all, test) = SvmLight.LoadEmbedded(config.Data);
        RankingLoss? loss = config.Loss switch
        {
            "mse" or "random" => null,
            _ => LossRegistry.Create(config.Loss) as RankingLoss
                ?? throw new ArgumentException($"'{config.Loss}' is not a ranking loss; {config.Data} is a ranking data set: use a ranking loss " +
                    "(ranknet, listnet, listmle, softmax_rank, lambdarank, approx_ndcg, ...) or a baseline, mse or random."),
        };
        int f = all.Features;
        var order = Enumerable.Range(0, all.Queries.Count).ToArray();
        SeededRng.ForPurpose(config.Seed, "ranking-split").Shuffle(order.AsSpan());
        int validationCount = (int)Math.Round(config.ValidationFraction * order.Length);
        var validation = order.Take(validationCount).Select(i => all.Queries[i]).ToList();
        var train = order.Skip(validationCount).Select(i => all.Queries[i]).ToList();
        var standardizer = Standardizer.Fit(train.SelectMany(q => q.Features).ToArray(), f);
        List<RankingQuery> Standardise(IEnumerable<RankingQuery> queries) => [.. queries.Select(q =>
        {
            float[] x = (float[])q.Features.Clone();
            standardizer.TransformInPlace(x);
            return q with { Features = x };
        })];
        (train, validation) = (Standardise(train), Standardise(validation));
        var testQueries = Standardise(test.Queries);

        var model = Mlp.Create(ModelSpec.Parse(config.Model), f, 1);
        model.Initialize(SeededRng.ForPurpose(config.Seed, "init"));
        if (config.Loss == "random")
        {
            var rng = SeededRng.ForPurpose(config.Seed, "random-scores");
            return Record(config, f, train.Count, validation.Count, testQueries.Count, 0, [], [], Metrics(testQueries, q => RandomScores(q, rng)), clock);
        }
        var optimizer = Optimizer.ForModel(model, OptimizerKind.AdamW, config.WeightDecay);

        int maxItems = train.Concat(validation).Concat(testQueries).Max(q => q.Items);
        int batchQueries = Math.Min(config.QueriesPerBatch, train.Count);
        var ws = model.CreateWorkspace(batchQueries * maxItems);
        var scoreWs = model.CreateWorkspace(maxItems);
        var batchX = new float[batchQueries * maxItems * f];
        var scores = new float[batchQueries * maxItems];
        var labels = new float[scores.Length];
        var mask = new float[scores.Length];
        var gradient = new float[scores.Length];
        var itemOf = new int[scores.Length];
        var shuffle = SeededRng.ForPurpose(config.Seed, "ranking-shuffle");
        var queryOrder = Enumerable.Range(0, train.Count).ToArray();
        float[] best = (float[])model.Parameters.Clone();
        double bestNdcg = double.NegativeInfinity;
        int bestEpoch = 0;
        var trainLoss = new List<double>();
        var validationNdcg = new List<double>();
        Func<RankingQuery, float[]> score = q => Score(model, scoreWs, q);

        for (int epoch = 1; epoch <= config.Epochs; epoch++)
        {
            shuffle.Shuffle(queryOrder.AsSpan());
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start < train.Count; start += batchQueries)
            {
                int queries = Math.Min(batchQueries, train.Count - start);
                int length = Enumerable.Range(start, queries).Max(i => train[queryOrder[i]].Items);
                int items = 0;
                Array.Clear(mask, 0, queries * length);
                for (int b = 0; b < queries; b++)
                {
                    var q = train[queryOrder[start + b]];
                    for (int i = 0; i < q.Items; i++, items++)
                    {
                        q.Features.AsSpan(i * f, f).CopyTo(batchX.AsSpan(items * f, f));
                        itemOf[b * length + i] = items;
                        labels[b * length + i] = q.Labels[i];
                        mask[b * length + i] = 1;
                    }
                    for (int i = q.Items; i < length; i++) labels[b * length + i] = 0;
                }
                var x = batchX.AsSpan(0, items * f);
                var itemScores = model.Forward(ws, x, items);
                for (int k = 0; k < queries * length; k++) scores[k] = mask[k] == 1 ? itemScores[itemOf[k]] : 0;
                float value;
                var g = gradient.AsSpan(0, queries * length);
                if (loss is not null)
                    value = loss.Compute<float>(scores.AsSpan(0, queries * length), length, labels.AsSpan(0, queries * length), mask.AsSpan(0, queries * length), default, g);
                else
                {
                    double sum = 0;
                    for (int k = 0; k < g.Length; k++)
                    {
                        double r = mask[k] == 1 ? scores[k] - labels[k] : 0;
                        sum += 0.5 * r * r;
                        g[k] = (float)(r / items);
                    }
                    value = (float)(sum / items);
                }
                TrainerChecks.ThrowIfDiverged(value, epoch);
                var outGrad = ws.OutputGradient.AsSpan(0, items);
                for (int k = 0; k < queries * length; k++) if (mask[k] == 1) outGrad[itemOf[k]] = g[k];
                model.Backward(ws, x, items);
                optimizer.Step(model.Parameters, model.Gradients, (float)config.Lr);
                lossSum += value;
                batches++;
            }
            double ndcg5 = validation.Count == 0 ? 0 : Metrics(validation, score)["ndcg_at_5"];
            trainLoss.Add(lossSum / batches);
            validationNdcg.Add(ndcg5);
            onEpoch?.Invoke(epoch, lossSum / batches, ndcg5);
            if (ndcg5 > bestNdcg)
            {
                (bestNdcg, bestEpoch) = (ndcg5, epoch);
                model.Parameters.CopyTo(best, 0);
            }
        }
        best.CopyTo(model.Parameters, 0);
        return Record(config, f, train.Count, validation.Count, testQueries.Count, bestEpoch, trainLoss, validationNdcg, Metrics(testQueries, score), clock);
    }

    private static RankingRunRecord Record(RankingRunConfig c, int f, int train, int validation, int test, int bestEpoch,
        IReadOnlyList<double> trainLoss, IReadOnlyList<double> validationNdcg, Dictionary<string, double> metrics, Stopwatch clock) =>
        new(c, f, train, validation, test, bestEpoch, trainLoss, validationNdcg, metrics, clock.Elapsed.TotalSeconds);

    private static float[] Score(Mlp model, MlpWorkspace ws, RankingQuery q) => model.Forward(ws, q.Features, q.Items).ToArray();

    private static float[] RandomScores(RankingQuery q, SeededRng rng) => [.. q.Labels.Select(_ => (float)rng.NextDouble())];

    /// <summary>NDCG@1, 3, 5, 10 and MRR of the queries scored by <paramref name="score"/>, averaged over the queries.</summary>
    public static Dictionary<string, double> Metrics(IReadOnlyList<RankingQuery> queries, Func<RankingQuery, float[]> score)
    {
        int length = queries.Max(q => q.Items);
        var s = new float[queries.Count * length];
        var y = new float[s.Length];
        var m = new float[s.Length];
        for (int i = 0; i < queries.Count; i++)
        {
            float[] qs = score(queries[i]);
            for (int j = 0; j < queries[i].Items; j++) (s[i * length + j], y[i * length + j], m[i * length + j]) = (qs[j], queries[i].Labels[j], 1);
        }
        RankingReport report = RankingMetrics.Report<float>(s, length, y, m, NdcgCutoffs);
        var result = new Dictionary<string, double>();
        foreach (var (k, value) in report.Ndcg) result[$"ndcg_at_{k}"] = value;
        result["mrr"] = report.Mrr;
        return result;
    }
}
