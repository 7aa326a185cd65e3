using System.Diagnostics;
using System.Globalization;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Embedding;

/// <summary>
/// The embedding losses that are not a sum over mined pairs or triplets of one distance — they compare rows with class
/// centroids (<c>proto_triplet</c>, <c>ge2e</c>) or take a log-mean over all pairs (<c>align_uniform</c>) — so they have
/// no distance, miner or reducer options: each fixes its distance (in <see cref="EmbeddingLoss.Options"/>, which a
/// retrieval reads) and computes its value, shares and gradient in double in <see cref="Run"/> (whose explicit pairs are
/// always null here: only <c>ntxent</c> takes them). The checks of the
/// labels and shapes, the conversions and <c>unreduced</c> (each row's share, adding up to the loss) come with
/// <see cref="EmbeddingLoss"/>.
/// </summary>
public abstract class WholeBatchLoss : EmbeddingLoss
{
    private protected WholeBatchLoss(string distance, bool normalize) : base(distance, normalize) { }

    /// <summary>The card of a whole-batch embedding loss: its own parameters only.</summary>
    private protected static LossCard BatchCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("metric learning (embeddings and labels)", name, title, formula, gradient, reference, properties, parameters, notes);

    private protected sealed override void Evaluate(EmbeddingBatch b, Mining m, ElementReducer r, double[] g) =>
        throw new UnreachableException("whole-batch losses compute in Run");

    private protected abstract override void Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, double[]? gradient, bool single);
}

/// <summary>
/// The class centroids of a batch of rows — each class's mean, or the mean of its other rows when a row is left out of
/// its own class (GE2E's eq. 8, a query outside the support set of Prototypical Networks) — and the way back: gradients
/// by centroids spread over their members. Classes are numbered in order of first appearance. Its arrays are pooled and
/// the instance is kept per thread for the next call: take one with <see cref="Rent"/>, dispose it when the call ends.
/// </summary>
internal sealed class ClassCentroids : IDisposable
{
    private readonly Dictionary<int, int> _index = [];
    private double[] _rows = [];
    private Pooled<double> _sum, _back;
    private Pooled<int> _class, _count;
    private int _dim;

    private ClassCentroids() { }

    /// <summary>The centroids of <paramref name="n"/> rows (N×<paramref name="dim"/>) by their labels.</summary>
    public static ClassCentroids Rent(double[] rows, int n, int dim, int[] labels)
    {
        ClassCentroids c = PerThread<ClassCentroids>.Take(static () => new ClassCentroids());
        c.Start(rows, n, dim, labels);
        return c;
    }

    private void Start(double[] rows, int n, int dim, int[] labels)
    {
        (_rows, _dim) = (rows, dim);
        _index.Clear();
        _class = Pooled<int>.Of(n);
        for (int i = 0; i < n; i++)
        {
            if (!_index.TryGetValue(labels[i], out int c)) _index[labels[i]] = c = _index.Count;
            Class[i] = c;
        }
        _count = Pooled<int>.Of(_index.Count, clear: true);
        _sum = Pooled<double>.Of(_index.Count * dim, clear: true);
        _back = Pooled<double>.Of(_index.Count * dim, clear: true);
        double[] sum = _sum.Values;
        for (int i = 0; i < n; i++)
        {
            Count[Class[i]]++;
            for (int j = 0; j < dim; j++) sum[Class[i] * dim + j] += rows[i * dim + j];
        }
    }

    /// <summary>The number of classes in the batch.</summary>
    public int Classes => Count.Length;

    /// <summary>Each row's class number.</summary>
    public int[] Class => _class.Values;

    /// <summary>Each class's number of rows.</summary>
    public int[] Count => _count.Values;

    /// <summary>Returns the pooled arrays and keeps this instance for the thread's next call.</summary>
    public void Dispose()
    {
        _sum.Dispose();
        _back.Dispose();
        _class.Dispose();
        _count.Dispose();
        (_sum, _back, _class, _count, _rows) = (default, default, default, default, []);
        PerThread<ClassCentroids>.Keep(this);
    }

