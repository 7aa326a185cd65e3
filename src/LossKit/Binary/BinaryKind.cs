namespace LossKit.Binary;

/// <summary>
/// Binary and multi-label losses (<see cref="IBinaryLoss"/>): <c>logits</c> of any shape (N for one output per sample,
/// N×C for C outputs) and <c>targets</c> in [0, 1] of the same shape — for one logit per row (N×1) also a flat list of
/// N; outputs <c>unreduced</c> and <c>grad_logits</c> in the logits' shape, also written as <c>per_row</c> and
/// <c>gradient</c>. Per-output weights (<c>weight</c>, <c>pos_weight</c>) are parameters of the loss.
/// </summary>
public sealed class BinaryKind : LossKind<BinaryKind, IBinaryLoss>
{
    private BinaryKind() : base("binary",
    [
        new("logits", "N or N×C", true, "one logit per output"),
        new("targets", "same as logits", false, "target in [0, 1] per output (N also for N×1 logits)"),
    ], LogitsAliases) { }

    protected override LossCall Call<T>(IBinaryLoss binary, LossInputs inputs)
    {
        LossTensor logits = inputs.Required("logits", this), targets = inputs.Required("targets", this);
        if (!IsColumnOf(logits, targets) && !IsColumnOf(targets, logits)) SameShape(targets, "targets", logits, "logits");
        T[] s = ValuesAs<T>(logits), t = ValuesAs<T>(targets);
        return new LogitsCall<T>(logits.Shape, logits.Shape, BytesOf(s, t),
            (unreduced, gradient) => binary.Compute<T>(s, t, unreduced, gradient));
    }

    /// <summary>True when <paramref name="column"/> is N×1 and <paramref name="flat"/> has N values in one dimension.</summary>
    private static bool IsColumnOf(LossTensor column, LossTensor flat) =>
        column.Rank == 2 && column.Shape[1] == 1 && flat.Rank == 1 && flat.Length == column.Shape[0];

    /// <summary>Targets 0 or 1 and logits in ±<paramref name="scale"/>, one per output.</summary>
    protected override LossInputs SampleFor(IBinaryLoss loss, SampleSize size, Random random, double scale)
    {
        var (shape, count) = ElementShape(size.Rows, loss.FixedWidth ?? size.Width);
        double[] targets = RandomIndices(random, count, 2);
        return new LossInputs
        {
            ["logits"] = new LossTensor(RandomValues(random, count, scale), shape),
            ["targets"] = new LossTensor(targets, shape),
        };
    }
}
