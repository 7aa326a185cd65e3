using System.Numerics;
using LossKit.Core;

namespace LossKit.Binary;

/// <summary>
/// A binary or multi-label loss: one logit per output, a target in [0, 1] per output (same shape as the logits).
/// Batch-level losses (whose value depends on the whole batch) implement this too.
/// </summary>
public interface IBinaryLoss : ILoss
{
    /// <summary>Binary and multi-label losses are seen through <see cref="BinaryKind"/>.</summary>
    LossKind ILoss.Kind => BinaryKind.Instance;

    Reduction Reduction { get; }

    /// <param name="logits">One logit s per output, any shape flattened.</param>
    /// <param name="targets">t ∈ [0, 1] per output, same length.</param>
    /// <param name="elementLosses">Empty, or the logits' length: unreduced per-output losses.</param>
    /// <param name="gradient">Empty, or the logits' length: ∂(reduced loss)/∂s.</param>
    T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>;
}
