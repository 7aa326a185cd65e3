using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>
/// Base of the element-wise binary losses (<c>ℓ = Σ_i w_c·ℓ(s_i, t_i)</c> with an optional per-column weight):
/// <c>bce</c>, <c>sigmoid_focal</c>, the margin losses and <c>asl</c>. They share one fused, vectorised,
/// parallel, deterministic kernel and differ only in a scalar function struct giving ℓ(s, t) and ∂ℓ/∂s.
/// </summary>
/// <remarks>
/// Reductions follow PyTorch: <c>mean</c> divides by the number of elements N (also with weights), <c>sum</c> adds,
/// <c>none</c> returns the sum and the gradient of the sum. Targets must be in [0, 1] (NaN or a value outside is an
/// <see cref="ArgumentException"/> naming its index and value). NaN logits make that element's loss and gradient
/// NaN (and so the reduced loss); the per-element losses say which. ±∞ logits give the limits.
/// </remarks>
public abstract class ElementwiseBinaryLoss : BinaryLoss
{
    private readonly double[]? _weight;
    private readonly double[]? _posWeight;
    private readonly int _columns;
    private readonly string _columnsFrom = "";
    private readonly ElementwiseKernel.Tiles _tiles;

    /// <param name="reduction">none, sum or mean.</param>
    /// <param name="weight">Optional per-column weight w_c (one value, or one per column), each finite and ≥ 0.</param>
    /// <param name="posWeight">Optional per-column positive weight (one value, or one per column), each finite and ≥ 0.</param>
    protected ElementwiseBinaryLoss(Reduction reduction, IReadOnlyList<double>? weight = null, IReadOnlyList<double>? posWeight = null)
        : base(reduction)
    {
        _weight = BinaryParameters.Weight.Resolve(weight);
        _posWeight = BinaryParameters.PosWeight.Resolve(posWeight);
        int wc = _weight?.Length ?? 1, pc = _posWeight?.Length ?? 1;
        if (wc > 1 && pc > 1 && wc != pc)
            throw new ArgumentException($"weight has {wc} values but pos_weight has {pc}; both are per column, so give the same number (or one value for all).", nameof(weight));
        _columns = Math.Max(wc, pc);
        if (_columns > 1) _columnsFrom = pc > 1 ? "pos_weight" : "weight";
        _tiles = new ElementwiseKernel.Tiles(_posWeight, _weight, _columns);
    }

    /// <summary>The per-column weight, or null.</summary>
    public IReadOnlyList<double>? Weight => _weight;

    /// <summary>The per-column positive weight, or null.</summary>
    public IReadOnlyList<double>? PosWeight => _posWeight;

    /// <inheritdoc/>
    public override int? FixedColumnCount => _columns > 1 ? _columns : null;

    /// <inheritdoc/>
    public sealed override T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
    {
        BinaryInput.CheckShape(logits.Length, targets.Length, elementLosses.Length, gradient.Length, _columns, _columnsFrom);
        return Evaluate(logits, targets, elementLosses, gradient);
    }

    /// <summary>Runs the shared kernel with this loss's element function (shapes are already checked).</summary>
    protected abstract T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The kernel call for subclasses: <c>ElementwiseKernel.Run(op, ...)</c> with this loss's patterns and reduction.</summary>
    private protected T Run<T, TOp>(TOp op, ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IBinaryElementOp
    {
        return ElementwiseKernel.Run(op, _tiles, Reduction, logits, targets, elementLosses, gradient);
    }

    /// <summary>A card of this family: the element-wise kernel's family name and the reduction parameter last.</summary>
    private protected static LossCard ElementCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("binary element-wise (fused sigmoid/margin kernel)", name, title, formula, gradient, reference, properties,
            [.. parameters, BinaryParameters.Reduction], notes);
}

/// <summary>Parameters shared by the binary losses: the common <c>reduction</c> and <c>weight</c> with their binary
/// meaning (per element, per column), and BCE's <c>pos_weight</c>.</summary>
public static class BinaryParameters
{
    public static readonly LossParameter Reduction = CommonParameters.Reduction with
    {
        Description = "mean divides by the number of elements N (PyTorch, also with weights); none returns per-element losses",
    };

    public static readonly LossParameter Weight = CommonParameters.Weight with
    {
        Description = "per-column weight w_c multiplying each element's loss (one value, or one per column); the mean still divides by N",
    };

    public static readonly LossParameter PosWeight = new("pos_weight", ParameterKind.NumberList,
        "per-column weight p_c of the positive term (one value, or one per column), PyTorch BCEWithLogitsLoss") { Min = 0 };
}
