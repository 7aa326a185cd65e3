using System.Buffers;
using System.Globalization;
using System.Numerics.Tensors;
using System.Numerics;
using System.Runtime.InteropServices;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Softmax;

namespace LossKit.LargeVocabulary;

/// <summary>
/// A linear output layer fused with softmax cross-entropy, spec <c>linear_ce</c>: hidden states H (N×d), a
/// classifier W (V×d) and an optional bias b (V) give the logits <c>Z = H·Wᵀ + b</c>, and the call returns the
/// reduced cross-entropy of Z against class-index targets, the per-row losses and the gradients ∂H, ∂W and ∂b
/// <b>without ever holding the N×V logits</b>.
/// <para>The rows are processed in chunks of R rows (<see cref="ChunkRows"/>): the chunk's logits
/// <c>Z_c = H_c·Wᵀ</c> come from <see cref="Gemm"/>, the cross-entropy row kernel turns them in place into
/// their gradient <c>G_c = s·∂ℓ/∂Z_c</c> (every <c>ce</c> option; s is the reduction factor of the whole batch,
/// 1/Σ w_{y_n} for the mean, known from the targets before the pass), and then <c>∂H_c = G_c·W</c>,
/// <c>∂W += G_cᵀ·H_c</c> and <c>∂b += Σ_rows G_c</c>. The row kernel is <c>ce</c>'s arithmetic in <c>ce</c>'s order,
/// so with one chunk the results are bit for bit those of GEMM + <see cref="CrossEntropyLoss"/> + GEMMs. Extra memory is one chunk of logits,
/// R×V values plus 3 R×d blocks of ∂H partial sums (at most 36 MiB with the automatic chunk size), plus the GEMM's
/// packing buffers (about 8.4 MiB per concurrently running GEMM, i.e. per thread).</para>
/// <para>The semantics are <see cref="CrossEntropyLoss"/>'s (PyTorch <c>F.cross_entropy(H @ W.T + b, y)</c>):
/// class <c>weight</c>, <c>ignore_index</c>, label <c>smoothing</c>, <c>lse_sq</c>, <c>softcap</c>,
/// <c>temperature</c>, reductions <c>none | sum | mean</c> (a mean over zero kept rows is 0 with zero
/// gradients). <c>shift</c> is for causal language modelling: row t of H predicts <c>targets[t+1]</c>.</para>
/// <para>Inputs are float or double (computed in that type), or Half (converted to float chunk by chunk and slice by
/// slice; float outputs).</para>
/// <para>Deterministic: the chunks, the GEMM's blocking and the order in which ∂W and ∂b are accumulated depend
/// only on the shapes, never on <see cref="Parallelism.MaxThreads"/>, so results are bit-identical for any thread
/// count.</para>
/// </summary>
/// <example><code>
/// var loss = new LinearCrossEntropyLoss(ignoreIndex: -100, shift: true);
/// float value = loss.Compute(hidden, weight, bias: default, rows: N, dim: d, vocab: V, targets,
///     rowLosses: default, gradHidden: dH, gradWeight: dW, gradBias: default);
/// </code></example>
public sealed partial class LinearCrossEntropyLoss : ILoss
{
    /// <summary>Scratch per automatic chunk: 36 MiB (264 rows at V = 32000, d = 1024 in float), so that with the GEMM's
    /// packing buffers of two threads a call stays under 64 MiB of extra memory, allocated or resident.</summary>
    public const long ChunkBudgetBytes = 36L << 20;

    /// <summary>The automatic chunk never has more rows than this: beyond it the GEMMs gain nothing.</summary>
    public const int MaxAutoChunkRows = 512;

    public static readonly LossParameter ShiftParameter = new("shift", ParameterKind.Choice,
        "causal language modelling: row t of H predicts targets[t+1] (rows 0..N−2 against targets 1..N−1), without copying H")
    { Choices = ["false", "true"] };

    public static readonly LossParameter ChunkRowsParameter = new("chunk_rows", ParameterKind.Integer,
        "rows of logits held at a time; 0 = automatic (≤ 36 MiB of scratch, 8 to 512 rows)")
    { Default = 0, Min = 0, Max = 1 << 24 };

    public static readonly LossParameter VocabBlockParameter = new("vocab_block", ParameterKind.Integer,
        "classes per vocabulary block with an online log-sum-exp (logits recomputed in the backward pass); 0 = automatic " +
        "(whole rows of logits while at least 64 rows fit the scratch budget, else blocks of 2048); ≥ V means whole rows")
    { Default = 0, Min = 0, Max = 1 << 30 };

