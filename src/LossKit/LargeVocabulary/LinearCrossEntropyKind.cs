using System.Numerics;
using System.Runtime.InteropServices;

namespace LossKit.LargeVocabulary;

/// <summary>
/// Fused linear cross-entropy (<see cref="LinearCrossEntropyLoss"/>): <c>hidden</c> N×d, classifier <c>weight</c> V×d,
/// optional <c>bias</c> (V) and <c>targets</c> (N); outputs <c>unreduced</c> (one loss per prediction: N, or N − 1 with
/// <c>shift</c>, also written as <c>per_row</c>), <c>grad_hidden</c>, <c>grad_weight</c> and <c>grad_bias</c> (the
/// gradient a bias would get, also when none is given). Half inputs give float losses and gradients, as the library does.
/// Its calls offer the materialised path (<see cref="LinearCrossEntropyLoss.ComputeMaterialized{T}"/>)
/// as their <see cref="LossCall.Baseline"/>. A problem so small that the fused path's scratch (a chunk of logits and its
/// ∂H partial sums) would be at least the materialised path's 2·N·V values runs the materialised path instead (its
/// <see cref="LossCall.Method"/> says so), so the fused call never needs more extra memory than its baseline; a spec
/// that sets <c>chunk_rows</c> or <c>vocab_block</c> always runs fused.
/// </summary>
public sealed class LinearCrossEntropyKind : LossKind<LinearCrossEntropyKind, LinearCrossEntropyLoss>
{
    private LinearCrossEntropyKind() : base("large-vocabulary",
    [
        new("hidden", "N×d", true, "hidden states, one row per position"),
        new("weight", "V×d", true, "the classifier: row k scores class k"),
        new("bias", "V", true, "classifier bias (−∞ masks a class)") { Optional = true },
        new("targets", "N", false, "class index per row, or the loss's ignore_index (with shift, row t predicts targets[t+1])"),
    ], new Dictionary<string, string> { ["per_row"] = "unreduced" }) { }

    protected override LossCall Call<T>(LinearCrossEntropyLoss linear, LossInputs inputs)
    {
        LossTensor hidden = inputs.Required("hidden", this), weight = inputs.Required("weight", this);
        var (rows, dim) = Matrix(hidden, "hidden", "one row of d values per position, N×d");
        if (rows == 0) throw new ArgumentException("hidden is empty: a batch needs at least one row.", "hidden");
        LossTensor? bias = inputs.Optional("bias");
        int vocab = LinearClassifier(weight, bias, hidden, dim, "class", "class");
        int[] y = ClassIndices(inputs.Required("targets", this), rows);
        if (typeof(T) == typeof(double))
            return new FusedCall<double, double>(linear, ValuesAs<double>(hidden), ValuesAs<double>(weight), ValuesAs<double>(bias), y, dim);
        if (typeof(T) == typeof(Half))
            return new FusedCall<Half, float>(linear, ValuesAs<Half>(hidden), ValuesAs<Half>(weight), ValuesAs<Half>(bias), y, dim);
        return new FusedCall<float, float>(linear, ValuesAs<float>(hidden), ValuesAs<float>(weight), ValuesAs<float>(bias), y, dim);
    }

    /// <summary>Hidden states uniform in ±<paramref name="scale"/> and a classifier uniform in ±2/√d, so that the logits
    /// are of the order of <paramref name="scale"/> whatever d (<see cref="SampleSize.Dim"/>, 8 when 0); and a bias.</summary>
    protected override LossInputs SampleFor(LinearCrossEntropyLoss loss, SampleSize size, Random random, double scale)
    {
        int dim = size.Dim > 0 ? size.Dim : 8;
        LossTensor targets = RandomClasses(random, size.Rows, size.Width), hidden = RandomMatrix(random, size.Rows, dim, scale);
        var (weight, bias) = RandomClassifier(random, size.Width, dim);
        return new LossInputs { ["hidden"] = hidden, ["weight"] = weight, ["bias"] = bias, ["targets"] = targets };
    }

    /// <summary>Inputs in TIn (float, double or Half), losses and gradients in TOut (float for Half). Its
    /// <see cref="Baseline"/> is the materialised path on the same inputs into the same buffers.</summary>
    private sealed class FusedCall<TIn, TOut> : LossCall where TIn : unmanaged, IFloatingPointIeee754<TIn> where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        private readonly LinearCrossEntropyLoss _loss;
        private readonly TIn[] _hidden, _weight, _bias;
        private readonly int[] _targets;
        private readonly int _rows, _dim, _vocab;
        private readonly TOut[] _rowLosses, _gradHidden, _gradWeight, _gradBias;
        private bool _materialized;
        private readonly bool _fallback;
        private FusedCall<TIn, TOut>? _baseline;
        private double _value;

        public FusedCall(LinearCrossEntropyLoss loss, TIn[] hidden, TIn[] weight, TIn[] bias, int[] targets, int dim)
        {
            (_loss, _hidden, _weight, _bias, _targets, _dim) = (loss, hidden, weight, bias, targets, dim);
            (_rows, _vocab) = (hidden.Length / dim, weight.Length / dim);
            _rowLosses = OutputBuffer<TOut>(Math.Max(loss.Shift ? _rows - 1 : _rows, 0));
            _gradHidden = OutputBuffer<TOut>(hidden.Length);
            _gradWeight = OutputBuffer<TOut>(weight.Length);
            _gradBias = OutputBuffer<TOut>(_vocab);
            // Only with automatic sizes: a chunk_rows or vocab_block given in the spec asks for the fused path as configured.
            _fallback = loss.ChunkRows == 0 && loss.VocabBlock == 0 && FusedScratchBytes() >= MaterializedScratchBytes();
        }

