using System.Numerics.Tensors;
using LossKit.Workbench.Data;

namespace LossKit.Workbench.Models;

/// <summary>How the weights of a model are drawn (biases start at 0).</summary>
public enum InitScheme
{
    /// <summary>He (Kaiming) normal for layers followed by a ReLU, Xavier (Glorot) uniform for the output layer.</summary>
    Auto,
    /// <summary>He normal everywhere: N(0, 2 / fan_in).</summary>
    He,
    /// <summary>Xavier uniform everywhere: U(−a, a), a = √(6 / (fan_in + fan_out)).</summary>
    Xavier,
}

/// <summary>
/// A multi-layer perceptron in float32: dense layers <c>Z = A·Wᵀ + b</c> (W stored row-major as [out, in], PyTorch's <c>nn.Linear</c> layout) with ReLU
/// between them and raw logits out; no hidden layer is softmax regression. All weights and biases live in one flat
/// <see cref="Parameters"/> array, their gradients in <see cref="Gradients"/>, so optimizers work on flat arrays.
/// Forward and backward passes use an <see cref="MlpWorkspace"/> allocated once per batch size; they allocate
/// nothing themselves. Every matrix product goes through <see cref="MatMul"/>.
/// </summary>
public sealed class Mlp
{
    private readonly int[] _sizes;
    private readonly int[] _weightOffset;
    private readonly int[] _biasOffset;

    /// <summary>Creates a model with layer widths <paramref name="layerSizes"/> = [inputs, hidden..., outputs]; parameters are zero until <see cref="Initialize"/>.</summary>
    public Mlp(IReadOnlyList<int> layerSizes)
    {
        ArgumentNullException.ThrowIfNull(layerSizes);
        if (layerSizes.Count < 2) throw new ArgumentException("an MLP needs at least an input and an output width.", nameof(layerSizes));
        foreach (int s in layerSizes)
            if (s < 1) throw new ArgumentException($"layer width {s} is not positive.", nameof(layerSizes));
        _sizes = [.. layerSizes];
        _weightOffset = new int[Layers];
        _biasOffset = new int[Layers];
        long at = 0;
        for (int l = 0; l < Layers; l++)
        {
            _weightOffset[l] = (int)at;
            at += (long)_sizes[l] * _sizes[l + 1];
            _biasOffset[l] = (int)at;
            at += _sizes[l + 1];
            if (at > Array.MaxLength) throw new ArgumentException($"the model has more than {Array.MaxLength} parameters.", nameof(layerSizes));
        }
        Parameters = new float[at];
        Gradients = new float[at];
    }

    /// <summary>A model for <paramref name="spec"/> on <paramref name="features"/> inputs and <paramref name="classes"/> outputs.</summary>
    public static Mlp Create(ModelSpec spec, int features, int classes) => new(spec.LayerSizes(features, classes));

    /// <summary>Widths [inputs, hidden..., outputs].</summary>
    public IReadOnlyList<int> LayerSizes => _sizes;

    /// <summary>Number of dense layers (hidden layers + 1).</summary>
    public int Layers => _sizes.Length - 1;

    /// <summary>Input width.</summary>
    public int Inputs => _sizes[0];

    /// <summary>Output width (classes).</summary>
    public int Outputs => _sizes[^1];

    /// <summary>All weights and biases, layer by layer (weights [out, in] row-major as in PyTorch's <c>nn.Linear</c>,
    /// then the bias).</summary>
    public float[] Parameters { get; }

    /// <summary>∂loss/∂<see cref="Parameters"/> from the last <see cref="Backward"/>.</summary>
    public float[] Gradients { get; }

    /// <summary>Weights of layer <paramref name="layer"/>, [out, in] row-major: row j scores output j.</summary>
    public Span<float> Weights(int layer) => Parameters.AsSpan(_weightOffset[layer], _sizes[layer] * _sizes[layer + 1]);

    /// <summary>Bias of layer <paramref name="layer"/>.</summary>
    public Span<float> Bias(int layer) => Parameters.AsSpan(_biasOffset[layer], _sizes[layer + 1]);

    /// <summary>The part of <see cref="Gradients"/> that holds ∂loss/∂<see cref="Weights"/>(<paramref name="layer"/>).</summary>
    public Span<float> WeightGradients(int layer) => Gradients.AsSpan(_weightOffset[layer], _sizes[layer] * _sizes[layer + 1]);

    /// <summary>The part of <see cref="Gradients"/> that holds ∂loss/∂<see cref="Bias"/>(<paramref name="layer"/>).</summary>
    public Span<float> BiasGradients(int layer) => Gradients.AsSpan(_biasOffset[layer], _sizes[layer + 1]);

    /// <summary>(offset, length) in <see cref="Parameters"/> of each weight matrix (the parameters weight decay applies to).</summary>
    public IEnumerable<(int Offset, int Length)> WeightRanges()
    {
        for (int l = 0; l < Layers; l++) yield return (_weightOffset[l], _sizes[l] * _sizes[l + 1]);
    }

