using System.Numerics;

namespace LossKit.Core;

/// <summary>Any LossKit loss: immutable, described by a <see cref="LossCard"/>.</summary>
public interface ILoss
{
    /// <summary>What the loss is: formula, parameters, reference, properties.</summary>
    LossCard Card { get; }

    /// <summary>The spec string that rebuilds this loss, e.g. <c>focal(gamma=3)</c>: the non-default values of
    /// <see cref="ParameterValues"/> in the card's order (<see cref="LossSpec.Of"/>).</summary>
    string Spec { get; }

    /// <summary>The value this loss was configured with for each parameter of its card (absent lists as null values).</summary>
    IEnumerable<ParameterValue> ParameterValues => [];

    /// <summary>The properties this configured loss has: the card's, less any an option breaks (plus any an option adds).</summary>
    LossProperties Properties => Card.Properties;

    /// <summary>The largest magnitude of the differentiable inputs for which loss and gradient stay finite (1e30 for
    /// most losses; one that grows exponentially in its inputs says less).</summary>
    double FiniteInputScale => 1e30;

    /// <summary>The width (classes, outputs per sample) this configuration requires — per-class or per-column options fix
    /// it — or null for any.</summary>
    int? FixedWidth => null;

    /// <summary>The kind of loss: its named inputs and outputs, and how a consumer that knows only <see cref="ILoss"/>
    /// (the command line, the checkers, the benchmarks) runs it.</summary>
    LossKind Kind { get; }
}

/// <summary>
/// A multi-class loss on logits with class-index targets. One call computes per-row losses, the reduced
/// loss and the exact gradient of the reduced loss, reading each row of logits once.
/// </summary>
public interface IClassificationLoss : ILoss
{
    /// <summary>Multi-class losses are seen through <see cref="ClassificationKind"/>.</summary>
    LossKind ILoss.Kind => ClassificationKind.Instance;
    double ILoss.FiniteInputScale => FiniteLogitScale;
    int? ILoss.FixedWidth => FixedClassCount;

    /// <summary>The reduction this loss was configured with.</summary>
    Reduction Reduction { get; }

    /// <summary>Computes the loss of row-major <paramref name="logits"/> <c>[rows, classes]</c> against
    /// class-index <paramref name="targets"/> (length rows).</summary>
    /// <param name="logits">Row-major logits, length rows × classes; float, double or Half.</param>
    /// <param name="classes">Columns per row (K ≥ 1).</param>
    /// <param name="targets">One class index per row, in [0, K), or the loss's ignore index.</param>
    /// <param name="rowLosses">Empty, or length rows: receives the unreduced per-row losses.</param>
    /// <param name="gradient">Empty (forward only), or length rows × classes: receives ∂(reduced loss)/∂logits.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The number of classes this configuration requires (class weights fix it), or null.</summary>
    int? FixedClassCount => null;

    /// <summary>The largest logit magnitude for which loss and gradient are finite (1e30 for most losses).</summary>
    double FiniteLogitScale => 1e30;
}

/// <summary>A multi-class loss that also accepts soft targets (a probability row per sample).</summary>
public interface ISoftTargetLoss : IClassificationLoss
{
    /// <summary>Like <see cref="IClassificationLoss.Compute{T}"/> with <paramref name="softTargets"/>
    /// (<c>[rows, classes]</c>, each row non-negative and summing to 1 within 1e-3) instead of indices.</summary>
    T ComputeSoft<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A loss with trainable state of its own (e.g. <c>auc_m</c>'s a, b, α). A training loop calls
/// <see cref="Step"/> after each optimiser step, with that step's learning rate.</summary>
public interface IStatefulLoss : ILoss
{
    /// <summary>Updates the state from the gradient recorded by the last training-batch call.</summary>
    void Step(double learningRate);
}
