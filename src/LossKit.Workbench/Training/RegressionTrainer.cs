using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LossKit.Catalog;
using LossKit.Regression;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Training;

/// <summary>One regression run: a set, a loss, one split, noise on the training targets.</summary>
public sealed record RegressionRunConfig
{
    /// <summary>A set of <see cref="UciRegression.Names"/>.</summary>
    public string Data { get; init; } = "concrete";

    /// <summary>A regression loss from the registry (its head follows from it: see <see cref="RegressionTrainer"/>).</summary>
    public string Loss { get; init; } = "mse";

    /// <summary><c>linear</c> or <c>mlp:H1,...</c>; null: the benchmark's network, one hidden layer of the set's n_hidden units.</summary>
    public string? Model { get; init; }

    /// <summary>null: the set's n_epochs (40; protein 20).</summary>
    public int? Epochs { get; init; }

    public int BatchSize { get; init; } = 32;

    /// <summary>AdamW's learning rate (constant).</summary>
    public double Lr { get; init; } = 1e-2;

    /// <summary>Decoupled weight decay on the weight matrices.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Fraction of the training split held out (not trained on): point-loss models fit their homoscedastic
    /// predictive variance on its residuals. 0: on the training residuals.</summary>
    public double Holdout { get; init; } = 0.1;

    /// <summary>Noise on the training targets (<see cref="RegressionNoise"/>).</summary>
    public string Noise { get; init; } = "none";

    /// <summary>The standard split (0-based).</summary>
    public int Split { get; init; }

    /// <summary>Seed of the hold-out, the noise, the initialisation and the batch order.</summary>
    public int Seed { get; init; }
}

/// <summary>The result of a regression run: sizes, the loss per epoch, the noise, the test metrics in the target's
/// original units, and the per-row data of the plots.</summary>
public sealed record RegressionRunRecord(RegressionRunConfig Config, string LossSpec, string Head, string Model, int Epochs,
    int Features, int TrainRows, int HoldoutRows, int TestRows, RegressionNoiseReport Noise, IReadOnlyList<double> TrainLoss,
    RegressionEvaluation Evaluation, double[] TestTargets, double[] TestMeans, double Seconds)
{
    /// <summary>rmse, mae, nll, crps, coverage_90, width_90.</summary>
    public IReadOnlyDictionary<string, double> Test => Evaluation.Test;

    /// <summary>One JSON object: configuration, sizes, realised noise, test metrics under <c>test</c>, PIT histogram
    /// (10 bins) and calibration curve.</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        data = Config.Data, loss = LossSpec, head = Head, model = Model, split = Config.Split, seed = Config.Seed, epochs = Epochs,
        batch_size = Config.BatchSize, lr = Config.Lr, weight_decay = Config.WeightDecay, holdout = Config.Holdout,
        features = Features, train_rows = TrainRows, holdout_rows = HoldoutRows, test_rows = TestRows,
        noise = new { spec = Noise.Spec, changed = Noise.Changed, rows = Noise.Rows, realised_fraction = Noise.RealisedFraction, realised_rms = Noise.RealisedRms },
        final_train_loss = TrainLoss.Count > 0 ? TrainLoss[^1] : double.NaN,
        test = Test,
        pit_histogram = RegressionMetrics.PitHistogram(Evaluation.Pit),
        calibration = Evaluation.Calibration.Select(c => new[] { c.Nominal, c.Observed }),
        seconds = Seconds,
    }, s_json);

    private static readonly JsonSerializerOptions s_json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
}

/// <summary>
/// Trains a regression network on one split of a benchmark set with a regression loss and scores it on the clean test
/// split. The head follows from the loss: one output for point losses; mean and variance for <c>gaussian_nll</c>, mean
/// and scale for <c>laplace_nll</c>, mean, α and β for <c>gg_nll</c> (plain <c>gg_nll</c> becomes
/// <c>gg_nll(predict=both)</c>); one output per τ for <c>quantile</c>. Variance, scale and α are softplus(z + c) + 1e-6,
/// c putting them at 1 at z = 0; β is 1 + 1.5·sigmoid(z + c), 2 at z = 0 (bounded to [1, 2.5]: with wider bounds training diverged on some concrete splits).
/// Features and target are standardised with the statistics of the rows trained on; AdamW at a constant rate,
/// minibatches of <see cref="RegressionRunConfig.BatchSize"/>, the set's n_epochs, and the last epoch is tested (the
/// literature's protocol, no epoch selection). Predictive distributions in original units: Gaussian, Laplace or
/// generalized Gaussian for the likelihood losses; for point losses (and quantile) a Gaussian around the prediction
/// (the median column for quantile) whose variance is the mean squared residual on the held-out part of the
/// training split; quantile models with τ 0.05 and 0.95 report their own 90% interval.
/// </summary>
public static class RegressionTrainer
{
    /// <summary>Runs <paramref name="config"/>; <paramref name="onEpoch"/> gets (epoch, mean training loss).</summary>
    public static RegressionRunRecord Run(RegressionRunConfig config, Action<int, double>? onEpoch = null) =>
        Run(config, UciRegression.Load(config.Data), onEpoch);

