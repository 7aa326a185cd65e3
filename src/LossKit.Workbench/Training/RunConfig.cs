using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using System.Text.Json;
using System.Text;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Softmax;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Training;

/// <summary>Which epoch's parameters a run evaluates on the test split.</summary>
public enum ModelEpochKind
{
    /// <summary>The epoch with the best validation accuracy (ties: lower validation NLL, then the earlier epoch); under
    /// early stopping, the best epoch of its criterion.</summary>
    Best,
    /// <summary>The last epoch trained.</summary>
    Last,
}

/// <summary>When to stop before the last epoch.</summary>
public enum EarlyStopKind
{
    /// <summary>Train all epochs.</summary>
    None,
    /// <summary>Stop when the validation loss (the training loss function on the validation split) has not
    /// improved for <c>patience</c> epochs; the best epoch's parameters are restored.</summary>
    ValLoss,
    /// <summary>Stop when validation accuracy has not improved for <c>patience</c> epochs; the best epoch's parameters are restored.</summary>
    ValAccuracy,
}

/// <summary>
/// Everything that determines one training run. Two configurations with the same <see cref="Canonical"/> form
/// give bit-identical records (apart from timings) and have the same <see cref="Key"/>. <see cref="DataDir"/> only
/// says where to find the files, so it is not part of the key.
/// </summary>
public sealed record RunConfig
{
    /// <summary>Bumped whenever a change to the trainer changes results, so old results are not taken for new ones.</summary>
    public const int TrainerVersion = 4;

    /// <summary>Data set name (see <see cref="DatasetCatalog.Names"/>).</summary>
    public string Data { get; init; } = "digits";

    /// <summary>The target column of a data file (<c>--target</c>); null: the file's last column. Null for the
    /// built-in sets (and then left out of the JSON, so their keys are unchanged).</summary>
    public string? Target { get; init; }

    /// <summary>Folder to read the data set from instead of the default (not part of the key).</summary>
    public string? DataDir { get; init; }

    /// <summary><c>linear</c> or <c>mlp:H1,H2,...</c>.</summary>
    public string Model { get; init; } = "mlp:128";

    /// <summary>A classification loss spec from the registry, e.g. <c>focal(gamma=2)</c> (mean reduction).</summary>
    public string Loss { get; init; } = "ce";

    /// <summary>Label noise on the training split: <c>none</c>, <c>symmetric:R</c>, <c>pairflip:R</c>.</summary>
    public string Noise { get; init; } = "none";

    /// <summary><c>same</c> (the default): the validation labels receive the same label noise as the training labels
    /// (an independent draw of the same setting), so early stopping, the tested epoch, tuning and temperature scaling see
    /// only what a user with noisy labels has; <c>clean</c>: validation labels stay clean (an oracle, for studies). Test
    /// labels are always clean.</summary>
    public string ValidationNoise { get; init; } = "same";

    /// <summary>The name a comparison shows for this run instead of its loss spec, e.g. <c>focal</c> for the configuration
    /// tuning selected for the loss the user wrote as <c>focal</c> (null: the loss spec). A name, not a setting: it is not
    /// part of the <see cref="Key"/>.</summary>
    public string? Label { get; init; }

    /// <summary>How <c>compare --tune</c> chose this configuration (null: not tuned). A note, not a setting: not part of the <see cref="Key"/>.</summary>
    public TuningInfo? Tuning { get; init; }

    /// <summary>Seed of the split, the noise, the initialisation and the minibatch order.</summary>
    public int Seed { get; init; }

    /// <summary>Passes over the training split.</summary>
    public int Epochs { get; init; } = 40;

    /// <summary>Rows per minibatch (the last batch of an epoch may be smaller).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary><c>sgd</c> (with momentum) or <c>adamw</c>.</summary>
    public string Optimizer { get; init; } = "adamw";

    /// <summary>Base (peak) learning rate.</summary>
    public double Lr { get; init; } = 3e-3;

    /// <summary>SGD momentum μ (ignored by AdamW).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay λ on the weight matrices (not the biases): L2 for SGD, decoupled for AdamW.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary><c>cosine</c> or <c>constant</c> after the warm-up.</summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>Fraction of all optimizer steps spent warming the learning rate up linearly from 0.</summary>
    public double Warmup { get; init; } = 0.05;

    /// <summary><c>none</c>, <c>val_loss</c> or <c>val_accuracy</c>.</summary>
    public string EarlyStop { get; init; } = "none";

    /// <summary><c>best</c> (the epoch with the best validation accuracy) or <c>last</c>: whose parameters are
    /// evaluated on the test split. Early stopping always restores its best epoch.</summary>
    public string ModelEpoch { get; init; } = "best";

    /// <summary>Epochs without improvement before early stopping.</summary>
    public int Patience { get; init; } = 5;

