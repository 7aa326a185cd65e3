using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Metrics;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Training;

/// <summary>One metric-learning run: an MLP whose last layer is the embedding head, trained with an embedding loss on
/// class-balanced batches, tested by retrieval on held-out images.</summary>
public sealed record RetrievalRunConfig
{
    /// <summary>A built-in classification set (<see cref="DatasetCatalog"/>), e.g. digits.</summary>
    public string Data { get; init; } = "digits";

    /// <summary>An embedding loss from the registry (kind <c>embeddings</c>), or one of the two baselines: <c>raw</c>
    /// (the standardised input features) and <c>random_trunk</c> (the seeded, untrained MLP).</summary>
    public string Loss { get; init; } = "triplet(miner=semihard)";

    /// <summary><c>linear</c> or <c>mlp:H1,...</c>; the output layer has <see cref="Embed"/> units.</summary>
    public string Model { get; init; } = "mlp:256";

    /// <summary>The embedding dimension d.</summary>
    public int Embed { get; init; } = 64;

    /// <summary><c>classes:A-B/C-D</c> (train on the training images of classes A..B, test retrieval on the test images of
    /// classes C..D) or <c>plain</c> (every class in both).</summary>
    public string Split { get; init; } = "plain";

    public int Epochs { get; init; } = 30;

    /// <summary>Rows per batch at most: <see cref="PerClass"/> samples of as many classes as fit.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Samples of each class in a batch (m).</summary>
    public int PerClass { get; init; } = 4;

    public double Lr { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Fraction of the data set held out as test images (seeded, the same for every loss of a seed).</summary>
    public double TestFraction { get; init; } = 0.2;

    public int Seed { get; init; }
}

/// <summary>The result of a retrieval run: the sizes, the distance used for retrieval and the test metrics.</summary>
public sealed record RetrievalRunRecord(RetrievalRunConfig Config, int Features, int TrainRows, int TestRows, string Distance,
    IReadOnlyList<double> TrainLoss, IReadOnlyDictionary<string, double> Test, double Seconds)
{
    /// <summary>The test embeddings (TestRows × <see cref="EmbeddingDim"/>, row-major) the metrics were computed on; not in the JSON.</summary>
    public float[] TestEmbeddings { get; init; } = [];

    /// <summary>The dimension of <see cref="TestEmbeddings"/> (the input features for <c>raw</c>).</summary>
    public int EmbeddingDim { get; init; }

    /// <summary>The class of each test image.</summary>
    public int[] TestLabels { get; init; } = [];

    /// <summary>The cut-offs of Recall@k.</summary>
    public static readonly int[] RecallKs = [1, 2, 4, 8];

    /// <summary>The flat metric names of <see cref="Test"/>, in report order.</summary>
    public static IReadOnlyList<string> MetricNames { get; } =
        ["precision_at_1", "r_precision", "map_at_r", .. RecallKs.Select(k => $"recall_at_{k}"), "knn_accuracy"];

    /// <summary>One JSON object; <c>test</c> holds precision_at_1, r_precision, map_at_r, recall_at_k (an object by k)
    /// and knn_accuracy.</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        data = Config.Data, loss = Config.Loss, model = Config.Model, embed = Config.Embed, split = Config.Split, seed = Config.Seed,
        epochs = Config.Epochs, batch_size = Config.BatchSize, per_class = Config.PerClass, lr = Config.Lr,
        features = Features, train_rows = TrainRows, test_rows = TestRows, distance = Distance,
        final_train_loss = TrainLoss.Count == 0 ? (double?)null : TrainLoss[^1],
        test = new
        {
            precision_at_1 = Test["precision_at_1"], r_precision = Test["r_precision"], map_at_r = Test["map_at_r"],
            recall_at_k = RecallKs.ToDictionary(k => k.ToString(CultureInfo.InvariantCulture), k => Test[$"recall_at_{k}"]),
            knn_accuracy = Test["knn_accuracy"],
        },
        seconds = Seconds,
    });
}

