using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.LargeVocabulary;
using LossKit.Softmax;

namespace LossKit.Preference;

/// <summary>
/// A preference loss fused with the output layer, spec <c>linear_preference(loss=dpo(beta=0.1, loss_type=sigmoid))</c>:
/// from the hidden states of the chosen and rejected sequences (2N sequences × T positions × d: the N chosen first, then
/// the N rejected), the vocabulary weight W (V×d), an optional bias b (V), the token ids (2N×T; <c>ignore_index</c> for
/// padding and prompt positions) and the reference log-probabilities, it computes each sequence's log-probability
/// <c>log π(y_s) = Σ_t log softmax(W·h_{s,t} + b)[y_{s,t}]</c> over its counted tokens, hands the N pairs to the wrapped
/// <see cref="PreferenceLoss"/> (the same <see cref="PreferenceLoss.Compute{T}"/> the unfused loss runs, with the token
/// counts as <c>chosen_lengths</c>/<c>rejected_lengths</c>, so SimPO, ORPO, CPO and IPO average per token as they do
/// unfused), and returns the reduced loss with ∂H, ∂W, ∂b — <b>without ever holding the 2N·T×V logits</b>.
/// <para>Built on <see cref="LinearCrossEntropyLoss"/>: a forward pass of its chunks gives every token's
/// −log p (its row kernel), the preference loss gives g_s = ∂loss/∂log π(y_s), and a second pass of the same chunks runs
/// linear_ce's backward with the per-row factor −g_s (∂log p/∂z = e_y − softmax(z) is −∂ce/∂z). The logits are computed
/// twice (8·M·d·V flops for M = 2N·T positions instead of the materialised path's 6), the memory is linear_ce's: one chunk
/// of rows.</para>
/// <para><c>mean</c> divides by the number of pairs N, or by <c>totalPairs</c> when a batch is split over several calls,
/// so the chunks' gradients add up to the whole batch's (not for <c>aot</c>/<c>aot_pair</c>, which sort over the call's
/// pairs).</para>
/// </summary>
public sealed class LinearPreferenceLoss : ILoss
{
    /// <summary>The paired preference losses that can be wrapped (their inputs are per-sequence log-probabilities).</summary>
    public static IReadOnlyList<LossDefinition> Wrappable { get; } =
        [DpoLoss.Registration, OrpoLoss.Registration, SimPoLoss.Registration, CpoLoss.Registration];

    /// <summary>The wrapped per-sequence loss, with its own arguments (but not its reduction, which is this loss's).</summary>
    public static readonly LossParameter LossParameter = new("loss", ParameterKind.Choice,
        "the per-sequence preference loss applied to the sequences' log-probabilities, with its own arguments, e.g. dpo(beta=0.1, loss_type=ipo) or simpo(gamma=0.3)")
    {
        Choices = ["dpo", "orpo", "simpo", "cpo"],
        NestedSpec = true,
    };

    /// <summary>The common ignore_index, with its meaning here.</summary>
    public static readonly LossParameter IgnoreIndexParameter = CommonParameters.IgnoreIndex with
    {
        Description = "token id of positions that count in no sequence's log-probability (prompt, padding)",
    };

