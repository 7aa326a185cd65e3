using System.Globalization;
using System.Numerics;
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
                throw new RowException("labels", i, string.Create(CultureInfo.InvariantCulture, $"labels[{i}] = {labels[i]}: expected a class id in [0, {MaxLabel}]."));
        if (!unreduced.IsEmpty && unreduced.Length != n) throw new ArgumentException($"unreduced has {unreduced.Length} values: expected {n} or none.", nameof(unreduced));
        if (!gradient.IsEmpty && gradient.Length != embeddings.Length) throw new ArgumentException($"gradient has {gradient.Length} values: expected {embeddings.Length} or none.", nameof(gradient));

        var x = new double[embeddings.Length];
        for (int i = 0; i < x.Length; i++) x[i] = double.CreateTruncating(embeddings[i]);
        var shares = new double[n];
        double[]? gx = Run(x, n, dim, labels.ToArray(), pairs, shares, !gradient.IsEmpty);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            total += shares[i];
            if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(shares[i]);
        }
        if (gx is not null)
            for (int i = 0; i < gx.Length; i++) gradient[i] = T.CreateTruncating(gx[i]);
        return T.CreateTruncating(total);
    }

    /// <summary>The loss in double: each anchor's share into <paramref name="shares"/>, and ∂loss/∂x when
    /// <paramref name="wantGradient"/> (else null). By default the composed path: the distance matrix, the miner, the
    /// loss's <see cref="Evaluate"/> twice with the reducer, and the way back. <paramref name="pairs"/>: the positive pairs
    /// when given explicitly (N×N), else null.</summary>
    private protected virtual double[]? Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, bool wantGradient)
    {
        var batch = new EmbeddingBatch(this, x, n, dim, labels, pairs);
        var mined = new Mining(batch, Options);
        var reducer = new ElementReducer(Options, n);
        var g = new double[(long)n * n];
        Evaluate(batch, mined, reducer, g);
        reducer.Weigh();
        Evaluate(batch, mined, reducer, g);
        reducer.Unreduced.CopyTo(shares, 0);
        return wantGradient ? batch.Backward(g) : null;
    }

    /// <summary>Visits every element (pair, triplet or anchor) of the loss: <c>w = r.Visit(group, anchor, ℓ)</c>, then,
    /// when w ≠ 0, adds w·∂ℓ/∂v_ij to <paramref name="g"/>[i·N + j] for each value v_ij the element uses. Called twice
    /// (the first time every w is 0).</summary>
    private protected abstract void Evaluate(EmbeddingBatch b, Mining m, ElementReducer r, double[] g);
}

/// <summary>One batch in double: the (normalised) rows, their Gram matrix through the GEMM, the N×N values v of the
/// distance (or similarity) and the way back from ∂loss/∂v to the embeddings.</summary>
internal sealed class EmbeddingBatch
{
    private readonly double[] _unit;
    private readonly UnitRows? _rows;
    private readonly string _distance;
    private readonly bool[]? _pairs;

    /// <summary>The batch of <paramref name="n"/> rows <paramref name="x"/> (N×<paramref name="dim"/>) with their
    /// <paramref name="labels"/>, under <paramref name="loss"/>'s distance; the positive pairs are the given
    /// <paramref name="pairs"/> (N×N, <c>ntxent</c>'s explicit pairs) or, when null, the rows with equal labels.</summary>
    public EmbeddingBatch(EmbeddingLoss loss, double[] x, int n, int dim, int[] labels, bool[]? pairs = null)
    {
        (N, Dim, Labels, Inverted, _distance, _pairs) = (n, dim, labels, loss.Inverted, loss.Options.Distance!, pairs);
        _rows = loss.Options.Normalize == true || _distance == "cosine" ? new UnitRows(x, n, dim) : null;
        _unit = _rows?.Values ?? x;
        Gram = new double[(long)n * n];
        Gemm.Multiply<double>(_unit, _unit, Gram, n, n, dim, transposeB: true);
        V = _distance switch
        {
            "euclidean" or "squared" => Distances(_distance == "squared"),
            _ => Gram,
        };
    }

