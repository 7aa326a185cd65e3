using System.Numerics;

namespace LossKit.Regression;

/// <summary>
/// Element-wise regression losses (<see cref="IRegressionLoss"/>): <c>input</c> (any shape) and <c>target</c> (the same
/// shape), and the loss's predicted parameters by name (<c>gaussian_nll</c>'s <c>var</c>, ...: the input's shape, or
/// where the loss says so a broadcast shape); outputs <c>unreduced</c> in the input's shape, <c>grad_input</c> and
/// <c>grad_&lt;parameter&gt;</c> in each parameter's shape. Each loss has its own instance, listing its own inputs.
/// </summary>
public sealed class RegressionKind : LossKind<IRegressionLoss>
{
    /// <summary>The kind of <paramref name="loss"/>: <c>input</c>, <c>target</c>, then its predicted parameters.</summary>
    public RegressionKind(IRegressionLoss loss) : base("regression",
    [
        new("input", "any shape", true, "the prediction ŷ") { NonNegative = (loss as RegressionLoss)?.InputDomain.Min >= 0 },
        new("target", "same as input", false, "the target y"),
        .. loss.Predicted,
    ]) { }

    protected override LossCall Call<T>(IRegressionLoss regression, LossInputs inputs)
    {
        LossTensor input = inputs.Required("input", this), target = inputs.Required("target", this);
        SameShape(target, "target", input, "input");
        if (regression.FixedWidth is int columns && (input.Rank == 0 || input.Shape[^1] != columns))
            throw new ArgumentException($"input has shape {input.ShapeText}: {regression.Spec} has {columns} columns, so the last dimension must be {columns}.", "input");
        var given = new List<(LossInput Input, LossTensor? Tensor)>();
        foreach (LossInput p in regression.Predicted)
        {
            LossTensor? tensor = p.Optional ? inputs.Optional(p.Name) : inputs.Required(p.Name, this);
            if (tensor is not null)
            {
                if (regression is IBroadcastParameter broadcast) broadcast.CheckShape(p.Name, tensor, input);
                else SameShape(tensor, p.Name, input, "input");
            }
            given.Add((p, tensor));
        }
        T[] x = ValuesAs<T>(input), y = ValuesAs<T>(target);
        T[] first = given.Count > 0 ? ValuesAs<T>(given[0].Tensor) : [], second = given.Count > 1 ? ValuesAs<T>(given[1].Tensor) : [];
        return new RegressionCall<T>(input.Shape, input.Shape, BytesOf(x, y, first, second),
            given.Where(g => g.Tensor is not null).Select(g => (g.Input.Name, g.Tensor!.Shape)),
            (unreduced, gradInput, gradFirst, gradSecond) => regression.Compute(new RegressionBatch<T>(x, y, unreduced, gradInput,
                first, first.Length == 0 ? default : gradFirst, second, second.Length == 0 ? default : gradSecond)));
    }

    protected override LossInputs SampleFor(IRegressionLoss regression, SampleSize size, Random random, double scale)
    {
        var (shape, count) = ElementShape(size.Rows, regression.FixedWidth ?? size.Width);
        RegressionDomain target = (regression as RegressionLoss)?.TargetDomain ?? RegressionDomain.FiniteReal;
        var inputs = new LossInputs
        {
            ["input"] = new LossTensor(Draw(random, count, scale, Inputs[0].NonNegative), shape),
            ["target"] = new LossTensor(Targets(random, count, target), shape),
        };
        foreach (LossInput p in regression.Predicted) inputs[p.Name] = new LossTensor(Draw(random, count, scale, p.NonNegative), shape);
        return inputs;
    }

    /// <summary>Seeded values of magnitude <paramref name="scale"/>: uniform in [−scale, scale], or in
    /// [scale/4, 5·scale/4] for an input that must be ≥ 0 (away from 0, so finite differences stay in the domain).</summary>
    private static double[] Draw(Random random, int count, double scale, bool nonNegative)
    {
        if (!nonNegative) return RandomValues(random, count, scale);
        var v = new double[count];
        for (int i = 0; i < count; i++) v[i] = scale * (0.25 + random.NextDouble());
        return v;
    }