    /// <summary>Writes the mean of class <paramref name="k"/>'s rows, without row <paramref name="except"/> (−1: all), into
    /// <paramref name="centroid"/>; false (and nothing written) when no row is left.</summary>
    public bool Centroid(int k, int except, Span<double> centroid)
    {
        int count = Count[k] - (except >= 0 ? 1 : 0);
        if (count == 0) return false;
        double[] sum = _sum.Values;
        for (int j = 0; j < _dim; j++) centroid[j] = (sum[k * _dim + j] - (except >= 0 ? _rows[except * _dim + j] : 0)) / count;
        return true;
    }

    /// <summary>Takes ∂/∂(that centroid) back to its rows: each of them gets g/count; <paramref name="gradRows"/> gets the
    /// left-out row's correction at once, the others' share at <see cref="Finish"/>.</summary>
    public void AddBack(int k, int except, ReadOnlySpan<double> g, double[] gradRows)
    {
        double w = 1.0 / (Count[k] - (except >= 0 ? 1 : 0));
        double[] back = _back.Values;
        for (int j = 0; j < _dim; j++)
        {
            back[k * _dim + j] += w * g[j];
            if (except >= 0) gradRows[except * _dim + j] -= w * g[j];
        }
    }

    /// <summary>Adds every row's share of its class's centroid gradients to <paramref name="gradRows"/>.</summary>
    public void Finish(double[] gradRows)
    {
        double[] back = _back.Values;
        for (int i = 0; i < Class.Length; i++)
            for (int j = 0; j < _dim; j++) gradRows[i * _dim + j] += back[Class[i] * _dim + j];
    }
}

