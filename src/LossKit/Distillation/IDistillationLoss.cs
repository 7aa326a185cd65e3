using System.Numerics;
using LossKit.Core;

namespace LossKit.Distillation;

/// <summary>Knowledge distillation: student logits against teacher logits (and class-index targets).</summary>
public interface IDistillationLoss : ILoss
{
    /// <summary>Distillation losses are seen through <see cref="DistillationKind"/>.</summary>
    LossKind ILoss.Kind => DistillationKind.Instance;

    Reduction Reduction { get; }

    T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> teacherLogits, ReadOnlySpan<int> targets,
        Span<T> rowLosses = default, Span<T> gradient = default) where T : unmanaged, IFloatingPointIeee754<T>;
}
