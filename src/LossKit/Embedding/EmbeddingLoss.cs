using System.Numerics;
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Embedding;

/// <summary>
/// The metric-learning losses on a batch of embeddings with class labels, composed as in pytorch-metric-learning: a
/// distance (<c>euclidean</c>, <c>squared</c>, <c>cosine</c>, <c>dot</c>, with <c>normalize</c>), a miner that picks
/// the pairs or triplets without gradient, and a reducer. The base owns all three and the gradient: it forms the N×N
/// Gram matrix with the project's GEMM, the N×N matrix of distances (or similarities) v, mines on it, lets the loss
/// visit its elements twice (once to count them for the reducer, once with each element's weight, when the loss adds
/// w·∂ℓ/∂v to an N×N coefficient matrix G), and takes G back to the embeddings with two more GEMMs — O(N² + N·d) memory
/// for every loss and miner, never the N³ triplets.
/// </summary>
/// <remarks>
/// <para>Labels are class ids in [0, <see cref="MaxLabel"/>]; rows with equal labels are positives of each other (a row
/// is never its own positive). A batch without a positive (or negative) pair gives a loss of 0 and a zero gradient, as
/// pytorch-metric-learning; never NaN.</para>
/// <para>Zero-norm rows: normalisation divides by max(‖x‖, 1e-12) (PyTorch's <c>F.normalize</c>), so a zero row is a
/// zero unit vector with a finite gradient. Euclidean distance 0 has gradient 0.</para>
/// <para>Mining happens once, on the values of this call; the gradient is that of the loss with the mined set held
/// fixed (the miners run without gradient in pytorch-metric-learning too).</para>
/// <para><c>unreduced</c> holds each anchor's share of the reduced loss (Σ w·ℓ over the elements it anchors), so the
/// values add up to the loss whatever the reducer.</para>
/// </remarks>
public abstract class EmbeddingLoss : ILoss
{
    /// <summary>The largest class id a label may hold (a larger value is taken for a misplaced input).</summary>
    public const int MaxLabel = 999_999;

    /// <summary>The ε of normalisation, x / max(‖x‖, ε), as PyTorch's <c>F.normalize</c>.</summary>
    public const double NormalizeEpsilon = UnitRows.Epsilon;

    private protected EmbeddingLoss(EmbeddingParameters parameters, EmbeddingOptions? options)
    {
        Parts = parameters;
        Options = parameters.Resolve(options);
        Inverted = Options.Distance is "cosine" or "dot";
    }

    /// <summary>A loss without the composable parts (<see cref="WholeBatchLoss"/>): its fixed distance, on rows normalised
    /// or not, is in <see cref="Options"/> (what a retrieval uses); it has no miner or reducer options.</summary>
    private protected EmbeddingLoss(string distance, bool normalize)
    {
        Options = s_fixed.Resolve(new EmbeddingOptions(distance, normalize));
        Inverted = Options.Distance is "cosine" or "dot";
    }

    private static readonly EmbeddingParameters s_fixed = new("euclidean", "mean");

    /// <summary>The configured distance, miner and reducer.</summary>
    public EmbeddingOptions Options { get; }

    /// <summary>The loss's declarations of those parts (null for a loss without them).</summary>
    private protected EmbeddingParameters? Parts { get; }

    /// <summary>True for the similarities (cosine, dot): larger means closer.</summary>
    public bool Inverted { get; }

    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <inheritdoc/>
    public LossKind Kind => EmbeddingKind.Instance;

    /// <inheritdoc/>
    public IEnumerable<ParameterValue> ParameterValues => Parts is null ? OwnValues : [.. OwnValues, .. Parts.Values(Options)];

    /// <summary>The values of the loss's own parameters, in card order.</summary>
    private protected abstract IEnumerable<ParameterValue> OwnValues { get; }

    /// <inheritdoc/>
    public virtual double FiniteInputScale => Options.Normalize == true || Options.Distance == "cosine" ? 1e30 : 1e6;