/// <summary>
/// Proto-triplet loss, spec <c>proto_triplet(margin=0.5)</c>: the triplet loss with class prototypes in place of the
/// positive and the negative — each row q is a query, its positive the prototype of its class computed without q, its
/// negative the nearest prototype of another class:
/// <c>ℓ_q = [d(q, c_{y_q}^{(−q)}) − min_{k ≠ y_q} d(q, c_k) + margin]₊</c>, the loss the mean of ℓ_q over the queries,
/// prototypes c = class means of the batch's raw embeddings, d(a, b) = √(‖a − b‖² + 10⁻⁶).
/// <para><b>As the reference code.</b> The authors' <c>proto_triplet_loss</c> (a public module by the paper's first
/// author, Mendez-Ruiz, beside the paper's ICNN score) takes each query's distance to its own class's prototype and to the nearest other prototype, with
/// the euclidean distance of its <c>nearest_neighbors</c> (ε = 10⁻⁶ inside the square root), margin 0.5, and the mean
/// over the queries. Its prototypes are the means of an episode's support set and its queries are other samples, so a
/// query is never part of its own prototype: here every row is a query and its own class's prototype leaves it out (the
/// other classes' prototypes use all their rows). A row alone in its class (no prototype without it), or in a batch of
/// one class, is not a query; a batch without queries gives 0. The gradient flows through the prototypes into every row
/// that forms them; the hardest negative is chosen without gradient (the first in order of appearance on a tie).</para>
/// Reference: Mendez-Ruiz et al. 2023, SuSana Distancia is all you need: enforcing class separability in metric
/// learning via two novel distance-based loss functions for few-shot image classification (arXiv 2305.09062), and its
/// code; Snell et al. 2017, Prototypical networks for few-shot learning.
/// </summary>
public sealed class ProtoTripletLoss : WholeBatchLoss
{
    /// <summary>The ε inside the distance's square root, as the reference's <c>nearest_neighbors</c>.</summary>
    public const double DistanceEpsilon = 1e-6;

    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "the margin by which the nearest other prototype should be farther than the own") { Default = 0.5, Min = 0 };

    public static LossCard Definition { get; } = BatchCard("proto_triplet", "Proto-triplet loss (triplets on class prototypes)",
        "ℓ = mean_q [d(q, c_{y_q}^{(−q)}) − min_{k ≠ y_q} d(q, c_k) + margin]₊, d(a, b) = √(‖a − b‖² + 1e-6), c_k = mean of class k's rows, c^{(−q)} without q",
        "∂/∂q = w·((q − c_y)/d_y − (q − c_n)/d_n), ∂/∂c_y = −w·(q − c_y)/d_y, ∂/∂c_n = w·(q − c_n)/d_n per active query (w = 1/#queries), then each prototype to its rows",
        "Mendez-Ruiz et al. 2023 (SuSana Distancia is all you need, arXiv 2305.09062) and its proto_triplet_loss; Snell et al. 2017 (Prototypical networks)",
        LossProperties.NonNegative,
        "Raw embeddings, euclidean distance with the reference's ε, the nearest other prototype as the negative. A query is left out of its own class's prototype " +
        "(as a Prototypical-Networks query is not in the support set); a row alone in its class is no query; no query at all gives 0.", Margin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ProtoTripletLoss(a.Number(Margin)));

    /// <param name="margin">null: 0.5.</param>
    public ProtoTripletLoss(double? margin = null) : base("euclidean", false) => MarginValue = Margin.Resolve(margin);

    public double MarginValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [Margin.Of(MarginValue)];

    private protected override void Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, double[]? gradient, bool single)
    {
        using ClassCentroids centroids = ClassCentroids.Rent(x, n, dim, labels);
        int queries = 0;
        for (int q = 0; q < n; q++)
            if (centroids.Count[centroids.Class[q]] > 1 && centroids.Classes > 1) queries++;
        double[]? gx = gradient;
        gx?.AsSpan().Clear();
        if (queries == 0) return;
        double w = 1.0 / queries;
        using Pooled<double> positiveRow = Pooled<double>.Of(dim), negativeRow = Pooled<double>.Of(dim), candidateRow = Pooled<double>.Of(dim),
            gradientRow = Pooled<double>.Of(dim);
        double[] positive = positiveRow.Values, negative = negativeRow.Values, candidate = candidateRow.Values, g = gradientRow.Values;
        for (int q = 0; q < n; q++)
        {
            int y = centroids.Class[q], nearest = -1;
            if (centroids.Classes < 2 || !centroids.Centroid(y, q, positive)) continue;
            ReadOnlySpan<double> row = x.AsSpan(q * dim, dim);
            double dp = Distance(row, positive), dn = double.PositiveInfinity;
            for (int k = 0; k < centroids.Classes; k++)
            {
                if (k == y) continue;
                centroids.Centroid(k, -1, candidate);
                double d = Distance(row, candidate);
                if (d < dn) (dn, nearest, negative, candidate) = (d, k, candidate, negative);
            }
            double l = dp - dn + MarginValue;
            if (l <= 0) continue;
            shares[q] = w * l;
            if (gx is null) continue;
            for (int j = 0; j < dim; j++)
            {
                gx[q * dim + j] += w * ((row[j] - positive[j]) / dp - (row[j] - negative[j]) / dn);
                g[j] = -w * (row[j] - positive[j]) / dp;
            }
            centroids.AddBack(y, q, g, gx);
            for (int j = 0; j < dim; j++) g[j] = w * (row[j] - negative[j]) / dn;
            centroids.AddBack(nearest, -1, g, gx);
        }
        if (gx is not null) centroids.Finish(gx);
    }

    private static double Distance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
        return Math.Sqrt(s + DistanceEpsilon);
    }
}

