using System.CommandLine;
using LossKit.Workbench.Training;

namespace LossKit.Cli;

/// <summary>The training options shared by train, compare and sweep. None has a default value here: an option the user
/// did not give leaves the value of the base configuration (RunConfig's defaults, compare's defaults or the sweep file).</summary>
internal sealed class WorkbenchOptions
{
    private static readonly RunConfig D = new();

    private static string Def(object v) => " (default: " + Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) + ")";

    public Option<string?> Data { get; } = new("--data") { Description = "Data set: digits, iris, wine, breast_cancer, fashion-mnist, mnist, or a file of yours: PATH.csv (header line), PATH.tsv or PATH.jsonl (docs/data.md)." + Def(D.Data) };
    public Option<string?> Target { get; } = new("--target") { Description = "The target column of a data file: integer or text labels, mapped to classes (default: the last column)." };
    public Option<string?> DataDir { get; } = new("--data-dir") { Description = "Folder to read the data set's files from instead of the built-in copy or the default folder." };
    public Option<string?> Model { get; } = new("--model") { Description = "linear (softmax regression) or mlp:H1,H2,... (ReLU MLP), e.g. mlp:256,128." + Def(D.Model) };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Passes over the training split." + Def(D.Epochs) };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "Rows per minibatch." + Def(D.BatchSize) };
    public Option<double?> Lr { get; } = new("--lr") { Description = "Peak learning rate." + Def(D.Lr) };
    public Option<string?> Optimizer { get; } = new("--optimizer") { Description = "sgd (momentum) or adamw." + Def(D.Optimizer) };
    public Option<double?> Momentum { get; } = new("--momentum") { Description = "SGD momentum." + Def(D.Momentum) };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "Weight decay on the weight matrices (L2 for sgd, decoupled for adamw)." + Def(D.WeightDecay) };
    public Option<string?> Schedule { get; } = new("--schedule") { Description = "Learning-rate schedule after warm-up: cosine or constant." + Def(D.Schedule) };
    public Option<double?> Warmup { get; } = new("--warmup") { Description = "Fraction of all steps spent in linear warm-up, in [0, 1]." + Def(D.Warmup) };
    public Option<string?> EarlyStop { get; } = new("--early-stop") { Description = "none, val_loss or val_accuracy (restores the best epoch)." + Def(D.EarlyStop) };
    public Option<string?> ModelEpoch { get; } = new("--model-epoch") { Description = "Whose parameters are tested: best (the epoch with the best validation accuracy) or last. Early stopping always restores its best epoch." + Def(D.ModelEpoch) };
    public Option<int?> Patience { get; } = new("--patience") { Description = "Epochs without improvement before early stopping." + Def(D.Patience) };
    public Option<string?> Split { get; } = new("--split") { Description = "train/validation/test fractions, e.g. 0.6/0.2/0.2." + Def(D.Split) };
    public Option<string?> Init { get; } = new("--init") { Description = "auto (He for ReLU layers, Xavier for the output), he or xavier." + Def(D.Init) };
    public Option<string?> ValidationNoise { get; } = new("--validation-noise")
    {
        Description = "same: the validation labels get the training labels' noise (independent draw), so early stopping, the tested epoch, tuning and " +
            "temperature scaling see what a user with noisy labels sees; clean: an oracle validation split, for studies. Test labels are always clean." + Def(D.ValidationNoise),
    };
    public Option<int?> Bins { get; } = new("--bins") { Description = "Bins of the calibration metrics and reliability diagrams." + Def(D.Bins) };

    public Option<bool?> FusedHead { get; } = new("--fused-head")
    {
        Description = "Fuse the output layer with the loss: linear_ce (loss ce only), never holding the batch's logits. Bit-identical results.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public IEnumerable<Option> All => [Data, Target, DataDir, Model, Epochs, BatchSize, Lr, Optimizer, Momentum, WeightDecay, Schedule, Warmup, EarlyStop, ModelEpoch, Patience, Split, Init, Bins, ValidationNoise, FusedHead];

    /// <summary>The options only the classification trainer reads (data files, the optimizer and its schedule, early
    /// stopping, initialisation, calibration bins, the fused head, validation noise): the ranking, retrieval and regression
    /// runs refuse them.</summary>
    public Option[] ClassificationTrainingOnly => [Target, DataDir, Optimizer, Momentum, Schedule, Warmup, EarlyStop, ModelEpoch, Init, Bins, FusedHead, ValidationNoise];

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The base configuration with every option the user gave applied.</summary>
    public RunConfig Apply(ParseResult p, RunConfig b) => b with
    {
        Data = p.GetValue(Data) ?? b.Data,
        Target = p.GetValue(Target) ?? b.Target,
        DataDir = p.GetValue(DataDir) ?? b.DataDir,
        Model = p.GetValue(Model) ?? b.Model,
        Epochs = p.GetValue(Epochs) ?? b.Epochs,
        BatchSize = p.GetValue(BatchSize) ?? b.BatchSize,
        Lr = p.GetValue(Lr) ?? b.Lr,
        Optimizer = p.GetValue(Optimizer) ?? b.Optimizer,
        Momentum = p.GetValue(Momentum) ?? b.Momentum,
        WeightDecay = p.GetValue(WeightDecay) ?? b.WeightDecay,
        Schedule = p.GetValue(Schedule) ?? b.Schedule,
        Warmup = p.GetValue(Warmup) ?? b.Warmup,
        EarlyStop = p.GetValue(EarlyStop) ?? b.EarlyStop,
        Patience = p.GetValue(Patience) ?? b.Patience,
        ModelEpoch = p.GetValue(ModelEpoch) ?? b.ModelEpoch,
        Split = p.GetValue(Split) ?? b.Split,
        Init = p.GetValue(Init) ?? b.Init,
        Bins = p.GetValue(Bins) ?? b.Bins,
        ValidationNoise = p.GetValue(ValidationNoise) ?? b.ValidationNoise,
        FusedHead = p.GetValue(FusedHead) ?? b.FusedHead,
    };

    /// <summary>Splits a list option's values on ';' (and on ',' too when <paramref name="commas"/>), dropping empty parts.</summary>
    public static string[] SplitList(IEnumerable<string>? values, bool commas)
    {
        if (values is null) return [];
        char[] seps = commas ? [';', ','] : [';'];
        return values.SelectMany(v => v.Split(seps, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();
    }
}