        private int Predictions => _loss.Shift ? _rows - 1 : _rows;

        /// <summary>The fused path's scratch: a chunk of rows × (V, or a vocabulary block, + 3·d) values.</summary>
        private long FusedScratchBytes()
        {
            int size = SizeOf<TOut>(), predictions = Math.Max(Predictions, 1);
            int block = _loss.VocabBlockFor(_vocab, _dim, size);
            return (long)_loss.ChunkRowsFor(predictions, _vocab, _dim, size) * ((block > 0 ? block : _vocab) + 3L * _dim) * size;
        }

        /// <summary>The materialised path's scratch: the N×V logits and their gradient.</summary>
        private long MaterializedScratchBytes() => 2L * Math.Max(Predictions, 1) * _vocab * SizeOf<TOut>();

        public override double Run(RunOutputs outputs)
        {
            bool all = outputs == RunOutputs.All, gradients = outputs != RunOutputs.Loss;
            Span<TOut> perRow = all ? _rowLosses : default, gh = gradients ? _gradHidden : default, gw = gradients ? _gradWeight : default;
            Span<TOut> gb = all || (gradients && _bias.Length > 0) ? _gradBias : default;
            _value = Compute(perRow, gh, gw, gb);
            return _value;
        }

        /// <summary>The library call, fused (or materialised for the baseline), with the buffers as their actual types.</summary>
        private double Compute(Span<TOut> r, Span<TOut> gh, Span<TOut> gw, Span<TOut> gb) => _hidden switch
        {
            double[] h => _materialized || _fallback
                ? _loss.ComputeMaterialized(h, In<double>(_weight), In<double>(_bias), _rows, _dim, _vocab, _targets, Out<double>(r), Out<double>(gh), Out<double>(gw), Out<double>(gb))
                : _loss.Compute(h, In<double>(_weight), In<double>(_bias), _rows, _dim, _vocab, _targets, Out<double>(r), Out<double>(gh), Out<double>(gw), Out<double>(gb)),
            Half[] h => _materialized || _fallback
                ? _loss.ComputeMaterialized(h, In<Half>(_weight), In<Half>(_bias), _rows, _dim, _vocab, _targets, Out<float>(r), Out<float>(gh), Out<float>(gw), Out<float>(gb))
                : _loss.Compute(h, In<Half>(_weight), In<Half>(_bias), _rows, _dim, _vocab, _targets, Out<float>(r), Out<float>(gh), Out<float>(gw), Out<float>(gb)),
            _ => _materialized || _fallback
                ? _loss.ComputeMaterialized(In<float>(_hidden), In<float>(_weight), In<float>(_bias), _rows, _dim, _vocab, _targets, Out<float>(r), Out<float>(gh), Out<float>(gw), Out<float>(gb))
                : _loss.Compute(In<float>(_hidden), In<float>(_weight), In<float>(_bias), _rows, _dim, _vocab, _targets, Out<float>(r), Out<float>(gh), Out<float>(gw), Out<float>(gb)),
        };

        private static ReadOnlySpan<TI> In<TI>(TIn[] values) where TI : unmanaged => MemoryMarshal.Cast<TIn, TI>(values);

        private static Span<TO> Out<TO>(Span<TOut> values) where TO : unmanaged => MemoryMarshal.Cast<TOut, TO>(values);

        public override LossOutputs Outputs() => new(_value, LossTensor.From<TOut>(_rowLosses, _rowLosses.Length), new Dictionary<string, LossTensor>
        {
            ["hidden"] = LossTensor.From<TOut>(_gradHidden, _rows, _dim),
            ["weight"] = LossTensor.From<TOut>(_gradWeight, _vocab, _dim),
            ["bias"] = LossTensor.From<TOut>(_gradBias, _vocab),
        });

        public override long Bytes(RunOutputs outputs)
        {
            long read = BytesOfIn() + 4L * _targets.Length, outSize = SizeOf<TOut>();
            return outputs switch
            {
                RunOutputs.Loss => read,
                RunOutputs.Gradients => read + outSize * (_gradHidden.Length + _gradWeight.Length + (_bias.Length > 0 ? _vocab : 0)),
                _ => read + outSize * (_gradHidden.Length + _gradWeight.Length + _vocab + _rowLosses.Length),
            };
        }

        private long BytesOfIn() => (long)SizeOf<TIn>() * (_hidden.Length + _weight.Length + _bias.Length);

        /// <summary>2·N·d·V for the logits, and as much again for each of ∂H and ∂W.</summary>
        public override double Flops(RunOutputs outputs) => (outputs == RunOutputs.Loss ? 2.0 : 6.0) * _rows * _dim * _vocab;

        public override LossCall? Baseline => _materialized ? null : _baseline ??= Materialized();

        private FusedCall<TIn, TOut> Materialized()
        {
            var baseline = (FusedCall<TIn, TOut>)MemberwiseClone();
            baseline._materialized = true;
            return baseline;
        }

        public override string Method => _materialized ? "materialised" : _fallback ? "materialised (smaller than one fused chunk)" : "fused";

        public override IReadOnlyList<KeyValuePair<string, int>> Settings =>
        [
            new("chunk_rows", _loss.ChunkRowsFor(_loss.Shift ? _rows - 1 : _rows, _vocab, _dim, SizeOf<TOut>())),
            new("vocab_block", _loss.VocabBlockFor(_vocab, _dim, SizeOf<TOut>())),
        ];
    }
}