/// <summary>
/// Generalized end-to-end loss, spec <c>ge2e(w=10, b=-5, method=softmax)</c> (speaker verification: labels are speakers,
/// rows their utterances): on the normalised embeddings ê, with centroids c_k = mean of speaker k's ê and, for the
/// utterance's own speaker, the centroid without it (the paper's eq. 8),
/// <c>S_ik = w·cos(ê_i, c_k) + b</c> and, softmax variant (eq. 6), <c>ℓ_i = −S_{i,y_i} + log Σ_k e^{S_ik}</c>, or
/// contrast variant (eq. 7), <c>ℓ_i = 1 − σ(S_{i,y_i}) + max_{k≠y_i} σ(S_ik)</c>; the loss is the mean of ℓ_i.
/// <para><b>Decisions.</b> w and b are the paper's learnable scalars, here parameters fixed for the call (the paper
/// initialises them to 10 and −5 and keeps w &gt; 0); b cancels in the softmax variant (it shifts every S_ik of a row),
/// so it changes neither value nor gradient there and is kept for the spec's fidelity; in the contrast variant it
/// moves the sigmoids. The contrast variant's max takes the first of tied classes (its gradient goes to that one: a
/// subgradient), and with a single speaker in the batch it is over no class and counts 0 (ℓ_i = 1 − σ(S_{i,y_i})). The paper (and the reference code
/// cvqluu/GE2E-Loss) sums ℓ over the batch (L_G = Σ ℓ); this loss is the mean over the utterances that have an own
/// centroid, as ports built on <c>nn.CrossEntropyLoss</c> do — multiply by their number for the sum. The embeddings are
/// normalised here (the paper's e_ji is the L2-normalised network output; the reference code takes them as given), and
/// the reference code's clamp of the cosines at 10⁻⁶ from below (which stops the gradient of every negative cosine) is
/// not copied. Speakers may have different
/// numbers of utterances; an utterance that is its speaker's only one has no centroid without itself and gives no
/// term (it still forms its speaker's centroid for the others); a batch without any such term gives 0. A zero centroid
/// (utterances that cancel) is divided by max(‖c‖, 1e-12): finite.</para>
/// Reference: Wan, Wang, Papir &amp; Lopez Moreno 2018, Generalized end-to-end loss for speaker verification (ICASSP);
/// github.com/cvqluu/GE2E-Loss (<c>ge2e.py</c>, softmax and contrast methods).
/// </summary>
public sealed class Ge2eLoss : WholeBatchLoss
{
    public static readonly LossParameter W = new("w", ParameterKind.Number, "w: the scale of the cosine similarities (the paper's learnable w, > 0)") { Default = 10, Min = 0, MinExclusive = true };
    public static readonly LossParameter B = new("b", ParameterKind.Number, "b: the offset of the similarities (the paper's learnable b; cancels in the softmax variant)") { Default = -5 };
    public static readonly LossParameter Method = new("method", ParameterKind.Choice,
        "softmax: cross-entropy over the centroids (eq. 6); contrast: 1 − σ(own) + the largest σ of another speaker (eq. 7)") { Choices = ["softmax", "contrast"] };

