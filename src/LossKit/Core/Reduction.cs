namespace LossKit.Core;

/// <summary>How per-row losses are combined (PyTorch's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>No reduction: per-row losses are the result. The returned scalar is their sum and the
    /// gradient is that of the sum (each row's own gradient), i.e. PyTorch's <c>backward(ones)</c>.</summary>
    None,
    /// <summary>Σ_n ℓ_n.</summary>
    Sum,
    /// <summary>Σ_n ℓ_n / D, D = Σ_n w_{y_n} over rows that are not ignored (N for soft targets).
    /// D = 0 (every row ignored) gives 0 and a zero gradient; PyTorch gives NaN.</summary>
    Mean,
}
