namespace LossKit.Distillation;

/// <summary>
/// Knowledge distillation (<see cref="IDistillationLoss"/>): student <c>logits</c> N×K, <c>teacher_logits</c> N×K and
/// class-index <c>targets</c> (N); outputs <c>unreduced</c> (N) and <c>grad_logits</c> (the teacher is not trained),
/// also written as <c>per_row</c> and <c>gradient</c>.
/// </summary>
public sealed class DistillationKind : LossKind<DistillationKind, IDistillationLoss>
{
    private DistillationKind() : base("distillation",
    [
        new("logits", "N×K", true, "the student's logits"),
        new("teacher_logits", "N×K", false, "the teacher's logits"),
        new("targets", "N", false, "class index per row, or the loss's ignore_index"),
    ], LogitsAliases) { }

    protected override LossCall Call<T>(IDistillationLoss distillation, LossInputs inputs)
    {
        var (logits, teacher, rows, classes) = MatrixAndLike(inputs, "logits", "the student's logits, N×K", "teacher_logits");
        int[] y = ClassIndices(inputs.Required("targets", this), rows);
        T[] z = ValuesAs<T>(logits), t = ValuesAs<T>(teacher);
        return new LogitsCall<T>(rows, classes, BytesOf(z, t) + BytesOf(y),
            (perRow, gradient) => distillation.Compute<T>(z, classes, t, y, perRow, gradient));
    }

    protected override LossInputs SampleFor(IDistillationLoss loss, SampleSize size, Random random, double scale)
    {
        LossTensor targets = RandomClasses(random, size.Rows, size.Width);
        return new LossInputs
        {
            ["logits"] = RandomMatrix(random, size.Rows, size.Width, scale),
            ["teacher_logits"] = RandomMatrix(random, size.Rows, size.Width, scale),
            ["targets"] = targets,
        };
    }
}