    /// <summary>Seeded targets (never whole numbers, so no check mistakes them for labels): uniform in [−2, 2] on the
    /// real line, in [0, 4] for targets ≥ 0 (both sides of 1, where <c>poisson_nll</c>'s Stirling term starts), in
    /// [0.1, 3.1] for targets &gt; 0.</summary>
    private static double[] Targets(Random random, int count, RegressionDomain domain)
    {
        var y = new double[count];
        for (int i = 0; i < count; i++)
        {
            double u = random.NextDouble();
            y[i] = double.IsNegativeInfinity(domain.Min) ? 4 * u - 2 : domain.Exclusive ? 0.1 + 3 * u : 4 * u;
        }
        return y;
    }
}

/// <summary>A regression loss whose predicted parameter may have a broadcast shape (<c>gaussian_nll</c>'s <c>var</c>).</summary>
public interface IBroadcastParameter
{
    /// <summary>Throws unless <paramref name="tensor"/> (the parameter <paramref name="name"/>) has a shape this loss
    /// broadcasts against <paramref name="input"/>; the message holds both shapes.</summary>
    void CheckShape(string name, LossTensor tensor, LossTensor input);
}

/// <summary>The library call of a regression kind on prepared inputs: writes the unreduced losses and the gradients by
/// the input and by up to two predicted parameters (each span may be empty, to skip it) and returns the reduced loss.</summary>
internal delegate T RegressionCompute<T>(Span<T> unreduced, Span<T> gradInput, Span<T> gradFirst, Span<T> gradSecond)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>The <see cref="LossCall"/> of the regression kinds (element-wise and bag): owns the output buffers (the
/// unreduced losses and one gradient per differentiable input given), hands them to the library call as the
/// <see cref="RunOutputs"/> ask, and reads them back as <c>unreduced</c>, <c>grad_input</c> and <c>grad_&lt;parameter&gt;</c>.</summary>
internal sealed class RegressionCall<T> : LossCall where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _shape, _unreducedShape;
    private readonly long _inputBytes;
    private readonly T[] _unreduced, _gradInput;
    private readonly (string Name, int[] Shape, T[] Gradient)[] _predicted;
    private readonly RegressionCompute<T> _compute;
    private T _value;

    /// <param name="shape">The input's shape (and grad_input's).</param>
    /// <param name="unreducedShape">The shape of the unreduced losses.</param>
    /// <param name="inputBytes">The bytes of all inputs a run reads.</param>
    /// <param name="predicted">Each predicted parameter given: name and shape (its gradient's).</param>
    /// <param name="compute">The library call.</param>
    public RegressionCall(int[] shape, int[] unreducedShape, long inputBytes, IEnumerable<(string Name, int[] Shape)> predicted, RegressionCompute<T> compute)
    {
        (_shape, _unreducedShape, _inputBytes, _compute) = (shape, unreducedShape, inputBytes, compute);
        _unreduced = OutputBuffer<T>(ElementCount(unreducedShape));
        _gradInput = OutputBuffer<T>(ElementCount(shape));
        _predicted = predicted.Select(p => (p.Name, p.Shape, OutputBuffer<T>(ElementCount(p.Shape)))).ToArray();
    }

    private Span<T> Gradient(int i, bool wanted) => wanted && i < _predicted.Length ? _predicted[i].Gradient : default;

    public override double Run(RunOutputs outputs)
    {
        bool gradients = outputs != RunOutputs.Loss;
        _value = _compute(outputs == RunOutputs.All ? _unreduced : default, gradients ? _gradInput : default, Gradient(0, gradients), Gradient(1, gradients));
        return double.CreateTruncating(_value);
    }

    public override LossOutputs Outputs()
    {
        var gradients = new Dictionary<string, LossTensor> { ["input"] = LossTensor.From<T>(_gradInput, _shape) };
        foreach (var p in _predicted) gradients[p.Name] = LossTensor.From<T>(p.Gradient, p.Shape);
        return new LossOutputs(double.CreateTruncating(_value), LossTensor.From<T>(_unreduced, _unreducedShape), gradients);
    }

    public override long Bytes(RunOutputs outputs) =>
        RunBytes<T>(outputs, _inputBytes, _gradInput.Length + _predicted.Sum(p => (long)p.Gradient.Length), _unreduced.Length);
}
