using System.Numerics;

namespace LossKit.Softmax;

/// <summary>Multi-positive rows: a score row and a set of positive columns per row, in CSR form
/// (positiveOffsets has rows + 1 entries; row n's positives are
/// <c>positiveColumns[positiveOffsets[n] .. positiveOffsets[n+1]]</c>).</summary>
public interface IMultiPositiveLoss : ILoss
{
    /// <summary>Multi-positive losses are seen through <see cref="MultiPositiveKind"/>.</summary>
    LossKind ILoss.Kind => MultiPositiveKind.Instance;

    Reduction Reduction { get; }

    T Compute<T>(ReadOnlySpan<T> scores, int classes, ReadOnlySpan<int> positiveOffsets, ReadOnlySpan<int> positiveColumns,
        Span<T> rowLosses = default, Span<T> gradient = default) where T : unmanaged, IFloatingPointIeee754<T>;
}
