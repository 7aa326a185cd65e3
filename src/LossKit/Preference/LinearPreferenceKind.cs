using System.Numerics;

namespace LossKit.Preference;

/// <summary>
/// The fused linear preference loss (<see cref="LinearPreferenceLoss"/>), <c>spec/io.md</c>'s "fused linear preference":
/// <c>hidden</c> (2N×T×d: the N chosen sequences, then the N rejected), <c>weight</c> (V×d), <c>bias</c> (V, optional),
/// <c>targets</c> (2N×T token ids, or the loss's ignore_index), and <c>reference_chosen_logps</c>,
/// <c>reference_rejected_logps</c> (N, for losses with a reference). Outputs <c>unreduced</c> (the loss of each pair, N),
/// <c>grad_hidden</c>, <c>grad_weight</c> and <c>grad_bias</c> (the gradient a bias would get, also when none is given).
/// Half inputs are computed in float and their outputs rounded to Half.
/// </summary>
public sealed class LinearPreferenceKind : LossKind<LinearPreferenceKind, LinearPreferenceLoss>
{
    /// <summary>Positions per sequence in <see cref="LossKind.Sample"/>.</summary>
    public const int SampleTokens = 4;

    private LinearPreferenceKind() : base("linear-preference",
    [
        new("hidden", "2N×T×d", true, "hidden states of each position: the N chosen sequences, then the N rejected"),
        new("weight", "V×d", true, "the vocabulary weight: row k scores token k"),
        new("bias", "V", true, "vocabulary bias") { Optional = true },
        new("targets", "2N×T", false, "token id each position is scored against, or the loss's ignore_index (prompt, padding)"),
        new("reference_chosen_logps", "N", false, "the reference model's log-probability of each chosen sequence (losses with a reference)") { Optional = true, NonPositive = true },
        new("reference_rejected_logps", "N", false, "the reference model's log-probability of each rejected sequence (losses with a reference)") { Optional = true, NonPositive = true },
    ]) { }

    protected override LossCall Call<T>(LinearPreferenceLoss fused, LossInputs inputs)
    {
        LossTensor hidden = inputs.Required("hidden", this), weight = inputs.Required("weight", this), targets = inputs.Required("targets", this);
        if (hidden.Rank != 3 || hidden.Shape[0] < 2 || hidden.Shape[0] % 2 != 0 || hidden.Shape[1] < 1 || hidden.Shape[2] < 1)
            throw new ArgumentException($"hidden has shape {hidden.ShapeText}: expected [2N, T, d], the N chosen sequences then the N rejected, N ≥ 1.", "hidden");
        int sequences = hidden.Shape[0], tokens = hidden.Shape[1], dim = hidden.Shape[2], pairs = sequences / 2;
        LossTensor? bias = inputs.Optional("bias");
        int vocab = LinearClassifier(weight, bias, hidden, dim, "token of the vocabulary", "token");
        if (targets.Rank != 2 || targets.Shape[0] != sequences || targets.Shape[1] != tokens)
            throw new ArgumentException($"targets has shape {targets.ShapeText} but hidden has {hidden.ShapeText}; give one token id per position, [{sequences}, {tokens}].", "targets");
        int[] y = targets.AsIntegers("targets");
        LossTensor? refChosen = inputs.Optional("reference_chosen_logps"), refRejected = inputs.Optional("reference_rejected_logps");
        foreach (var (name, tensor) in new[] { ("reference_chosen_logps", refChosen), ("reference_rejected_logps", refRejected) })
            if (tensor is not null && (tensor.Rank != 1 || tensor.Length != pairs))
                throw new ArgumentException($"{name} has shape {tensor.ShapeText} but hidden has {hidden.ShapeText} ({pairs} pairs); give one log-probability per pair, [{pairs}].", name);

        (string, int[])[] gradients = [("hidden", hidden.Shape), ("weight", weight.Shape), ("bias", [vocab])];
        if (typeof(T) == typeof(Half))
        {
            // Half: computed in float, the outputs rounded to Half.
            float[] h = ValuesAs<float>(hidden), w = ValuesAs<float>(weight), b = ValuesAs<float>(bias);
            float[] rc = ValuesAs<float>(refChosen), rr = ValuesAs<float>(refRejected);
            float[] per = new float[pairs], gh = new float[h.Length], gw = new float[w.Length], gb = new float[vocab];
            return new GradientsCall<T>(gradients, [pairs], BytesOf(ValuesAs<T>(hidden), ValuesAs<T>(weight)), (unreduced, g) =>
            {
                bool wanted = !g[0].IsEmpty;
                float value = fused.Compute<float>(h, w, b, pairs, tokens, dim, vocab, y, rc, rr, unreduced.IsEmpty ? default : per,
                    wanted ? gh : default, wanted ? gw : default, wanted ? gb : default);
                if (!unreduced.IsEmpty) Round(per, unreduced);
                if (wanted) { Round(gh, g[0].Span); Round(gw, g[1].Span); Round(gb, g[2].Span); }
                return T.CreateTruncating(value);
            });
        }
        return new FusedCall<T>(fused, ValuesAs<T>(hidden), ValuesAs<T>(weight), ValuesAs<T>(bias), y, ValuesAs<T>(refChosen), ValuesAs<T>(refRejected),
            pairs, tokens, dim, vocab);
    }