    /// <summary>Train/validation/test fractions (a data set with its own test split divides its rows train : validation).</summary>
    public string Split { get; init; } = "0.6/0.2/0.2";

    /// <summary><c>auto</c> (He for ReLU layers, Xavier for the output layer), <c>he</c> or <c>xavier</c>.</summary>
    public string Init { get; init; } = "auto";

    /// <summary>Equal-width bins of the calibration metrics and reliability diagrams.</summary>
    public int Bins { get; init; } = 15;

    /// <summary>Train the output layer and the loss as one <see cref="LossKit.LargeVocabulary.LinearCrossEntropyLoss"/> call
    /// (<c>linear_ce</c>: logits in row chunks, never the whole batch's) instead of a GEMM, the loss and two more GEMMs.
    /// Needs the loss <c>ce</c> (any of its options). The same computation in the same order: the run record is
    /// bit-identical to the unfused run's (timings aside); a configuration with it has its own key only because it is
    /// timed differently.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool FusedHead { get; init; }

    /// <summary>The parsed loss (validated: mean reduction). A binary loss is trained on two logits through
    /// <see cref="LossKit.Binary.TwoLogitBinaryLoss"/> (s = z₁ − z₀), so it needs a two-class data set.</summary>
    public IClassificationLoss CreateLoss()
    {
        var created = LossRegistry.Create(Loss);
        if (created is IBinaryLoss binary) created = new LossKit.Binary.TwoLogitBinaryLoss(binary);
        if (created is not IClassificationLoss loss)
        {
            LossKind kind = created.Kind;
            string article = "aeiou".Contains(kind.Name[0], StringComparison.OrdinalIgnoreCase) ? "an" : "a";
            throw new ArgumentException(
                $"loss '{Loss}' does not fit this task: it is {article} {kind.Name} loss (it takes {kind.InputsText}), not a multi-class loss " +
                "on logits with class-index targets, which is what the workbench's classifiers train with.");
        }
        if (loss.Reduction != Reduction.Mean)
            throw new ArgumentException(
                $"loss '{Loss}': training backpropagates the mean-reduced loss; remove reduction={loss.Reduction.ToString().ToLowerInvariant()} from the spec.");
        if (FusedHead && loss is not CrossEntropyLoss)
            throw new ArgumentException(
                $"loss '{Loss}': the fused head (--fused-head) is linear_ce, the output layer fused with cross-entropy, so it needs the loss ce (with any of its options).");
        return loss;
    }

    /// <summary>The fused output layer for <see cref="FusedHead"/>: <c>linear_ce</c> with the options of the <c>ce</c>
    /// loss <see cref="CreateLoss"/> returns, one chunk per batch.</summary>
    public LossKit.LargeVocabulary.LinearCrossEntropyLoss CreateFusedHead()
    {
        if (CreateLoss() is not CrossEntropyLoss ce)
            throw new ArgumentException($"loss '{Loss}': the fused head needs the loss ce.");
        // One chunk per batch: then every product and sum runs in the unfused path's order and the two give the same bits.
        return new LossKit.LargeVocabulary.LinearCrossEntropyLoss(ce.Smoothing, ce.LseSquared, ce.SoftcapValue, ce.TemperatureValue,
            ce.Weight, ce.IgnoreIndex, ce.Reduction, chunkRows: BatchSize);
    }

    public ModelSpec ParseModel() => ModelSpec.Parse(Model);

    public NoiseSpec ParseNoise() => NoiseSpec.Parse(Noise);

    public SplitFractions ParseSplit() => SplitFractions.Parse(Split);

    public OptimizerKind ParseOptimizer() =>
        Choose(Optimizer, "optimizer", "optimizers are: sgd, adamw", ("sgd", OptimizerKind.Sgd), ("adamw", OptimizerKind.AdamW));

    public ScheduleKind ParseSchedule() =>
        Choose(Schedule, "schedule", "schedules are: cosine, constant", ("cosine", ScheduleKind.Cosine), ("constant", ScheduleKind.Constant));

    /// <summary>The early-stopping rule; a dash may stand for the underscore (<c>val-loss</c>).</summary>
    public EarlyStopKind ParseEarlyStop() => Choose(EarlyStop, "early stopping", "values are: none, val_loss, val_accuracy",
        ("none", EarlyStopKind.None), ("", EarlyStopKind.None), ("val_loss", EarlyStopKind.ValLoss), ("val-loss", EarlyStopKind.ValLoss),
        ("val_accuracy", EarlyStopKind.ValAccuracy), ("val-accuracy", EarlyStopKind.ValAccuracy),
        ("val_acc", EarlyStopKind.ValAccuracy), ("val-acc", EarlyStopKind.ValAccuracy));

    /// <summary>True when the validation labels receive the training labels' noise (<see cref="ValidationNoise"/> <c>same</c>).</summary>
    public bool ParseValidationNoise() =>
        Choose(ValidationNoise, "validation noise", "values are: same (the training labels' noise), clean", ("same", true), ("clean", false));

