using System.Numerics;

namespace LossKit.Core;

/// <summary>The library call of a loss on prepared inputs: writes the unreduced losses into
/// <paramref name="unreduced"/> and ∂(reduced loss)/∂logits into <paramref name="gradient"/> (either may be empty, to
/// skip it) and returns the reduced loss.</summary>
public delegate T LogitsCompute<T>(Span<T> unreduced, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The <see cref="LossCall"/> of every kind whose one differentiable input is <c>logits</c> (classification, binary,
/// distillation, multi-positive): it owns the buffers of the unreduced losses and of ∂/∂logits, hands them to the
/// library call (or empty spans, as the <see cref="RunOutputs"/> of the run ask), and reads them back as
/// <c>unreduced</c> and <c>grad_logits</c>. A kind passes its library call as a lambda over its converted inputs.
/// </summary>
public sealed class LogitsCall<T> : LossCall where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _logitsShape, _unreducedShape;
    private readonly long _inputBytes;
    private readonly LogitsCompute<T> _compute;
    private readonly T[] _unreduced, _gradient;
    private readonly string _inputName;
    private T _loss;

    /// <param name="logitsShape">The shape of <c>logits</c>, and so of <c>grad_logits</c>.</param>
    /// <param name="unreducedShape">The shape of the unreduced losses (what <c>reduction=none</c> returns).</param>
    /// <param name="inputBytes">The bytes of all inputs a run reads (the logits and the targets in whatever form).</param>
    /// <param name="compute">The library call.</param>
    /// <param name="inputName">The name of the one differentiable input (<c>logits</c>; a divergence's <c>input</c>):
    /// its gradient is written as <c>grad_&lt;inputName&gt;</c>.</param>
    public LogitsCall(int[] logitsShape, int[] unreducedShape, long inputBytes, LogitsCompute<T> compute, string inputName = "logits")
    {
        (_logitsShape, _unreducedShape, _inputBytes, _compute, _inputName) = (logitsShape, unreducedShape, inputBytes, compute, inputName);
        _unreduced = OutputBuffer<T>(ElementCount(unreducedShape));
        _gradient = OutputBuffer<T>(ElementCount(logitsShape));
    }

    /// <summary>The call of a loss with one loss per row of an N×K input (<c>unreduced</c> N, the gradient N×K).</summary>
    /// <param name="rows">N.</param>
    /// <param name="columns">K.</param>
    /// <param name="inputBytes">The bytes of all inputs a run reads.</param>
    /// <param name="compute">The library call.</param>
    /// <param name="inputName">The name of the one differentiable input.</param>
    public LogitsCall(int rows, int columns, long inputBytes, LogitsCompute<T> compute, string inputName = "logits")
        : this([rows, columns], [rows], inputBytes, compute, inputName) { }

    /// <inheritdoc/>
    public override double Run(RunOutputs outputs)
    {
        _loss = _compute(outputs == RunOutputs.All ? _unreduced : default, outputs == RunOutputs.Loss ? default : _gradient);
        return double.CreateTruncating(_loss);
    }

    /// <inheritdoc/>
    public override LossOutputs Outputs() => new(double.CreateTruncating(_loss), LossTensor.From<T>(_unreduced, _unreducedShape),
        new Dictionary<string, LossTensor> { [_inputName] = LossTensor.From<T>(_gradient, _logitsShape) });

    /// <inheritdoc/>
    public override long Bytes(RunOutputs outputs) => RunBytes<T>(outputs, _inputBytes, _gradient.Length, _unreduced.Length);
}
