namespace LossKit.Divergence;

/// <summary>
/// Divergences between distributions (<see cref="DivergenceLoss"/>): <c>input</c> N×K, the model's log-probabilities
/// (as PyTorch's <c>KLDivLoss</c>), and <c>target</c> N×K, probabilities (log-probabilities with <c>log_target=true</c>);
/// outputs <c>unreduced</c> (N×K for <c>kl</c>, as PyTorch; N for the others) and <c>grad_input</c>.
/// </summary>
public sealed class DivergenceKind : LossKind<DivergenceKind, DivergenceLoss>
{
    private DivergenceKind() : base("divergence",
    [
        new("input", "N×K", true, "the model's log-probabilities, one row per distribution"),
        new("target", "N×K", false, "the target distribution per row: probabilities, or log-probabilities with log_target=true"),
    ]) { }

    protected override LossCall Call<T>(DivergenceLoss divergence, LossInputs inputs)
    {
        var (input, target, rows, classes) = MatrixAndLike(inputs, "input", "one row of K log-probabilities per distribution, N×K", "target");
        T[] x = ValuesAs<T>(input), p = ValuesAs<T>(target);
        int[] unreducedShape = divergence.ElementwiseUnreduced ? [rows, classes] : [rows];
        return new LogitsCall<T>([rows, classes], unreducedShape, BytesOf(x, p),
            (unreduced, gradient) => divergence.Compute<T>(x, classes, p, unreduced, gradient), "input");
    }

    protected override LossInputs SampleFor(DivergenceLoss divergence, SampleSize size, Random random, double scale)
    {
        LossTensor input = RandomMatrix(random, size.Rows, size.Width, scale), target = RandomMatrix(random, size.Rows, size.Width, 2);
        LogSoftmaxRows(input.Values, size.Width, exponentiate: false);
        LogSoftmaxRows(target.Values, size.Width, exponentiate: !divergence.LogTarget);
        return new LossInputs { ["input"] = input, ["target"] = target };
    }

    /// <summary>Each row of <paramref name="values"/> becomes its log-softmax (its softmax with <paramref name="exponentiate"/>).</summary>
    private static void LogSoftmaxRows(double[] values, int width, bool exponentiate)
    {
        for (int start = 0; start < values.Length; start += width)
        {
            Span<double> row = values.AsSpan(start, width);
            double max = double.NegativeInfinity, sum = 0;
            foreach (double v in row) max = Math.Max(max, v);
            foreach (double v in row) sum += Math.Exp(v - max);
            double logSum = max + Math.Log(sum);
            for (int j = 0; j < row.Length; j++) row[j] = exponentiate ? Math.Exp(row[j] - logSum) : row[j] - logSum;
        }
    }
}
