using System.Text.Json.Serialization;
using System.Text.Json;
using LossKit.Metrics;

namespace LossKit.Workbench.Training;

/// <summary>One epoch of a run.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's minibatches (on the possibly noisy training labels).</param>
/// <param name="ValLoss">The training loss function on the validation split after the epoch (on its noisy labels under
/// <c>--validation-noise same</c>).</param>
/// <param name="ValAccuracy">Validation accuracy after the epoch.</param>
/// <param name="ValNll">Validation negative log-likelihood (softmax cross-entropy) after the epoch.</param>
/// <param name="Lr">Learning rate of the epoch's last step.</param>
/// <param name="Seconds">Wall time of the epoch's training steps (forward, backward, update), without evaluation.</param>
/// <param name="EvalSeconds">Wall time of the validation pass after the epoch.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double ValLoss, double ValAccuracy, double ValNll, double Lr, double Seconds, double EvalSeconds);

/// <summary>Test metrics of a run (see <see cref="ClassificationReport"/>).</summary>
public sealed record TestMetrics(
    double Accuracy, double Nll, double Ece, double Brier, double AdaptiveEce, double Mce, double ClasswiseEce, double MacroF1,
    double? Top5, double? Auroc)
{
    public static TestMetrics From(ClassificationReport r) => new(r.Accuracy, r.NegativeLogLikelihood, r.ExpectedCalibrationError, r.Brier,
        r.AdaptiveCalibrationError, r.MaximumCalibrationError, r.ClasswiseCalibrationError, r.MacroF1, r.TopFiveAccuracy, r.Auroc);

    /// <summary>The metrics every record has, by name, in table order; higher-is-better flag for each.</summary>
    public static IReadOnlyList<(string Name, bool HigherIsBetter, Func<TestMetrics, double?> Get)> Columns { get; } =
    [
        ("accuracy", true, m => m.Accuracy),
        ("nll", false, m => m.Nll),
        ("ece", false, m => m.Ece),
        ("brier", false, m => m.Brier),
        ("adaptive_ece", false, m => m.AdaptiveEce),
        ("mce", false, m => m.Mce),
        ("classwise_ece", false, m => m.ClasswiseEce),
        ("macro_f1", true, m => m.MacroF1),
        ("top5", true, m => m.Top5),
        ("auroc", true, m => m.Auroc),
    ];
}

/// <summary>One equal-width bin of a reliability diagram; empty bins have null confidence and accuracy.</summary>
public sealed record BinRecord(double Lower, double Upper, int Count, double? Confidence, double? Accuracy)
{
    public static BinRecord From(ReliabilityBin b) =>
        new(b.Lower, b.Upper, b.Count, b.Count == 0 ? null : b.MeanConfidence, b.Count == 0 ? null : b.Accuracy);
}

/// <summary>Where a training run's loss stopped being finite.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">1-based minibatch step within the epoch.</param>
/// <param name="GlobalStep">1-based step counted from the start of training.</param>
/// <param name="Value">The loss's value there (<c>NaN</c>, <c>∞</c> or <c>-∞</c>).</param>
public sealed record DivergenceInfo(int Epoch, int Step, int GlobalStep, string Value);

/// <summary>How <c>compare --tune</c> chose a configuration for one loss.</summary>
/// <param name="Trials">Configurations tried (each on every tuning seed).</param>
/// <param name="Seeds">The tuning seeds.</param>
/// <param name="Select">The validation metric selected on (<c>val_accuracy</c>, <c>val_nll</c>).</param>
/// <param name="Value">The selected configuration's mean of that metric over the tuning seeds.</param>
/// <param name="Chosen">The selected values, e.g. <c>lr=0.01, gamma=2</c>.</param>
public sealed record TuningInfo(int Trials, IReadOnlyList<int> Seeds, string Select, double Value, string Chosen);

/// <summary>Shape of the data a run saw.</summary>
public sealed record DataInfo(string Name, int Features, int Classes, int TrainRows, int ValRows, int TestRows, bool ProvidedTest)
{
    /// <summary>Class names by class index (the labels of a data file as found in it, mapped as docs/data.md says).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
}

/// <summary>Label noise as applied: the setting and the fraction of training labels it actually changed.</summary>
public sealed record NoiseInfo(string Spec, double Rate, double RealisedRate, int Changed);

/// <summary>
/// The result of one training run: its configuration, data, noise, learning curve and test metrics before and after
/// temperature scaling (fitted on the validation split). <c>losskit train --json</c> prints it; sweeps append one per line
/// to <c>results.jsonl</c>.
/// </summary>
public sealed record RunRecord
{
    /// <summary>The configuration's <see cref="RunConfig.Key"/>.</summary>
    public required string Key { get; init; }
    public int TrainerVersion { get; init; } = RunConfig.TrainerVersion;
    public required RunConfig Config { get; init; }
    public required DataInfo Dataset { get; init; }
    public required NoiseInfo Noise { get; init; }
    /// <summary>Label noise of the validation labels (<see cref="RunConfig.ValidationNoise"/> <c>same</c>); null when they are clean.</summary>
    public NoiseInfo? ValidationNoise { get; init; }
    /// <summary>Hashes of what the seed fixed: split, labels, initial weights, batch order (null in records of older versions).</summary>
    public Fingerprint? Fingerprint { get; init; }
    public required IReadOnlyList<EpochRecord> Epochs { get; init; }
    /// <summary>Epoch whose parameters were evaluated: the best on validation (<see cref="RunConfig.ModelEpoch"/>
    /// <c>best</c>, the default, or under early stopping) or the last one.</summary>
    public int BestEpoch { get; init; }
    public bool StoppedEarly { get; init; }
    /// <summary>True when a training loss became NaN or infinite and training stopped.</summary>
    public bool Diverged { get; init; }
    /// <summary>Where the loss became non-finite; null when it never did.</summary>
    public DivergenceInfo? Divergence { get; init; }
    /// <summary>Temperature fitted on the validation logits (1 when it could not be fitted).</summary>
    public double Temperature { get; init; } = 1;
    public required TestMetrics Test { get; init; }
    public required TestMetrics TestCalibrated { get; init; }
    public required IReadOnlyList<BinRecord> Reliability { get; init; }
    public required IReadOnlyList<BinRecord> ReliabilityCalibrated { get; init; }
    /// <summary>Sum of the epochs' training seconds.</summary>
    public double TrainSeconds { get; init; }
    /// <summary>Wall time of the whole run: data preparation, training, evaluation.</summary>
    public double TotalSeconds { get; init; }

    /// <summary>The record with every timing set to 0 (for comparing runs).</summary>
    public RunRecord WithoutTimings() => this with
    {
        Epochs = Epochs.Select(e => e with { Seconds = 0, EvalSeconds = 0 }).ToArray(),
        TrainSeconds = 0,
        TotalSeconds = 0,
    };

    /// <summary>One JSON line (no line break inside).</summary>
    public string ToJson(bool indented = false) =>
        JsonSerializer.Serialize(this, indented ? RecordJson.Indented : RecordJson.Options);

    public static RunRecord FromJson(string json) =>
        JsonSerializer.Deserialize<RunRecord>(json, RecordJson.Options) ?? throw new JsonException("the line holds null, not a run record.");
}

/// <summary>JSON settings of records and configurations: snake_case names, NaN/∞ written as strings, nulls left out.</summary>
public static class RecordJson
{
    public static JsonSerializerOptions Options { get; } = Create(false);
    public static JsonSerializerOptions Indented { get; } = Create(true);

    private static JsonSerializerOptions Create(bool indented)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            WriteIndented = indented,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
