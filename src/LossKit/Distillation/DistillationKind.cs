using System.Numerics;
using LossKit.Core;

namespace LossKit.Distillation;

/// <summary>
/// Knowledge distillation (<see cref="IDistillationLoss"/>): student <c>logits</c> N×K, <c>teacher_logits</c> N×K and
/// class-index <c>targets</c> (N); outputs <c>unreduced</c> (N) and <c>grad_logits</c> (the teacher is not trained),
/// also written as <c>per_row</c> and <c>gradient</c>.
/// </summary>
public sealed class DistillationKind : LossKind
{
    public static DistillationKind Instance { get; } = new();

    private DistillationKind() { }

    public override string Name => "distillation";

    public override IReadOnlyList<LossInput> Inputs { get; } =
    [
        new("logits", "N×K", true, "the student's logits"),
        new("teacher_logits", "N×K", false, "the teacher's logits"),
        new("targets", "N", false, "class index per row, or the loss's ignore_index"),
    ];

    public override IReadOnlyDictionary<string, string> OutputAliases { get; } =
        new Dictionary<string, string> { ["per_row"] = "unreduced", ["gradient"] = "grad_logits" };

    public override LossCall Prepare<T>(ILoss loss, LossInputs inputs)
    {
        var distillation = Expect<IDistillationLoss>(loss);
        LossTensor logits = inputs.Required("logits", this), teacher = inputs.Required("teacher_logits", this);
        LossTensor targets = inputs.Required("targets", this);
        if (logits.Rank != 2) throw new ArgumentException($"logits has shape {logits.ShapeText}: expected N×K.", "logits");
        int rows = logits.Shape[0], classes = logits.Shape[1];
        if (teacher.Rank != 2 || teacher.Shape[0] != rows || teacher.Shape[1] != classes)
            throw new ArgumentException($"teacher_logits has shape {teacher.ShapeText} but logits has {logits.ShapeText}; they must agree.", "teacher_logits");
        if (targets.Length != rows)
            throw new ArgumentException($"targets has {targets.Length} values but logits has {rows} rows; give one class index per row.", "targets");
        return new Call<T>(distillation, ValuesAs<T>(logits), ValuesAs<T>(teacher), targets.AsIntegers("targets"), rows, classes);
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<IDistillationLoss>(loss);
        var targets = new double[size.Rows];
        for (int i = 0; i < targets.Length; i++) targets[i] = random.Next(size.Width);
        return new LossInputs
        {
            ["logits"] = LossTensor.Matrix(RandomValues(random, size.Rows * size.Width, scale), size.Rows, size.Width),
            ["teacher_logits"] = LossTensor.Matrix(RandomValues(random, size.Rows * size.Width, scale), size.Rows, size.Width),
            ["targets"] = LossTensor.Vector(targets),
        };
    }

    private sealed class Call<T>(IDistillationLoss loss, T[] logits, T[] teacher, int[] targets, int rows, int classes) : LossCall
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _rowLosses = new T[rows];
        private readonly T[] _gradient = new T[logits.Length];
        private T _loss;

        public override double Run(bool gradients = true)
        {
            _loss = loss.Compute<T>(logits, classes, teacher, targets, gradients ? _rowLosses : default, gradients ? _gradient : default);
            return double.CreateTruncating(_loss);
        }

        public override LossOutputs Outputs() => new(double.CreateTruncating(_loss), ToTensor(_rowLosses, rows),
            new Dictionary<string, LossTensor> { ["logits"] = ToTensor(_gradient, rows, classes) });

        public override long Bytes(bool gradients) =>
            System.Runtime.CompilerServices.Unsafe.SizeOf<T>() * (long)logits.Length * (gradients ? 3 : 2) + 4L * rows;
    }
}
