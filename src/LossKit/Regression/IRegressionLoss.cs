using System.Numerics;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>
/// One call of an element-wise regression loss: the prediction <see cref="Input"/> and the <see cref="Target"/> (same
/// length, any shape flattened row-major), up to two predicted parameters (<see cref="First"/>: <c>var</c>, <c>scale</c>
/// or <c>alpha</c>; <see cref="Second"/>: <c>beta</c>; empty where the loss has none or they are fixed), and the outputs:
/// the unreduced losses and the gradient of the reduced loss by each differentiable input (each empty to skip it).
/// </summary>
public readonly ref struct RegressionBatch<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, Span<T> unreduced = default, Span<T> gradInput = default,
    ReadOnlySpan<T> first = default, Span<T> gradFirst = default, ReadOnlySpan<T> second = default, Span<T> gradSecond = default)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The predictions ŷ.</summary>
    public readonly ReadOnlySpan<T> Input = input;
    /// <summary>The targets y, one per prediction.</summary>
    public readonly ReadOnlySpan<T> Target = target;
    /// <summary>Empty, or one per prediction: receives the unreduced losses.</summary>
    public readonly Span<T> Unreduced = unreduced;
    /// <summary>Empty, or one per prediction: receives ∂(reduced loss)/∂ŷ.</summary>
    public readonly Span<T> GradInput = gradInput;
    /// <summary>The loss's first predicted parameter (<see cref="IRegressionLoss.Predicted"/>[0]), or empty.</summary>
    public readonly ReadOnlySpan<T> First = first;
    /// <summary>Empty, or the first parameter's length: receives its gradient.</summary>
    public readonly Span<T> GradFirst = gradFirst;
    /// <summary>The loss's second predicted parameter, or empty.</summary>
    public readonly ReadOnlySpan<T> Second = second;
    /// <summary>Empty, or the second parameter's length: receives its gradient.</summary>
    public readonly Span<T> GradSecond = gradSecond;
}

/// <summary>
/// An element-wise regression loss: ℓ(ŷ, y) per element (and per element of its predicted parameters), reduced as
/// PyTorch reduces (<c>mean</c> over every element, <c>sum</c>, <c>none</c> returning the sum and the gradient of the
/// sum). Seen through <see cref="RegressionKind"/>: inputs <c>input</c>, <c>target</c> and the loss's predicted
/// parameters by name, outputs <c>unreduced</c> (the input's shape) and <c>grad_input</c>, <c>grad_&lt;parameter&gt;</c>.
/// </summary>
public interface IRegressionLoss : ILoss
{
    /// <summary>The reduction this loss was configured with.</summary>
    Reduction Reduction { get; }

    /// <summary>The predicted parameters this configuration takes beside <c>input</c> and <c>target</c>, in the order of
    /// <see cref="RegressionBatch{T}.First"/> and <see cref="RegressionBatch{T}.Second"/> (e.g. <c>var</c>).</summary>
    IReadOnlyList<LossInput> Predicted { get; }

    /// <summary>Computes the unreduced losses, the reduced loss and its gradients; returns the reduced loss (the sum for
    /// <see cref="Reduction.None"/>). Shapes and domains are checked (messages name the input, the element and the value).</summary>
    T Compute<T>(in RegressionBatch<T> batch) where T : unmanaged, IFloatingPointIeee754<T>;
}