    public int N { get; }
    public int Dim { get; }
    public int[] Labels { get; }

    /// <summary>True for similarities (larger = closer).</summary>
    public bool Inverted { get; }

    /// <summary>The Gram matrix of the (normalised) rows.</summary>
    public double[] Gram { get; }

    /// <summary>v_ij: the distance (or similarity) of rows i and j, N×N.</summary>
    public double[] V { get; }

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

    private double[] Distances(bool squared)
    {
        var v = new double[Gram.Length];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
            {
                double s = i == j ? 0 : Math.Max(Gram[i * N + i] + Gram[j * N + j] - 2 * Gram[i * N + j], 0);
                v[i * N + j] = squared ? s : Math.Sqrt(s);
            }
        return v;
    }

    /// <summary>∂loss/∂embeddings from G = ∂loss/∂v (N×N), through the GEMM.</summary>
    public double[] Backward(double[] g)
    {
        int n = N, d = Dim;
        // W symmetric with v_ij = v_ji: similarities ∂/∂uᵢ = Σ_j W_ij·u_j; distances ∂/∂uᵢ = Σ_j W_ij·(uᵢ − u_j).
        var w = new double[g.Length];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (i == j) continue;
                double c = g[i * n + j] + g[j * n + i];
                w[i * n + j] = _distance switch
                {
                    "squared" => 2 * c,
                    "euclidean" => V[i * n + j] > 0 ? c / V[i * n + j] : 0,
                    _ => c,
                };
            }
        var gu = new double[n * d];
        Gemm.Multiply<double>(w, _unit, gu, n, d, n);
        if (_distance is "euclidean" or "squared")
            for (int i = 0; i < n; i++)
            {
                double rowSum = 0;
                for (int j = 0; j < n; j++) rowSum += w[i * n + j];
                for (int k = 0; k < d; k++) gu[i * d + k] = rowSum * _unit[i * d + k] - gu[i * d + k];
            }
        return _rows is null ? gu : _rows.Backward(gu);
    }
}

/// <summary>
/// The pairs and triplets a miner keeps, held fixed for the call: N×N masks of positive and negative pairs, and the
/// triplets (a, p, n): batch_hard's one per anchor, semihard's and hard's by their condition, otherwise every kept
/// positive with every kept negative of the same anchor (pytorch-metric-learning's conversions between pairs and triplets;
/// pairs taken from triplets are counted once).
/// </summary>
internal sealed class Mining
{
    private readonly EmbeddingBatch _b;
    private readonly string _miner;
    private readonly double _margin;
    private readonly int[] _hardPositive, _hardNegative;

    public Mining(EmbeddingBatch b, EmbeddingOptions o)
    {
        (_b, _miner, _margin) = (b, o.Miner!, o.MinerMargin!.Value);
        int n = b.N;
        Pos = new bool[(long)n * n];
        Neg = new bool[(long)n * n];
        _hardPositive = new int[n];
        _hardNegative = new int[n];
        double eps = o.MinerEpsilon!.Value;
        for (int a = 0; a < n; a++)
        {
            double farthestPos = double.NegativeInfinity, nearestNeg = double.PositiveInfinity;
            (_hardPositive[a], _hardNegative[a]) = (-1, -1);
            for (int j = 0; j < n; j++)
            {
                if (b.Positive(a, j) && b.D(a, j) > farthestPos) (farthestPos, _hardPositive[a]) = (b.D(a, j), j);
                if (b.Negative(a, j) && b.D(a, j) < nearestNeg) (nearestNeg, _hardNegative[a]) = (b.D(a, j), j);
            }
            for (int j = 0; j < n; j++)
            {
                double d = b.D(a, j), v = b.V[a * n + j];
                bool pos = b.Positive(a, j), neg = b.Negative(a, j);
                switch (_miner)
                {
                    case "multi_similarity":
                        pos &= d + eps > nearestNeg;
                        neg &= d - eps < farthestPos;
                        break;
                    case "pair_margin":
                        pos &= b.Inverted ? v < o.MinerPosMargin!.Value : v > o.MinerPosMargin!.Value;
                        neg &= b.Inverted ? v > o.MinerNegMargin!.Value : v < o.MinerNegMargin!.Value;
                        break;
                    case "all":
                        break;
                    default:
                        (pos, neg) = (false, false);   // triplet miners: pairs from their triplets, below
                        break;
                }
                (Pos[a * n + j], Neg[a * n + j]) = (pos, neg);
            }
        }
        if (_miner is "batch_hard" or "semihard" or "hard")
            ForEachTriplet((a, p, q) => (Pos[a * n + p], Neg[a * n + q]) = (true, true));
    }