    /// <summary>The card of an embedding loss: its own parameters, then the composable parts.</summary>
    private protected static LossCard EmbeddingCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, string notes, EmbeddingParameters parts, params LossParameter[] parameters) =>
        LossCard.ForFamily("metric learning (embeddings and labels)", name, title, formula, gradient, reference, properties,
            [.. parameters, .. parts.All], notes);

    /// <summary>The loss of N embeddings with class labels and its gradient.</summary>
    /// <param name="embeddings">N×d row-major.</param>
    /// <param name="dim">d ≥ 1.</param>
    /// <param name="labels">N class ids in [0, <see cref="MaxLabel"/>].</param>
    /// <param name="unreduced">Empty, or N: each anchor's share of the loss.</param>
    /// <param name="gradient">Empty, or N×d: ∂loss/∂embeddings.</param>
    /// <returns>The reduced loss.</returns>
    public T Compute<T>(ReadOnlySpan<T> embeddings, int dim, ReadOnlySpan<int> labels, Span<T> unreduced = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> => Compute(embeddings, dim, labels, null, unreduced, gradient);

    /// <summary>The loss with the positive pairs given by <paramref name="pairs"/> (N×N, symmetric, false on the diagonal)
    /// instead of by equal labels; every other pair of distinct rows is a negative. null: by the labels.</summary>
    private protected T Compute<T>(ReadOnlySpan<T> embeddings, int dim, ReadOnlySpan<int> labels, bool[]? pairs, Span<T> unreduced, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        int n = labels.Length;
        if (embeddings.Length != (long)n * dim)
            throw new ArgumentException($"embeddings has {embeddings.Length} values but there are {n} labels of d = {dim}: expected {(long)n * dim}.", "embeddings");
        for (int i = 0; i < n; i++)
            if (labels[i] is < 0 or > MaxLabel)
                throw new RowException("labels", i, FormattableString.Invariant($"labels[{i}] = {labels[i]}: expected a class id in [0, {MaxLabel}]."));
        if (!unreduced.IsEmpty && unreduced.Length != n) throw new ArgumentException($"unreduced has {unreduced.Length} values: expected {n} or none.", nameof(unreduced));
        if (!gradient.IsEmpty && gradient.Length != embeddings.Length) throw new ArgumentException($"gradient has {gradient.Length} values: expected {embeddings.Length} or none.", nameof(gradient));

        using var xs = Pooled<double>.Of(embeddings.Length);
        using var shares = Pooled<double>.Of(n, clear: true);
        using var labelCopy = Pooled<int>.Of(n);
        using var gx = gradient.IsEmpty ? default : Pooled<double>.Of(embeddings.Length);
        double[] x = xs.Values;
        for (int i = 0; i < x.Length; i++) x[i] = double.CreateTruncating(embeddings[i]);
        labels.CopyTo(labelCopy.Values);
        Run(x, n, dim, labelCopy.Values, pairs, shares.Values, gx.Values, typeof(T) == typeof(float));
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            total += shares.Values[i];
            if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(shares.Values[i]);
        }
        if (gx.Values is { } g)
            for (int i = 0; i < g.Length; i++) gradient[i] = T.CreateTruncating(g[i]);
        return T.CreateTruncating(total);
    }

    /// <summary>The loss: each anchor's share added into <paramref name="shares"/> (zeros on entry), and ∂loss/∂x written
    /// over <paramref name="gradient"/> (N×d) when it is not null. By default the composed path: the distance matrix, the miner, the
    /// loss's <see cref="Evaluate"/> with the reducer, and the way back. <paramref name="pairs"/>: the positive pairs
    /// when given explicitly (N×N), else null. <paramref name="single"/> (float inputs): the Gram matrix and the backward
    /// product in float (the float GEMM), the elements visited once (<see cref="ElementReducer"/>'s one-pass form) and
    /// the softmax sums through the vector exp; otherwise (double, Half) everything in double, the elements visited
    /// twice (count, then weigh) — the double path's bits.</summary>
    private protected virtual void Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, double[]? gradient, bool single)
    {
        using EmbeddingBatch batch = EmbeddingBatch.Rent(this, x, n, dim, labels, pairs, single, single && !Discontinuous && Options.Miner == "all");
        using Mining mined = Mining.Rent(batch, Options);
        bool onePass = single && OneGroup;
        using ElementReducer reducer = ElementReducer.Rent(Options, n, onePass);
        using var g = Pooled<double>.Square(n, clear: true);
        Evaluate(batch, mined, reducer, g.Values);
        double scale = 1;
        if (onePass) scale = reducer.Finish();
        else
        {
            reducer.Weigh();
            Evaluate(batch, mined, reducer, g.Values);
        }
        reducer.Unreduced.CopyTo(shares, 0);
        if (gradient is not null) batch.Backward(g.Values, gradient, scale);
    }

    /// <summary>True when every element of the loss belongs to the reducer's group 0, so that one pass can visit the
    /// elements with their 0/1 weight and scale G by the group's weight afterwards (false: the loss reduces two groups
    /// separately and is visited twice).</summary>
    private protected virtual bool OneGroup => true;

    /// <summary>True for a loss whose gradient jumps where an element's loss reaches 0 (a hinge [·]₊): rounding v to
    /// float would move elements across the hinge, with gradients off by whole weights, so its v stays in double for
    /// float inputs too (as every miner but <c>all</c>, whose thresholds would move in the same way): only the backward
    /// product runs in float.</summary>
    private protected virtual bool Discontinuous => false;

    /// <summary>Visits every element (pair, triplet or anchor) of the loss: <c>w = r.Visit(group, anchor, ℓ)</c>, then,
    /// when w ≠ 0, adds w·∂ℓ/∂v_ij to <paramref name="g"/>[i·N + j] for each value v_ij the element uses. Called twice
    /// (the first time every w is 0). By default: <see cref="EvaluateAnchors"/> on fixed blocks of
    /// <see cref="AnchorsPerBlock"/> anchors, in parallel (the anchors driver); a loss whose elements write outside their
    /// anchor's row of G overrides this.</summary>
    private protected virtual void Evaluate(EmbeddingBatch b, Mining m, ElementReducer r, double[] g) =>
        Parallelism.ForElements(b.N, AnchorsPerBlock, new AnchorBlocks(this, b, m, r, g));

    /// <summary>A block of the anchors driver: <see cref="EvaluateAnchors"/> on its anchors.</summary>
    private readonly struct AnchorBlocks(EmbeddingLoss loss, EmbeddingBatch b, Mining m, ElementReducer r, double[] g) : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            loss.EvaluateAnchors(b, m, r, g, first, end);
            return 0;
        }
    }

    /// <summary>Anchors per block of the anchors driver: fixed, so the blocks never depend on the thread count.</summary>
    private protected const int AnchorsPerBlock = 8;

    /// <summary>The elements anchored at rows [<paramref name="first"/>, <paramref name="end"/>), visited in the order a
    /// single loop over the anchors would visit them. Each element may write only its anchor's row of
    /// <paramref name="g"/> (and its anchor's share through <paramref name="r"/>): then every value of G and every share is
    /// summed in the same order for any thread count, so the results are the same bits.</summary>
    private protected virtual void EvaluateAnchors(EmbeddingBatch b, Mining m, ElementReducer r, double[] g, int first, int end) =>
        throw new NotSupportedException($"{GetType().Name} evaluates the whole batch at once.");
}

