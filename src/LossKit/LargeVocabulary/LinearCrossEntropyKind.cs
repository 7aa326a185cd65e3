using System.Numerics;
using LossKit.Core;

namespace LossKit.LargeVocabulary;

/// <summary>
/// Fused linear cross-entropy (<see cref="LinearCrossEntropyLoss"/>): <c>hidden</c> N×d, classifier <c>weight</c> V×d,
/// optional <c>bias</c> (V) and <c>targets</c> (N); outputs <c>unreduced</c> (one loss per prediction: N, or N − 1 with
/// <c>shift</c>, also written as <c>per_row</c>), <c>grad_hidden</c>, <c>grad_weight</c> and <c>grad_bias</c> (the
/// gradient a bias would get, also when none is given). Half inputs give float losses and gradients, as the library does.
/// </summary>
public sealed class LinearCrossEntropyKind : LossKind
{
    public static LinearCrossEntropyKind Instance { get; } = new();

    private LinearCrossEntropyKind() { }

    public override string Name => "large-vocabulary";

    public override IReadOnlyList<LossInput> Inputs { get; } =
    [
        new("hidden", "N×d", true, "hidden states, one row per position"),
        new("weight", "V×d", true, "the classifier: row k scores class k"),
        new("bias", "V", true, "classifier bias (−∞ masks a class)") { Optional = true },
        new("targets", "N", false, "class index per row, or the loss's ignore_index (with shift, row t predicts targets[t+1])"),
    ];

    public override IReadOnlyDictionary<string, string> OutputAliases { get; } = new Dictionary<string, string> { ["per_row"] = "unreduced" };

    public override LossCall Prepare<T>(ILoss loss, LossInputs inputs)
    {
        var linear = Expect<LinearCrossEntropyLoss>(loss);
        LossTensor hidden = inputs.Required("hidden", this), weight = inputs.Required("weight", this), targets = inputs.Required("targets", this);
        LossTensor? bias = inputs.Optional("bias");
        if (hidden.Rank != 2) throw new ArgumentException($"hidden has shape {hidden.ShapeText}: expected N×d.", "hidden");
        if (weight.Rank != 2) throw new ArgumentException($"weight has shape {weight.ShapeText}: expected V×d (one row per class).", "weight");
        int rows = hidden.Shape[0], dim = hidden.Shape[1], vocab = weight.Shape[0];
        if (rows == 0) throw new ArgumentException("hidden is empty: a batch needs at least one row.", "hidden");
        if (vocab == 0) throw new ArgumentException("weight is empty: give one row per class.", "weight");
        if (weight.Shape[1] != dim)
            throw new ArgumentException($"weight has shape {weight.ShapeText} but hidden rows have {dim} values (dim): each row of weight must have dim values.", "weight");
        if (bias is not null && bias.Length != vocab)
            throw new ArgumentException($"bias has {bias.Length} values but weight has {vocab} rows; give one bias per class.", "bias");
        int[] y = targets.AsIntegers("targets");
        if (typeof(T) == typeof(double))
            return new Call<double, double>(linear, hidden, weight, bias, y, rows, dim, vocab);
        if (typeof(T) == typeof(Half))
            return new Call<Half, float>(linear, hidden, weight, bias, y, rows, dim, vocab);
        return new Call<float, float>(linear, hidden, weight, bias, y, rows, dim, vocab);
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<LinearCrossEntropyLoss>(loss);
        int dim = size.Dim > 0 ? size.Dim : 8;
        var targets = new double[size.Rows];
        for (int i = 0; i < targets.Length; i++) targets[i] = random.Next(size.Width);
        return new LossInputs
        {
            ["hidden"] = LossTensor.Matrix(RandomValues(random, size.Rows * dim, scale), size.Rows, dim),
            ["weight"] = LossTensor.Matrix(RandomValues(random, size.Width * dim, 1), size.Width, dim),
            ["bias"] = LossTensor.Vector(RandomValues(random, size.Width, 1)),
            ["targets"] = LossTensor.Vector(targets),
        };
    }

    /// <summary>Inputs in TIn (float, double or Half), losses and gradients in TOut (float for Half).</summary>
    private sealed class Call<TIn, TOut> : LossCall where TIn : unmanaged, IFloatingPointIeee754<TIn> where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        private readonly LinearCrossEntropyLoss _loss;
        private readonly TIn[] _hidden, _weight, _bias;
        private readonly int[] _targets;
        private readonly int _rows, _dim, _vocab;
        private readonly TOut[] _rowLosses, _gradHidden, _gradWeight, _gradBias;
        private double _value;

        public Call(LinearCrossEntropyLoss loss, LossTensor hidden, LossTensor weight, LossTensor? bias, int[] targets, int rows, int dim, int vocab)
        {
            (_loss, _targets, _rows, _dim, _vocab) = (loss, targets, rows, dim, vocab);
            _hidden = ValuesAs<TIn>(hidden);
            _weight = ValuesAs<TIn>(weight);
            _bias = bias is null ? [] : ValuesAs<TIn>(bias);
            _rowLosses = new TOut[Math.Max(loss.Shift ? rows - 1 : rows, 0)];
            _gradHidden = new TOut[rows * dim];
            _gradWeight = new TOut[vocab * dim];
            _gradBias = new TOut[vocab];
        }

        public override double Run(bool gradients = true)
        {
            Span<TOut> perRow = gradients ? _rowLosses : default, gh = gradients ? _gradHidden : default;
            Span<TOut> gw = gradients ? _gradWeight : default, gb = gradients ? _gradBias : default;
            _value = _hidden switch
            {
                double[] h => _loss.Compute(h, (double[])(object)_weight, (double[])(object)_bias, _rows, _dim, _vocab, _targets,
                    Cast<double>(perRow), Cast<double>(gh), Cast<double>(gw), Cast<double>(gb)),
                Half[] h => _loss.Compute(h, (Half[])(object)_weight, (Half[])(object)_bias, _rows, _dim, _vocab, _targets,
                    Cast<float>(perRow), Cast<float>(gh), Cast<float>(gw), Cast<float>(gb)),
                _ => _loss.Compute((float[])(object)_hidden, (float[])(object)_weight, (float[])(object)_bias, _rows, _dim, _vocab, _targets,
                    Cast<float>(perRow), Cast<float>(gh), Cast<float>(gw), Cast<float>(gb)),
            };
            return _value;
        }

        private static Span<TTo> Cast<TTo>(Span<TOut> s) where TTo : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<TOut, TTo>(s);

        public override LossOutputs Outputs() => new(_value, ToTensor(_rowLosses, _rowLosses.Length), new Dictionary<string, LossTensor>
        {
            ["hidden"] = ToTensor(_gradHidden, _rows, _dim),
            ["weight"] = ToTensor(_gradWeight, _vocab, _dim),
            ["bias"] = ToTensor(_gradBias, _vocab),
        });

        public override long Bytes(bool gradients)
        {
            long inSize = System.Runtime.CompilerServices.Unsafe.SizeOf<TIn>(), outSize = System.Runtime.CompilerServices.Unsafe.SizeOf<TOut>();
            long read = (_hidden.Length + _weight.Length + _bias.Length) * inSize + 4L * _targets.Length;
            return read + (gradients ? (_gradHidden.Length + _gradWeight.Length + _gradBias.Length + _rowLosses.Length) * outSize : 0);
        }
    }
}