    public static LossCard Definition { get; } = new()
    {
        Name = "linear_ce",
        Family = "large vocabulary",
        Title = "Linear layer fused with softmax cross-entropy; the N×V logits are never materialised",
        Formula = "ℓ_n = ce(z_n, y_n) with z_n = W·h_n + b (every ce option); shift: ℓ_t = ce(z_t, y_{t+1})",
        Gradient = "G = ∂ℓ/∂Z (ce's row gradient, chunk by chunk); ∂H = G·W, ∂W = Gᵀ·H, ∂b = Σ_n G_n",
        Reference = "Wijmans et al. 2024, Cut Your Losses in Large-Vocabulary Language Models; Hsu et al. 2024, Liger Kernel (fused linear cross-entropy); PyTorch F.cross_entropy(H @ W.T + b, y)",
        Parameters = [.. CommonParameters.SoftmaxOptions, .. CommonParameters.ClassIndex, ShiftParameter, ChunkRowsParameter, VocabBlockParameter],
        Properties = LossProperties.NonNegative,
        Notes = "Inputs are hidden states H (N×d), classifier W (V×d), optional bias b (V) and class indices: use LinearCrossEntropyLoss.Compute, " +
                "or `losskit eval --loss linear_ce` with {\"hidden\", \"weight\", \"bias\", \"targets\"}. Extra memory: one chunk of R×V logits " +
                "(automatic R: at most 36 MiB with the ∂H partial sums), or for very large vocabularies R×block logits per group of vocabulary " +
                "blocks (online log-sum-exp, logits recomputed for the backward pass), plus the GEMM's packing buffers. " +
                "A mean over zero kept rows is 0 with zero gradients (PyTorch: NaN).",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new LinearCrossEntropyLoss(a.Number(CommonParameters.Smoothing),
        a.Number(CommonParameters.LseSquared), a.Number(CommonParameters.Softcap), a.Number(CommonParameters.Temperature), a.Weight(),
        a.IgnoreIndex(), a.Reduction(), a.Flag(ShiftParameter), a.Integer(ChunkRowsParameter), a.Integer(VocabBlockParameter)));

    private readonly double[]? _weight;
    /// <summary>The class weights in float (the float path's), converted once.</summary>
    private readonly float[]? _weightSingle;

    /// <param name="smoothing">Label smoothing ε ∈ [0, 1] (null, like every option here: the card's default).</param>
    /// <param name="lseSquared">λ ≥ 0 of the auxiliary z-loss λ·lse².</param>
    /// <param name="softcap">c ≥ 0 (0 = off): z ← c·tanh(z/c) first.</param>
    /// <param name="temperature">T &gt; 0: z ← z/T (after softcap).</param>
    /// <param name="weight">Optional per-class weights (length V, each finite and ≥ 0) — not the classifier, which
    /// is an argument of <see cref="Compute{T}"/>.</param>
    /// <param name="ignoreIndex">Target value whose rows are skipped (PyTorch default −100).</param>
    /// <param name="reduction">none, sum or mean.</param>
    /// <param name="shift">Row t of H predicts targets[t+1]: N−1 predictions from N rows.</param>
    /// <param name="chunkRows">Rows of logits computed at a time; 0 picks <see cref="AutoChunkRows"/>.</param>
    /// <param name="vocabBlock">Classes per vocabulary block (online log-sum-exp, logits recomputed for the backward
    /// pass); 0 = automatic (<see cref="VocabBlockFor"/>).</param>
    public LinearCrossEntropyLoss(double? smoothing = null, double? lseSquared = null, double? softcap = null, double? temperature = null,
        IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean,
        bool shift = false, int? chunkRows = null, int? vocabBlock = null)
    {
        VocabBlock = VocabBlockParameter.Resolve(vocabBlock);
        Smoothing = CommonParameters.Smoothing.Resolve(smoothing);
        LseSquared = CommonParameters.LseSquared.Resolve(lseSquared);
        Softcap = CommonParameters.Softcap.Resolve(softcap);
        Temperature = CommonParameters.Temperature.Resolve(temperature);
        _weight = CommonParameters.Weight.Resolve(weight);
        _weightSingle = _weight is null ? null : Array.ConvertAll(_weight, float.CreateTruncating);
        ChunkRows = ChunkRowsParameter.Resolve(chunkRows);
        IgnoreIndex = ignoreIndex;
        Reduction = CommonParameters.Resolve(reduction);
        Shift = shift;
    }