/// <summary>One batch: the (normalised) rows, their Gram matrix through the GEMM, the N×N values v of the distance (or
/// similarity) in double and the way back from ∂loss/∂v to the embeddings. In double (the double path) or, for float
/// inputs, with the Gram matrix and the backward product through the float GEMM (v then computed in double from the
/// float Gram values). Its arrays are pooled and the instance is kept per thread for the next call: take one with
/// <see cref="Rent"/> and dispose it when the call ends.</summary>
internal sealed class EmbeddingBatch : IDisposable
{
    private double[] _unit = [];
    private UnitRows _rows;
    private bool _normalized;
    private string _distance = "";
    private bool[]? _pairs;
    private Pooled<float> _unitSingle, _gramSingle;
    private Pooled<double> _gram, _v;
    private double[]? _values;

    private EmbeddingBatch() { }

    /// <summary>The batch of <paramref name="n"/> rows <paramref name="x"/> (N×<paramref name="dim"/>) with their
    /// <paramref name="labels"/>, under <paramref name="loss"/>'s distance; the positive pairs are the given
    /// <paramref name="pairs"/> (N×N, <c>ntxent</c>'s explicit pairs) or, when null, the rows with equal labels.
    /// <paramref name="single"/>: the backward product in float; <paramref name="singleGram"/>: the Gram matrix too;
    /// <paramref name="floatRows"/> (with <paramref name="singleGram"/> and a similarity): v is kept as the float Gram
    /// matrix only (<see cref="SingleV"/>), never widened to double, for a loss that reads its rows in float lanes.</summary>
    public static EmbeddingBatch Rent(EmbeddingLoss loss, double[] x, int n, int dim, int[] labels, bool[]? pairs = null, bool single = false,
        bool singleGram = false, bool floatRows = false)
    {
        EmbeddingBatch b = PerThread<EmbeddingBatch>.Take(static () => new EmbeddingBatch());
        b.Start(loss, x, n, dim, labels, pairs, single, singleGram, floatRows);
        return b;
    }

    private void Start(EmbeddingLoss loss, double[] x, int n, int dim, int[] labels, bool[]? pairs, bool single, bool singleGram, bool floatRows)
    {
        (N, Dim, Labels, Inverted, _distance, _pairs, Single) = (n, dim, labels, loss.Inverted, loss.Options.Distance!, pairs, single);
        _normalized = loss.Options.Normalize == true || _distance == "cosine";
        if (_normalized) _rows = new UnitRows(x, n, dim);
        _unit = _normalized ? _rows.Values : x;
        (SingleV, _values) = (null, null);
        bool distance = _distance is "euclidean" or "squared";
        if (single)
        {
            _unitSingle = Pooled<float>.Of(n * dim);
            TensorPrimitives.ConvertTruncating<double, float>(_unit, _unitSingle.Span);
        }
        if (singleGram)
        {
            _gramSingle = Pooled<float>.Square(n);
            Gemm.Multiply<float>(_unitSingle.Span, _unitSingle.Span, _gramSingle.Span, n, n, dim, transposeB: true);
            if (floatRows && !distance)
            {
                SingleV = _gramSingle.Values;
                return;
            }
            _v = Pooled<double>.Square(n);
            if (distance) Distances(_gramSingle.Values, _v.Values, _distance == "squared");
            else Widen(_gramSingle.Values, _v.Values);
        }
        else
        {
            _gram = Pooled<double>.Square(n);
            Gemm.Multiply<double>(_unit, _unit, _gram.Span, n, n, dim, transposeB: true);
            if (distance)
            {
                _v = Pooled<double>.Square(n);
                Distances(_gram.Values, _v.Values, _distance == "squared");
            }
        }
        _values = distance || singleGram ? _v.Values : _gram.Values;
    }

    public int N { get; private set; }
    public int Dim { get; private set; }
    public int[] Labels { get; private set; } = [];

    /// <summary>True when the backward product runs in float (float inputs).</summary>
    public bool Single { get; private set; }

    /// <summary>True for similarities (larger = closer).</summary>
    public bool Inverted { get; private set; }

    /// <summary>v_ij: the distance (or similarity) of rows i and j, N×N (a pooled array).</summary>
    public double[] V => _values ?? throw new InvalidOperationException("This batch keeps v in float only (SingleV).");

    /// <summary>v_ij in float, N×N (a pooled array), when the batch was made with floatRows for a similarity; else null.</summary>
    public float[]? SingleV { get; private set; }

    /// <summary>True when some pair of rows is positive (<paramref name="positive"/>) or negative, without a mask:
    /// from the labels (a class with two rows; two classes), or from the given pairs.</summary>
    public bool AnyPair(bool positive)
    {
        int n = N;
        if (_pairs is not null)
        {
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (positive ? Positive(i, j) : Negative(i, j)) return true;
            return false;
        }
        if (positive)
        {
            // A class with two rows: two equal labels, found by sorting a pooled copy.
            using var sorted = Pooled<int>.Of(n);
            Labels.CopyTo(sorted.Values, 0);
            Array.Sort(sorted.Values);
            for (int i = 1; i < n; i++)
                if (sorted.Values[i] == sorted.Values[i - 1]) return true;
            return false;
        }
        return n > 0 && Labels.AsSpan().ContainsAnyExcept(Labels[0]);
    }

    /// <summary>v_ij as a dissimilarity (larger = farther): v, or −v for the similarities.</summary>
    public double D(int i, int j) => Inverted ? -V[i * N + j] : V[i * N + j];

    /// <summary>pytorch-metric-learning's <c>distance.margin(x, y)</c>: x − y for distances, y − x for similarities.</summary>
    public double Margin(double x, double y) => Inverted ? y - x : x - y;

    /// <summary>∂Margin(x, y)/∂x (its ∂/∂y is the opposite).</summary>
    public double MarginSign => Inverted ? -1 : 1;

    /// <summary>Rows i and j are a positive pair: equal labels (i ≠ j), or a given pair.</summary>
    public bool Positive(int i, int j) => _pairs is null ? i != j && Labels[i] == Labels[j] : _pairs[i * N + j];

