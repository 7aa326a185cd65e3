using LossKit.Core;

namespace LossKit.Distillation;

/// <summary>
/// Knowledge distillation (<see cref="IDistillationLoss"/>): student <c>logits</c> N×K, <c>teacher_logits</c> N×K and
/// class-index <c>targets</c> (N); outputs <c>unreduced</c> (N) and <c>grad_logits</c> (the teacher is not trained),
/// also written as <c>per_row</c> and <c>gradient</c>.
/// </summary>
public sealed class DistillationKind : LossKind
{
    /// <summary>The one instance, shared by every distillation loss.</summary>
    public static DistillationKind Instance { get; } = new();

    private DistillationKind() : base("distillation",
    [
        new("logits", "N×K", true, "the student's logits"),
        new("teacher_logits", "N×K", false, "the teacher's logits"),
        new("targets", "N", false, "class index per row, or the loss's ignore_index"),
    ], LogitsAliases) { }

    protected override LossCall PrepareCall<T>(ILoss loss, LossInputs inputs)
    {
        var distillation = Expect<IDistillationLoss>(loss);
        LossTensor logits = inputs.Required("logits", this), teacher = inputs.Required("teacher_logits", this);
        var (rows, classes) = Matrix(logits, "logits", "the student's logits, N×K");
        SameShape(teacher, "teacher_logits", logits, "logits");
        int[] y = ClassIndices(inputs.Required("targets", this), rows);
        T[] z = ValuesAs<T>(logits), t = ValuesAs<T>(teacher);
        return new LogitsCall<T>([rows, classes], [rows], BytesOf(z, t) + BytesOf(y),
            (perRow, gradient) => distillation.Compute<T>(z, classes, t, y, perRow, gradient));
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<IDistillationLoss>(loss);
        LossTensor targets = RandomClasses(random, size.Rows, size.Width);
        return new LossInputs
        {
            ["logits"] = RandomMatrix(random, size.Rows, size.Width, scale),
            ["teacher_logits"] = RandomMatrix(random, size.Rows, size.Width, scale),
            ["targets"] = targets,
        };
    }
}