/// <summary>
/// Trains an embedding network with a metric-learning loss and reports retrieval on held-out images (docs/metric-learning.md).
/// The data set is split once per seed into 80% training and 20% test images; with <c>classes:A-B/C-D</c> the network
/// trains on the training images of classes A..B and is tested on the test images of classes C..D, which it never saw
/// (the "reality check" protocol of Musgrave et al. 2020); <c>plain</c> keeps every class on both sides. Features are
/// standardised with the training rows' statistics. Each batch holds <see cref="RetrievalRunConfig.PerClass"/> random
/// samples of each of min(K, batch/m) random classes; the loss's ∂/∂embeddings is backpropagated through the MLP and
/// AdamW steps. Proxy losses (normface, cosface, arcface, proxy_nca, proxy_anchor) get a trainable K×d proxy matrix
/// (seeded N(0, 1) start, AdamW without weight decay). The last epoch is tested: each test image is a query against all
/// other test images, by cosine similarity when the loss uses cosine (or normalises, or is a proxy loss) and by
/// euclidean distance otherwise; the baselines use euclidean distance (<c>raw:cosine</c> and <c>random_trunk:cosine</c>
/// retrieve by cosine similarity).
/// </summary>
public static class RetrievalTrainer
{
    /// <summary>The baselines every comparison includes.</summary>
    public static IReadOnlyList<string> Baselines { get; } = ["raw", "random_trunk"];

    /// <summary>k of the k-NN accuracy.</summary>
    public const int Knn = 5;

    /// <summary>A baseline, optionally retrieved by cosine similarity instead of euclidean distance: <c>raw</c>,
    /// <c>random_trunk</c>, <c>raw:cosine</c>, <c>random_trunk:cosine</c>.</summary>
    public static bool IsBaseline(string spec) => Baselines.Contains(spec) || (spec.EndsWith(":cosine", StringComparison.Ordinal) && Baselines.Contains(spec[..^7]));

    /// <summary>True when <paramref name="spec"/> is a baseline or creates a loss of the embeddings kind.</summary>
    public static bool IsRetrievalLoss(string spec)
    {
        if (IsBaseline(spec)) return true;
        try { return LossRegistry.Create(spec).Kind == EmbeddingKind.Instance; }
        catch (ArgumentException) { return false; }
        catch (FormatException) { return false; }
    }

    /// <summary>Parses <c>plain</c> or <c>classes:A-B/C-D</c> (also lists, <c>classes:0,2,4/1,3</c>) into the train and test classes.</summary>
    public static (int[]? Train, int[]? Test) ParseSplit(string split)
    {
        if (split == "plain") return (null, null);
        const string prefix = "classes:";
        if (!split.StartsWith(prefix, StringComparison.Ordinal) || split[prefix.Length..].Split('/') is not { Length: 2 } sides)
            throw new ArgumentException($"--split '{split}': expected plain or classes:A-B/C-D (train classes / test classes), e.g. classes:0-4/5-9.");
        int[] Side(string s) => [.. s.Split(',', StringSplitOptions.TrimEntries).SelectMany(part =>
        {
            var ends = part.Split('-');
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                throw new ArgumentException($"--split '{split}': '{part}' is not a class or a range A-B of classes.");
            int a = int.Parse(ends[0], CultureInfo.InvariantCulture), b = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (b < a) throw new ArgumentException($"--split '{split}': the range {part} is empty.");
            return Enumerable.Range(a, b - a + 1);
        }).Distinct()];
        return (Side(sides[0]), Side(sides[1]));
    }