    /// <summary>Draws the weights from <paramref name="rng"/> by <paramref name="scheme"/>; biases become 0.</summary>
    public void Initialize(SeededRng rng, InitScheme scheme = InitScheme.Auto)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Array.Clear(Parameters);
        for (int l = 0; l < Layers; l++)
        {
            int fanIn = _sizes[l], fanOut = _sizes[l + 1];
            bool he = scheme == InitScheme.He || (scheme == InitScheme.Auto && l < Layers - 1);
            var w = Weights(l);
            double scale = he ? Math.Sqrt(2.0 / fanIn) : Math.Sqrt(6.0 / (fanIn + fanOut));
            // Drawn input by input (for each input, its weight to every output), so a seed gives the same network
            // as the workbench's first releases, which stored the weights [in, out].
            for (int i = 0; i < fanIn; i++)
                for (int j = 0; j < fanOut; j++)
                    w[j * fanIn + i] = (float)(he ? scale * Normal(rng) : (2 * rng.NextDouble() - 1) * scale);
        }
    }

    /// <summary>A standard normal draw (Box–Muller, one value per call, so the stream is simple to reproduce).</summary>
    private static double Normal(SeededRng rng)
    {
        double u1 = 1.0 - rng.NextDouble(); // (0, 1]
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Buffers for batches of up to <paramref name="maxRows"/> rows.</summary>
    public MlpWorkspace CreateWorkspace(int maxRows) => new(_sizes, maxRows);

    /// <summary>Forward pass of <paramref name="rows"/> rows of <paramref name="x"/> ([rows, inputs] row-major);
    /// returns the logits [rows, outputs], which live in the workspace until the next call.</summary>
    public Span<float> Forward(MlpWorkspace ws, ReadOnlySpan<float> x, int rows)
    {
        Check(ws, x, rows);
        RunLayers(ws, x[..(rows * Inputs)], rows, Layers);
        return ws.Activations[^1].AsSpan(0, rows * Outputs);
    }

    /// <summary>Forward pass through every layer but the output layer: returns the output layer's input [rows,
    /// <see cref="HeadInputs"/>] (the last hidden layer's activations; <paramref name="x"/> itself for a linear model),
    /// for a fused head such as <see cref="LossKit.LargeVocabulary.LinearCrossEntropyLoss"/> to take from here.</summary>
    public ReadOnlySpan<float> ForwardHidden(MlpWorkspace ws, ReadOnlySpan<float> x, int rows)
    {
        Check(ws, x, rows);
        return RunLayers(ws, x[..(rows * Inputs)], rows, Layers - 1);
    }

    /// <summary>Width of the output layer's input (the last hidden width; <see cref="Inputs"/> for a linear model).</summary>
    public int HeadInputs => _sizes[^2];

    /// <summary>Layers 0..count−1 on <paramref name="input"/>; returns the last one's output (the input when count is 0).</summary>
    private ReadOnlySpan<float> RunLayers(MlpWorkspace ws, ReadOnlySpan<float> input, int rows, int count)
    {
        for (int l = 0; l < count; l++)
        {
            int inW = _sizes[l], outW = _sizes[l + 1];
            var output = ws.Activations[l].AsSpan(0, rows * outW);
            MatMul.Multiply(input, Weights(l), output, rows, outW, inW, transposeB: true);
            ReadOnlySpan<float> bias = Bias(l);
            bool relu = l < Layers - 1;
            for (int r = 0; r < rows; r++)
            {
                var row = output.Slice(r * outW, outW);
                TensorPrimitives.Add(row, bias, row);
                if (relu) TensorPrimitives.Max(row, 0f, row);
            }
            input = output;
        }
        return input;
    }

    /// <summary>Backward pass after <see cref="Forward"/> on the same rows: reads ∂loss/∂logits from
    /// <see cref="MlpWorkspace.OutputGradient"/> and overwrites <see cref="Gradients"/>.</summary>
    public void Backward(MlpWorkspace ws, ReadOnlySpan<float> x, int rows)
    {
        Check(ws, x, rows);
        BackwardFrom(ws, x, rows, Layers - 1, ws.OutputGradient.AsSpan(0, rows * Outputs), inA: false);
    }

    /// <summary>Backward pass for a fused head, after <see cref="ForwardHidden"/> on the same rows: the head has
    /// written the output layer's <see cref="WeightGradients"/> and <see cref="BiasGradients"/> and
    /// <see cref="MlpWorkspace.HeadInputGradient"/> (∂loss/∂ the output layer's input); this backpropagates that
    /// through the hidden layers and overwrites their gradients. Nothing to do for a linear model.</summary>
    public void BackwardHidden(MlpWorkspace ws, ReadOnlySpan<float> x, int rows)
    {
        Check(ws, x, rows);
        if (Layers == 1) return;
        int width = HeadInputs;
        ReadOnlySpan<float> activation = ws.Activations[Layers - 2].AsSpan(0, rows * width);
        ReadOnlySpan<float> grad = ws.HeadInputGradient.AsSpan(0, rows * width);
        Span<float> delta = ws.DeltaA.AsSpan(0, rows * width);
        for (int i = 0; i < delta.Length; i++) delta[i] = activation[i] <= 0 ? 0 : grad[i];
        BackwardFrom(ws, x, rows, Layers - 2, delta, inA: true);
    }

    /// <summary>Backpropagates <paramref name="delta"/> = ∂loss/∂(pre-activation output of layer <paramref name="top"/>)
    /// down to layer 0; <paramref name="inA"/> says that delta lives in <see cref="MlpWorkspace.DeltaA"/>.</summary>
    private void BackwardFrom(MlpWorkspace ws, ReadOnlySpan<float> x, int rows, int top, Span<float> delta, bool inA)
    {
        for (int l = top; l >= 0; l--)
        {
            int inW = _sizes[l], outW = _sizes[l + 1];
            ReadOnlySpan<float> input = l == 0 ? x[..(rows * inW)] : ws.Activations[l - 1].AsSpan(0, rows * inW);
            // dW = deltaᵀ·input ([out, in]), db = Σ_rows delta
            MatMul.Multiply(delta, input, WeightGradients(l), outW, inW, rows, transposeA: true);
            var db = BiasGradients(l);
            db.Clear();
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, delta.Slice(r * outW, outW), db);
            if (l == 0) break;
            // delta_{l-1} = (delta·W) ⊙ [activation > 0]
            Span<float> next = (inA ? ws.DeltaB : ws.DeltaA).AsSpan(0, rows * inW);
            inA = !inA;
            MatMul.Multiply(delta, Weights(l), next, rows, inW, outW);
            for (int i = 0; i < next.Length; i++)
                if (input[i] <= 0) next[i] = 0;
            delta = next;
        }
    }

    /// <summary>Logits for all rows of <paramref name="x"/>, computed in chunks of the workspace's size, into <paramref name="logits"/> ([rows, outputs]).</summary>
    public void Predict(MlpWorkspace ws, ReadOnlySpan<float> x, Span<float> logits)
    {
        int rows = x.Length / Inputs;
        if (logits.Length != rows * Outputs)
            throw new ArgumentException($"logits has {logits.Length} values; expected {rows * Outputs}.", nameof(logits));
        for (int start = 0; start < rows; start += ws.MaxRows)
        {
            int n = Math.Min(ws.MaxRows, rows - start);
            Forward(ws, x.Slice(start * Inputs, n * Inputs), n).CopyTo(logits.Slice(start * Outputs, n * Outputs));
        }
    }

    private void Check(MlpWorkspace ws, ReadOnlySpan<float> x, int rows)
    {
        ArgumentNullException.ThrowIfNull(ws);
        if (!ws.Fits(_sizes)) throw new ArgumentException("the workspace was made for a model of other layer widths.", nameof(ws));
        if (rows < 1 || rows > ws.MaxRows) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows must lie in [1, {ws.MaxRows}].");
        if (x.Length < rows * Inputs) throw new ArgumentException($"x has {x.Length} values; expected {rows} rows of {Inputs}.", nameof(x));
    }
}

