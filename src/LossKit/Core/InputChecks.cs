using System.Numerics;

namespace LossKit.Core;

/// <summary>Argument checks shared by every loss; each message names the argument, the values and what is valid.</summary>
public static class InputChecks
{
    /// <summary>Checks that logits hold <paramref name="rows"/> × <paramref name="classes"/> values and that the
    /// optional outputs are empty or of the right length; returns rows.</summary>
    internal static int Shape(int logitsLength, int classes, int rows, string rowsFrom, int rowLossesLength, int gradientLength)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes = {classes}: expected at least 1.");
        if (rows == 0) throw new ArgumentException($"{rowsFrom} is empty: a batch needs at least one row.", rowsFrom);
        if ((long)rows * classes != logitsLength)
            throw new ArgumentException(logitsLength % classes == 0
                ? $"logits has {logitsLength / classes} rows of {classes} classes ({logitsLength} values) but {rowsFrom} has {rows} rows; give one row of logits per row of {rowsFrom}."
                : $"logits has {logitsLength} values, not a whole number of rows of {classes} classes; {rowsFrom} has {rows} rows, so logits needs {rows} × {classes} = {(long)rows * classes}.", "logits");
        if (rowLossesLength != 0 && rowLossesLength != rows)
            throw new ArgumentException($"rowLosses has {rowLossesLength} values; expected {rows} (one per row) or none.", "rowLosses");
        if (gradientLength != 0 && gradientLength != logitsLength)
            throw new ArgumentException($"gradient has {gradientLength} values; expected {logitsLength} (the logits' shape, {rows} × {classes}) or none.", "gradient");
        return rows;
    }

    /// <summary>Checks logits of whole rows of <paramref name="classes"/> and a destination of the same shape (a loss's
    /// model probabilities); returns the rows.</summary>
    internal static int ProbabilityShape(int logitsLength, int classes, int destinationLength)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes = {classes}: expected at least 1.");
        if (logitsLength % classes != 0)
            throw new ArgumentException($"logits has {logitsLength} values, not a multiple of classes = {classes}.", "logits");
        if (destinationLength != logitsLength)
            throw new ArgumentException($"destination has {destinationLength} values; expected {logitsLength} (the logits' shape).", "destination");
        return logitsLength / classes;
    }

    /// <summary>Throws an <see cref="RowException"/> naming the first row and column whose logit is NaN or +∞
    /// (−∞ is allowed: it masks a class). Losses themselves propagate NaN to the row's loss instead.</summary>
    public static void RequireFinite<T>(ReadOnlySpan<T> logits, int classes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes = {classes}: expected at least 1.");
        for (int i = 0; i < logits.Length; i++)
        {
            T v = logits[i];
            if (T.IsNaN(v) || T.IsPositiveInfinity(v))
                throw new RowException(nameof(logits), i / classes, $"logits[row {i / classes}, class {i % classes}] = {v}: expected a finite number or −∞.");
        }
    }
}