    /// <summary>Rows i and j are a negative pair: different labels, or distinct rows that are not a given pair.</summary>
    public bool Negative(int i, int j) => _pairs is null ? Labels[i] != Labels[j] : i != j && !_pairs[i * N + j];

    /// <summary>Returns the pooled arrays and keeps this instance for the thread's next batch.</summary>
    public void Dispose()
    {
        _gram.Dispose();
        _v.Dispose();
        _unitSingle.Dispose();
        _gramSingle.Dispose();
        if (_normalized) _rows.Dispose();
        (_gram, _v, _unitSingle, _gramSingle, _rows, _normalized) = (default, default, default, default, default, false);
        (_unit, _values, SingleV, _pairs, Labels) = ([], null, null, null, []);
        PerThread<EmbeddingBatch>.Keep(this);
    }

    /// <summary>v_ij from the Gram matrix: ‖uᵢ‖² + ‖u_j‖² − 2 uᵢ·u_j clamped at 0 (0 on the diagonal), its square root
    /// unless <paramref name="squared"/>; in double whatever the Gram matrix's type.</summary>
    private void Distances<TG>(TG[] gram, double[] v, bool squared) where TG : unmanaged, IFloatingPointIeee754<TG> =>
        Parallelism.ForElements(N, RowsPerBlock, new DistanceRows<TG>(gram, v, N, squared));

    private readonly struct DistanceRows<TG>(TG[] gram, double[] v, int n, bool squared) : Parallelism.IBlockBody
        where TG : unmanaged, IFloatingPointIeee754<TG>
    {
        public double Run(int block, int first, int end)
        {
            for (int i = first; i < end; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = i == j ? 0 : Math.Max(double.CreateTruncating(gram[i * n + i]) + double.CreateTruncating(gram[j * n + j])
                        - 2 * double.CreateTruncating(gram[i * n + j]), 0);
                    v[i * n + j] = squared ? s : Math.Sqrt(s);
                }
            return 0;
        }
    }

    /// <summary>v = the float Gram matrix itself, widened to double (the similarities).</summary>
    private void Widen(float[] gram, double[] v) => Parallelism.ForElements(N, RowsPerBlock, new WidenRows(gram, v, N));