    public double Smoothing { get; }
    public double LseSquared { get; }
    public double Softcap { get; }
    public double Temperature { get; }
    /// <summary>Per-class weights, or null.</summary>
    public IReadOnlyList<double>? Weight => _weight;
    public int IgnoreIndex { get; }
    public Reduction Reduction { get; }
    /// <summary>Causal-LM shift: row t predicts targets[t+1].</summary>
    public bool Shift { get; }

    /// <summary>Seen through <see cref="LinearCrossEntropyKind"/>: hidden, weight, bias and targets in; gradients for the first three.</summary>
    public LossKind Kind => LinearCrossEntropyKind.Instance;
    /// <summary>Configured rows per chunk (0 = automatic).</summary>
    public int ChunkRows { get; }
    /// <summary>Configured classes per vocabulary block (0 = automatic; see <see cref="VocabBlockFor"/>).</summary>
    public int VocabBlock { get; }

    /// <inheritdoc/>
    public LossCard Card => Definition;

    /// <inheritdoc/>
    public IEnumerable<ParameterValue> ParameterValues =>
    [
        CommonParameters.Smoothing.Of(Smoothing), CommonParameters.LseSquared.Of(LseSquared), CommonParameters.Softcap.Of(Softcap),
        CommonParameters.Temperature.Of(Temperature), CommonParameters.Weight.Of(_weight), CommonParameters.IgnoreIndex.Of(IgnoreIndex),
        CommonParameters.Reduction.Of(Reduction), ShiftParameter.Of(Shift), ChunkRowsParameter.Of(ChunkRows), VocabBlockParameter.Of(VocabBlock),
    ];

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <inheritdoc/>
    public override string ToString() => Spec;

    /// <summary>The automatic chunk: as many rows as fit <see cref="ChunkBudgetBytes"/> of scratch — a row of logits
    /// (V values) and up to 3 rows of ∂H partial sums (d values each) per chunk row — rounded down to a multiple of 8,
    /// between 8 and <see cref="MaxAutoChunkRows"/>.</summary>
    public static int AutoChunkRows(int vocab, int dim, int elementSize)
    {
        long fit = ChunkBudgetBytes / Math.Max(1L, ((long)vocab + (HiddenGroups - 1L) * dim) * elementSize);
        return (int)Math.Clamp(fit / 8 * 8, 8, MaxAutoChunkRows);
    }

    /// <summary>Rows per chunk for a problem with <paramref name="predictions"/> rows (N, or N−1 with shift).</summary>
    public int ChunkRowsFor(int predictions, int vocab, int dim, int elementSize)
    {
        int block = VocabBlockFor(vocab, dim, elementSize);
        if (block > 0) return BlockedChunkRows(predictions, vocab, dim, elementSize, block);
        int r = ChunkRows > 0 ? ChunkRows : AutoChunkRows(vocab, dim, elementSize);
        r = Math.Max(1, Math.Min(r, predictions));
        if ((long)r * (vocab + (HiddenGroups - 1L) * dim) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(ChunkRows), r,
                $"chunk_rows = {r} × (vocab + 3·dim) = {(long)r * (vocab + 3L * dim)} scratch values is more than one array can hold ({Array.MaxLength}); use fewer chunk rows.");
        return r;
    }