    /// <summary>True when some positive pair is kept.</summary>
    public bool HasPositive => Array.IndexOf(Pos, true) >= 0;

    /// <summary>True when some negative pair is kept.</summary>
    public bool HasNegative => Array.IndexOf(Neg, true) >= 0;

    /// <summary>Kept positive pairs (a, p), N×N.</summary>
    public bool[] Pos { get; }

    /// <summary>Kept negative pairs (a, n), N×N.</summary>
    public bool[] Neg { get; }

    /// <summary>Calls <paramref name="visit"/> for every kept triplet (a, p, n), in a fixed order.</summary>
    public void ForEachTriplet(Action<int, int, int> visit)
    {
        int n = _b.N;
        for (int a = 0; a < n; a++)
        {
            if (_miner == "batch_hard")
            {
                if (_hardPositive[a] >= 0 && _hardNegative[a] >= 0) visit(a, _hardPositive[a], _hardNegative[a]);
                continue;
            }
            for (int p = 0; p < n; p++)
            {
                bool triplet = _miner is "semihard" or "hard";
                if (triplet ? !_b.Positive(a, p) : !Pos[a * n + p]) continue;
                for (int q = 0; q < n; q++)
                {
                    if (triplet ? !_b.Negative(a, q) : !Neg[a * n + q]) continue;
                    double gap = _b.D(a, q) - _b.D(a, p);
                    if (_miner == "semihard" && !(gap > 0 && gap <= _margin)) continue;
                    if (_miner == "hard" && !(gap <= 0)) continue;
                    visit(a, p, q);
                }
            }
        }
    }
}

/// <summary>
/// A reducer over element losses in groups (a loss with several sub-losses, like contrastive's positive and negative
/// pairs, reduces each group and adds them, as pytorch-metric-learning): the first pass counts, the second returns each
/// element's weight and adds w·ℓ to its anchor's share.
/// </summary>
internal sealed class ElementReducer(EmbeddingOptions o, int anchors)
{
    private const int Groups = 2;
    private readonly long[] _count = new long[Groups], _nonzero = new long[Groups], _inRange = new long[Groups];
    private readonly string _kind = o.Reducer!;
    private readonly double _low = o.ReducerLow!.Value, _high = o.ReducerHigh!.Value;
    private bool _weighing;

    /// <summary>Each anchor's share of the reduced loss.</summary>
    public double[] Unreduced { get; } = new double[anchors];

    /// <summary>Ends the counting pass.</summary>
    public void Weigh() => _weighing = true;

    /// <summary>Records (first pass) or weighs (second pass) one element's loss; returns its weight (0 in the first pass).</summary>
    public double Visit(int group, int anchor, double loss)
    {
        bool inRange = loss > _low && (_high == 0 || loss < _high);
        if (!_weighing)
        {
            _count[group]++;
            if (loss > 0) _nonzero[group]++;
            if (inRange) _inRange[group]++;
            return 0;
        }
        double w = _kind switch
        {
            "mean" => 1.0 / _count[group],
            "nonzero_mean" => loss > 0 ? 1.0 / _nonzero[group] : 0,
            "threshold" => inRange ? 1.0 / _inRange[group] : 0,
            _ => 1,
        };
        Unreduced[anchor] += w * loss;
        return w;
    }
}