    private readonly struct WidenRows(float[] gram, double[] v, int n) : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            TensorPrimitives.ConvertTruncating<float, double>(gram.AsSpan(first * n, (end - first) * n), v.AsSpan(first * n, (end - first) * n));
            return 0;
        }
    }

    /// <summary>Rows per block of the N×N element-wise passes (each row written by its own block only).</summary>
    private const int RowsPerBlock = 16;

    /// <summary>∂loss/∂embeddings written over <paramref name="gradient"/> (N×d) from ∂loss/∂v = <paramref name="scale"/>·G
    /// (N×N, in double, or in float from a loss that writes its rows in float lanes), through the GEMM (in float when
    /// <see cref="Single"/>).</summary>
    public void Backward<TG>(TG[] g, double[] gradient, double scale = 1) where TG : unmanaged, IFloatingPointIeee754<TG>
    {
        using Pooled<double> unitGradient = _normalized ? Pooled<double>.Of(N * Dim) : default;
        double[] gu = _normalized ? unitGradient.Values : gradient;
        using Pooled<double> rowSums = _distance is "squared" or "euclidean" ? Pooled<double>.Of(N) : default;
        if (Single)
        {
            using var w = Pooled<float>.Square(N);
            using var product = Pooled<float>.Of(N * Dim);
            if (g is float[] rows && _distance is "cosine" or "dot") SymmetricWeights(rows, (float)scale, w.Values);
            else Weights(g, scale, w.Values, rowSums.Values);
            Gemm.Multiply<float>(w.Span, _unitSingle.Span, product.Span, N, Dim, N);
            TensorPrimitives.ConvertTruncating<float, double>(product.Span, gu);
        }
        else
        {
            using var w = Pooled<double>.Square(N);
            Weights(g, scale, w.Values, rowSums.Values);
            Gemm.Multiply<double>(w.Span, _unit, gu, N, Dim, N);
        }
        if (rowSums.Values is not null) Parallelism.ForElements(N, RowsPerBlock, new RadialRows(gu, rowSums.Values, _unit, Dim));
        if (_normalized) _rows.Backward(gu, gradient);
    }

    /// <summary>Columns per tile of <see cref="Weights"/>: a block's rows read G's transpose a tile at a time, so the
    /// column reads G_ji stay in cache (the row sums still add their terms in ascending j).</summary>
    private const int ColumnsPerTile = 64;

    /// <summary>W from G, symmetric as v_ij = v_ji: similarities ∂/∂uᵢ = Σ_j W_ij·u_j with W_ij = c_ij = s·(G_ij + G_ji);
    /// distances ∂/∂uᵢ = Σ_j W_ij·(uᵢ − u_j) with W_ij = 2c_ij (squared) or c_ij / v_ij (euclidean, 0 at v = 0), and
    /// each row's Σ_j W_ij into <paramref name="rowSums"/> (summed in double in row order; null for the similarities).</summary>
    private void Weights<TG, TW>(TG[] g, double scale, TW[] w, double[]? rowSums) where TG : unmanaged, IFloatingPointIeee754<TG>
        where TW : unmanaged, IFloatingPointIeee754<TW>
    {
        int kind = _distance switch { "squared" => 1, "euclidean" => 2, _ => 0 };
        Parallelism.ForElements(N, RowsPerBlock, new WeightRows<TG, TW>(g, scale, w, _values, kind, rowSums, N));
    }

    private readonly struct WeightRows<TG, TW>(TG[] g, double scale, TW[] w, double[]? v, int kind, double[]? rowSums, int n) : Parallelism.IBlockBody
        where TG : unmanaged, IFloatingPointIeee754<TG> where TW : unmanaged, IFloatingPointIeee754<TW>
    {
        public double Run(int block, int first, int end)
        {
            for (int tile = 0; tile < n; tile += ColumnsPerTile)
            {
                int tileEnd = Math.Min(tile + ColumnsPerTile, n);
                for (int i = first; i < end; i++)
                {
                    double rowSum = tile == 0 || rowSums is null ? 0 : rowSums[i];   // one sum carried across the tiles
                    for (int j = tile; j < tileEnd; j++)
                    {
                        if (i == j) { w[i * n + j] = TW.Zero; continue; }
                        double c = scale * (double.CreateTruncating(g[i * n + j]) + double.CreateTruncating(g[j * n + i]));
                        TW wij = TW.CreateTruncating(kind switch
                        {
                            1 => 2 * c,
                            2 => v![i * n + j] > 0 ? c / v[i * n + j] : 0,
                            _ => c,
                        });
                        w[i * n + j] = wij;
                        rowSum += double.CreateTruncating(wij);
                    }
                    if (rowSums is not null) rowSums[i] = rowSum;
                }
            }
            return 0;
        }
    }

    /// <summary>Rows and columns per tile of <see cref="SymmetricWeights"/>.</summary>
    private const int TransposeTile = 64;

    /// <summary><see cref="Weights"/> for a similarity and a G in float (the anchor losses' row path): W_ij = s·(G_ij +
    /// G_ji) in float, W_ii = 0 (no row sums). G's transpose is read in 64×64 tiles, each copied first
    /// into a small buffer, transposed, from 64 runs of 64 contiguous values (rows N floats apart: read one column at a
    /// time they miss the cache and the TLB on every value), so that each row of W's tile is a few vector operations —
    /// the same bits as the scalar s·(a + b). Cheaper than the alternative without W, s·(G·U + Gᵀ·U), whose second
    /// product costs as much as the first.</summary>
    private void SymmetricWeights(float[] g, float scale, float[] w) =>
        Parallelism.ForElements(N, TransposeTile, new SymmetricWeightRows(g, scale, w, N));

    private readonly struct SymmetricWeightRows(float[] g, float scale, float[] w, int n) : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            using var buffer = Pooled<float>.Of(TransposeTile * TransposeTile);
            ref float gs = ref MemoryMarshal.GetArrayDataReference(g);
            ref float ts = ref MemoryMarshal.GetArrayDataReference(buffer.Values);
            int rows = end - first;
            for (int tile = 0; tile < n; tile += TransposeTile)
            {
                int width = Math.Min(TransposeTile, n - tile);
                for (int j = 0; j < width; j++)
                {
                    ref float column = ref Unsafe.Add(ref gs, (nint)(tile + j) * n + first);   // G_(tile+j, first..end)
                    for (int i = 0; i < rows; i++) Unsafe.Add(ref ts, i * TransposeTile + j) = Unsafe.Add(ref column, i);
                }
                for (int i = 0; i < rows; i++)
                {
                    Span<float> wRow = w.AsSpan((first + i) * n + tile, width);
                    ReadOnlySpan<float> gRow = g.AsSpan((first + i) * n + tile, width), tRow = buffer.Values.AsSpan(i * TransposeTile, width);
                    int j = 0;
                    if (Vector512.IsHardwareAccelerated)
                        for (; j <= width - 16; j += 16)
                            ((Vector512.Create(gRow.Slice(j, 16)) + Vector512.Create(tRow.Slice(j, 16))) * Vector512.Create(scale)).CopyTo(wRow.Slice(j, 16));
                    for (; j < width; j++) wRow[j] = scale * (gRow[j] + tRow[j]);
                }
            }
            for (int i = first; i < end; i++) w[(long)i * n + i] = 0;
            return 0;
        }
    }

    /// <summary>The distances' ∂/∂uᵢ = (Σ_j W_ij)·uᵢ − (W·U)ᵢ, from the product W·U in <paramref name="gu"/>.</summary>
    private readonly struct RadialRows(double[] gu, double[] rowSums, double[] unit, int d) : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            for (int i = first; i < end; i++)
                for (int k = 0; k < d; k++) gu[i * d + k] = rowSums[i] * unit[i * d + k] - gu[i * d + k];
            return 0;
        }
    }
}

/// <summary>What a miner's visitor does with each kept triplet (a, p, n): a struct, so that the loop over the triplets
/// calls it directly (no delegate per triplet).</summary>
internal interface ITripletVisitor
{
    void Visit(int a, int p, int n);
}

/// <summary>
/// The pairs and triplets a miner keeps, held fixed for the call: N×N masks of positive and negative pairs, and the
/// triplets (a, p, n): batch_hard's one per anchor, semihard's and hard's by their condition, otherwise every kept
/// positive with every kept negative of the same anchor (pytorch-metric-learning's conversions between pairs and triplets;
/// pairs taken from triplets are counted once). The triplet miners' masks (the pairs of their triplets) are made on
/// first use: the triplet loss itself never reads them. The masks are pooled: dispose the mining when the call ends.
/// </summary>
internal sealed class Mining : IDisposable
{
    private enum Kind { All, BatchHard, Semihard, Hard, MultiSimilarity, PairMargin }

    /// <summary>Anchors per block of the miner's passes (fixed: the blocks never depend on the thread count).</summary>
    private const int AnchorsPerBlock = 16;

    private EmbeddingBatch _b = null!;
    private Kind _kind;
    private double _margin, _eps, _posMargin, _negMargin;
    private Pooled<int> _hardPositive, _hardNegative;
    private Pooled<bool> _pos, _neg;
    private readonly Lock _masks = new();
    private bool _masksMade;

    private Mining() { }

    /// <summary>The mining of <paramref name="b"/> by the miner of <paramref name="o"/>; this thread's instance when it is
    /// free (dispose it when the call ends).</summary>
    /// <param name="b">The batch.</param>
    /// <param name="o">The miner's options.</param>
    /// <param name="pairMasks">False: <c>miner=all</c> makes its masks on first use only (a loss that reads the pairs
    /// from the labels never asks for them).</param>
    public static Mining Rent(EmbeddingBatch b, EmbeddingOptions o, bool pairMasks = true)
    {
        Mining m = PerThread<Mining>.Take(static () => new Mining());
        m.Start(b, o, pairMasks);
        return m;
    }