    /// <summary>Runs <paramref name="config"/>; <paramref name="onEpoch"/> gets (epoch, mean training loss).</summary>
    public static RetrievalRunRecord Run(RetrievalRunConfig config, Action<int, double>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var clock = Stopwatch.StartNew();
        TrainerChecks.AtLeast(config.Epochs, 1, "--epochs");
        TrainerChecks.AtLeast(config.Embed, 1, "--embed");
        TrainerChecks.AtLeast(config.PerClass, 2, "--per-class", " (a class needs a positive pair)");
        if (config.BatchSize < 2 * config.PerClass)
            throw new ArgumentOutOfRangeException(nameof(config), config.BatchSize, $"--batch-size {config.BatchSize}: expected at least 2 × --per-class = {2 * config.PerClass} (two classes per batch).");
        bool baselineCosine = config.Loss.EndsWith(":cosine", StringComparison.Ordinal);
        string baseline = IsBaseline(config.Loss) ? (baselineCosine ? config.Loss[..^7] : config.Loss) : "";
        ILoss? loss = IsBaseline(config.Loss) ? null : LossRegistry.Create(config.Loss);
        if (loss is not null && loss.Kind != EmbeddingKind.Instance)
            throw new ArgumentException($"'{config.Loss}' is not an embedding loss: use one of kind embeddings (contrastive, triplet, multi_similarity, supcon, arcface, ...) or a baseline, raw or random_trunk (with :cosine to retrieve by cosine similarity).");
        var data = DatasetCatalog.Load(config.Data);
        if (!data.IsClassification) throw new ArgumentException($"{config.Data} is not a classification set: retrieval needs class labels.");
        int f = data.FeatureCount;
        int[] y = data.RequireLabels();
        var (trainClasses, testClasses) = ParseSplit(config.Split);
        foreach (int c in (trainClasses ?? []).Concat(testClasses ?? []))
            if (c < 0 || c >= data.Classes) throw new ArgumentException($"--split {config.Split}: class {c} is not a class of {config.Data} (0..{data.Classes - 1}).");
        if (trainClasses is not null && trainClasses.Length < 2) throw new ArgumentException($"--split {config.Split}: training needs at least 2 classes.");

        var order = Enumerable.Range(0, data.Rows).ToArray();
        SeededRng.ForPurpose(config.Seed, "retrieval-split").Shuffle(order.AsSpan());
        int testCount = (int)Math.Round(config.TestFraction * data.Rows);
        int[] testRows = [.. order.Take(testCount).Where(i => testClasses is null || testClasses.Contains(y[i])).Order()];
        int[] trainRows = [.. order.Skip(testCount).Where(i => trainClasses is null || trainClasses.Contains(y[i])).Order()];
        float[] Gather(int[] rows)
        {
            var x = new float[rows.Length * f];
            for (int i = 0; i < rows.Length; i++) data.Row(rows[i]).CopyTo(x.AsSpan(i * f, f));
            return x;
        }
        float[] trainX = Gather(trainRows), testX = Gather(testRows);
        var standardizer = Standardizer.Fit(trainX, f);
        standardizer.TransformInPlace(trainX);
        standardizer.TransformInPlace(testX);
        int[] testY = [.. testRows.Select(i => y[i])];

        string baselineDistance = baselineCosine ? "cosine" : "euclidean";
        if (baseline == "raw")
            return Record(config, f, trainRows.Length, testRows.Length, baselineDistance, [], Metrics(testX, f, testY, baselineCosine), clock) with
                { TestEmbeddings = testX, EmbeddingDim = f, TestLabels = testY };
        var model = Mlp.Create(ModelSpec.Parse(config.Model), f, config.Embed);
        model.Initialize(SeededRng.ForPurpose(config.Seed, "init"));
        var evalWs = model.CreateWorkspace(testRows.Length);
        RetrievalRunRecord Tested(string distance, IReadOnlyList<double> losses)
        {
            float[] e = model.Forward(evalWs, testX, testRows.Length).ToArray();
            return Record(config, f, trainRows.Length, testRows.Length, distance, losses, Metrics(e, config.Embed, testY, distance == "cosine"), clock) with
                { TestEmbeddings = e, EmbeddingDim = config.Embed, TestLabels = testY };
        }
        if (loss is null) return Tested(baselineDistance, []);

        bool cosine = loss switch
        {
            EmbeddingLoss e => e.Options.Distance is "cosine" or "dot" || e.Options.Normalize == true,
            _ => true,
        };
        int[] classes = [.. trainRows.Select(i => y[i]).Distinct().Order()];
        var classIndex = classes.Select((c, i) => (c, i)).ToDictionary(t => t.c, t => t.i);
        int[][] members = [.. classes.Select(c => trainRows.Select((row, at) => (row, at)).Where(t => y[t.row] == c).Select(t => t.at).ToArray())];
        int perClass = config.PerClass;
        int batchClasses = Math.Min(classes.Length, config.BatchSize / perClass);
        int batchRows = batchClasses * perClass;
        int steps = Math.Max(1, (int)Math.Ceiling(trainRows.Length / (double)batchRows));

        var optimizer = Optimizer.ForModel(model, OptimizerKind.AdamW, config.WeightDecay);
        float[] proxies = [], proxyGrad = [];
        Optimizer? proxyOptimizer = null;
        if (loss is ProxyLoss)
        {
            var prng = SeededRng.ForPurpose(config.Seed, "proxies");
            proxies = new float[classes.Length * config.Embed];
            for (int i = 0; i < proxies.Length; i++)
                proxies[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - prng.NextDouble())) * Math.Cos(2 * Math.PI * prng.NextDouble()));
            proxyGrad = new float[proxies.Length];
            proxyOptimizer = Optimizer.Create(OptimizerKind.AdamW, proxies.Length, [new ParameterSegment(0, proxies.Length, 0)], 0);
        }

        var ws = model.CreateWorkspace(batchRows);
        var batchX = new float[batchRows * f];
        var batchY = new int[batchRows];
        var grad = new float[batchRows * config.Embed];
        var rng = SeededRng.ForPurpose(config.Seed, "retrieval-batches");
        var classOrder = Enumerable.Range(0, classes.Length).ToArray();
        var trainLoss = new List<double>();
        for (int epoch = 1; epoch <= config.Epochs; epoch++)
        {
            double sum = 0;
            for (int step = 0; step < steps; step++)
            {
                rng.Shuffle(classOrder.AsSpan());
                int row = 0;
                for (int c = 0; c < batchClasses; c++)
                {
                    int[] pool = members[classOrder[c]];
                    for (int j = 0; j < perClass; j++)
                    {
                        // Without replacement while the class has enough images (partial Fisher–Yates), else with.
                        int pick;
                        if (pool.Length >= perClass)
                        {
                            int r = j + rng.NextInt(pool.Length - j);
                            (pool[j], pool[r]) = (pool[r], pool[j]);
                            pick = pool[j];
                        }
                        else pick = pool[rng.NextInt(pool.Length)];
                        trainX.AsSpan(pick * f, f).CopyTo(batchX.AsSpan(row * f, f));
                        batchY[row] = classIndex[y[trainRows[pick]]];
                        row++;
                    }
                }
                var emb = model.Forward(ws, batchX, batchRows);
                float value = loss switch
                {
                    EmbeddingLoss e => e.Compute<float>(emb, config.Embed, batchY, default, grad),
                    ProxyLoss p => p.Compute<float>(emb, config.Embed, batchY, proxies, default, grad, proxyGrad),
                    _ => throw new InvalidOperationException($"{config.Loss}: an embeddings-kind loss this trainer does not know how to call."),
                };
                TrainerChecks.ThrowIfDiverged(value, epoch);
                grad.CopyTo(ws.OutputGradient, 0);
                model.Backward(ws, batchX, batchRows);
                optimizer.Step(model.Parameters, model.Gradients, (float)config.Lr);
                proxyOptimizer?.Step(proxies, proxyGrad, (float)config.Lr);
                sum += value;
            }
            trainLoss.Add(sum / steps);
            onEpoch?.Invoke(epoch, sum / steps);
        }
        return Tested(cosine ? "cosine" : "euclidean", trainLoss);
    }

    private static RetrievalRunRecord Record(RetrievalRunConfig c, int f, int train, int test, string distance, IReadOnlyList<double> trainLoss,
        Dictionary<string, double> metrics, Stopwatch clock) => new(c, f, train, test, distance, trainLoss, metrics, clock.Elapsed.TotalSeconds);

    /// <summary>The first two principal components of <paramref name="x"/> (n×<paramref name="dim"/>): each row's
    /// coordinates on them, by power iteration with deflation on the covariance in double (deterministic start).</summary>
    public static (double[] X, double[] Y) Pca2(float[] x, int dim)
    {
        int n = x.Length / dim;
        var mean = new double[dim];
        for (int i = 0; i < n; i++) for (int j = 0; j < dim; j++) mean[j] += x[i * dim + j] / (double)n;
        var cov = new double[dim, dim];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < dim; a++)
            {
                double da = x[i * dim + a] - mean[a];
                for (int b = 0; b < dim; b++) cov[a, b] += da * (x[i * dim + b] - mean[b]);
            }
        double[] Top(double[]? deflate)
        {
            var v = Enumerable.Range(0, dim).Select(j => 1.0 + 0.01 * j).ToArray();
            for (int it = 0; it < 300; it++)
            {
                if (deflate is not null) { double p = 0; for (int j = 0; j < dim; j++) p += v[j] * deflate[j]; for (int j = 0; j < dim; j++) v[j] -= p * deflate[j]; }
                var w = new double[dim];
                for (int a = 0; a < dim; a++) for (int b = 0; b < dim; b++) w[a] += cov[a, b] * v[b];
                double norm = Math.Sqrt(w.Sum(t => t * t));
                if (norm == 0) return v;
                for (int j = 0; j < dim; j++) v[j] = w[j] / norm;
            }
            return v;
        }
        double[] u1 = Top(null), u2 = Top(u1);
        var px = new double[n];
        var py = new double[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++)
            {
                double c = x[i * dim + j] - mean[j];
                px[i] += c * u1[j];
                py[i] += c * u2[j];
            }
        return (px, py);
    }

    /// <summary>The retrieval metrics of the test embeddings, flat (recall_at_k one entry per k).</summary>
    public static Dictionary<string, double> Metrics(float[] embeddings, int dim, int[] labels, bool cosine)
    {
        var r = RetrievalMetrics.Compute(embeddings, dim, labels, cosine, RetrievalRunRecord.RecallKs, Knn);
        var m = new Dictionary<string, double> { ["precision_at_1"] = r.PrecisionAt1, ["r_precision"] = r.RPrecision, ["map_at_r"] = r.MapAtR };
        foreach (var (k, v) in r.RecallAtK) m[$"recall_at_{k}"] = v;
        m["knn_accuracy"] = r.KnnAccuracy;
        return m;
    }
}
