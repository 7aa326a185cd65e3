using System.Globalization;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Binary;

/// <summary>
/// Base of every binary and multi-label loss: one logit s per output and a target t ∈ [0, 1] of the same shape
/// (any shape, flattened row-major). Holds the reduction, the card and the spec; <see cref="ElementwiseBinaryLoss"/>
/// adds the shared fused element-wise kernel, and the batch-level losses (<c>auc_m</c>,
/// <c>anyloss</c>, <c>ensloss</c>) implement <see cref="Compute{T}"/> themselves.
/// </summary>
public abstract class BinaryLoss : IBinaryLoss
{
    /// <param name="reduction">none, sum or mean (mean divides by the number of elements, as PyTorch does).</param>
    protected BinaryLoss(Reduction reduction)
    {
        Reduction = CommonParameters.Resolve(reduction);
    }

    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <inheritdoc/>
    public Reduction Reduction { get; }

    /// <summary>The properties this configured loss has (the card's, less any an option breaks).</summary>
    public virtual LossProperties Properties => Card.Properties;

    /// <summary>The largest logit magnitude for which this loss's value and gradient are finite in float (and so in
    /// double): 1e30 for most; the squared hinge (growing like s²) and the exponential loss (like e^{β|s|}) say less.</summary>
    public virtual double FiniteLogitScale => 1e30;

    /// <summary>The number of columns (outputs per row) this configuration requires, or null for any shape.
    /// Per-column options (<c>pos_weight</c>, <c>weight</c>) fix it.</summary>
    public virtual int? FixedColumnCount => null;

    double ILoss.FiniteInputScale => FiniteLogitScale;
    int? ILoss.FixedWidth => FixedColumnCount;

    /// <summary>True when the loss couples the elements of a batch (its value is not a sum of per-element terms of
    /// each element alone). The per-element losses of such a loss are shares that add up to the batch value.</summary>
    public virtual bool IsBatchLevel => false;

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <summary>The reduction; a loss adds its own parameters' values (a batch-level loss whose reduction is fixed
    /// replaces it).</summary>
    public virtual IEnumerable<ParameterValue> ParameterValues => [BinaryParameters.Reduction.Of(Reduction)];

    /// <inheritdoc/>
    public override string ToString() => Spec;

    /// <summary>Computes the per-element losses, the reduced loss and ∂(reduced loss)/∂s.</summary>
    /// <param name="logits">One logit s per output, any shape flattened row-major; float, double or Half.</param>
    /// <param name="targets">t ∈ [0, 1] per output (NaN or a value outside [0, 1] is an <see cref="ArgumentException"/>
    /// naming the index and the value), same length as <paramref name="logits"/>.</param>
    /// <param name="elementLosses">Empty, or the logits' length: receives the unreduced per-element losses.</param>
    /// <param name="gradient">Empty (forward only), or the logits' length: receives ∂(reduced loss)/∂s.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    public abstract T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Shape and target checks shared by the binary losses; every message names the argument and the values.</summary>
internal static class BinaryInput
{
    /// <summary>Checks the lengths; <paramref name="columns"/> &gt; 1 (fixed by per-column options named
    /// <paramref name="columnsFrom"/>) requires a whole number of rows.</summary>
    public static void CheckShape(int logits, int targets, int elementLosses, int gradient, int columns = 1, string columnsFrom = "")
    {
        if (logits == 0) throw new ArgumentException("logits is empty: a batch needs at least one value.", nameof(logits));
        if (targets != logits)
            throw new ArgumentException($"targets has {targets} values but logits has {logits}; give one target per logit (the same shape).", nameof(targets));
        if (columns > 1 && logits % columns != 0)
            throw new ArgumentException($"logits has {logits} values, which is not a whole number of rows of {columns} columns ({columnsFrom} has {columns} values, one per column).", nameof(logits));
        if (elementLosses != 0 && elementLosses != logits)
            throw new ArgumentException($"elementLosses has {elementLosses} values; expected {logits} (one per logit) or none.", nameof(elementLosses));
        if (gradient != 0 && gradient != logits)
            throw new ArgumentException($"gradient has {gradient} values; expected {logits} (the logits' shape) or none.", nameof(gradient));
    }

    /// <summary>The exception for a target that is NaN or outside [0, 1], naming its index (and row and column when the
    /// loss has a fixed column count).</summary>
    public static RowException BadTarget(int index, double value, int columns)
    {
        string where = columns > 1 ? $"targets[row {index / columns}, column {index % columns}]" : $"targets[{index}]";
        return new RowException("targets", index,
            $"{where} = {value.ToString("G9", CultureInfo.InvariantCulture)} is not a probability: expected a number in [0, 1].");
    }

    /// <summary>Reads t as double and checks it is in [0, 1].</summary>
    public static double Target<T>(ReadOnlySpan<T> targets, int i, int columns = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double t = double.CreateTruncating(targets[i]);
        if (!(t >= 0 && t <= 1)) throw BadTarget(i, t, columns);
        return t;
    }
}