    public static LossCard Definition { get; } = new()
    {
        Name = "linear_preference",
        Family = "large vocabulary",
        Title = "Preference loss (DPO, ORPO, SimPO, CPO) fused with the output layer; the 2N·T×V logits are never materialised",
        Formula = "ℓ_i = loss(log π(c_i), log π(r_i), ref_i, |c_i|, |r_i|), log π(y_s) = Σ_{t counted} log softmax(W·h_{s,t} + b)[y_{s,t}]",
        Gradient = "g_s = ∂L/∂log π(y_s) from the wrapped loss; per position G_{s,t} = g_s·(e_y − softmax(z_{s,t})); ∂H = G·W, ∂W = Gᵀ·H, ∂b = Σ G (linear_ce's backward with per-row factors)",
        Reference = "Hsu et al. 2024, Liger Kernel (LigerFusedLinearDPOLoss, fused linear preference); Wijmans et al. 2024, Cut Your Losses in Large-Vocabulary Language Models; TRL DPOTrainer/CPOTrainer/ORPOTrainer (per-sequence log-probabilities)",
        Parameters =
        [
            LossParameter, IgnoreIndexParameter, PreferenceLoss.ReductionParameter,
            LinearCrossEntropyLoss.ChunkRowsParameter, LinearCrossEntropyLoss.VocabBlockParameter,
        ],
        Properties = LossProperties.None,
        Notes = "Inputs: hidden (2N×T×d, the N chosen sequences then the N rejected), weight (V×d), bias (V, optional), targets (2N×T token ids, already aligned with " +
                "the positions that predict them; ignore_index for prompt and padding), reference_chosen_logps and reference_rejected_logps (N, for losses with a reference). " +
                "The token counts are passed to the wrapped loss as chosen_lengths/rejected_lengths (SimPO, ORPO, CPO and IPO average per token). " +
                "A sequence with no counted token is an error. Two passes of linear_ce's chunks (logits computed twice); extra memory is linear_ce's chunk.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new LinearPreferenceLoss(a.Choice(LossParameter), a.Integer(IgnoreIndexParameter),
        a.Reduction(), a.Integer(LinearCrossEntropyLoss.ChunkRowsParameter), a.Integer(LinearCrossEntropyLoss.VocabBlockParameter)));

    private readonly LinearCrossEntropyLoss _rows;

    /// <param name="loss">The wrapped loss as a spec (null: <c>dpo</c>), one of <see cref="Wrappable"/> with its own
    /// arguments but no <c>reduction</c>.</param>
    /// <param name="ignoreIndex">Token id of positions that are not counted (prompt, padding).</param>
    /// <param name="reduction">mean over pairs, sum or none (the loss of each pair; the value is their sum).</param>
    /// <param name="chunkRows">linear_ce's rows per chunk (0: automatic).</param>
    /// <param name="vocabBlock">linear_ce's vocabulary block (0: automatic).</param>
    public LinearPreferenceLoss(string? loss = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean,
        int? chunkRows = null, int? vocabBlock = null)
    {
        (Wrapped, Summed) = Build(loss ?? LossParameter.Choices[0]);
        IgnoreIndex = ignoreIndex;
        Reduction = CommonParameters.Resolve(reduction);
        _rows = new LinearCrossEntropyLoss(ignoreIndex: ignoreIndex, reduction: Reduction.Sum, chunkRows: chunkRows, vocabBlock: vocabBlock);
    }

    /// <summary>The wrapped loss as configured (reduction mean; its spec is this loss's <c>loss</c> argument).</summary>
    public PreferenceLoss Wrapped { get; }

    /// <summary>The wrapped loss with reduction sum: what the call runs, before this loss's own reduction.</summary>
    private PreferenceLoss Summed { get; }

    public int IgnoreIndex { get; }
    public Reduction Reduction { get; }
    /// <summary>Configured rows per chunk (0 = automatic).</summary>
    public int ChunkRows => _rows.ChunkRows;
    /// <summary>Configured classes per vocabulary block (0 = automatic).</summary>
    public int VocabBlock => _rows.VocabBlock;

    /// <inheritdoc/>
    public LossCard Card => Definition;

    /// <inheritdoc/>
    public LossKind Kind => LinearPreferenceKind.Instance;

    /// <inheritdoc/>
    public IEnumerable<ParameterValue> ParameterValues =>
    [
        LossParameter.Of(Wrapped.Spec), IgnoreIndexParameter.Of(IgnoreIndex), PreferenceLoss.ReductionParameter.Of(Reduction),
        LinearCrossEntropyLoss.ChunkRowsParameter.Of(ChunkRows), LinearCrossEntropyLoss.VocabBlockParameter.Of(VocabBlock),
    ];

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <summary>The wrapped loss's range on log-probabilities (1e4) shrunk for hidden states: a sequence's log-probability
    /// grows with T·d times the hidden states' magnitude.</summary>
    public double FiniteInputScale => Wrapped.FiniteInputScale >= 1e30 ? 1e30 : Wrapped.FiniteInputScale / 1000;

    /// <summary>True when the wrapped loss takes the reference log-probabilities.</summary>
    public bool UsesReference => Wrapped.UsesReference;

    /// <inheritdoc/>
    public override string ToString() => Spec;

    private static (PreferenceLoss Wrapped, PreferenceLoss Summed) Build(string spec)
    {
        ParsedSpec parsed = SpecParser.Parse(spec);
        LossDefinition definition = Wrappable.FirstOrDefault(d => d.Card.Name == parsed.Name)
            ?? throw new ArgumentException($"loss={spec}: '{parsed.Name}' is not a paired preference loss; expected one of {string.Join(", ", Wrappable.Select(d => d.Card.Name))}.", "loss");
        foreach (string key in parsed.Arguments.Keys)
            if (key == PreferenceLoss.ReductionParameter.Name || definition.Card.Parameter(key) is null)
                throw new ArgumentException($"loss={spec}: '{key}' is not a parameter {parsed.Name} takes here (it takes " +
                    $"{string.Join(", ", definition.Card.Parameters.Where(p => p.Name != PreferenceLoss.ReductionParameter.Name).Select(p => p.Name))}; the reduction is linear_preference's).", "loss");
        var summed = new Dictionary<string, SpecValue>(parsed.Arguments) { [PreferenceLoss.ReductionParameter.Name] = new SpecValue(null, "sum", null) };
        try
        {
            return ((PreferenceLoss)definition.Create(new SpecArguments(spec, definition.Card, parsed.Arguments)),
                (PreferenceLoss)definition.Create(new SpecArguments(spec, definition.Card, summed)));
        }
        catch (ArgumentException e) { throw new ArgumentException($"loss={spec}: {e.Message}", "loss", e); }
    }

    /// <summary>
    /// The preference loss of N pairs from hidden states, and its gradients by H, W and b, computed in T (float or double)
    /// chunk by chunk.
    /// </summary>
    /// <param name="hidden">H, row-major (2N·T)×d: position t of sequence s is row s·T + t; sequences 0..N−1 are the chosen
    /// ones, N..2N−1 the rejected ones (pair i = sequences i and N + i).</param>
    /// <param name="weight">W, V×d.</param>
    /// <param name="bias">b (V), or empty.</param>
    /// <param name="pairs">N.</param>
    /// <param name="tokens">T, positions per sequence (padded).</param>
    /// <param name="dim">d.</param>
    /// <param name="vocab">V.</param>
    /// <param name="targets">2N·T token ids: the token position t is scored against (already shifted), or ignore_index.</param>
    /// <param name="referenceChosen">log π_ref of each chosen sequence (N), or empty for a loss without a reference.</param>
    /// <param name="referenceRejected">log π_ref of each rejected sequence (N), or empty.</param>
    /// <param name="pairLosses">Empty, or N: each pair's loss.</param>
    /// <param name="gradHidden">Empty, or H's shape: ∂(reduced loss)/∂H (0 at ignored positions).</param>
    /// <param name="gradWeight">Empty, or V×d (overwritten).</param>
    /// <param name="gradBias">Empty, or V (overwritten; also wanted without a bias: b = 0).</param>
    /// <param name="logProbabilities">Empty, or 2N: each sequence's log-probability (chosen then rejected), in double.</param>
    /// <param name="totalPairs">The mean's denominator: 0 for N, or the number of pairs of the whole batch when it is split
    /// over several calls (≥ N).</param>
    /// <returns>The reduced loss (the sum of the pairs' losses for <see cref="Reduction.None"/>).</returns>
    public T Compute<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int pairs, int tokens, int dim, int vocab,
        ReadOnlySpan<int> targets, ReadOnlySpan<T> referenceChosen, ReadOnlySpan<T> referenceRejected, Span<T> pairLosses = default,
        Span<T> gradHidden = default, Span<T> gradWeight = default, Span<T> gradBias = default, Span<double> logProbabilities = default,
        int totalPairs = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = CheckCall(hidden, weight, bias, pairs, tokens, dim, vocab, targets, referenceChosen, referenceRejected, pairLosses,
            gradHidden, gradWeight, gradBias, logProbabilities, totalPairs) * tokens;
        bool wantGrad = !gradHidden.IsEmpty || !gradWeight.IsEmpty || !gradBias.IsEmpty;
        // Every position's −log p(y) and (with a gradient) its factor: rented for the call.
        double[] buffer = ArrayPool<double>.Shared.Rent(2 * rows);
        try
        {
            Span<double> tokenLosses = buffer.AsSpan(0, rows), rowScales = wantGrad ? buffer.AsSpan(rows, rows) : default;
            tokenLosses.Clear();   // a rented array holds old values

            // Pass 1: linear_ce's forward, every position's −log p(y).
            _rows.ComputeRows(hidden, weight, bias, rows, dim, vocab, targets, default, tokenLosses, reserveBackward: !gradHidden.IsEmpty);
            double value = Pairs(tokenLosses, targets, pairs, tokens, referenceChosen, referenceRejected, pairLosses, logProbabilities, totalPairs, rowScales);

            // Pass 2: linear_ce's backward with the per-row factor −scale·∂loss/∂log π of the row's sequence.
            if (wantGrad)
                _rows.ComputeRows(hidden, weight, bias, rows, dim, vocab, targets, rowScales, tokenLosses, gradHidden, gradWeight, gradBias);
            return T.CreateTruncating(value);
        }
        finally { ArrayPool<double>.Shared.Return(buffer); }
    }

    /// <summary>
    /// The same result the straightforward way, for benchmarks: the (2N·T)×V logits by one GEMM, <c>ce</c> on them
    /// (per-position losses and the gradient softmax − e_y in a second array), the sequences' sums and the wrapped loss as in
    /// <see cref="Compute{T}"/>, each row of the gradient scaled by its sequence's factor, and two GEMMs for ∂H and ∂W.
    /// Allocates 2·(2N·T)·V values.
    /// </summary>
    public T ComputeMaterialized<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int pairs, int tokens, int dim, int vocab,
        ReadOnlySpan<int> targets, ReadOnlySpan<T> referenceChosen, ReadOnlySpan<T> referenceRejected, Span<T> pairLosses = default,
        Span<T> gradHidden = default, Span<T> gradWeight = default, Span<T> gradBias = default, Span<double> logProbabilities = default,
        int totalPairs = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = CheckCall(hidden, weight, bias, pairs, tokens, dim, vocab, targets, referenceChosen, referenceRejected, pairLosses,
            gradHidden, gradWeight, gradBias, logProbabilities, totalPairs) * tokens;
        long size = (long)rows * vocab;
        if (size > Array.MaxLength) throw new ArgumentException($"the materialised path needs {rows}×{vocab} = {size} logits, more than one array can hold.", nameof(pairs));
        bool wantGrad = !gradHidden.IsEmpty || !gradWeight.IsEmpty || !gradBias.IsEmpty;
        var logits = new T[size];
        Gemm.Multiply<T>(hidden, weight, logits, rows, vocab, dim, transposeB: true);
        if (!bias.IsEmpty)
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(logits.AsSpan(r * vocab, vocab), bias, logits.AsSpan(r * vocab, vocab));
        T[] g = wantGrad ? new T[size] : [], perRow = new T[rows];
        new CrossEntropyLoss(ignoreIndex: IgnoreIndex, reduction: Reduction.Sum).Compute<T>(logits, vocab, targets, perRow, g);
        var tokenLosses = new double[rows];
        for (int r = 0; r < rows; r++) tokenLosses[r] = double.CreateTruncating(perRow[r]);
        double[]? rowScales = wantGrad ? new double[rows] : null;
        double value = Pairs(tokenLosses, targets, pairs, tokens, referenceChosen, referenceRejected, pairLosses, logProbabilities, totalPairs, rowScales);
        if (wantGrad)
        {
            for (int r = 0; r < rows; r++) TensorPrimitives.Multiply(g.AsSpan(r * vocab, vocab), T.CreateTruncating(rowScales![r]), g.AsSpan(r * vocab, vocab));
            if (!gradHidden.IsEmpty) Gemm.Multiply<T>(g, weight, gradHidden, rows, dim, vocab);
            if (!gradWeight.IsEmpty) Gemm.Multiply<T>(g, hidden, gradWeight, vocab, dim, rows, transposeA: true);
            if (!gradBias.IsEmpty)
            {
                gradBias.Clear();
                for (int r = 0; r < rows; r++) TensorPrimitives.Add(gradBias, g.AsSpan(r * vocab, vocab), gradBias);
            }
        }
        return T.CreateTruncating(value);
    }

    /// <summary>From each position's −log p: the sequences' log-probabilities and token counts, the wrapped loss (summed
    /// over pairs, the same <see cref="PreferenceLoss.Compute{T}"/> the unfused loss runs), this loss's reduction, and
    /// (when <paramref name="rowScales"/> is not empty: a gradient is wanted) each position's gradient factor
    /// −scale·∂loss/∂log π of its sequence. Returns the reduced loss.</summary>
    private double Pairs<T>(ReadOnlySpan<double> tokenLosses, ReadOnlySpan<int> targets, int pairs, int tokens, ReadOnlySpan<T> referenceChosen,
        ReadOnlySpan<T> referenceRejected, Span<T> pairLosses, Span<double> logProbabilities, int totalPairs, Span<double> rowScales)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int sequences = 2 * pairs;
        // The sequences' log π and token counts, the pairs' losses and derivatives and the references in double: rented.
        double[] buffer = ArrayPool<double>.Shared.Rent(2 * sequences + 3 * pairs + referenceChosen.Length + referenceRejected.Length);
        try
        {
            Span<double> logp = buffer.AsSpan(0, sequences), counts = buffer.AsSpan(sequences, sequences);
            Span<double> losses = buffer.AsSpan(2 * sequences, pairs), dChosen = buffer.AsSpan(2 * sequences + pairs, pairs),
                dRejected = buffer.AsSpan(2 * sequences + 2 * pairs, pairs);
            Span<double> refChosen = buffer.AsSpan(2 * sequences + 3 * pairs, referenceChosen.Length),
                refRejected = buffer.AsSpan(2 * sequences + 3 * pairs + referenceChosen.Length, referenceRejected.Length);
            for (int s = 0; s < sequences; s++)
            {
                double sum = 0;
                int count = 0;
                for (int t = 0; t < tokens; t++)
                {
                    if (targets[s * tokens + t] == IgnoreIndex) continue;
                    sum -= tokenLosses[s * tokens + t];
                    count++;
                }
                if (double.IsNaN(sum))
                    throw new RowException("hidden", s * tokens, $"sequence {s} ({Which(s, pairs)}) has a NaN log-probability: a NaN or +∞ in hidden, weight or bias reaches its logits (hidden rows {s * tokens} to {s * tokens + tokens - 1}).");
                (logp[s], counts[s]) = (sum, count);
            }
            if (!logProbabilities.IsEmpty) logp.CopyTo(logProbabilities);

            TensorPrimitives.ConvertTruncating(referenceChosen, refChosen);
            TensorPrimitives.ConvertTruncating(referenceRejected, refRejected);
            double total = Summed.Compute<double>(logp[..pairs], logp[pairs..], refChosen, refRejected,
                counts[..pairs], counts[pairs..], losses, dChosen, dRejected);
            double scale = Reduction == Reduction.Mean ? 1.0 / (totalPairs > 0 ? totalPairs : pairs) : 1;
            for (int i = 0; i < pairLosses.Length; i++) pairLosses[i] = T.CreateTruncating(losses[i]);
            if (!rowScales.IsEmpty)
                for (int s = 0; s < sequences; s++)
                    rowScales.Slice(s * tokens, tokens).Fill(-scale * (s < pairs ? dChosen[s] : dRejected[s - pairs]));
            return Reduction == Reduction.Mean ? total * scale : total;
        }
        finally { ArrayPool<double>.Shared.Return(buffer); }
    }

    /// <summary>linear_ce's rows per chunk and vocabulary block for M positions (for benchmark reports).</summary>
    internal (int ChunkRows, int VocabBlock) ChunkingFor(int positions, int vocab, int dim, int elementSize) =>
        (_rows.ChunkRowsFor(positions, vocab, dim, elementSize), _rows.VocabBlockFor(vocab, dim, elementSize));

    /// <summary>The element type and every argument of a call checked (<see cref="Check"/>); returns 2N.</summary>
    private int CheckCall<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int pairs, int tokens, int dim, int vocab,
        ReadOnlySpan<int> targets, ReadOnlySpan<T> referenceChosen, ReadOnlySpan<T> referenceRejected, Span<T> pairLosses, Span<T> gradHidden,
        Span<T> gradWeight, Span<T> gradBias, Span<double> logProbabilities, int totalPairs) where T : unmanaged
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"linear_preference computes in float or double, not {typeof(T).Name}.");
        return Check(hidden.Length, weight.Length, bias.Length, pairs, tokens, dim, vocab, targets, referenceChosen.Length,
            referenceRejected.Length, pairLosses.Length, gradHidden.Length, gradWeight.Length, gradBias.Length, logProbabilities.Length, totalPairs);
    }

    /// <summary>Checks every shape, the token ids and that every sequence has a counted token; returns 2N.</summary>
    private int Check(int hiddenLength, int weightLength, int biasLength, int pairs, int tokens, int dim, int vocab, ReadOnlySpan<int> targets,
        int referenceChosenLength, int referenceRejectedLength, int pairLossesLength, int gradHiddenLength, int gradWeightLength, int gradBiasLength,
        int logProbabilitiesLength, int totalPairs)
    {
        // The shapes for an error message, formatted only when one is thrown.
        var shapes = new CallShapes(pairs, tokens, dim, vocab, hiddenLength, weightLength, biasLength, targets.Length);
        if (pairs < 1) throw new ArgumentOutOfRangeException(nameof(pairs), pairs, $"pairs = {pairs}: expected at least 1. {shapes.Text()}");
        if (tokens < 1) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, $"tokens = {tokens}: expected at least 1. {shapes.Text()}");
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"dim = {dim}: expected at least 1. {shapes.Text()}");
        if (vocab < 1) throw new ArgumentOutOfRangeException(nameof(vocab), vocab, $"vocab = {vocab}: expected at least 1. {shapes.Text()}");
        int sequences = 2 * pairs;
        long rows = (long)sequences * tokens;
        if (rows * dim > Array.MaxLength) throw new ArgumentException($"2·pairs·tokens·dim = {rows * dim} values is more than one array can hold. {shapes.Text()}", "hidden");
        if (hiddenLength != rows * dim)
            throw new ArgumentException($"hidden has {hiddenLength} values; expected 2·pairs×tokens×dim = {sequences}×{tokens}×{dim} = {rows * dim} (the chosen sequences, then the rejected). {shapes.Text()}", "hidden");
        LinearCrossEntropyLoss.CheckHead(weightLength, biasLength, vocab, dim, shapes);
        if (targets.Length != rows)
            throw new ArgumentException($"targets has {targets.Length} values; expected one token id per position, 2·pairs×tokens = {sequences}×{tokens} = {rows}. {shapes.Text()}", "targets");
        if (UsesReference)
        {
            if (referenceChosenLength != pairs)
                throw new ArgumentException(referenceChosenLength == 0 ? $"reference_chosen_logps is required by {Wrapped.Spec}: give one log-probability per pair ({pairs})."
                    : $"reference_chosen_logps has {referenceChosenLength} values; expected one per pair ({pairs}). {shapes.Text()}", "reference_chosen_logps");
            if (referenceRejectedLength != pairs)
                throw new ArgumentException(referenceRejectedLength == 0 ? $"reference_rejected_logps is required by {Wrapped.Spec}: give one log-probability per pair ({pairs})."
                    : $"reference_rejected_logps has {referenceRejectedLength} values; expected one per pair ({pairs}). {shapes.Text()}", "reference_rejected_logps");
        }
        if (pairLossesLength != 0 && pairLossesLength != pairs)
            throw new ArgumentException($"pairLosses has {pairLossesLength} values; expected one per pair ({pairs}) or none.", "pairLosses");
        LinearCrossEntropyLoss.CheckHeadGradients(gradHiddenLength, gradWeightLength, gradBiasLength, rows, vocab, dim, shapes);
        if (logProbabilitiesLength != 0 && logProbabilitiesLength != sequences)
            throw new ArgumentException($"logProbabilities has {logProbabilitiesLength} values; expected one per sequence ({sequences}) or none.", "logProbabilities");
        if (totalPairs != 0 && totalPairs < pairs)
            throw new ArgumentOutOfRangeException(nameof(totalPairs), totalPairs, $"totalPairs = {totalPairs}: expected 0 (this call's {pairs} pairs) or the whole batch's pairs, at least {pairs}.");
        for (int s = 0; s < sequences; s++)
        {
            int count = 0;
            for (int t = 0; t < tokens; t++)
            {
                int i = s * tokens + t, y = targets[i];
                if (y == IgnoreIndex) continue;
                if ((uint)y >= (uint)vocab)
                    throw new RowException("targets", i, $"targets[{s}][{t}] = {y} (sequence {s}, {Which(s, pairs)}) is not a token id: expected 0 ≤ id < vocab = {vocab}, or ignore_index ({IgnoreIndex}).");
                count++;
            }
            if (count == 0)
                throw new RowException("targets", s * tokens, $"targets[{s}] (sequence {s}, {Which(s, pairs)}) has no counted token: all {tokens} positions are ignore_index ({IgnoreIndex}); " +
                    "a sequence's log-probability needs at least one token (expected at least one id in 0 ≤ id < vocab).");
        }
        return sequences;
    }

    /// <summary>The shapes of a linear_preference call.</summary>
    private readonly struct CallShapes(int pairs, int tokens, int dim, int vocab, int hiddenLength, int weightLength, int biasLength, int targetsLength)
        : LinearCrossEntropyLoss.IShapeSummary
    {
        public string Text() => string.Create(CultureInfo.InvariantCulture,
            $"Shapes: pairs = {pairs}, tokens = {tokens}, dim = {dim}, vocab = {vocab}; hidden has {hiddenLength} values, weight {weightLength}, bias {biasLength}, targets {targetsLength}.");
    }

    private static string Which(int sequence, int pairs) => sequence < pairs ? $"the chosen sequence of pair {sequence}" : $"the rejected sequence of pair {sequence - pairs}";
}
