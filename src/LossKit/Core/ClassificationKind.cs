namespace LossKit.Core;

/// <summary>
/// Multi-class losses on logits (<see cref="IClassificationLoss"/>): <c>logits</c> N×K with <c>targets</c> (N class
/// indices, or the loss's ignore index) or <c>soft_targets</c> (N×K probability rows, for losses that take them);
/// outputs <c>unreduced</c> (N) and <c>grad_logits</c> (N×K), also written as <c>per_row</c> and <c>gradient</c>.
/// Class weights are a parameter of the loss (<c>weight=[...]</c> in its spec), not an input.
/// </summary>
public sealed class ClassificationKind : LossKind<ClassificationKind, IClassificationLoss>
{
    private ClassificationKind() : base("classification",
    [
        new("logits", "N×K", true, "one row of K logits per sample (−∞ masks a class)"),
        new("targets", "N", false, "class index per row in [0, K), or the loss's ignore_index"),
        new("soft_targets", "N×K", false, "a probability row per sample, instead of targets (losses that take soft targets)") { Optional = true },
    ], LogitsAliases) { }

    protected override LossCall Call<T>(IClassificationLoss classification, LossInputs inputs)
    {
        LossTensor logits = inputs.Required("logits", this);
        var (rows, classes) = Matrix(logits, "logits", "one row of K logits per sample, N×K");
        T[] z = ValuesAs<T>(logits);
        LossTensor? soft = inputs.Optional("soft_targets");
        if (inputs.Optional("targets") is { } targets)
        {
            if (soft is not null)
                throw new ArgumentException("the input has both \"targets\" and \"soft_targets\": give one of them.", "soft_targets");
            int[] y = ClassIndices(targets, rows, rowsFrom: logits);
            return new LogitsCall<T>(rows, classes, BytesOf(z) + BytesOf(y),
                (perRow, gradient) => classification.Compute<T>(z, classes, y, perRow, gradient));
        }
        if (soft is null)
            throw new ArgumentException($"the input has neither \"targets\" nor \"soft_targets\": {Name} losses take {InputsText}.", "targets");
        if (classification is not ISoftTargetLoss softLoss)
            throw new ArgumentException($"{classification.Spec} does not take soft targets; give \"targets\" (class indices).", "soft_targets");
        SameShape(soft, "soft_targets", logits, "logits");
        T[] q = ValuesAs<T>(soft);
        return new LogitsCall<T>(rows, classes, BytesOf(z, q),
            (perRow, gradient) => softLoss.ComputeSoft<T>(z, classes, q, perRow, gradient));
    }

    protected override LossInputs SampleFor(IClassificationLoss loss, SampleSize size, Random random, double scale)
    {
        int classes = loss.FixedWidth ?? size.Width;
        LossTensor targets = RandomClasses(random, size.Rows, classes);
        return new LossInputs { ["logits"] = RandomMatrix(random, size.Rows, classes, scale), ["targets"] = targets };
    }
}
