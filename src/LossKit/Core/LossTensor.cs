using System.Globalization;
using System.Numerics;

namespace LossKit.Core;

/// <summary>
/// A named input or output of a loss call as the command line, the checkers and the benchmarks see it: row-major
/// values (double, whatever precision the loss computes in) and a shape, as PyTorch would hold it in a tensor.
/// Integer inputs (class indices, masks) are held as whole numbers.
/// </summary>
public sealed class LossTensor
{
    /// <summary>A tensor of <paramref name="shape"/> over <paramref name="values"/> (not copied).</summary>
    public LossTensor(double[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative dimension.", nameof(shape));
            count *= d;
        }
        if (count != values.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {count} values but {values.Length} were given.", nameof(values));
        Values = values;
        Shape = shape;
    }

    /// <summary>The values, row-major.</summary>
    public double[] Values { get; }

    /// <summary>The dimensions, outermost first (empty for a scalar).</summary>
    public int[] Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The number of values.</summary>
    public int Length => Values.Length;

    /// <summary>The shape as text, e.g. <c>[4, 10]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>A one-dimensional tensor.</summary>
    public static LossTensor Vector(double[] values) => new(values, values.Length);

    /// <summary>A <c>[rows, columns]</c> tensor over row-major <paramref name="values"/>.</summary>
    public static LossTensor Matrix(double[] values, int rows, int columns) => new(values, rows, columns);

    /// <summary>A tensor of <paramref name="shape"/> holding <paramref name="values"/> (float, double or Half) as doubles.</summary>
    public static LossTensor From<T>(ReadOnlySpan<T> values, params int[] shape) where T : unmanaged, INumberBase<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < result.Length; i++) result[i] = double.CreateTruncating(values[i]);
        return new LossTensor(result, shape);
    }

    /// <summary>The index of the first NaN value, or −1.</summary>
    public int IndexOfNaN() => Array.FindIndex(Values, double.IsNaN);

    /// <summary>The position of value <paramref name="index"/> (row-major) as PyTorch prints it: <c>[3][7]</c> in a
    /// <c>[N, K]</c> tensor, <c>[3]</c> in a vector, empty for a scalar.</summary>
    public string IndexText(int index)
    {
        var parts = new int[Rank];
        for (int d = Rank - 1; d >= 0; d--)
        {
            parts[d] = Shape[d] == 0 ? 0 : index % Shape[d];
            index = Shape[d] == 0 ? index : index / Shape[d];
        }
        return string.Concat(parts.Select(p => "[" + p.ToString(CultureInfo.InvariantCulture) + "]"));
    }

    /// <summary>The values as integers; a value that is not a whole number is an error naming the tensor and the index.</summary>
    public int[] AsIntegers(string name)
    {
        var result = new int[Values.Length];
        for (int i = 0; i < result.Length; i++)
        {
            double v = Values[i];
            if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue)
                throw new ArgumentException(double.IsNaN(v) ? $"{name}{IndexText(i)} is NaN: expected an integer."
                    : $"{name}{IndexText(i)} = {v.ToString(CultureInfo.InvariantCulture)} is not an integer.", name);
            result[i] = (int)v;
        }
        return result;
    }
}

/// <summary>The inputs of one loss call by name (the names of <c>spec/io.md</c>: <c>logits</c>, <c>targets</c>, ...).</summary>
public sealed class LossInputs : Dictionary<string, LossTensor>
{
    public LossInputs() : base(StringComparer.Ordinal) { }

    /// <summary>The input named <paramref name="name"/>; a missing one is an error that says what the loss's kind takes.</summary>
    public LossTensor Required(string name, LossKind kind) =>
        TryGetValue(name, out var t) ? t
        : throw new ArgumentException($"the input has no \"{name}\": {kind.Name} losses take {kind.InputsText}.", name);

    /// <summary>The input named <paramref name="name"/>, or null.</summary>
    public LossTensor? Optional(string name) => TryGetValue(name, out var t) ? t : null;
}

/// <summary>What one loss call gives: the reduced loss, what <c>reduction=none</c> would return, and the gradient of the
/// reduced loss with respect to each differentiable input (<c>grad_&lt;name&gt;</c>).</summary>
/// <param name="Loss">The reduced loss (the sum for <c>reduction=none</c>).</param>
/// <param name="Unreduced">The unreduced losses, shaped as PyTorch returns them for <c>reduction=none</c>.</param>
/// <param name="Gradients">∂(reduced loss)/∂input by input name (without the <c>grad_</c> prefix).</param>
public sealed record LossOutputs(double Loss, LossTensor Unreduced, IReadOnlyDictionary<string, LossTensor> Gradients);