    /// <summary>The fused library call on prepared float or double inputs; its <see cref="Baseline"/> is the materialised
    /// path (<see cref="LinearPreferenceLoss.ComputeMaterialized{T}"/>) on the same inputs into the same buffers.</summary>
    private sealed class FusedCall<T>(LinearPreferenceLoss loss, T[] hidden, T[] weight, T[] bias, int[] targets, T[] referenceChosen,
        T[] referenceRejected, int pairs, int tokens, int dim, int vocab) : LossCall where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _pairLosses = OutputBuffer<T>(pairs), _gradHidden = OutputBuffer<T>(hidden.Length),
            _gradWeight = OutputBuffer<T>(weight.Length), _gradBias = OutputBuffer<T>(vocab);
        private bool _materialized;
        private FusedCall<T>? _baseline;
        private double _value;

        private long Positions => 2L * pairs * tokens;

        public override double Run(RunOutputs outputs)
        {
            bool all = outputs == RunOutputs.All, gradients = outputs != RunOutputs.Loss;
            Span<T> per = all ? _pairLosses : default, gh = gradients ? _gradHidden : default, gw = gradients ? _gradWeight : default;
            Span<T> gb = all || (gradients && bias.Length > 0) ? _gradBias : default;
            _value = double.CreateTruncating(_materialized
                ? loss.ComputeMaterialized<T>(hidden, weight, bias, pairs, tokens, dim, vocab, targets, referenceChosen, referenceRejected, per, gh, gw, gb)
                : loss.Compute<T>(hidden, weight, bias, pairs, tokens, dim, vocab, targets, referenceChosen, referenceRejected, per, gh, gw, gb));
            return _value;
        }

        public override LossOutputs Outputs() => new(_value, LossTensor.From<T>(_pairLosses, pairs), new Dictionary<string, LossTensor>
        {
            ["hidden"] = LossTensor.From<T>(_gradHidden, 2 * pairs, tokens, dim),
            ["weight"] = LossTensor.From<T>(_gradWeight, vocab, dim),
            ["bias"] = LossTensor.From<T>(_gradBias, vocab),
        });

        public override long Bytes(RunOutputs outputs)
        {
            long read = (long)SizeOf<T>() * (hidden.Length + weight.Length + bias.Length) + 4L * targets.Length, size = SizeOf<T>();
            return outputs switch
            {
                RunOutputs.Loss => read,
                RunOutputs.Gradients => read + size * (_gradHidden.Length + _gradWeight.Length + (bias.Length > 0 ? vocab : 0)),
                _ => read + size * (_gradHidden.Length + _gradWeight.Length + vocab + pairs),
            };
        }

        /// <summary>The useful work, as for linear_ce: 2·M·d·V for the logits and as much again for each of ∂H and ∂W
        /// (M = 2N·T positions). The fused path computes the logits twice (8·M·d·V in all).</summary>
        public override double Flops(RunOutputs outputs) => (outputs == RunOutputs.Loss ? 2.0 : 6.0) * Positions * dim * vocab;

        public override LossCall? Baseline => _materialized ? null : _baseline ??= Materialized();

        private FusedCall<T> Materialized()
        {
            var baseline = (FusedCall<T>)MemberwiseClone();
            baseline._materialized = true;
            return baseline;
        }

        public override string Method => _materialized ? "materialised" : "fused (two passes)";

        public override IReadOnlyList<KeyValuePair<string, int>> Settings
        {
            get
            {
                var (chunk, block) = loss.ChunkingFor((int)Positions, vocab, dim, SizeOf<T>());
                return [new("chunk_rows", chunk), new("vocab_block", block), new("tokens", tokens)];
            }
        }
    }

    private static void Round<T>(float[] from, Span<T> to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < from.Length; i++) to[i] = T.CreateTruncating(from[i]);
    }

    /// <summary><see cref="SampleSize.Rows"/> pairs of <see cref="SampleTokens"/> positions, a vocabulary of
    /// <see cref="SampleSize.Width"/> tokens and d = <see cref="SampleSize.Dim"/> (8 when 0): hidden states uniform in
    /// ±<paramref name="scale"/>, the weight uniform in ±2/√d, a bias in ±1, random token ids with the first position of
    /// every other sequence ignored (a prompt token) and, for losses with a reference, reference log-probabilities around
    /// the policy's at scale 1.</summary>
    protected override LossInputs SampleFor(LinearPreferenceLoss fused, SampleSize size, Random random, double scale)
    {
        int dim = size.Dim > 0 ? size.Dim : 8, pairs = Math.Max(size.Rows, 1), sequences = 2 * pairs, tokens = SampleTokens;
        var y = new double[sequences * tokens];
        for (int s = 0; s < sequences; s++)
            for (int t = 0; t < tokens; t++)
                y[s * tokens + t] = t == 0 && s % 2 == 1 ? fused.IgnoreIndex : random.Next(size.Width);
        var hidden = new LossTensor(RandomValues(random, sequences * tokens * dim, scale), sequences, tokens, dim);
        var (weight, bias) = RandomClassifier(random, size.Width, dim);
        var inputs = new LossInputs { ["hidden"] = hidden, ["weight"] = weight, ["bias"] = bias, ["targets"] = new LossTensor(y, sequences, tokens) };
        if (fused.UsesReference)
            foreach (string name in new[] { "reference_chosen_logps", "reference_rejected_logps" })
            {
                var v = new double[pairs];
                for (int i = 0; i < pairs; i++) v[i] = -tokens * Math.Log(Math.Max(size.Width, 2)) * (0.5 + random.NextDouble());
                inputs[name] = LossTensor.Vector(v);
            }
        return inputs;
    }
}