    public static LossCard Definition { get; } = BatchCard("ge2e", "Generalized end-to-end loss (GE2E, softmax or contrast)",
        "ℓ = mean_i ℓ_i, softmax: ℓ_i = log Σ_k e^{S_ik} − S_{i,y_i}; contrast: ℓ_i = 1 − σ(S_{i,y_i}) + max_{k≠y_i} σ(S_ik); S_ik = w·cos(ê_i, c_k) + b, c_k = mean of class k's ê (own class: without i)",
        "softmax: ∂ℓ_i/∂S_ik = p_ik − [k = y_i]; contrast: −σ'(S_{i,y_i}) at y_i, σ'(S_ik*) at the largest other k*; ∂cos/∂ê = ĉ, ∂cos/∂c = (ê − cos·ĉ)/‖c‖, then each centroid to its rows and back through the normalisation",
        "Wan et al. 2018 (ICASSP), eq. 5–8; github.com/cvqluu/GE2E-Loss (softmax and contrast)", LossProperties.NonNegative,
        "Mean over the utterances (the paper and cvqluu/GE2E-Loss sum); an utterance alone in its class gives no term; b cancels in the softmax. " +
        "w and b are fixed for the call. Embeddings normalised; cosines not clamped (the reference code clamps them at 1e-6). " +
        "contrast: ties in the max go to the first class; one speaker only: the max counts 0.",
        W, B, Method);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new Ge2eLoss(a.Number(W), a.Number(B), a.Choice(Method)));

    /// <param name="w">null: 10.</param>
    /// <param name="b">null: −5.</param>
    /// <param name="method">softmax (eq. 6) or contrast (eq. 7); null: softmax.</param>
    public Ge2eLoss(double? w = null, double? b = null, string? method = null) : base("cosine", true) =>
        (WValue, BValue, MethodValue) = (W.Resolve(w), B.Resolve(b), Method.Resolve(method));

    public double WValue { get; }
    public double BValue { get; }

    /// <summary>softmax or contrast.</summary>
    public string MethodValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [W.Of(WValue), B.Of(BValue), Method.Of(MethodValue)];

    private protected override void Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, double[]? gradient, bool single)
    {
        using var unit = new UnitRows(x, n, dim);
        double[] u = unit.Values;
        using ClassCentroids centroids = ClassCentroids.Rent(u, n, dim, labels);
        int terms = 0;
        for (int i = 0; i < n; i++)
            if (centroids.Count[centroids.Class[i]] > 1) terms++;
        bool wantGradient = gradient is not null;
        if (terms == 0)
        {
            gradient?.AsSpan().Clear();
            return;
        }
        int classes = centroids.Classes;
        // Pooled scratch: ∂/∂(unit rows) (summed into, so zeroed), the centroids and, per class, the norm, whether it has
        // a radial part, the cosine, the score and ∂ℓ/∂score; one centroid's gradient.
        using Pooled<double> unitGradient = Pooled<double>.Of(u.Length, clear: true), centroidRows = Pooled<double>.Of(classes * dim),
            norms = Pooled<double>.Of(classes), cosines = Pooled<double>.Of(classes), scores = Pooled<double>.Of(classes),
            slopes = Pooled<double>.Of(classes), centroidGradient = Pooled<double>.Of(dim);
        using Pooled<bool> radialParts = Pooled<bool>.Of(classes);
        double[] gu = unitGradient.Values, c = centroidRows.Values, norm = norms.Values, cos = cosines.Values, s = scores.Values, p = slopes.Values,
            gc = centroidGradient.Values;
        bool[] radial = radialParts.Values;
        bool contrast = MethodValue == "contrast";
        for (int i = 0; i < n; i++)
        {
            int y = centroids.Class[i];
            if (centroids.Count[y] < 2) continue;
            ReadOnlySpan<double> ui = u.AsSpan(i * dim, dim);
            for (int k = 0; k < classes; k++)
            {
                Span<double> ck = c.AsSpan(k * dim, dim);
                centroids.Centroid(k, k == y ? i : -1, ck);
                double dot = 0, squares = 0;
                for (int j = 0; j < dim; j++) { dot += ui[j] * ck[j]; squares += ck[j] * ck[j]; }
                radial[k] = Math.Sqrt(squares) >= UnitRows.Epsilon;   // below ε the map is c/ε: no radial part
                norm[k] = Math.Max(Math.Sqrt(squares), UnitRows.Epsilon);
                cos[k] = dot / norm[k];
                s[k] = WValue * cos[k] + BValue;
            }
            // p_k ← ∂ℓ_i/∂S_ik.
            double l = contrast ? Contrast(s, y, p) : AnchorLoss.LogSumExpOf(s, double.NegativeInfinity, p) - s[y];
            if (!contrast) p[y] -= 1;
            shares[i] = l / terms;
            if (!wantGradient) continue;
            for (int k = 0; k < classes; k++)
            {
                if (contrast && p[k] == 0) continue;                       // contrast: only y and the largest other class have a slope
                double a = WValue * p[k] / terms;                          // ∂loss/∂cos_ik
                ReadOnlySpan<double> ck = c.AsSpan(k * dim, dim);
                for (int j = 0; j < dim; j++)
                {
                    gu[i * dim + j] += a * ck[j] / norm[k];
                    gc[j] = a * (ui[j] - (radial[k] ? cos[k] * ck[j] / norm[k] : 0)) / norm[k];
                }
                centroids.AddBack(k, k == y ? i : -1, gc, gu);
            }
        }
        if (gradient is null) return;
        centroids.Finish(gu);
        unit.Backward(gu, gradient);
    }

    /// <summary>The contrast variant's ℓ_i = 1 − σ(S_y) + max_{k≠y} σ(S_k) (0 for the max over no class), and its
    /// derivatives into <paramref name="slope"/>: −σ'(S_y) at y, σ'(S_k*) at the first largest other class k*, 0 elsewhere.</summary>
    private static double Contrast(ReadOnlySpan<double> s, int y, Span<double> slope)
    {
        slope.Clear();
        int other = -1;
        for (int k = 0; k < s.Length; k++)
            if (k != y && (other < 0 || s[k] > s[other])) other = k;
        var (own, ownComplement) = Scalar.Sigmoid(s[y]);
        slope[y] = -own * ownComplement;
        double loss = ownComplement;                                       // 1 − σ(S_y), without cancellation
        if (other >= 0)
        {
            var (top, topComplement) = Scalar.Sigmoid(s[other]);
            slope[other] = top * topComplement;
            loss += top;
        }
        return loss;
    }
}