    /// <summary>Runs <paramref name="config"/> on the loaded <paramref name="set"/>.</summary>
    public static RegressionRunRecord Run(RegressionRunConfig config, RegressionSet set, Action<int, double>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(set);
        var clock = Stopwatch.StartNew();
        int epochs = config.Epochs ?? set.Epochs;
        TrainerChecks.AtLeast(epochs, 1, "--epochs");
        TrainerChecks.AtLeast(config.BatchSize, 1, "--batch-size");
        if (config.Split < 0 || config.Split >= set.Splits.Count)
            throw new ArgumentOutOfRangeException(nameof(config), config.Split, $"split {config.Split}: {set.Name} has splits 0..{set.Splits.Count - 1}.");
        if (!(config.Holdout >= 0 && config.Holdout < 1)) throw new ArgumentOutOfRangeException(nameof(config), config.Holdout, $"--holdout {config.Holdout}: expected [0, 1).");
        var head = RegressionHead.For(config.Loss);
        string modelText = config.Model ?? $"mlp:{set.Hidden}";
        int f = set.FeatureCount;

        // The training split with its noise, then the hold-out.
        var (trainIdx, testIdx) = set.Splits[config.Split];
        float[] noisy = [.. trainIdx.Select(r => set.Targets[r])];
        var noise = RegressionNoise.Apply(noisy, config.Noise, config.Seed * 1000 + config.Split);
        int[] order = [.. Enumerable.Range(0, trainIdx.Length)];
        SeededRng.ForPurpose(config.Seed * 1000 + config.Split, "regression-holdout").Shuffle(order.AsSpan());
        int holdCount = (int)Math.Round(config.Holdout * trainIdx.Length);
        int[] fitRows = order[holdCount..], holdRows = order[..holdCount];
        float[] Gather(int[] rows, Func<int, int> source)
        {
            var x = new float[rows.Length * f];
            for (int i = 0; i < rows.Length; i++) set.Features.AsSpan(source(rows[i]) * f, f).CopyTo(x.AsSpan(i * f, f));
            return x;
        }
        float[] xFit = Gather(fitRows, i => trainIdx[i]), xHold = Gather(holdRows, i => trainIdx[i]), xTest = Gather(testIdx, i => i);
        float[] yFit = [.. fitRows.Select(i => noisy[i])];
        var standardizer = Standardizer.Fit(xFit, f);
        standardizer.TransformInPlace(xFit);
        standardizer.TransformInPlace(xHold);
        standardizer.TransformInPlace(xTest);
        double my = yFit.Average(v => (double)v), sy = Math.Sqrt(yFit.Sum(v => (v - my) * (v - my)) / Math.Max(1, yFit.Length - 1));
        if (!(sy > 0)) sy = 1;
        float[] yStd = [.. yFit.Select(v => (float)((v - my) / sy))];

        var model = Mlp.Create(ModelSpec.Parse(modelText), f, head.Outputs);
        model.Initialize(SeededRng.ForPurpose(config.Seed * 1000 + config.Split, "init"));
        var optimizer = Optimizer.ForModel(model, OptimizerKind.AdamW, config.WeightDecay);

        int n = yStd.Length, batch = Math.Min(config.BatchSize, n);
        var ws = model.CreateWorkspace(batch);
        var bx = new float[batch * f];
        var by = new float[batch];
        var rowOrder = Enumerable.Range(0, n).ToArray();
        var shuffle = SeededRng.ForPurpose(config.Seed * 1000 + config.Split, "regression-shuffle");
        var trainLoss = new List<double>();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            shuffle.Shuffle(rowOrder.AsSpan());
            double sum = 0;
            int batches = 0;
            for (int start = 0; start < n; start += batch)
            {
                int rows = Math.Min(batch, n - start);
                Minibatch.Gather(xFit, f, yStd, rowOrder.AsSpan(start, rows), bx, by);
                var output = model.Forward(ws, bx, rows);
                float value = head.LossAndGradient(output, by.AsSpan(0, rows), ws.OutputGradient.AsSpan(0, rows * head.Outputs));
                TrainerChecks.ThrowIfDiverged(value, epoch);
                model.Backward(ws, bx, rows);
                optimizer.Step(model.Parameters, model.Gradients, (float)config.Lr);
                sum += value;
                batches++;
            }
            trainLoss.Add(sum / batches);
            onEpoch?.Invoke(epoch, sum / batches);
        }

