using System.Numerics;

namespace LossKit.Distillation;

/// <summary>Knowledge distillation: student logits against teacher logits (and class-index targets).</summary>
public interface IDistillationLoss : ILoss
{
    /// <summary>Distillation losses are seen through <see cref="DistillationKind"/>.</summary>
    LossKind ILoss.Kind => DistillationKind.Instance;

    /// <summary>The reduction this loss was configured with.</summary>
    Reduction Reduction { get; }

    /// <summary>Computes the loss of the student's row-major <paramref name="logits"/> <c>[rows, classes]</c> against the
    /// teacher's <paramref name="teacherLogits"/> (same shape) and class-index <paramref name="targets"/> (length rows).</summary>
    /// <param name="logits">The student's logits, rows × classes; float, double or Half.</param>
    /// <param name="classes">Columns per row (K ≥ 1).</param>
    /// <param name="teacherLogits">The teacher's logits, the shape of <paramref name="logits"/> (not trained: no gradient).</param>
    /// <param name="targets">One class index per row, in [0, K), or the loss's ignore index.</param>
    /// <param name="rowLosses">Empty, or length rows: receives the unreduced per-row losses.</param>
    /// <param name="gradient">Empty (forward only), or length rows × classes: receives ∂(reduced loss)/∂logits.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> teacherLogits, ReadOnlySpan<int> targets, Span<T> rowLosses = default,
        Span<T> gradient = default) where T : unmanaged, IFloatingPointIeee754<T>;
}