/// <summary>
/// Alignment and uniformity on the hypersphere, spec <c>align_uniform(alpha=2, t=2, weights=[1, 1])</c>: on the
/// normalised embeddings x̂, <c>ℓ = w_a·mean_{(i,j) ∈ P} ‖x̂_i − x̂_j‖^α + w_u·log mean_{i&lt;j} e^{−t·‖x̂_i − x̂_j‖²}</c>,
/// P the positive pairs (equal labels, i &lt; j).
/// <para><b>Decisions.</b> The reference code takes two views x, y of one batch: alignment over the pairs (x_i, y_i),
/// uniformity (log mean e^{−t·pdist²}) within x and within y, averaged. With labels, the positive pairs are every pair of
/// equal labels (the two-view batch is labels giving rows 2i and 2i + 1 a class each: the same alignment), and the
/// uniformity is over every pair of the batch — in the two-view case that includes the cross-view pairs, which the
/// reference's two within-view terms leave out. A batch without a positive pair has alignment 0; one with fewer than
/// two rows has uniformity 0. At distance 0 the alignment's gradient is 0 (the limit for α &gt; 1, the minimum-norm
/// subgradient for α = 1; for α &lt; 1 the gradient is unbounded near 0). <c>unreduced</c> gives each row half of every
/// pair term it belongs to, the uniformity split in proportion to the pairs' e^{−t·d²}.</para>
/// Reference: Wang &amp; Isola 2020, Understanding contrastive representation learning through alignment and uniformity on
/// the hypersphere (ICML); github.com/ssnl/align_uniform (<c>align_loss</c>, <c>uniform_loss</c>; <c>align_w</c>,
/// <c>unif_w</c> = 1, α = 2, t = 2).
/// </summary>
public sealed class AlignUniformLoss : WholeBatchLoss
{
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number, "α: the power of the positive pairs' distance") { Default = 2, Min = 0, MinExclusive = true };
    public static readonly LossParameter T = new("t", ParameterKind.Number, "t: the uniformity's scale of the squared distances") { Default = 2, Min = 0, MinExclusive = true };
    public static readonly LossParameter Weights = new("weights", ParameterKind.NumberList, "[w_a, w_u]: the weights of the alignment and the uniformity; absent: [1, 1]") { Min = 0 };

    public static LossCard Definition { get; } = BatchCard("align_uniform", "Alignment and uniformity on the hypersphere",
        "ℓ = w_a·mean_{positive pairs} ‖x̂_i − x̂_j‖^α + w_u·log mean_{i<j} e^{−t‖x̂_i − x̂_j‖²}, x̂ = x/‖x‖",
        "∂ℓ/∂d²_ij = w_a·(α/2)·d^{α−2}/|P| (positives) − w_u·t·e^{−t d²_ij}/Σ e^{−t d²}, then back through the normalisation",
        "Wang & Isola 2020 (ICML); github.com/ssnl/align_uniform", LossProperties.None,
        "Positive pairs: equal labels. Uniformity over every pair of the batch (the reference: within each of two views). Negative values are normal (the log-mean is ≤ 0).",
        Alpha, T, Weights);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new AlignUniformLoss(a.Number(Alpha), a.Number(T), a.List(Weights)));

    /// <param name="alpha">null: 2.</param>
    /// <param name="t">null: 2.</param>
    /// <param name="weights">[w_a, w_u], each ≥ 0; null: [1, 1].</param>
    public AlignUniformLoss(double? alpha = null, double? t = null, IReadOnlyList<double>? weights = null) : base("squared", true)
    {
        (AlphaValue, TValue) = (Alpha.Resolve(alpha), T.Resolve(t));
        double[]? w = Weights.Resolve(weights);
        if (w is not null && w.Length != 2)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"weights has {w.Length} values: expected 2, [alignment weight, uniformity weight]."), Weights.Name);
        WeightsValue = w ?? [1, 1];
        _givenWeights = w;
    }

    private readonly double[]? _givenWeights;

    public double AlphaValue { get; }
    public double TValue { get; }

    /// <summary>[w_a, w_u].</summary>
    public IReadOnlyList<double> WeightsValue { get; }

    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [Alpha.Of(AlphaValue), T.Of(TValue), Weights.Of(_givenWeights)];

    private protected override void Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, double[]? gradient, bool single)
    {
        using EmbeddingBatch b = EmbeddingBatch.Rent(this, x, n, dim, labels);
        double wa = WeightsValue[0], wu = WeightsValue[1];
        using var coefficients = Pooled<double>.Square(n, clear: true);
        double[] g = coefficients.Values;
        long positives = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (labels[i] == labels[j]) positives++;
        for (int i = 0; i < n && positives > 0; i++)
            for (int j = i + 1; j < n; j++)
            {
                if (labels[i] != labels[j]) continue;
                double d2 = b.V[i * n + j], l = wa * Math.Pow(d2, AlphaValue / 2) / positives;
                shares[i] += l / 2;
                shares[j] += l / 2;
                if (d2 > 0) g[i * n + j] += wa * AlphaValue / 2 * Math.Pow(d2, AlphaValue / 2 - 1) / positives;
            }
        if (n >= 2)
        {
            using Pooled<double> exponents = Pooled<double>.Of(n * (n - 1) / 2), weights = Pooled<double>.Of(n * (n - 1) / 2);
            double[] t = exponents.Values, soft = weights.Values;
            int p = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) t[p++] = -TValue * b.V[i * n + j];
            double uniformity = AnchorLoss.LogSumExpOf(t, double.NegativeInfinity, soft) - Math.Log(t.Length);
            p = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++, p++)
                {
                    shares[i] += wu * uniformity * soft[p] / 2;
                    shares[j] += wu * uniformity * soft[p] / 2;
                    g[i * n + j] -= wu * TValue * soft[p];
                }
        }
        if (gradient is not null) b.Backward(g, gradient);
    }
}