    public ModelEpochKind ParseModelEpoch() =>
        Choose(ModelEpoch, "model epoch", "values are: best, last", ("best", ModelEpochKind.Best), ("last", ModelEpochKind.Last));

    public InitScheme ParseInit() => Choose(Init, "initialisation", "values are: auto, he, xavier", ("auto", InitScheme.Auto),
        ("he", InitScheme.He), ("kaiming", InitScheme.He), ("xavier", InitScheme.Xavier), ("glorot", InitScheme.Xavier));

    /// <summary>The value that <paramref name="text"/> names among an option's fixed words (surrounding spaces and case
    /// ignored); any other text is an <see cref="ArgumentException"/> "unknown <paramref name="option"/> 'text'; valid
    /// <paramref name="valid"/>.".</summary>
    private static T Choose<T>(string text, string option, string valid, params (string Word, T Value)[] words)
    {
        string word = text.Trim().ToLowerInvariant();
        foreach (var (name, value) in words)
            if (name == word) return value;
        throw new ArgumentException($"unknown {option} '{text}'; valid {valid}.");
    }

    /// <summary>
    /// Checks every field and returns the configuration with each one in canonical form (data set name as listed,
    /// loss spec as the registry writes it, noise as <c>symmetric:0.4</c>, and so on). Throws an
    /// <see cref="ArgumentException"/> naming the first bad field.
    /// </summary>
    public RunConfig Canonical()
    {
        string data = CanonicalDataName(Data);
        var loss = CreateLoss();
        if (Epochs < 1) throw new ArgumentException($"epochs is {Epochs}; it must be at least 1.");
        if (BatchSize < 1) throw new ArgumentException($"batch size is {BatchSize}; it must be at least 1.");
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new ArgumentException($"learning rate is {Fmt(Lr)}; it must be a finite number > 0.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"momentum is {Fmt(Momentum)}; it must lie in [0, 1).");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new ArgumentException($"weight decay is {Fmt(WeightDecay)}; it must be a finite number ≥ 0.");
        if (!(Warmup >= 0 && Warmup <= 1)) throw new ArgumentException($"warm-up is {Fmt(Warmup)}; it is a fraction of all steps in [0, 1].");
        if (Patience < 1) throw new ArgumentException($"patience is {Patience}; it must be at least 1.");
        if (Bins < 1) throw new ArgumentException($"bins is {Bins}; it must be at least 1.");
        var split = ParseSplit();
        if (split.Validation <= 0)
            throw new ArgumentException($"split '{Split}' has no validation rows; training needs a validation split (for the learning curves and temperature scaling).");
        return this with
        {
            Data = data,
            Model = ParseModel().ToString(),
            Loss = loss.Spec,
            Noise = ParseNoise().ToString(),
            Optimizer = ParseOptimizer() == OptimizerKind.Sgd ? "sgd" : "adamw",
            Schedule = ParseSchedule() == ScheduleKind.Cosine ? "cosine" : "constant",
            EarlyStop = ParseEarlyStop() switch { EarlyStopKind.ValLoss => "val_loss", EarlyStopKind.ValAccuracy => "val_accuracy", _ => "none" },
            Split = split.ToString(),
            Init = ParseInit().ToString().ToLowerInvariant(),
            ModelEpoch = ParseModelEpoch() == ModelEpochKind.Best ? "best" : "last",
            ValidationNoise = ParseValidationNoise() ? "same" : "clean",
            Label = string.IsNullOrWhiteSpace(Label) ? null : Label.Trim(),
        };
    }

    /// <summary>The data set's name as <see cref="DatasetCatalog.Names"/> lists it, or a data file's path as given; an
    /// unknown name lists the valid ones.</summary>
    public static string CanonicalDataName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (DatasetCatalog.IsFile(name)) return name.Trim();
        static string Norm(string s) => s.Trim().ToLowerInvariant().Replace('-', '_');
        return DatasetCatalog.Names.FirstOrDefault(n => Norm(n) == Norm(name))
            ?? throw new ArgumentException($"unknown data set '{name}'; valid names are: {string.Join(", ", DatasetCatalog.Names)}, or a data file (.csv, .tsv or .jsonl; see docs/data.md).");
    }

    /// <summary>A 16-hex-digit hash of the canonical configuration (without <see cref="DataDir"/> and <see cref="Label"/>) and <see cref="TrainerVersion"/>:
    /// the identity of a run in results files.</summary>
    public string Key()
    {
        var c = Canonical() with { DataDir = null, Label = null, Tuning = null };
        string text = $"trainer={TrainerVersion};" + JsonSerializer.Serialize(c, RecordJson.Options);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        return Convert.ToHexStringLower(hash)[..16];
    }

    private static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