/// <summary>Preallocated activations and gradient buffers of an <see cref="Mlp"/> for batches of up to <see cref="MaxRows"/> rows.</summary>
public sealed class MlpWorkspace
{
    private readonly int[] _sizes;

    internal MlpWorkspace(int[] sizes, int maxRows)
    {
        if (maxRows < 1) throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "maxRows must be at least 1.");
        _sizes = sizes;
        MaxRows = maxRows;
        Activations = new float[sizes.Length - 1][];
        for (int l = 1; l < sizes.Length; l++) Activations[l - 1] = new float[maxRows * sizes[l]];
        int widest = sizes.Length > 2 ? sizes[1..^1].Max() : 1;
        DeltaA = new float[maxRows * widest];
        DeltaB = new float[maxRows * widest];
        OutputGradient = new float[maxRows * sizes[^1]];
        HeadInputGradient = sizes.Length > 2 ? new float[maxRows * sizes[^2]] : [];
    }

    /// <summary>Largest batch the buffers hold.</summary>
    public int MaxRows { get; }

    /// <summary>Output of each layer (after ReLU for hidden layers; the last holds the logits).</summary>
    internal float[][] Activations { get; }

    internal float[] DeltaA { get; }

    internal float[] DeltaB { get; }

    /// <summary>Where the caller writes ∂loss/∂logits ([rows, outputs]) before <see cref="Mlp.Backward"/>.</summary>
    public float[] OutputGradient { get; }

    /// <summary>Where a fused head writes ∂loss/∂(output layer's input) ([rows, <see cref="Mlp.HeadInputs"/>]) before
    /// <see cref="Mlp.BackwardHidden"/>; empty for a linear model, whose head input is the data.</summary>
    public float[] HeadInputGradient { get; }

    internal bool Fits(int[] sizes) => sizes.AsSpan().SequenceEqual(_sizes);
}