    private void Start(EmbeddingBatch b, EmbeddingOptions o, bool pairMasks)
    {
        (_b, _margin) = (b, o.MinerMargin!.Value);
        _kind = o.Miner switch
        {
            "all" => Kind.All,
            "batch_hard" => Kind.BatchHard,
            "semihard" => Kind.Semihard,
            "hard" => Kind.Hard,
            "multi_similarity" => Kind.MultiSimilarity,
            "pair_margin" => Kind.PairMargin,
            _ => throw new ArgumentException($"miner = {o.Miner}: unknown.", "miner"),
        };
        int n = b.N;
        (_hardPositive, _hardNegative) = (Pooled<int>.Of(n), Pooled<int>.Of(n));
        (_eps, _posMargin, _negMargin) = (o.MinerEpsilon!.Value, o.MinerPosMargin!.Value, o.MinerNegMargin!.Value);
        bool onFirstUse = TripletMiner || (_kind == Kind.All && !pairMasks);
        _masksMade = !onFirstUse;
        if (_masksMade) (_pos, _neg) = (Pooled<bool>.Square(n), Pooled<bool>.Square(n));   // every value written below
        if (onFirstUse && !Hardest) return;   // semihard, hard, all on first use: nothing to do before the pairs are read
        Parallelism.ForElements(n, AnchorsPerBlock, new Pass(this, marking: false));
    }

    private bool TripletMiner => _kind is Kind.BatchHard or Kind.Semihard or Kind.Hard;

    /// <summary>Each anchor's farthest positive and nearest negative are needed: batch_hard's triplet, the
    /// multi-similarity miner's bounds.</summary>
    private bool Hardest => _kind is Kind.BatchHard or Kind.MultiSimilarity;