        // Predictions in original units.
        var predictWs = model.CreateWorkspace(256);
        float[] Predict(float[] x)
        {
            var o = new float[x.Length / f * head.Outputs];
            if (o.Length > 0) model.Predict(predictWs, x, o);
            return o;
        }
        double[] yTest = [.. testIdx.Select(r => (double)set.Targets[r])];
        double residualVar = 0;
        if (head.NeedsResidualVariance)
        {
            float[] xRes = holdCount > 0 ? xHold : xFit;
            double[] yRes = holdCount > 0 ? [.. holdRows.Select(i => (double)noisy[i])] : [.. yFit.Select(v => (double)v)];
            double[] mu = head.Means(Predict(xRes), my, sy);
            residualVar = Math.Max(1e-12, mu.Zip(yRes, (a, b) => (a - b) * (a - b)).Average());
        }
        var (predictive, interval) = head.Predictive(Predict(xTest), my, sy, residualVar);
        var evaluation = RegressionMetrics.Evaluate(yTest, predictive, interval);
        return new RegressionRunRecord(config, head.Spec, head.Name, modelText, epochs, f, n, holdCount, testIdx.Length, noise, trainLoss,
            evaluation, yTest, predictive.Mean, clock.Elapsed.TotalSeconds);
    }
}

/// <summary>The output head a regression loss decides, with its link functions, loss call and predictive distribution.</summary>
internal sealed class RegressionHead
{
    private const float Floor = 1e-6f;
    private static readonly float UnitOffset = (float)Math.Log(Math.E - 1);   // softplus(UnitOffset) = 1
    private const float BetaMin = 1f, BetaSpan = 1.5f;
    private static readonly float BetaOffset = (float)Math.Log((2 - BetaMin) / BetaSpan / (1 - (2 - BetaMin) / BetaSpan));   // β = 2 at z = 0

    private readonly RegressionLoss _loss;
    private readonly string _kind;              // point, gaussian, laplace, gg, quantile
    private readonly bool[] _isBeta;            // per predicted parameter
    private readonly double[] _taus = [];
    private float[] _params = [], _gradParams = [], _mu = [], _gradMu = [], _target = [];

    private RegressionHead(RegressionLoss loss, string kind, int outputs)
    {
        _loss = loss;
        _kind = kind;
        Outputs = outputs;
        _isBeta = [.. loss.Predicted.Select(p => p.Name == "beta")];
        if (loss is QuantileLoss q) _taus = [.. q.TauValues];
    }

    public int Outputs { get; }

    public string Spec => _loss.Spec;

    /// <summary>point, gaussian (mean + var), laplace (mean + scale), gg (mean + α + β), quantile (one per τ).</summary>
    public string Name => _kind switch
    {
        "gaussian" => "mean+var", "laplace" => "mean+scale", "gg" => "mean+" + string.Join('+', _loss.Predicted.Select(p => p.Name)),
        "quantile" => $"{Outputs} quantiles", _ => "point",
    };

    public bool NeedsResidualVariance => _kind is "point" or "quantile";

    public static RegressionHead For(string spec)
    {
        var loss = LossRegistry.Create(spec) as RegressionLoss
            ?? throw new ArgumentException($"'{spec}' is not an element-wise regression loss; the regression sets train with one " +
                "(mse, l1, huber, smooth_l1, log_cosh, cauchy, welsch, tukey, barron, quantile, gaussian_nll, laplace_nll, gg_nll, ...).");
        if (loss.Card.Name is "poisson_nll" or "tweedie" or "gamma_dev" or "itakura_saito" or "msle" or "mape" or "smape")
            throw new ArgumentException($"{loss.Card.Name} needs targets in its own domain (counts, positive values), not the standardised targets the regression workbench trains on.");
        if (loss is GeneralizedGaussianNllLoss g && g.PredictValue == "none" && !spec.Contains("predict", StringComparison.Ordinal))
            loss = new GeneralizedGaussianNllLoss(g.AlphaValue, g.BetaValue, "both", g.EpsValue, g.Reduction);
        return loss switch
        {
            GaussianNllLoss => new RegressionHead(loss, "gaussian", 2),
            LaplaceNllLoss => new RegressionHead(loss, "laplace", 2),
            GeneralizedGaussianNllLoss => new RegressionHead(loss, "gg", 1 + loss.Predicted.Count),
            QuantileLoss q => new RegressionHead(loss, "quantile", q.TauValues.Count),
            _ when loss.Predicted.Count == 0 => new RegressionHead(loss, "point", 1),
            _ => throw new ArgumentException($"{loss.Card.Name} predicts {string.Join(", ", loss.Predicted.Select(p => p.Name))}: the regression workbench has no head for it."),
        };
    }

    private static float Softplus(float z) => z > 20 ? z : MathF.Log(1 + MathF.Exp(z));

    private static float Sigmoid(float z) => 1 / (1 + MathF.Exp(-z));