    /// <summary>
    /// Loss and gradients of <c>ce(H·Wᵀ + b, targets)</c> computed chunk by chunk, in float or double (double for gradient checks and science).
    /// </summary>
    /// <param name="hidden">H, row-major rows×dim.</param>
    /// <param name="weight">The classifier W, row-major vocab×dim (row k scores class k).</param>
    /// <param name="bias">b (length vocab), or empty for none. −∞ masks a class.</param>
    /// <param name="rows">N, the rows of H.</param>
    /// <param name="dim">d.</param>
    /// <param name="vocab">V, the classes.</param>
    /// <param name="targets">One class index per row of H (length N) or the ignore index. With <see cref="Shift"/>,
    /// row t is scored against targets[t+1] and targets[0] is not read.</param>
    /// <param name="rowLosses">Empty, or one value per prediction (N; N−1 with shift): the unreduced losses.</param>
    /// <param name="gradHidden">Empty, or rows×dim: ∂(reduced loss)/∂H (with shift, the last row is 0).</param>
    /// <param name="gradWeight">Empty, or vocab×dim: ∂(reduced loss)/∂W (overwritten, not accumulated into).</param>
    /// <param name="gradBias">Empty, or vocab: ∂(reduced loss)/∂b (also wanted without a bias: b = 0).</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double (Half input has its own overload).</exception>
    public T Compute<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradHidden = default, Span<T> gradWeight = default,
        Span<T> gradBias = default) where T : unmanaged, IFloatingPointIeee754<T> =>
        Fused(hidden, weight, bias, rows, dim, vocab, targets, rowLosses, gradHidden, gradWeight, gradBias);

    /// <summary>
    /// Half-precision H, W and b (mixed precision): each chunk of H and each slice of W is converted to float when a
    /// task needs it, everything is computed and accumulated in float, and the per-row losses and gradients are float
    /// (the fp32 gradients of mixed-precision training). Exactly the float results for the converted inputs. Extra
    /// memory beyond the float path: one R×d chunk of H and one W slice (≤ 2048×d floats) per running task.
    /// </summary>
    public float Compute(ReadOnlySpan<Half> hidden, ReadOnlySpan<Half> weight, ReadOnlySpan<Half> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<float> rowLosses = default, Span<float> gradHidden = default, Span<float> gradWeight = default,
        Span<float> gradBias = default)
    {
        // b in float, rented for the call (a rented array may be longer: the span has b's length).
        float[] rented = ArrayPool<float>.Shared.Rent(bias.Length);
        try
        {
            Span<float> b = rented.AsSpan(0, bias.Length);
            TensorPrimitives.ConvertToSingle(bias, b);
            return Fused<float>(default, default, b, rows, dim, vocab, targets, rowLosses, gradHidden, gradWeight, gradBias,
                half: true, hiddenHalf: hidden, weightHalf: weight);
        }
        finally { ArrayPool<float>.Shared.Return(rented); }
    }

    /// <summary>Half-precision <see cref="ComputeMaterialized{T}"/>
    /// (H, W and b converted to float first).</summary>
    public float ComputeMaterialized(ReadOnlySpan<Half> hidden, ReadOnlySpan<Half> weight, ReadOnlySpan<Half> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<float> rowLosses = default, Span<float> gradHidden = default, Span<float> gradWeight = default,
        Span<float> gradBias = default) =>
        Materialized<float>(ToSingle(hidden), ToSingle(weight), ToSingle(bias), rows, dim, vocab, targets, rowLosses, gradHidden, gradWeight, gradBias);

    /// <summary>
    /// The fused path with one gradient factor per prediction instead of the reduction's: ∂H, ∂W, ∂b are the gradients of
    /// Σ_n s_n·ℓ_n (s = <paramref name="rowScales"/>, any sign; empty: forward only is expected), and
    /// <paramref name="rowLosses"/> receives each ℓ_n in double as the row kernel computed it (for cross-entropy without
    /// options, −log softmax(z_n)[y_n]). Everything else — chunks, vocabulary blocks, the row kernel, the GEMMs, the
    /// accumulation order — is <see cref="Compute{T}"/>'s. The fused preference loss builds on this. With
    /// <c>reserveBackward</c>, a forward-only call that a call with ∂H will follow takes the chunk buffer (kept between
    /// calls) at the size that call needs, so that the two calls allocate one buffer, not two.
    /// </summary>
    internal void ComputeRows<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, ReadOnlySpan<double> rowScales, Span<double> rowLosses, Span<T> gradHidden = default,
        Span<T> gradWeight = default, Span<T> gradBias = default, bool reserveBackward = false) where T : unmanaged, IFloatingPointIeee754<T> =>
        Fused(hidden, weight, bias, rows, dim, vocab, targets, default, gradHidden, gradWeight, gradBias,
            rowScales: rowScales, rowLossesDouble: rowLosses, reserveBackward: reserveBackward);

    private static float[] ToSingle(ReadOnlySpan<Half> x)
    {
        if (x.IsEmpty) return [];
        var result = new float[x.Length];
        TensorPrimitives.ConvertToSingle(x, result);
        return result;
    }

    /// <summary>
    /// The same result the straightforward way, for comparison and testing: the N×V logits by one GEMM,
    /// <see cref="CrossEntropyLoss"/> on them (gradient in a second N×V array), and two GEMMs for ∂H and ∂W.
    /// Allocates 2·N·V values.
    /// </summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double (Half input has its own overload).</exception>
    public T ComputeMaterialized<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradHidden = default, Span<T> gradWeight = default,
        Span<T> gradBias = default) where T : unmanaged, IFloatingPointIeee754<T> =>
        Materialized(hidden, weight, bias, rows, dim, vocab, targets, rowLosses, gradHidden, gradWeight, gradBias);

    // ---- validation ----

    /// <summary>Checks every shape and the targets; returns the number of predictions (N, or N−1 with shift) and
    /// the mean's denominator Σ w_{y} over kept predictions.</summary>
    private (int Predictions, double Denominator) Validate(int hiddenLength, int weightLength, int biasLength, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, int rowLossesLength, int gradHiddenLength, int gradWeightLength, int gradBiasLength)
    {
        var shapes = new CallShapes(hiddenLength, weightLength, biasLength, targets.Length, rows, dim, vocab);
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows = {rows}: expected at least 1. {shapes.Text()}");
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"dim = {dim}: expected at least 1. {shapes.Text()}");
        if (vocab < 1) throw new ArgumentOutOfRangeException(nameof(vocab), vocab, $"vocab = {vocab}: expected at least 1. {shapes.Text()}");
        if (Shift && rows < 2) throw new ArgumentException($"shift needs at least 2 rows (row t predicts targets[t+1]); rows = {rows}. {shapes.Text()}", nameof(rows));
        long hExpected = (long)rows * dim;
        if (hiddenLength != hExpected)
            throw new ArgumentException($"hidden has {hiddenLength} values; expected rows×dim = {rows}×{dim} = {hExpected}. {shapes.Text()}", "hidden");
        CheckHead(weightLength, biasLength, vocab, dim, shapes);
        if (targets.Length != rows)
            throw new ArgumentException($"targets has {targets.Length} values; expected one per row of hidden, rows = {rows}{(Shift ? " (with shift, row t is scored against targets[t+1]; targets[0] is not read)" : "")}. {shapes.Text()}", "targets");
        int predictions = Shift ? rows - 1 : rows;
        if (rowLossesLength != 0 && rowLossesLength != predictions)
            throw new ArgumentException($"rowLosses has {rowLossesLength} values; expected {predictions} (one per prediction{(Shift ? ": rows − 1 with shift" : "")}) or none. {shapes.Text()}", "rowLosses");
        CheckHeadGradients(gradHiddenLength, gradWeightLength, gradBiasLength, rows, vocab, dim, shapes);
        if (_weight is not null && _weight.Length != vocab)
            throw new ArgumentException($"weight (class weights) has {_weight.Length} values but vocab = {vocab}; give one weight per class. {shapes.Text()}", "weight");

        int offset = Shift ? 1 : 0;
        double denominator = 0;
        for (int i = offset; i < targets.Length; i++)
        {
            int y = targets[i];
            if (y == IgnoreIndex) continue;
            if ((uint)y >= (uint)vocab)
                throw new RowException("targets", i, $"targets[{i}] = {y} is not a class index: expected 0 ≤ target < {vocab}, or ignore_index ({IgnoreIndex}).");
            denominator += _weight is null ? 1 : _weight[y];
        }
        return (predictions, denominator);
    }

    /// <summary>A call's shapes for the end of its error messages, formatted (<see cref="Text"/>) only when one is thrown:
    /// a struct, so that a call that passes its checks allocates nothing.</summary>
    internal interface IShapeSummary
    {
        string Text();
    }

    /// <summary>The linear head's own tensors, shared by <c>linear_ce</c> and <c>linear_preference</c>: W has V×d values
    /// and b has V values or none. <paramref name="shapes"/> gives the call's shape summary that ends each message.</summary>
    internal static void CheckHead<TShapes>(int weightLength, int biasLength, int vocab, int dim, in TShapes shapes) where TShapes : struct, IShapeSummary
    {
        long wExpected = (long)vocab * dim;
        if (weightLength != wExpected)
            throw new ArgumentException($"weight has {weightLength} values; expected vocab×dim = {vocab}×{dim} = {wExpected}. {shapes.Text()}", "weight");
        if (biasLength != 0 && biasLength != vocab)
            throw new ArgumentException($"bias has {biasLength} values; expected vocab = {vocab}, or none. {shapes.Text()}", "bias");
    }

    /// <summary>The head's optional gradient outputs, shared by <c>linear_ce</c> and <c>linear_preference</c>: ∂H, ∂W and
    /// ∂b are each empty or of the shape of H (rows×d), W (V×d) and b (V).</summary>
    internal static void CheckHeadGradients<TShapes>(int gradHiddenLength, int gradWeightLength, int gradBiasLength, long rows, int vocab, int dim,
        in TShapes shapes) where TShapes : struct, IShapeSummary
    {
        long hExpected = rows * dim, wExpected = (long)vocab * dim;
        if (gradHiddenLength != 0 && gradHiddenLength != hExpected)
            throw new ArgumentException($"gradHidden has {gradHiddenLength} values; expected hidden's shape, {rows}×{dim} = {hExpected}, or none. {shapes.Text()}", "gradHidden");
        if (gradWeightLength != 0 && gradWeightLength != wExpected)
            throw new ArgumentException($"gradWeight has {gradWeightLength} values; expected weight's shape, {vocab}×{dim} = {wExpected}, or none. {shapes.Text()}", "gradWeight");
        if (gradBiasLength != 0 && gradBiasLength != vocab)
            throw new ArgumentException($"gradBias has {gradBiasLength} values; expected vocab = {vocab}, or none. {shapes.Text()}", "gradBias");
    }

    /// <summary>The shapes of a linear_ce call.</summary>
    private readonly struct CallShapes(int hiddenLength, int weightLength, int biasLength, int targetsLength, int rows, int dim, int vocab) : IShapeSummary
    {
        public string Text()
        {
            static string Matrix(int length, int cols) => cols > 0 && length % cols == 0 ? $"{length / cols}×{cols} ({length} values)" : $"{length} values";
            return $"Shapes: rows = {rows}, dim = {dim}, vocab = {vocab}; hidden is {Matrix(hiddenLength, dim)}, weight is {Matrix(weightLength, dim)}, " +
                   $"bias has {(biasLength == 0 ? "none" : biasLength.ToString(CultureInfo.InvariantCulture))}, targets has {targetsLength}.";
        }
    }

    // ---- helpers ----

    private double WeightSum(int vocab) => _weight is null ? vocab : _weight.Sum();

    /// <summary>The class weights in T (float or double), or null without: converted once, so a call allocates none.</summary>
    private T[]? ClassWeights<T>() where T : unmanaged => typeof(T) == typeof(float) ? (T[]?)(object?)_weightSingle : (T[]?)(object?)_weight;

    private double ReductionScale(double denominator) =>
        Reduction == Reduction.Mean ? (denominator > 0 ? 1 / denominator : 0) : 1;

    // ---- the materialised path ----

    private T Materialized<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<T> rowLosses, Span<T> gradHidden, Span<T> gradWeight, Span<T> gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"linear_ce computes in float or double, not {typeof(T).Name}.");
        var (n, _) = Validate(hidden.Length, weight.Length, bias.Length, rows, dim, vocab, targets, rowLosses.Length,
            gradHidden.Length, gradWeight.Length, gradBias.Length);
        ReadOnlySpan<T> h = hidden[..(n * dim)];
        ReadOnlySpan<int> y = targets.Slice(Shift ? 1 : 0, n);
        long size = (long)n * vocab;
        if (size > Array.MaxLength) throw new ArgumentException($"the materialised path needs {n}×{vocab} = {size} logits, more than one array can hold.", nameof(rows));
        var logits = new T[size];
        Gemm.Multiply<T>(h, weight, logits, n, vocab, dim, transposeB: true);
        if (!bias.IsEmpty)
            for (int r = 0; r < n; r++) TensorPrimitives.Add(logits.AsSpan(r * vocab, vocab), bias, logits.AsSpan(r * vocab, vocab));
        var ce = new CrossEntropyLoss(Smoothing, LseSquared, Softcap, Temperature, _weight, IgnoreIndex, Reduction);
        bool wantGrad = !gradHidden.IsEmpty || !gradWeight.IsEmpty || !gradBias.IsEmpty;
        T[] g = wantGrad ? new T[size] : [];
        T value = ce.Compute<T>(logits, vocab, y, rowLosses, g);
        if (!gradHidden.IsEmpty)
        {
            Gemm.Multiply<T>(g, weight, gradHidden[..(n * dim)], n, dim, vocab);
            gradHidden[(n * dim)..].Clear();
        }
        if (!gradWeight.IsEmpty) Gemm.Multiply<T>(g, h, gradWeight, vocab, dim, n, transposeA: true);
        if (!gradBias.IsEmpty)
        {
            gradBias.Clear();
            for (int r = 0; r < n; r++) TensorPrimitives.Add(gradBias, g.AsSpan(r * vocab, vocab), gradBias);
        }
        return value;
    }
}