    /// <summary>A block of anchors of one of the miner's passes: <see cref="Mine"/>, or <see cref="Mark"/>.</summary>
    private readonly struct Pass(Mining mining, bool marking) : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            if (marking) mining.Mark(first, end);
            else mining.Mine(first, end);
            return 0;
        }
    }

    /// <summary>The anchors [<paramref name="first"/>, <paramref name="end"/>): each one's hardest positive and negative
    /// and, for a pair miner, its row of the kept pairs.</summary>
    private void Mine(int first, int end)
    {
        EmbeddingBatch b = _b;
        int n = b.N;
        bool inverted = b.Inverted, hardest = Hardest;
        bool[]? keptPos = _pos.Values, keptNeg = _neg.Values;
        for (int a = first; a < end; a++)
        {
            double farthestPos = double.NegativeInfinity, nearestNeg = double.PositiveInfinity;
            int hardPositive = -1, hardNegative = -1;
            ReadOnlySpan<double> row = b.V.AsSpan(a * n, n);
            for (int j = 0; j < n && hardest; j++)
            {
                double d = inverted ? -row[j] : row[j];   // D(a, j)
                if (b.Positive(a, j) && d > farthestPos) (farthestPos, hardPositive) = (d, j);
                if (b.Negative(a, j) && d < nearestNeg) (nearestNeg, hardNegative) = (d, j);
            }
            (_hardPositive.Values[a], _hardNegative.Values[a]) = (hardPositive, hardNegative);
            if (TripletMiner) continue;   // pairs from their triplets, on first use (Masks)
            for (int j = 0; j < n; j++)
            {
                double v = row[j], d = inverted ? -v : v;
                bool pos = b.Positive(a, j), neg = b.Negative(a, j);
                switch (_kind)
                {
                    case Kind.MultiSimilarity:
                        pos &= d + _eps > nearestNeg;
                        neg &= d - _eps < farthestPos;
                        break;
                    case Kind.PairMargin:
                        pos &= inverted ? v < _posMargin : v > _posMargin;
                        neg &= inverted ? v > _negMargin : v < _negMargin;
                        break;
                }
                (keptPos![a * n + j], keptNeg![a * n + j]) = (pos, neg);
            }
        }
    }

    /// <summary>True when some positive pair is kept.</summary>
    public bool HasPositive => _kind == Kind.All ? _b.AnyPair(positive: true) : Masks()._pos.Span.Contains(true);

    /// <summary>True when some negative pair is kept.</summary>
    public bool HasNegative => _kind == Kind.All ? _b.AnyPair(positive: false) : Masks()._neg.Span.Contains(true);

    /// <summary>Kept positive pairs (a, p), N×N (a pooled array).</summary>
    public bool[] Pos => Masks()._pos.Values;

    /// <summary>Kept negative pairs (a, n), N×N (a pooled array).</summary>
    public bool[] Neg => Masks()._neg.Values;

    /// <summary>Returns the pooled arrays and keeps this instance for the thread's next call.</summary>
    public void Dispose()
    {
        _pos.Dispose();
        _neg.Dispose();
        _hardPositive.Dispose();
        _hardNegative.Dispose();
        (_pos, _neg, _hardPositive, _hardNegative, _b) = (default, default, default, default, null!);
        PerThread<Mining>.Keep(this);
    }

    /// <summary>This, with the masks made: a triplet miner's pairs are those of its triplets (each anchor's triplets
    /// write only the anchor's row, so the blocks run in parallel); <c>all</c>'s are every positive and negative pair.</summary>
    private Mining Masks()
    {
        if (Volatile.Read(ref _masksMade)) return this;
        lock (_masks)
        {
            if (_masksMade) return this;
            (_pos, _neg) = (Pooled<bool>.Square(_b.N, clear: true), Pooled<bool>.Square(_b.N, clear: true));
            Parallelism.ForElements(_b.N, AnchorsPerBlock, new Pass(this, marking: true));
            Volatile.Write(ref _masksMade, true);
        }
        return this;
    }

    /// <summary>The rows of the anchors [<paramref name="first"/>, <paramref name="end"/>) of the masks.</summary>
    private void Mark(int first, int end)
    {
        bool[] pos = _pos.Values, neg = _neg.Values;
        int n = _b.N;
        if (_kind == Kind.All)
        {
            for (int a = first; a < end; a++)
                for (int j = 0; j < n; j++) (pos[a * n + j], neg[a * n + j]) = (_b.Positive(a, j), _b.Negative(a, j));
            return;
        }
        var marker = new PairMarker(pos, neg, n);
        ForEachTriplet(first, end, ref marker);
    }

    private readonly struct PairMarker(bool[] pos, bool[] neg, int n) : ITripletVisitor
    {
        public void Visit(int a, int p, int q) => (pos[a * n + p], neg[a * n + q]) = (true, true);
    }

    /// <summary>Calls <paramref name="visitor"/> for every kept triplet (a, p, n) of the anchors [<paramref name="first"/>,
    /// <paramref name="end"/>), in a fixed order: by anchor, then positive, then negative, each ascending.</summary>
    public void ForEachTriplet<TV>(int first, int end, ref TV visitor) where TV : struct, ITripletVisitor
    {
        EmbeddingBatch b = _b;
        int n = b.N;
        if (_kind == Kind.BatchHard)
        {
            for (int a = first; a < end; a++)
                {
                int p = _hardPositive.Values[a], q = _hardNegative.Values[a];
                if (p >= 0 && q >= 0) visitor.Visit(a, p, q);
            }
            return;
        }
        bool triplet = _kind is Kind.Semihard or Kind.Hard;
        bool[]? pos = triplet ? null : _pos.Values, neg = triplet ? null : _neg.Values;
        using var negativeRows = Pooled<int>.Of(n);
        using var negativeValues = Pooled<double>.Of(n);
        int[] negatives = negativeRows.Values;
        double[] negativeD = negativeValues.Values;
        for (int a = first; a < end; a++)
        {
            // The anchor's kept negatives and their D(a, n), in ascending order.
            int count = 0;
            for (int q = 0; q < n; q++)
                if (triplet ? b.Negative(a, q) : neg![a * n + q]) { negatives[count] = q; negativeD[count++] = b.D(a, q); }
            for (int p = 0; p < n; p++)
            {
                if (triplet ? !b.Positive(a, p) : !pos![a * n + p]) continue;
                double dp = b.D(a, p);
                switch (_kind)
                {
                    case Kind.Semihard:
                        VisitBand(a, p, negatives, negativeD.AsSpan(0, count), dp, _margin, ref visitor);
                        break;
                    case Kind.Hard:
                        VisitBand(a, p, negatives, negativeD.AsSpan(0, count), dp, double.NegativeInfinity, ref visitor);
                        break;
                    default:
                        for (int k = 0; k < count; k++) visitor.Visit(a, p, negatives[k]);
                        break;
                }
            }
        }
    }

    /// <summary>Visits (a, p, negatives[k]) for each k, ascending, whose gap = nd[k] − dp is in the semihard band
    /// 0 &lt; gap ≤ <paramref name="margin"/> or, when <paramref name="margin"/> is −∞, is ≤ 0 (the hard miner). The
    /// band test runs on 8 double lanes (the same subtraction and comparisons as one at a time, so the same triplets in
    /// the same order); only the triplets in the band are visited.</summary>
    private static void VisitBand<TV>(int a, int p, int[] negatives, ReadOnlySpan<double> nd, double dp, double margin, ref TV visitor)
        where TV : struct, ITripletVisitor
    {
        bool hard = double.IsNegativeInfinity(margin);
        int k = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<double> d = Vector512.Create(dp), top = Vector512.Create(margin), zero = Vector512<double>.Zero;
            for (; k <= nd.Length - Vector512<double>.Count; k += Vector512<double>.Count)
            {
                Vector512<double> gap = Vector512.Create(nd.Slice(k, Vector512<double>.Count)) - d;
                Vector512<double> inBand = hard ? Vector512.LessThanOrEqual(gap, zero) : Vector512.GreaterThan(gap, zero) & Vector512.LessThanOrEqual(gap, top);
                for (ulong bits = inBand.ExtractMostSignificantBits(); bits != 0; bits &= bits - 1)
                    visitor.Visit(a, p, negatives[k + BitOperations.TrailingZeroCount(bits)]);
            }
        }
        for (; k < nd.Length; k++)
        {
            double gap = nd[k] - dp;
            if (hard ? gap <= 0 : gap > 0 && gap <= margin) visitor.Visit(a, p, negatives[k]);
        }
    }
}

/// <summary>
/// A reducer over element losses in groups (a loss with several sub-losses, like contrastive's positive and negative
/// pairs, reduces each group and adds them, as pytorch-metric-learning). Two passes (the double path): the first
/// counts, the second returns each element's weight and adds w·ℓ to its anchor's share. One pass (float inputs, losses
/// of one group): each element's weight is its reducer's 0/1 indicator (kept or not: ℓ &gt; 0 for nonzero_mean, ℓ in
/// range for threshold), its ℓ is added to its anchor's unscaled share, and <see cref="Finish"/> gives the group's
/// weight (1/count, or 1), by which the shares and G are scaled afterwards — every element's math runs once. Counts
/// and shares are kept per anchor (and added when the pass ends), so blocks of distinct anchors may visit their
/// elements in parallel.
/// </summary>
internal sealed class ElementReducer : IDisposable
{
    private const int Groups = 2;
    private enum Kind { Mean, NonzeroMean, Threshold, Sum }

