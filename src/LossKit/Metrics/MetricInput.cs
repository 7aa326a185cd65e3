using System.Numerics;
using LossKit.Core;

namespace LossKit.Metrics;

/// <summary>Argument checks shared by the metrics. Every message names the argument, the offending value (and row
/// where there is one) and what was expected.</summary>
internal static class MetricInput
{
    /// <summary>Checks <c>[rows, classes]</c> logits against one label per row and returns the row count.</summary>
    public static int Validate<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, string labelsName = "labels")
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = Shape(logits, classes);
        if (labels.Length != rows)
            throw new ArgumentException(
                $"{labelsName} has {labels.Length} values but logits has {rows} rows ({logits.Length} values / {classes} classes); expected one label per row ({rows}).",
                labelsName);
        for (int r = 0; r < labels.Length; r++)
        {
            int y = labels[r];
            if ((uint)y >= (uint)classes)
                throw new RowException(labelsName, r,
                    $"{labelsName}[{r}] = {y} (row {r}) is out of range; expected a class index in [0, {classes}).");
        }
        return rows;
    }

    /// <summary>Checks that <paramref name="logits"/> is a non-empty whole number of rows of <paramref name="classes"/>.</summary>
    public static int Shape<T>(ReadOnlySpan<T> logits, int classes)
    {
        if (classes < 1)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes is {classes}; expected at least 1.");
        if (logits.IsEmpty)
            throw new ArgumentException($"logits is empty; expected at least one row of {classes} classes.", nameof(logits));
        if (logits.Length % classes != 0)
            throw new ArgumentException(
                $"logits has {logits.Length} values, which is not a whole number of rows of {classes} classes; expected a multiple of {classes}.",
                nameof(logits));
        return logits.Length / classes;
    }

    public static void Bins(int bins)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, $"bins is {bins}; expected at least 1.");
    }

    public static bool AnyNaN<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (T v in x)
            if (T.IsNaN(v)) return true;
        return false;
    }

    /// <summary>Index of the largest value of a row; ties go to the lowest index (like numpy's argmax).
    /// The row must not contain NaN.</summary>
    public static int ArgMax<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int best = 0;
        T max = row[0];
        for (int j = 1; j < row.Length; j++)
            if (row[j] > max) { max = row[j]; best = j; }
        return best;
    }

    /// <summary>Equal-width bin of a probability: bin b covers (b/B, (b+1)/B] with the edges computed as
    /// <c>(double)b / B</c>; 0 (and anything below it) goes to bin 0, anything above 1 to bin B − 1.</summary>
    public static int BinOf(double c, int bins)
    {
        double scaled = Math.Ceiling(c * bins) - 1;
        int b = scaled < 0 ? 0 : scaled >= bins - 1 ? bins - 1 : (int)scaled;
        // Make the result agree exactly with the edges b/B as doubles, whatever rounding c·B suffered.
        while (b > 0 && c <= (double)b / bins) b--;
        while (b < bins - 1 && c > (double)(b + 1) / bins) b++;
        return b;
    }
}