    /// <summary>Predicted parameter k from its output z.</summary>
    private float Link(int k, float z) => _isBeta[k] ? BetaMin + BetaSpan * Sigmoid(z + BetaOffset) : Softplus(z + UnitOffset) + Floor;

    /// <summary>d parameter / dz.</summary>
    private float LinkSlope(int k, float z)
    {
        if (!_isBeta[k]) return Sigmoid(z + UnitOffset);
        float s = Sigmoid(z + BetaOffset);
        return BetaSpan * s * (1 - s);
    }

    /// <summary>The mean training loss of one batch on standardised targets; writes ∂loss/∂outputs.</summary>
    public float LossAndGradient(ReadOnlySpan<float> output, ReadOnlySpan<float> y, Span<float> grad)
    {
        int rows = y.Length, k = Outputs;
        if (_kind == "quantile" && k > 1)
        {
            if (_target.Length < rows * k) _target = new float[rows * k];
            for (int r = 0; r < rows; r++) _target.AsSpan(r * k, k).Fill(y[r]);
            return _loss.Compute<float>(output, _target.AsSpan(0, rows * k), default, grad);
        }
        if (k == 1) return _loss.Compute<float>(output, y, default, grad);
        int extra = k - 1;
        if (_mu.Length < rows) (_mu, _gradMu) = (new float[rows], new float[rows]);
        if (_params.Length < rows * extra) (_params, _gradParams) = (new float[rows * extra], new float[rows * extra]);
        for (int r = 0; r < rows; r++)
        {
            _mu[r] = output[r * k];
            for (int j = 0; j < extra; j++) _params[j * rows + r] = Link(j, output[r * k + 1 + j]);
        }
        var mu = _mu.AsSpan(0, rows);
        float value = _loss.Compute(new RegressionBatch<float>(mu, y, default, _gradMu.AsSpan(0, rows),
            _params.AsSpan(0, rows), _gradParams.AsSpan(0, rows),
            extra > 1 ? _params.AsSpan(rows, rows) : default, extra > 1 ? _gradParams.AsSpan(rows, rows) : default));
        for (int r = 0; r < rows; r++)
        {
            grad[r * k] = _gradMu[r];
            for (int j = 0; j < extra; j++) grad[r * k + 1 + j] = _gradParams[j * rows + r] * LinkSlope(j, output[r * k + 1 + j]);
        }
        return value;
    }

    /// <summary>The point predictions in original units (the mean output; quantile: the column of τ nearest ½).</summary>
    public double[] Means(float[] output, double my, double sy)
    {
        int k = Outputs, col = _kind == "quantile" ? NearestTau(0.5) : 0;
        return [.. Enumerable.Range(0, output.Length / k).Select(r => my + sy * output[r * k + col])];
    }

    private int NearestTau(double tau) => _taus.Length == 0 ? 0 : Array.IndexOf(_taus, _taus.MinBy(t => Math.Abs(t - tau)));

    /// <summary>The test rows' predictive distributions in original units (and a quantile model's own 90% interval).</summary>
    public (Predictive, (double[] Low, double[] High)?) Predictive(float[] output, double my, double sy, double residualVar)
    {
        int k = Outputs, rows = output.Length / k;
        double[] mean = Means(output, my, sy);
        double[] Param(int j) => [.. Enumerable.Range(0, rows).Select(r => (double)Link(j, output[r * k + 1 + j]))];
        switch (_kind)
        {
            case "gaussian":
                return (new GaussianPredictive(mean, [.. Param(0).Select(v => sy * Math.Sqrt(v))]), null);
            case "laplace":
                return (new LaplacePredictive(mean, [.. Param(0).Select(b => sy * b)]), null);
            case "gg":
            {
                var g = (GeneralizedGaussianNllLoss)_loss;
                int at = 0;
                double[] alpha = g.PredictValue is "alpha" or "both" ? Param(at++) : [.. Enumerable.Repeat(g.AlphaValue, rows)];
                double[] beta = g.PredictValue is "beta" or "both" ? Param(at) : [.. Enumerable.Repeat(g.BetaValue, rows)];
                return (new GeneralizedGaussianPredictive(mean, [.. alpha.Select(a => sy * a)], beta), null);
            }
        }
        var gaussian = new GaussianPredictive(mean, [.. Enumerable.Repeat(Math.Sqrt(residualVar), rows)]);
        int lo = Array.IndexOf(_taus, 0.05), hi = Array.IndexOf(_taus, 0.95);
        if (_kind == "quantile" && lo >= 0 && hi >= 0)
            return (gaussian, ([.. Enumerable.Range(0, rows).Select(r => my + sy * output[r * k + lo])], [.. Enumerable.Range(0, rows).Select(r => my + sy * output[r * k + hi])]));
        return (gaussian, null);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Spec} ({Name})");
}
