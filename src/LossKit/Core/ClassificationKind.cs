using System.Numerics;

namespace LossKit.Core;

/// <summary>
/// Multi-class losses on logits (<see cref="IClassificationLoss"/>): <c>logits</c> N×K with <c>targets</c> (N class
/// indices, or the loss's ignore index) or <c>soft_targets</c> (N×K probability rows, for losses that take them);
/// outputs <c>unreduced</c> (N) and <c>grad_logits</c> (N×K), also written as <c>per_row</c> and <c>gradient</c>.
/// Class weights are a parameter of the loss (<c>weight=[...]</c> in its spec), not an input.
/// </summary>
public sealed class ClassificationKind : LossKind
{
    public static ClassificationKind Instance { get; } = new();

    private ClassificationKind() { }

    public override string Name => "classification";

    public override IReadOnlyList<LossInput> Inputs { get; } =
    [
        new("logits", "N×K", true, "one row of K logits per sample (−∞ masks a class)"),
        new("targets", "N", false, "class index per row in [0, K), or the loss's ignore_index"),
        new("soft_targets", "N×K", false, "a probability row per sample, instead of targets (losses that take soft targets)") { Optional = true },
    ];

    public override IReadOnlyDictionary<string, string> OutputAliases { get; } =
        new Dictionary<string, string> { ["per_row"] = "unreduced", ["gradient"] = "grad_logits" };

    public override LossCall Prepare<T>(ILoss loss, LossInputs inputs)
    {
        var classification = Expect<IClassificationLoss>(loss);
        LossTensor logits = inputs.Required("logits", this);
        if (logits.Rank != 2)
            throw new ArgumentException($"logits has shape {logits.ShapeText}: a {Name} loss takes one row of K logits per sample, N×K.", "logits");
        int rows = logits.Shape[0], classes = logits.Shape[1];
        if (inputs.Optional("targets") is { } targets)
        {
            if (targets.Length != rows)
                throw new ArgumentException($"targets has {targets.Length} values but logits has {rows} rows; give one class index per row.", "targets");
            return new Call<T>(classification, ValuesAs<T>(logits), rows, classes, targets.AsIntegers("targets"), null);
        }
        if (inputs.Optional("soft_targets") is { } soft)
        {
            if (classification is not ISoftTargetLoss)
                throw new ArgumentException($"{loss.Spec} does not take soft targets; give \"targets\" (class indices).", "soft_targets");
            if (soft.Rank != 2 || soft.Shape[0] != rows || soft.Shape[1] != classes)
                throw new ArgumentException($"soft_targets has shape {soft.ShapeText} but logits has [{rows}, {classes}]; they must agree.", "soft_targets");
            return new Call<T>(classification, ValuesAs<T>(logits), rows, classes, null, ValuesAs<T>(soft));
        }
        throw new ArgumentException($"the input has neither \"targets\" nor \"soft_targets\": {Name} losses take {InputsText}.", "targets");
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        var classification = Expect<IClassificationLoss>(loss);
        int classes = classification.FixedClassCount ?? size.Width;
        var targets = new double[size.Rows];
        for (int i = 0; i < targets.Length; i++) targets[i] = random.Next(classes);
        return new LossInputs
        {
            ["logits"] = LossTensor.Matrix(RandomValues(random, size.Rows * classes, scale), size.Rows, classes),
            ["targets"] = LossTensor.Vector(targets),
        };
    }

    private sealed class Call<T>(IClassificationLoss loss, T[] logits, int rows, int classes, int[]? targets, T[]? soft) : LossCall
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _rowLosses = new T[rows];
        private readonly T[] _gradient = new T[logits.Length];
        private T _loss;

        public override double Run(bool gradients = true)
        {
            Span<T> perRow = gradients ? _rowLosses : default, gradient = gradients ? _gradient : default;
            _loss = targets is not null
                ? loss.Compute<T>(logits, classes, targets, perRow, gradient)
                : ((ISoftTargetLoss)loss).ComputeSoft<T>(logits, classes, soft, perRow, gradient);
            return double.CreateTruncating(_loss);
        }

        public override LossOutputs Outputs() => new(double.CreateTruncating(_loss), ToTensor(_rowLosses, rows),
            new Dictionary<string, LossTensor> { ["logits"] = ToTensor(_gradient, rows, classes) });

        public override long Bytes(bool gradients)
        {
            long size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            long read = logits.Length * size + (targets is not null ? rows * 4L : logits.Length * size);
            return read + (gradients ? (logits.Length + rows) * size : 0);
        }
    }
}
