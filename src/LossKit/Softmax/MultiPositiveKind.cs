namespace LossKit.Softmax;

/// <summary>
/// Multi-positive rows (<see cref="IMultiPositiveLoss"/>): score <c>logits</c> N×K and <c>positives</c>, an N×K
/// multi-hot matrix (1 marks a positive column, 0 the others); outputs <c>unreduced</c> (N) and <c>grad_logits</c>, also
/// written as <c>per_row</c> and <c>gradient</c>. The library call takes the positives in CSR form; this kind converts.
/// </summary>
public sealed class MultiPositiveKind : LossKind<MultiPositiveKind, IMultiPositiveLoss>
{
    private MultiPositiveKind() : base("multi-positive",
    [
        new("logits", "N×K", true, "one row of K scores per sample"),
        new("positives", "N×K", false, "multi-hot: 1 where the column is a positive of the row, else 0"),
    ], LogitsAliases) { }

    protected override LossCall Call<T>(IMultiPositiveLoss multi, LossInputs inputs)
    {
        var (logits, positives, rows, classes) = MatrixAndLike(inputs, "logits", "one row of K scores per sample, N×K", "positives");
        var (offsets, columns) = Csr(positives.AsIntegers("positives"), rows, classes);
        T[] z = ValuesAs<T>(logits);
        return new LogitsCall<T>(rows, classes, BytesOf(z) + BytesOf(offsets, columns),
            (perRow, gradient) => multi.Compute<T>(z, classes, offsets, columns, perRow, gradient));
    }

    /// <summary>The positive columns of a multi-hot matrix in CSR form: row offsets (rows + 1) and column indices.</summary>
    private static (int[] Offsets, int[] Columns) Csr(int[] mask, int rows, int classes)
    {
        var offsets = new int[rows + 1];
        var columns = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < classes; k++)
            {
                int v = mask[r * classes + k];
                if (v is not (0 or 1)) throw new RowException("positives", r, $"positives[{r}, {k}] = {v}: expected 0 or 1 (multi-hot).");
                if (v == 1) columns.Add(k);
            }
            offsets[r + 1] = columns.Count;
        }
        return (offsets, [.. columns]);
    }

    /// <summary>Each row has one positive column at random and every other column is a positive with probability 0.2.</summary>
    protected override LossInputs SampleFor(IMultiPositiveLoss loss, SampleSize size, Random random, double scale)
    {
        var positives = new double[size.Rows * size.Width];
        for (int r = 0; r < size.Rows; r++)
        {
            positives[r * size.Width + random.Next(size.Width)] = 1;
            for (int k = 0; k < size.Width; k++) if (random.NextDouble() < 0.2) positives[r * size.Width + k] = 1;
        }
        return new LossInputs
        {
            ["logits"] = RandomMatrix(random, size.Rows, size.Width, scale),
            ["positives"] = LossTensor.Matrix(positives, size.Rows, size.Width),
        };
    }
}
