using System.Numerics;

namespace LossKit.Core;

/// <summary>The library call of a loss with several differentiable inputs, on prepared inputs: writes the unreduced
/// losses into <paramref name="unreduced"/> and ∂(reduced loss)/∂input i into <paramref name="gradients"/>[i] (each may be
/// empty, to skip it) and returns the reduced loss.</summary>
public delegate T GradientsCompute<T>(Span<T> unreduced, ReadOnlySpan<Memory<T>> gradients) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The <see cref="LossCall"/> of a kind with several differentiable inputs (preference pairs: the chosen and the rejected
/// log-probabilities): it owns the buffers of the unreduced losses and of each gradient, hands them to the library call
/// (or empty ones, as the <see cref="RunOutputs"/> of the run ask), and reads them back as <c>unreduced</c> and
/// <c>grad_&lt;name&gt;</c>.
/// </summary>
public sealed class GradientsCall<T> : LossCall where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly (string Name, int[] Shape)[] _inputs;
    private readonly int[] _unreducedShape;
    private readonly long _inputBytes;
    private readonly GradientsCompute<T> _compute;
    private readonly T[] _unreduced;
    private readonly Memory<T>[] _gradients, _none;
    private T _loss;

    /// <param name="inputs">The differentiable inputs by name and shape, in the order the call takes their gradients.</param>
    /// <param name="unreducedShape">The shape of the unreduced losses.</param>
    /// <param name="inputBytes">The bytes of all inputs a run reads.</param>
    /// <param name="compute">The library call.</param>
    public GradientsCall((string Name, int[] Shape)[] inputs, int[] unreducedShape, long inputBytes, GradientsCompute<T> compute)
    {
        (_inputs, _unreducedShape, _inputBytes, _compute) = (inputs, unreducedShape, inputBytes, compute);
        _unreduced = OutputBuffer<T>(ElementCount(unreducedShape));
        _gradients = [.. inputs.Select(i => (Memory<T>)OutputBuffer<T>(ElementCount(i.Shape)))];
        _none = new Memory<T>[inputs.Length];
    }

    /// <inheritdoc/>
    public override double Run(RunOutputs outputs)
    {
        _loss = _compute(outputs == RunOutputs.All ? _unreduced : default, outputs == RunOutputs.Loss ? _none : _gradients);
        return double.CreateTruncating(_loss);
    }

    /// <inheritdoc/>
    public override LossOutputs Outputs()
    {
        var gradients = new Dictionary<string, LossTensor>();
        for (int i = 0; i < _inputs.Length; i++) gradients[_inputs[i].Name] = LossTensor.From<T>(_gradients[i].Span, _inputs[i].Shape);
        return new LossOutputs(double.CreateTruncating(_loss), LossTensor.From<T>(_unreduced, _unreducedShape), gradients);
    }

    /// <inheritdoc/>
    public override long Bytes(RunOutputs outputs) => RunBytes<T>(outputs, _inputBytes, _gradients.Sum(g => (long)g.Length), _unreduced.Length);
}
