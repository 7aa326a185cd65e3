using System.Numerics;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>
/// Element-wise regression losses (<see cref="IRegressionLoss"/>): <c>input</c> (any shape) and <c>target</c> (the same
/// shape), and the loss's predicted parameters by name (<c>gaussian_nll</c>'s <c>var</c>, ...: the input's shape, or
/// where the loss says so a broadcast shape); outputs <c>unreduced</c> in the input's shape, <c>grad_input</c> and
/// <c>grad_&lt;parameter&gt;</c> in each parameter's shape. Each loss has its own instance, listing its own inputs.
/// </summary>
public sealed class RegressionKind : LossKind
{
    private readonly IRegressionLoss _loss;

    /// <summary>The kind of <paramref name="loss"/>: <c>input</c>, <c>target</c>, then its predicted parameters.</summary>
    public RegressionKind(IRegressionLoss loss) : base("regression",
    [
        new("input", "any shape", true, "the prediction ŷ") { NonNegative = (loss as RegressionLoss)?.InputDomain.Min >= 0 },
        new("target", "same as input", false, "the target y"),
        .. loss.Predicted,
    ])
    {
        _loss = loss;
    }

    protected override LossCall PrepareCall<T>(ILoss loss, LossInputs inputs)
    {
        var regression = Expect<IRegressionLoss>(loss);
        LossTensor input = inputs.Required("input", this), target = inputs.Required("target", this);
        SameShape(target, "target", input, "input");
        if (loss.FixedWidth is int columns && (input.Rank == 0 || input.Shape[^1] != columns))
            throw new ArgumentException($"input has shape {input.ShapeText}: {loss.Spec} has {columns} columns, so the last dimension must be {columns}.", "input");
        var predicted = new List<(string Name, int[] Shape, T[] Values)>();
        foreach (LossInput p in regression.Predicted)
        {
            LossTensor? tensor = p.Optional ? inputs.Optional(p.Name) : inputs.Required(p.Name, this);
            if (tensor is not null)
            {
                if (regression is IBroadcastParameter broadcast) broadcast.CheckShape(p.Name, tensor, input);
                else SameShape(tensor, p.Name, input, "input");
            }
            predicted.Add(tensor is null ? (p.Name, [], []) : (p.Name, tensor.Shape, ValuesAs<T>(tensor)));
        }
        return new RegressionCall<T>(regression, input.Shape, ValuesAs<T>(input), ValuesAs<T>(target), predicted);
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        var regression = Expect<IRegressionLoss>(loss);
        int columns = loss.FixedWidth ?? size.Width;
        int[] shape = columns <= 1 ? [size.Rows] : [size.Rows, columns];
        int count = size.Rows * Math.Max(columns, 1);
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

/// <summary>The <see cref="LossCall"/> of a regression loss: owns the converted inputs and the output buffers (the
/// unreduced losses and one gradient per differentiable input given) and calls <see cref="IRegressionLoss.Compute{T}"/>.</summary>
internal sealed class RegressionCall<T> : LossCall where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IRegressionLoss _loss;
    private readonly int[] _shape;
    private readonly T[] _input, _target, _unreduced, _gradInput;
    private readonly (string Name, int[] Shape, T[] Values, T[] Gradient)[] _predicted;
    private T _value;

    /// <param name="loss">The loss.</param>
    /// <param name="shape">The input's shape (and the target's, the unreduced losses' and grad_input's).</param>
    /// <param name="input">The predictions.</param>
    /// <param name="target">The targets.</param>
    /// <param name="predicted">Each predicted parameter of the loss: name, shape and values (empty when not given).</param>
    public RegressionCall(IRegressionLoss loss, int[] shape, T[] input, T[] target, List<(string Name, int[] Shape, T[] Values)> predicted)
    {
        _loss = loss;
        _shape = shape;
        _input = input;
        _target = target;
        _unreduced = OutputBuffer<T>(_input.Length);
        _gradInput = OutputBuffer<T>(_input.Length);
        _predicted = predicted.Select(p => (p.Name, p.Shape, p.Values, OutputBuffer<T>(p.Values.Length))).ToArray();
    }

    private ReadOnlySpan<T> Values(int i) => i < _predicted.Length ? _predicted[i].Values : default;
    private Span<T> Gradient(int i, bool wanted) => wanted && i < _predicted.Length ? _predicted[i].Gradient : default;

    public override double Run(RunOutputs outputs)
    {
        bool gradients = outputs != RunOutputs.Loss;
        _value = _loss.Compute(new RegressionBatch<T>(_input, _target, outputs == RunOutputs.All ? _unreduced : default,
            gradients ? _gradInput : default, Values(0), Gradient(0, gradients), Values(1), Gradient(1, gradients)));
        return double.CreateTruncating(_value);
    }

    public override LossOutputs Outputs()
    {
        var gradients = new Dictionary<string, LossTensor> { ["input"] = LossTensor.From<T>(_gradInput, _shape) };
        foreach (var p in _predicted)
            if (p.Values.Length > 0) gradients[p.Name] = LossTensor.From<T>(p.Gradient, p.Shape);
        return new LossOutputs(double.CreateTruncating(_value), LossTensor.From<T>(_unreduced, _shape), gradients);
    }

    public override long Bytes(RunOutputs outputs)
    {
        long inputs = (long)SizeOf<T>() * (_input.Length + _target.Length + _predicted.Sum(p => (long)p.Values.Length));
        long gradients = (long)SizeOf<T>() * (_gradInput.Length + _predicted.Sum(p => (long)p.Gradient.Length));
        return inputs + outputs switch
        {
            RunOutputs.Loss => 0,
            RunOutputs.Gradients => gradients,
            _ => gradients + (long)SizeOf<T>() * _unreduced.Length,
        };
    }
}