    private int _anchors;
    private Pooled<long> _count, _nonzero, _inRange;   // [group · anchors + anchor]
    private Pooled<double> _unreduced;
    private readonly double[] _weight = new double[Groups];
    private Kind _kind;
    private double _low, _high;
    private bool _onePass;
    private bool _weighing;

    private ElementReducer() { }

    /// <summary>A reducer for <paramref name="anchors"/> anchors; this thread's instance when it is free (dispose it when
    /// the call ends).</summary>
    /// <param name="o">The reducer's options.</param>
    /// <param name="anchors">N.</param>
    /// <param name="onePass">The one-pass form (elements of group 0 only; see the class summary).</param>
    public static ElementReducer Rent(EmbeddingOptions o, int anchors, bool onePass = false)
    {
        ElementReducer r = PerThread<ElementReducer>.Take(static () => new ElementReducer());
        r.Start(o, anchors, onePass);
        return r;
    }

    private void Start(EmbeddingOptions o, int anchors, bool onePass)
    {
        (_anchors, _onePass, _weighing) = (anchors, onePass, false);
        (_count, _nonzero, _inRange) = (Pooled<long>.Of(Groups * anchors, clear: true), Pooled<long>.Of(Groups * anchors, clear: true),
            Pooled<long>.Of(Groups * anchors, clear: true));
        _unreduced = Pooled<double>.Of(anchors, clear: true);
        Array.Clear(_weight);
        _kind = o.Reducer switch
        {
            "mean" => Kind.Mean,
            "nonzero_mean" => Kind.NonzeroMean,
            "threshold" => Kind.Threshold,
            "sum" => Kind.Sum,
            _ => throw new ArgumentException($"reducer = {o.Reducer}: unknown.", "reducer"),
        };
        (_low, _high) = (o.ReducerLow!.Value, o.ReducerHigh!.Value);
    }

    /// <summary>Each anchor's share of the reduced loss (a pooled array of N values).</summary>
    public double[] Unreduced => _unreduced.Values;

    /// <summary>Returns the pooled arrays and keeps this instance for the thread's next call.</summary>
    public void Dispose()
    {
        foreach (Pooled<long> counts in (ReadOnlySpan<Pooled<long>>)[_count, _nonzero, _inRange]) counts.Dispose();
        _unreduced.Dispose();
        (_count, _nonzero, _inRange, _unreduced) = (default, default, default, default);
        PerThread<ElementReducer>.Keep(this);
    }

    /// <summary>Ends the counting pass.</summary>
    public void Weigh()
    {
        for (int group = 0; group < Groups; group++)
        {
            long count = 0, nonzero = 0, inRange = 0;
            for (int a = 0; a < _anchors; a++)
            {
                count += _count.Values[group * _anchors + a];
                nonzero += _nonzero.Values[group * _anchors + a];
                inRange += _inRange.Values[group * _anchors + a];
            }
            _weight[group] = _kind switch
            {
                Kind.Mean => 1.0 / count,
                Kind.NonzeroMean => 1.0 / nonzero,
                Kind.Threshold => 1.0 / inRange,
                _ => 1,
            };
        }
        _weighing = true;
    }

    /// <summary>Ends the one pass: scales each anchor's share by the group's weight and returns that weight, the factor
    /// of G (0 when nothing was kept, so that an empty count gives 0, never ∞·0).</summary>
    public double Finish()
    {
        Weigh();
        double weight = double.IsFinite(_weight[0]) ? _weight[0] : 0;
        for (int a = 0; a < _anchors; a++) Unreduced[a] *= weight;
        return weight;
    }

    /// <summary>Records (first pass) or weighs (second pass) one element's loss; returns its weight (0 in the first pass).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public double Visit(int group, int anchor, double loss)
    {
        Tally tally = Begin(group, anchor);
        double w = Visit(ref tally, loss);
        End(tally);
        return w;
    }

    /// <summary>A run of one anchor's elements of one group, kept in locals: the counts, and the anchor's share with the
    /// run's w·ℓ added in visiting order (so the share is the same double as with one <see cref="Visit(int, int, double)"/>
    /// per element). For a loss that visits many elements of one anchor in a row (the triplets of a positive pair).</summary>
    public struct Tally
    {
        internal int Group, Anchor;
        internal long Count, Nonzero, InRange;
        internal double Share;
    }

    /// <summary>Starts a run of <paramref name="anchor"/>'s elements of <paramref name="group"/>.</summary>
    public Tally Begin(int group, int anchor) => new() { Group = group, Anchor = anchor, Share = Unreduced[anchor] };

    /// <summary><see cref="Visit(int, int, double)"/> into a run.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public double Visit(ref Tally tally, double loss)
    {
        bool inRange = loss > _low && (_high == 0 || loss < _high);
        if (!_weighing)
        {
            tally.Count++;
            if (loss > 0) tally.Nonzero++;
            if (inRange) tally.InRange++;
            if (!_onePass) return 0;
            double kept = _kind switch
            {
                Kind.NonzeroMean => loss > 0 ? 1 : 0,
                Kind.Threshold => inRange ? 1 : 0,
                _ => 1,
            };
            tally.Share += kept * loss;
            return kept;
        }
        double w = _kind switch
        {
            Kind.NonzeroMean => loss > 0 ? _weight[tally.Group] : 0,
            Kind.Threshold => inRange ? _weight[tally.Group] : 0,
            _ => _weight[tally.Group],
        };
        tally.Share += w * loss;
        return w;
    }

    /// <summary>Ends a run: its counts and its anchor's share recorded.</summary>
    public void End(in Tally tally)
    {
        int k = tally.Group * _anchors + tally.Anchor;
        long[] count = _count.Values, nonzero = _nonzero.Values, inRange = _inRange.Values;
        (count[k], nonzero[k], inRange[k]) = (count[k] + tally.Count, nonzero[k] + tally.Nonzero, inRange[k] + tally.InRange);
        Unreduced[tally.Anchor] = tally.Share;
    }
}
