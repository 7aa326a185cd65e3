using System.Numerics;
using LossKit.Core;

namespace LossKit.Binary;

/// <summary>
/// Binary and multi-label losses (<see cref="IBinaryLoss"/>): <c>logits</c> of any shape (N for one output per sample,
/// N×C for C outputs) and <c>targets</c> in [0, 1] of the same shape; outputs <c>unreduced</c> (the logits' shape) and
/// <c>grad_logits</c>, also written as <c>per_row</c> and <c>gradient</c>. Per-output weights (<c>weight</c>,
/// <c>pos_weight</c>) are parameters of the loss.
/// </summary>
public sealed class BinaryKind : LossKind
{
    public static BinaryKind Instance { get; } = new();

    private BinaryKind() { }

    public override string Name => "binary";

    public override IReadOnlyList<LossInput> Inputs { get; } =
    [
        new("logits", "N or N×C", true, "one logit per output"),
        new("targets", "same as logits", false, "target in [0, 1] per output"),
    ];

    public override IReadOnlyDictionary<string, string> OutputAliases { get; } =
        new Dictionary<string, string> { ["per_row"] = "unreduced", ["gradient"] = "grad_logits" };

    public override LossCall Prepare<T>(ILoss loss, LossInputs inputs)
    {
        var binary = Expect<IBinaryLoss>(loss);
        LossTensor logits = inputs.Required("logits", this), targets = inputs.Required("targets", this);
        if (targets.Length != logits.Length)
            throw new ArgumentException($"targets has shape {targets.ShapeText} but logits has {logits.ShapeText}; they must have the same shape.", "targets");
        return new Call<T>(binary, ValuesAs<T>(logits), ValuesAs<T>(targets), logits.Shape);
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<IBinaryLoss>(loss);
        int columns = (loss as BinaryLoss)?.FixedColumnCount ?? size.Width;
        int[] shape = columns <= 1 ? [size.Rows] : [size.Rows, columns];
        int count = size.Rows * Math.Max(columns, 1);
        var targets = new double[count];
        for (int i = 0; i < count; i++) targets[i] = random.Next(2);
        return new LossInputs
        {
            ["logits"] = new LossTensor(RandomValues(random, count, scale), shape),
            ["targets"] = new LossTensor(targets, shape),
        };
    }

    private sealed class Call<T>(IBinaryLoss loss, T[] logits, T[] targets, int[] shape) : LossCall where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _losses = new T[logits.Length];
        private readonly T[] _gradient = new T[logits.Length];
        private T _loss;

        public override double Run(bool gradients = true)
        {
            _loss = loss.Compute<T>(logits, targets, gradients ? _losses : default, gradients ? _gradient : default);
            return double.CreateTruncating(_loss);
        }

        public override LossOutputs Outputs() => new(double.CreateTruncating(_loss), ToTensor(_losses, shape),
            new Dictionary<string, LossTensor> { ["logits"] = ToTensor(_gradient, shape) });

        public override long Bytes(bool gradients) =>
            System.Runtime.CompilerServices.Unsafe.SizeOf<T>() * (long)logits.Length * (gradients ? 4 : 2);
    }
}
