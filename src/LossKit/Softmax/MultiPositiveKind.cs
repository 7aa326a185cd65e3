using System.Numerics;
using LossKit.Core;

namespace LossKit.Softmax;

/// <summary>
/// Multi-positive rows (<see cref="IMultiPositiveLoss"/>): score <c>logits</c> N×K and <c>positives</c>, an N×K
/// multi-hot matrix (1 marks a positive column, 0 the others); outputs <c>unreduced</c> (N) and <c>grad_logits</c>, also
/// written as <c>per_row</c> and <c>gradient</c>. The library call takes the positives in CSR form; this kind converts.
/// </summary>
public sealed class MultiPositiveKind : LossKind
{
    public static MultiPositiveKind Instance { get; } = new();

    private MultiPositiveKind() { }

    public override string Name => "multi-positive";

    public override IReadOnlyList<LossInput> Inputs { get; } =
    [
        new("logits", "N×K", true, "one row of K scores per sample"),
        new("positives", "N×K", false, "multi-hot: 1 where the column is a positive of the row, else 0"),
    ];

    public override IReadOnlyDictionary<string, string> OutputAliases { get; } =
        new Dictionary<string, string> { ["per_row"] = "unreduced", ["gradient"] = "grad_logits" };

    public override LossCall Prepare<T>(ILoss loss, LossInputs inputs)
    {
        var multi = Expect<IMultiPositiveLoss>(loss);
        LossTensor logits = inputs.Required("logits", this), positives = inputs.Required("positives", this);
        if (logits.Rank != 2) throw new ArgumentException($"logits has shape {logits.ShapeText}: expected N×K.", "logits");
        int rows = logits.Shape[0], classes = logits.Shape[1];
        if (positives.Rank != 2 || positives.Shape[0] != rows || positives.Shape[1] != classes)
            throw new ArgumentException($"positives has shape {positives.ShapeText} but logits has {logits.ShapeText}; give a multi-hot row per row of logits.", "positives");
        int[] mask = positives.AsIntegers("positives");
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
        return new Call<T>(multi, ValuesAs<T>(logits), offsets, [.. columns], rows, classes);
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<IMultiPositiveLoss>(loss);
        var positives = new double[size.Rows * size.Width];
        for (int r = 0; r < size.Rows; r++)
        {
            positives[r * size.Width + random.Next(size.Width)] = 1;
            for (int k = 0; k < size.Width; k++) if (random.NextDouble() < 0.2) positives[r * size.Width + k] = 1;
        }
        return new LossInputs
        {
            ["logits"] = LossTensor.Matrix(RandomValues(random, size.Rows * size.Width, scale), size.Rows, size.Width),
            ["positives"] = LossTensor.Matrix(positives, size.Rows, size.Width),
        };
    }

    private sealed class Call<T>(IMultiPositiveLoss loss, T[] logits, int[] offsets, int[] columns, int rows, int classes) : LossCall
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _rowLosses = new T[rows];
        private readonly T[] _gradient = new T[logits.Length];
        private T _loss;

        public override double Run(bool gradients = true)
        {
            _loss = loss.Compute<T>(logits, classes, offsets, columns, gradients ? _rowLosses : default, gradients ? _gradient : default);
            return double.CreateTruncating(_loss);
        }

        public override LossOutputs Outputs() => new(double.CreateTruncating(_loss), ToTensor(_rowLosses, rows),
            new Dictionary<string, LossTensor> { ["logits"] = ToTensor(_gradient, rows, classes) });

        public override long Bytes(bool gradients) =>
            System.Runtime.CompilerServices.Unsafe.SizeOf<T>() * (long)logits.Length * (gradients ? 2 : 1) + 4L * (offsets.Length + columns.Length);
    }
}
