using System.Buffers;
using System.Globalization;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Embedding;

/// <summary>
/// Contrastive loss, spec <c>contrastive(pos_margin=0, neg_margin=1, distance=euclidean, reducer=nonzero_mean, ...)</c>:
/// positive pairs <c>ℓ = [d − pos_margin]₊</c>, negative pairs <c>ℓ = [neg_margin − d]₊</c> (similarities: <c>[pos_margin − s]₊</c>,
/// <c>[s − neg_margin]₊</c>); the two groups are reduced separately and added. Reference: Hadsell, Chopra &amp; LeCun 2006,
/// Dimensionality reduction by learning an invariant mapping; pytorch-metric-learning <c>ContrastiveLoss</c> (its defaults).
/// </summary>
public sealed class ContrastiveLoss : EmbeddingLoss
{
    public static readonly LossParameter PosMargin = new("pos_margin", ParameterKind.Number, "positive pairs closer than this cost nothing") { Default = 0 };
    public static readonly LossParameter NegMargin = new("neg_margin", ParameterKind.Number, "negative pairs farther than this cost nothing") { Default = 1 };
    private static readonly EmbeddingParameters s_parts = new("euclidean", "nonzero_mean");

    public static LossCard Definition { get; } = EmbeddingCard("contrastive", "Contrastive loss",
        "ℓ = R_pos([d(a,p) − m_pos]₊) + R_neg([m_neg − d(a,n)]₊) over the mined positive and negative pairs (similarities: [m_pos − s]₊, [s − m_neg]₊)",
        "∂ℓ/∂d = ±w per pair with a positive loss (w the reducer's weight)",
        "Hadsell, Chopra & LeCun 2006; pytorch-metric-learning ContrastiveLoss", LossProperties.NonNegative,
        "Every ordered pair counts (both (i, j) and (j, i)), as pytorch-metric-learning.", s_parts, PosMargin, NegMargin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ContrastiveLoss(a.Number(PosMargin), a.Number(NegMargin), s_parts.Read(a)));

    /// <param name="posMargin">null: 0.</param>
    /// <param name="negMargin">null: 1.</param>
    /// <param name="options">Distance, miner and reducer (null fields: the defaults).</param>
    public ContrastiveLoss(double? posMargin = null, double? negMargin = null, EmbeddingOptions? options = null) : base(s_parts, options) =>
        (PosMarginValue, NegMarginValue) = (PosMargin.Resolve(posMargin), NegMargin.Resolve(negMargin));

    public double PosMarginValue { get; }
    public double NegMarginValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [PosMargin.Of(PosMarginValue), NegMargin.Of(NegMarginValue)];

    /// <summary>Positive and negative pairs are reduced as two groups: visited twice.</summary>
    private protected override bool OneGroup => false;

    private protected override bool Discontinuous => true;

    private protected override void EvaluateAnchors(EmbeddingBatch b, Mining m, ElementReducer r, double[] g, int first, int end)
    {
        int n = b.N;
        for (int a = first; a < end; a++)
            for (int j = 0; j < n; j++)
            {
                int k = a * n + j;
                if (m.Pos[k])
                {
                    double l = Math.Max(b.Margin(b.V[k], PosMarginValue), 0), w = r.Visit(0, a, l);
                    if (w != 0 && l > 0) g[k] += w * b.MarginSign;
                }
                if (m.Neg[k])
                {
                    double l = Math.Max(b.Margin(NegMarginValue, b.V[k]), 0), w = r.Visit(1, a, l);
                    if (w != 0 && l > 0) g[k] -= w * b.MarginSign;
                }
            }
    }
}

/// <summary>
/// Triplet loss on the batch, spec <c>triplet(margin=0.2, distance=euclidean, miner=all, reducer=nonzero_mean, ...)</c>:
/// <c>ℓ = [d(a,p) − d(a,n) + margin]₊</c> over the mined triplets (similarities: <c>[s(a,n) − s(a,p) + margin]₊</c>);
/// <c>miner=all</c> is every triplet, visited without storing them (O(N²) memory). Reference: Schroff, Kalenichenko &amp;
/// Philbin 2015, FaceNet; Hermans, Beyer &amp; Leibe 2017 (batch hard); pytorch-metric-learning <c>TripletMarginLoss</c>
/// (whose default margin is 0.05; the catalog's is 0.2).
/// </summary>
public sealed class TripletLoss : EmbeddingLoss
{
    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "the margin by which d(a, n) should exceed d(a, p)") { Default = 0.2 };
    private static readonly EmbeddingParameters s_parts = new("euclidean", "nonzero_mean");

    public static LossCard Definition { get; } = EmbeddingCard("triplet", "Triplet margin loss over a batch (mined)",
        "ℓ = R([d(a,p) − d(a,n) + margin]₊) over the mined triplets (similarities: [s(a,n) − s(a,p) + margin]₊)",
        "∂ℓ/∂d(a,p) = w, ∂ℓ/∂d(a,n) = −w for each triplet with a positive loss",
        "Schroff et al. 2015 (FaceNet); Hermans et al. 2017 (batch hard); pytorch-metric-learning TripletMarginLoss", LossProperties.NonNegative,
        "The issue's mining=all|hard|semihard is miner=all|batch_hard|semihard (and hard: every triplet with d(a,n) ≤ d(a,p)).", s_parts, Margin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new TripletLoss(a.Number(Margin), s_parts.Read(a)));

    /// <param name="margin">null: 0.2.</param>
    /// <param name="options">Distance, miner and reducer (null fields: the defaults).</param>
    public TripletLoss(double? margin = null, EmbeddingOptions? options = null) : base(s_parts, options) => MarginValue = Margin.Resolve(margin);

    public double MarginValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [Margin.Of(MarginValue)];

    private protected override bool Discontinuous => true;

    private protected override void EvaluateAnchors(EmbeddingBatch b, Mining m, ElementReducer r, double[] g, int first, int end)
    {
        var visitor = new Visitor(b.V, b.N, b.Inverted, b.MarginSign, MarginValue, r, g);
        m.ForEachTriplet(first, end, ref visitor);
        visitor.Flush();
    }

    /// <summary>One triplet's loss, weight and gradient (writes only row a of G). The triplets of one positive pair
    /// (a, p) come in a row: their reducer counts, a's share and G_ap are kept in locals and written when the pair
    /// changes (<see cref="Flush"/>), each still summed in visiting order — the same doubles as one write per triplet.</summary>
    private struct Visitor(double[] v, int n, bool inverted, double sign, double margin, ElementReducer r, double[] g) : ITripletVisitor
    {
        private int _a = -1, _p;
        private ElementReducer.Tally _tally;
        private double _gp;

        public void Visit(int a, int p, int q)
        {
            if (a != _a || p != _p)
            {
                Flush();
                (_a, _p, _tally, _gp) = (a, p, r.Begin(0, a), g[a * n + p]);
            }
            double vp = v[a * n + p], vq = v[a * n + q];
            double l = Math.Max((inverted ? vq - vp : vp - vq) + margin, 0), w = r.Visit(ref _tally, l);   // EmbeddingBatch.Margin(vp, vq)
            if (w == 0 || l <= 0) return;
            _gp += w * sign;
            g[a * n + q] -= w * sign;
        }

        /// <summary>Writes the current pair's G_ap and reducer run.</summary>
        public void Flush()
        {
            if (_a < 0) return;
            g[_a * n + _p] = _gp;
            r.End(_tally);
            _a = -1;
        }
    }
}

/// <summary>
/// The losses computed per anchor from its kept positives and negatives (multi-similarity, circle, SupCon) or per
/// positive pair (NT-Xent): the base gathers each anchor's kept pairs and their similarities u = −D (the similarity
/// itself for cosine and dot, −d for the distances) and adds ∂ℓ/∂u back to the coefficients.
/// </summary>
public abstract class AnchorLoss : EmbeddingLoss
{
    private protected AnchorLoss(EmbeddingParameters parts, EmbeddingOptions? options) : base(parts, options) { }

    /// <summary>True for a loss with a float row form (<see cref="AnchorRow"/>).</summary>
    private protected virtual bool RowForm => false;

    /// <summary>The row path, for float inputs with <c>miner=all</c>, a similarity (cosine, dot) and the positives given
    /// by the labels: the float Gram matrix is v itself, and one parallel pass over blocks of anchors reads each anchor's
    /// row of it in float lanes and writes the anchor's row of G in float (<see cref="AnchorRow"/>) — no double v, no
    /// masks, no gathering of pairs; each anchor's positives come from its class's list. Otherwise the composed path.</summary>
    private protected override void Run(double[] x, int n, int dim, int[] labels, bool[]? pairs, double[] shares, double[]? gradient, bool single)
    {
        if (!single || !RowForm || pairs is not null || Options.Miner != "all" || !Inverted)
        {
            base.Run(x, n, dim, labels, pairs, shares, gradient, single);
            return;
        }
        using EmbeddingBatch batch = EmbeddingBatch.Rent(this, x, n, dim, labels, single: true, singleGram: true, floatRows: true);
        using Mining mined = Mining.Rent(batch, Options, pairMasks: false);
        using ElementReducer reducer = ElementReducer.Rent(Options, n, onePass: true);
        using var g = Pooled<float>.Square(n);
        using var classes = new ClassRows(labels);
        Parallelism.ForElements(n, AnchorsPerBlock, new AnchorRows(this, batch.SingleV!, classes, Active(mined), reducer, g.Values));
        double scale = reducer.Finish();
        reducer.Unreduced.CopyTo(shares, 0);
        if (gradient is not null) batch.Backward(g.Values, gradient, scale);
    }

    /// <summary>A block of anchors of the row path: <see cref="AnchorRow"/> for each (a zero row and a zero element when the
    /// batch has no pair to learn from), with one pooled scratch row and list of positives.</summary>
    private readonly struct AnchorRows(AnchorLoss loss, float[] v, ClassRows classes, bool active, ElementReducer reducer, float[] gv)
        : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            int n = classes.Count;
            using var t = Pooled<float>.Of(n);
            using var positives = Pooled<int>.Of(n);
            for (int a = first; a < end; a++)
            {
                Span<float> row = gv.AsSpan(a * n, n);
                if (!active)
                {
                    reducer.Visit(0, a, 0);
                    row.Clear();
                    continue;
                }
                loss.AnchorRow(a, v.AsSpan(a * n, n), classes.Positives(a, positives.Values), t.Span, reducer, row);
            }
            return 0;
        }
    }

    /// <summary>One anchor of the row path: <paramref name="s"/> holds its similarities s_aj with every row (s_aa
    /// included, to be left out), <paramref name="positives"/> its positives (ascending), every other row j ≠ a is a
    /// negative. Visits its element(s) through <paramref name="r"/> and writes the whole row <paramref name="g"/> =
    /// w·∂ℓ/∂s_aj (0 at j = a). <paramref name="t"/>: N floats of scratch.</summary>
    private protected virtual void AnchorRow(int a, ReadOnlySpan<float> s, ReadOnlySpan<int> positives, Span<float> t, ElementReducer r, Span<float> g) =>
        throw new NotSupportedException($"{GetType().Name} has no row form.");

    /// <summary>Σ_j e^(t_j − M) over the row in float lanes (LossKit's vector exp, the lanes added in their fixed order), with
    /// M = max(<paramref name="floor"/>, max_j t_j); each e^(t_j − M) is written into <paramref name="e"/> (0 where t_j
    /// = −∞, the rows left out). Returns the sum (0, with M = −∞, when every t_j is −∞ and the floor is −∞).</summary>
    private protected static double SumExpRow(ReadOnlySpan<float> t, float floor, Span<float> e, out double max)
    {
        float top = MathF.Max(floor, Row.Max(t));
        max = top;
        if (float.IsNegativeInfinity(top))
        {
            e.Clear();
            return 0;
        }
        return Row.SumExp(t, top, e);
    }

    /// <summary>The rows of each class, for the row path: the positives of row a are the other rows with its label,
    /// ascending. Its arrays are pooled: dispose it when the call ends.</summary>
    private readonly struct ClassRows : IDisposable
    {
        private readonly int[] _members, _start, _stop;

        public ClassRows(int[] labels)
        {
            int n = Count = labels.Length;
            using var keys = Pooled<long>.Of(n);
            for (int i = 0; i < n; i++) keys.Values[i] = (long)labels[i] * n + i;   // by label, then by row
            Array.Sort(keys.Values);
            (_members, _start, _stop) = (ExactArrays<int>.Rent(n), ExactArrays<int>.Rent(n), ExactArrays<int>.Rent(n));
            for (int k = 0; k < n; k++) _members[k] = (int)(keys.Values[k] % n);
            for (int k = 0, first = 0; k < n; k++)
            {
                if (k + 1 < n && labels[_members[k + 1]] == labels[_members[k]]) continue;
                for (int i = first; i <= k; i++) (_start[_members[i]], _stop[_members[i]]) = (first, k + 1);
                first = k + 1;
            }
        }

        /// <summary>The rows, N.</summary>
        public int Count { get; }

        public void Dispose()
        {
            foreach (int[] list in (ReadOnlySpan<int[]>)[_members, _start, _stop]) ExactArrays<int>.Return(list);
        }

        /// <summary>Row a's positives, written into <paramref name="scratch"/>.</summary>
        public ReadOnlySpan<int> Positives(int a, int[] scratch)
        {
            int count = 0;
            for (int k = _start[a]; k < _stop[a]; k++)
                if (_members[k] != a) scratch[count++] = _members[k];
            return scratch.AsSpan(0, count);
        }
    }

    private protected override void EvaluateAnchors(EmbeddingBatch b, Mining m, ElementReducer r, double[] g, int first, int end)
    {
        int n = b.N;
        bool active = Active(m);
        if (!active)
        {
            for (int a = first; a < end; a++) r.Visit(0, a, 0);
            return;
        }
        bool[] keptPos = m.Pos, keptNeg = m.Neg;
        // One block's scratch, pooled: the kept positives and negatives, their similarities and derivatives, and the loss's own work.
        int[] indices = ArrayPool<int>.Shared.Rent(2 * n);
        double[] scratch = ArrayPool<double>.Shared.Rent(6 * n + 2);
        try
        {
            Span<int> pos = indices.AsSpan(0, n), neg = indices.AsSpan(n, n);
            Span<double> up = scratch.AsSpan(0, n), un = scratch.AsSpan(n, n), dp = scratch.AsSpan(2 * n, n), dn = scratch.AsSpan(3 * n, n);
            Span<double> work = scratch.AsSpan(4 * n, 2 * n + 2);
            double toV = -b.MarginSign;   // ∂u/∂v
            bool inverted = b.Inverted;
            for (int a = first; a < end; a++)
            {
                int np = 0, nn = 0;
                ReadOnlySpan<bool> rowPos = keptPos.AsSpan(a * n, n), rowNeg = keptNeg.AsSpan(a * n, n);
                ReadOnlySpan<double> v = b.V.AsSpan(a * n, n);
                for (int j = 0; j < n; j++)
                {
                    double u = inverted ? v[j] : -v[j];   // −D(a, j), exactly
                    if (rowPos[j]) { up[np] = u; pos[np++] = j; }
                    if (rowNeg[j]) { un[nn] = u; neg[nn++] = j; }
                }
                Anchor(a, up[..np], un[..nn], r, dp[..np], dn[..nn], work, b.Single, out bool any);
                if (!any) continue;
                for (int k = 0; k < np; k++) g[a * n + pos[k]] += toV * dp[k];
                for (int k = 0; k < nn; k++) g[a * n + neg[k]] += toV * dn[k];
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indices);
            ArrayPool<double>.Shared.Return(scratch);
        }
    }

    /// <summary>False when the whole batch gives 0 (every anchor visited with ℓ = 0).</summary>
    private protected virtual bool Active(Mining m) => true;

    /// <summary>One anchor: its kept positives' and negatives' similarities; visits its element(s) through
    /// <paramref name="r"/> and writes the weighted ∂/∂u of each (<paramref name="any"/>: some weight is non-zero).
    /// <paramref name="work"/>: scratch of 2·(|P| + |N| + 1) values or more (the block's, reused by every anchor).
    /// <paramref name="single"/>: float inputs (the softmax sums may take the vector exp).</summary>
    private protected abstract void Anchor(int a, ReadOnlySpan<double> up, ReadOnlySpan<double> un, ElementReducer r,
        Span<double> dp, Span<double> dn, Span<double> work, bool single, out bool any);

    /// <summary>log(e^c + Σ e^tᵢ) (c = −∞: without the constant term) and the softmax weights e^tᵢ / (e^c + Σ e^t) into
    /// <paramref name="weights"/>; −∞ for an empty sum.</summary>
    private protected static double LogSumExp(ReadOnlySpan<double> t, double c, Span<double> weights, bool single) => LogSumExpOf(t, c, weights, single);

    /// <summary>The same, for the losses of this folder that are not anchor losses. <paramref name="single"/> (float
    /// inputs): the max, the Σ e^(t − max) and the division through the vector row kernels (LossKit's own vector exp,
    /// about 1 ulp; the lanes summed in their fixed order); otherwise scalar <see cref="Math.Exp"/> in index order (the
    /// double path's bits).</summary>
    internal static double LogSumExpOf(ReadOnlySpan<double> t, double c, Span<double> weights, bool single = false)
    {
        if (single)
        {
            double max = Math.Max(c, Row.Max(t));
            if (double.IsNegativeInfinity(max)) { weights[..t.Length].Clear(); return double.NegativeInfinity; }
            double total = (double.IsNegativeInfinity(c) ? 0 : Math.Exp(c - max)) + Row.SumExp(t, max, weights[..t.Length]);
            Row.ScaleInPlace(weights[..t.Length], 1 / total, streaming: false);
            return max + Math.Log(total);
        }
        double top = c;
        foreach (double v in t) top = Math.Max(top, v);
        if (double.IsNegativeInfinity(top)) { weights.Clear(); return double.NegativeInfinity; }
        double sum = double.IsNegativeInfinity(c) ? 0 : Math.Exp(c - top);
        for (int i = 0; i < t.Length; i++) sum += weights[i] = Math.Exp(t[i] - top);
        for (int i = 0; i < t.Length; i++) weights[i] /= sum;
        return top + Math.Log(sum);
    }
}

/// <summary>
/// Multi-similarity loss, spec <c>multi_similarity(alpha=2, beta=50, base=0.5, distance=cosine, reducer=mean, ...)</c>:
/// per anchor, <c>ℓ = (1/α)·log(1 + Σ_p e^{−α(s_p − λ)}) + (1/β)·log(1 + Σ_n e^{β(s_n − λ)})</c>, λ = base. Reference: Wang
/// et al. 2019, Multi-similarity loss with general pair weighting for deep metric learning; pytorch-metric-learning
/// <c>MultiSimilarityLoss</c> (pair it with <c>miner=multi_similarity</c> for the paper's pair mining).
/// </summary>
public sealed class MultiSimilarityLoss : AnchorLoss
{
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number, "α: the positive pairs' scale") { Default = 2, Min = 0, MinExclusive = true };
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "β: the negative pairs' scale") { Default = 50, Min = 0, MinExclusive = true };
    public static readonly LossParameter Base = new("base", ParameterKind.Number, "λ: the similarity the pairs are measured from") { Default = 0.5 };
    private static readonly EmbeddingParameters s_parts = new("cosine", "mean");

    public static LossCard Definition { get; } = EmbeddingCard("multi_similarity", "Multi-similarity loss",
        "ℓ = (1/α)·log(1 + Σ_p e^{−α(s_p − λ)}) + (1/β)·log(1 + Σ_n e^{β(s_n − λ)}) per anchor",
        "∂ℓ/∂s_p = −e^{−α(s_p−λ)}/(1 + Σ_p ...), ∂ℓ/∂s_n = e^{β(s_n−λ)}/(1 + Σ_n ...)",
        "Wang et al. 2019 (CVPR); pytorch-metric-learning MultiSimilarityLoss", LossProperties.NonNegative,
        "With a distance (pytorch-metric-learning's distance.margin): (1/α)·log(1 + Σ_p e^{α(d_p − λ)}) + (1/β)·log(1 + Σ_n e^{β(λ − d_n)}).", s_parts, Alpha, Beta, Base);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new MultiSimilarityLoss(a.Number(Alpha), a.Number(Beta), a.Number(Base), s_parts.Read(a)));

    public MultiSimilarityLoss(double? alpha = null, double? beta = null, double? @base = null, EmbeddingOptions? options = null) : base(s_parts, options) =>
        (AlphaValue, BetaValue, BaseValue) = (Alpha.Resolve(alpha), Beta.Resolve(beta), Base.Resolve(@base));

    public double AlphaValue { get; }
    public double BetaValue { get; }
    public double BaseValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [Alpha.Of(AlphaValue), Beta.Of(BetaValue), Base.Of(BaseValue)];

    private protected override void Anchor(int a, ReadOnlySpan<double> up, ReadOnlySpan<double> un, ElementReducer r,
        Span<double> dp, Span<double> dn, Span<double> work, bool single, out bool any)
    {
        Span<double> tp = work[..up.Length], tn = work.Slice(up.Length, un.Length);
        // pytorch-metric-learning's distance.margin(v, λ) and margin(λ, v): for a similarity −α(s − λ) and β(s − λ); for a
        // distance α(d − λ) and β(λ − d), which in u = −d is the same with −λ.
        double lambda = Inverted ? BaseValue : -BaseValue;
        for (int i = 0; i < up.Length; i++) tp[i] = -AlphaValue * (up[i] - lambda);
        for (int i = 0; i < un.Length; i++) tn[i] = BetaValue * (un[i] - lambda);
        double l = LogSumExp(tp, 0, dp, single) / AlphaValue + LogSumExp(tn, 0, dn, single) / BetaValue;   // log(1 + Σ e^t): the constant e^0
        double w = r.Visit(0, a, l);
        any = w != 0;
        for (int i = 0; i < dp.Length; i++) dp[i] *= -w;
        for (int i = 0; i < dn.Length; i++) dn[i] *= w;
    }

    private protected override bool RowForm => true;

    /// <summary>The row form: the few positives in double (scalar), the negatives' β(s − λ), Σ e and softmax over the
    /// whole row in float lanes (the anchor and its positives left out as −∞).</summary>
    private protected override void AnchorRow(int a, ReadOnlySpan<float> s, ReadOnlySpan<int> positives, Span<float> t, ElementReducer r, Span<float> g)
    {
        int np = positives.Length;
        double lambda = BaseValue;   // a similarity: u = s
        double[]? rented = np > 32 ? ArrayPool<double>.Shared.Rent(2 * np) : null;
        Span<double> work = rented ?? stackalloc double[64];
        Span<double> tp = work[..np], dp = work.Slice(np, np);
        for (int i = 0; i < np; i++) tp[i] = -AlphaValue * (s[positives[i]] - lambda);
        double positive = LogSumExp(tp, 0, dp, single: false);   // log(1 + Σ_p e^t), dp the softmax weights
        Row.Scale(s, (float)BetaValue, (float)(-BetaValue * lambda), t, streaming: false);
        t[a] = float.NegativeInfinity;
        foreach (int p in positives) t[p] = float.NegativeInfinity;
        double sum = SumExpRow(t, 0f, g, out double max), total = Math.Exp(-max) + sum;   // 1 + Σ_n e^t, scaled by e^−max
        double l = positive / AlphaValue + (max + Math.Log(total)) / BetaValue, w = r.Visit(0, a, l);
        Row.ScaleInPlace(g, (float)(w / total), streaming: false);
        for (int i = 0; i < np; i++) g[positives[i]] = (float)(-w * dp[i]);
        if (rented is not null) ArrayPool<double>.Shared.Return(rented);
    }
}

/// <summary>
/// Circle loss, spec <c>circle(m=0.4, gamma=80, distance=cosine, reducer=nonzero_mean, ...)</c>: per anchor with a
/// positive and a negative, <c>ℓ = softplus(log Σ_p e^{−γ·α_p·(s_p − Δ_p)} + log Σ_n e^{γ·α_n·(s_n − Δ_n)})</c>,
/// α_p = [1 + m − s_p]₊, α_n = [s_n + m]₊, Δ_p = 1 − m, Δ_n = m. The gradient is the exact gradient of this ℓ, the
/// derivatives of α_p and α_n included; the paper and pytorch-metric-learning hold α constant (<c>detach</c>), which
/// is not the gradient of any loss value and would fail LossKit's finite-difference check. Reference: Sun et al. 2020, Circle loss: a unified perspective of pair similarity optimization;
/// pytorch-metric-learning <c>CircleLoss</c>.
/// </summary>
public sealed class CircleLoss : AnchorLoss
{
    public static readonly LossParameter M = new("m", ParameterKind.Number, "the relaxation margin m") { Default = 0.4, Min = 0 };
    public static readonly LossParameter Gamma = new("gamma", ParameterKind.Number, "γ: the scale") { Default = 80, Min = 0, MinExclusive = true };
    private static readonly EmbeddingParameters s_parts = new("cosine", "nonzero_mean");

    public static LossCard Definition { get; } = EmbeddingCard("circle", "Circle loss",
        "ℓ = softplus(lse_p(−γ·α_p·(s_p − 1 + m)) + lse_n(γ·α_n·(s_n − m))), α_p = [1 + m − s_p]₊, α_n = [s_n + m]₊ per anchor",
        "∂ℓ/∂s_p = −σ(z)·softmax_p·γ·(α_p − (s_p − Δ_p)·[α_p > 0]), ∂ℓ/∂s_n = σ(z)·softmax_n·γ·(α_n + (s_n − Δ_n)·[α_n > 0]) (exact: α differentiated)",
        "Sun et al. 2020 (CVPR); pytorch-metric-learning CircleLoss", LossProperties.NonNegative,
        "An anchor without a kept positive or negative gives 0. With a distance, s = −d. The gradient includes α's derivative, " +
        "where the paper and pytorch-metric-learning hold α constant: training follows a slightly different direction.", s_parts, M, Gamma);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CircleLoss(a.Number(M), a.Number(Gamma), s_parts.Read(a)));

    public CircleLoss(double? m = null, double? gamma = null, EmbeddingOptions? options = null) : base(s_parts, options) =>
        (MValue, GammaValue) = (M.Resolve(m), Gamma.Resolve(gamma));

    public double MValue { get; }
    public double GammaValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [M.Of(MValue), Gamma.Of(GammaValue)];

    private protected override void Anchor(int a, ReadOnlySpan<double> up, ReadOnlySpan<double> un, ElementReducer r,
        Span<double> dp, Span<double> dn, Span<double> work, bool single, out bool any)
    {
        if (up.IsEmpty || un.IsEmpty) { r.Visit(0, a, 0); any = false; return; }
        double m = MValue, gamma = GammaValue;
        Span<double> tp = work[..up.Length], tn = work.Slice(up.Length, un.Length);
        for (int i = 0; i < up.Length; i++) tp[i] = -gamma * Math.Max(1 + m - up[i], 0) * (up[i] - (1 - m));
        for (int i = 0; i < un.Length; i++) tn[i] = gamma * Math.Max(un[i] + m, 0) * (un[i] - m);
        double z = LogSumExp(tp, double.NegativeInfinity, dp, single) + LogSumExp(tn, double.NegativeInfinity, dn, single);
        double l = z > 0 ? z + Math.Log(1 + Math.Exp(-z)) : Math.Log(1 + Math.Exp(z)), w = r.Visit(0, a, l);
        any = w != 0;
        double s = w * (z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z)));
        for (int i = 0; i < dp.Length; i++)
        {
            double alpha = Math.Max(1 + m - up[i], 0);
            dp[i] *= -s * gamma * (alpha - (alpha > 0 ? up[i] - (1 - m) : 0));
        }
        for (int i = 0; i < dn.Length; i++)
        {
            double alpha = Math.Max(un[i] + m, 0);
            dn[i] *= s * gamma * (alpha + (alpha > 0 ? un[i] - m : 0));
        }
    }
}

/// <summary>
/// Supervised contrastive loss, spec <c>supcon(tau=0.1, distance=cosine, reducer=nonzero_mean, ...)</c>: per anchor with
/// positives, <c>ℓ = −(1/|P|)·Σ_p log(e^{s_p/τ} / Σ_{j ∈ P ∪ N} e^{s_j/τ})</c> over the anchor's kept pairs. Reference:
/// Khosla et al. 2020, Supervised contrastive learning; pytorch-metric-learning <c>SupConLoss</c>.
/// </summary>
public sealed class SupConLoss : AnchorLoss
{
    public static readonly LossParameter Tau = new("tau", ParameterKind.Number, "τ: the temperature") { Default = 0.1, Min = 0, MinExclusive = true };
    private static readonly EmbeddingParameters s_parts = new("cosine", "nonzero_mean");

    public static LossCard Definition { get; } = EmbeddingCard("supcon", "Supervised contrastive loss (SupCon)",
        "ℓ = −(1/|P|)·Σ_p (s_p/τ − log Σ_{j ∈ P∪N} e^{s_j/τ}) per anchor",
        "∂ℓ/∂s_j = (softmax_j − [j ∈ P]/|P|)/τ",
        "Khosla et al. 2020 (NeurIPS); pytorch-metric-learning SupConLoss", LossProperties.NonNegative,
        "An anchor without a kept positive gives 0, and so does a batch without a kept negative pair (as pytorch-metric-learning). With a distance, s = −d.", s_parts, Tau);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SupConLoss(a.Number(Tau), s_parts.Read(a)));

    public SupConLoss(double? tau = null, EmbeddingOptions? options = null) : base(s_parts, options) => TauValue = Tau.Resolve(tau);

    public double TauValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [Tau.Of(TauValue)];

    /// <summary>As pytorch-metric-learning: 0 unless the batch has a kept positive and a kept negative pair.</summary>
    private protected override bool Active(Mining m) => m.HasPositive && m.HasNegative;

    private protected override void Anchor(int a, ReadOnlySpan<double> up, ReadOnlySpan<double> un, ElementReducer r,
        Span<double> dp, Span<double> dn, Span<double> work, bool single, out bool any)
    {
        if (up.IsEmpty) { r.Visit(0, a, 0); any = false; return; }
        int np = up.Length;
        int m = np + un.Length;
        Span<double> t = work[..m], soft = work.Slice(m, m);
        for (int i = 0; i < np; i++) t[i] = up[i] / TauValue;
        for (int i = 0; i < un.Length; i++) t[np + i] = un[i] / TauValue;
        double lse = LogSumExp(t, double.NegativeInfinity, soft, single), l = 0;
        for (int i = 0; i < np; i++) l += lse - t[i];
        l /= np;
        double w = r.Visit(0, a, l);
        any = w != 0;
        for (int i = 0; i < np; i++) dp[i] = w * (soft[i] - 1.0 / np) / TauValue;
        for (int i = 0; i < un.Length; i++) dn[i] = w * soft[np + i] / TauValue;
    }

    private protected override bool RowForm => true;

    /// <summary>The row form: t = s/τ, its max, Σ e^(t − max) and softmax over the row in float lanes (the anchor left
    /// out), the loss and the positives' coefficients in double.</summary>
    private protected override void AnchorRow(int a, ReadOnlySpan<float> s, ReadOnlySpan<int> positives, Span<float> t, ElementReducer r, Span<float> g)
    {
        int np = positives.Length;
        if (np == 0)
        {
            r.Visit(0, a, 0);
            g.Clear();
            return;
        }
        Row.Scale(s, (float)(1 / TauValue), 0f, t, streaming: false);
        t[a] = float.NegativeInfinity;
        double sum = SumExpRow(t, float.NegativeInfinity, g, out double max), lse = max + Math.Log(sum), l = 0;
        foreach (int p in positives) l += lse - t[p];
        l /= np;
        double w = r.Visit(0, a, l);
        foreach (int p in positives) t[p] = (float)(w * (g[p] / sum - 1.0 / np) / TauValue);   // held while g is scaled
        Row.ScaleInPlace(g, (float)(w / (sum * TauValue)), streaming: false);
        foreach (int p in positives) g[p] = t[p];
    }
}

/// <summary>
/// NT-Xent / InfoNCE, spec <c>ntxent(tau=0.1, distance=cosine, reducer=mean, ...)</c>: per positive pair (a, p),
/// <c>ℓ = −log(e^{s_ap/τ} / (e^{s_ap/τ} + Σ_{n} e^{s_an/τ}))</c> over a's kept negatives. The two-view form (SimCLR) is
/// labels that give rows 2i and 2i + 1 one class each, or explicit positive pairs (<see cref="ComputePairs{T}"/>, the
/// kind's <c>pairs</c> input). Reference: Chen et al. 2020, A simple framework for contrastive
/// learning of visual representations (SimCLR); van den Oord et al. 2018 (InfoNCE); pytorch-metric-learning
/// <c>NTXentLoss</c> (default τ = 0.07; the catalog's 0.1 here).
/// </summary>
public sealed class NtXentLoss : AnchorLoss
{
    private static readonly EmbeddingParameters s_parts = new("cosine", "mean");

    public static LossCard Definition { get; } = EmbeddingCard("ntxent", "NT-Xent / InfoNCE",
        "ℓ = −log(e^{s_ap/τ} / (e^{s_ap/τ} + Σ_n e^{s_an/τ})) per positive pair",
        "∂ℓ/∂s_ap = (softmax_p − 1)/τ, ∂ℓ/∂s_an = softmax_n/τ",
        "Chen et al. 2020 (SimCLR); van den Oord et al. 2018 (InfoNCE); pytorch-metric-learning NTXentLoss", LossProperties.NonNegative,
        "Elements are positive pairs (each ordered pair once). With a distance, s = −d. Positives from equal labels, or given explicitly by " +
        "the pairs input (P×2 row indices, in place of labels): then every other pair of rows is a negative.", s_parts, SupConLoss.Tau);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new NtXentLoss(a.Number(SupConLoss.Tau), s_parts.Read(a)));

    public NtXentLoss(double? tau = null, EmbeddingOptions? options = null) : base(s_parts, options) => TauValue = SupConLoss.Tau.Resolve(tau);

    public double TauValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [SupConLoss.Tau.Of(TauValue)];

    /// <summary>NT-Xent with explicit positive pairs in place of labels (the kind's <c>pairs</c> input, <c>spec/io.md</c>):
    /// each given pair (i, j) is a positive both ways; for an anchor a, every row that is neither a nor one of its given
    /// positives is a negative. The pairs need not form classes (0–1 and 1–2 without 0–2 is allowed: then 2 is a
    /// negative of 0). Distance, miner and reducer apply as with labels; <c>unreduced</c> is each anchor's share.</summary>
    /// <param name="embeddings">N×d row-major.</param>
    /// <param name="dim">d ≥ 1.</param>
    /// <param name="pairs">P pairs of row indices, flat (i₀, j₀, i₁, j₁, …), each in [0, N), i ≠ j; a pair given twice counts once.</param>
    /// <param name="unreduced">Empty, or N.</param>
    /// <param name="gradient">Empty, or N×d.</param>
    public T ComputePairs<T>(ReadOnlySpan<T> embeddings, int dim, ReadOnlySpan<int> pairs, Span<T> unreduced = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        if (embeddings.Length % dim != 0)
            throw new ArgumentException($"embeddings has {embeddings.Length} values: expected N×{dim}.", nameof(embeddings));
        int n = embeddings.Length / dim;
        if (pairs.Length % 2 != 0)
            throw new ArgumentException($"pairs has {pairs.Length} values: expected two row indices per pair, P×2.", nameof(pairs));
        using var givenPairs = Pooled<bool>.Square(n, clear: true);
        bool[] positive = givenPairs.Values;
        for (int p = 0; p < pairs.Length / 2; p++)
        {
            int i = pairs[2 * p], j = pairs[2 * p + 1];
            if ((uint)i >= (uint)n || (uint)j >= (uint)n)
                throw new RowException(nameof(pairs), p, string.Create(CultureInfo.InvariantCulture, $"pairs[{p}] = ({i}, {j}): expected row indices in [0, {n})."));
            if (i == j)
                throw new RowException(nameof(pairs), p, string.Create(CultureInfo.InvariantCulture, $"pairs[{p}] = ({i}, {j}): a row is not its own positive; expected two different rows."));
            positive[i * n + j] = positive[j * n + i] = true;
        }
        using var rowNumbers = Pooled<int>.Of(n);
        int[] rows = rowNumbers.Values;
        for (int i = 0; i < n; i++) rows[i] = i;   // labels are not read when the pairs are given
        return Compute(embeddings, dim, rows, positive, unreduced, gradient);
    }

    private protected override void Anchor(int a, ReadOnlySpan<double> up, ReadOnlySpan<double> un, ElementReducer r,
        Span<double> dp, Span<double> dn, Span<double> work, bool single, out bool any)
    {
        any = false;
        dp.Clear();
        dn.Clear();
        Span<double> t = work[..(1 + un.Length)], soft = work.Slice(1 + un.Length, 1 + un.Length);
        for (int i = 0; i < un.Length; i++) t[1 + i] = un[i] / TauValue;
        for (int k = 0; k < up.Length; k++)
        {
            t[0] = up[k] / TauValue;
            double l = LogSumExp(t, double.NegativeInfinity, soft, single) - t[0], w = r.Visit(0, a, l);
            if (w == 0) continue;
            any = true;
            dp[k] += w * (soft[0] - 1) / TauValue;
            for (int i = 0; i < un.Length; i++) dn[i] += w * soft[1 + i] / TauValue;
        }
    }

    private protected override bool RowForm => true;

    /// <summary>The row form: t = s/τ and the negatives' Σ e^(t − max) in float lanes once per anchor (the anchor and its
    /// positives left out as −∞); each positive pair adds its own e^(t_p) in double, and the negatives' coefficients,
    /// Σ over the pairs of w·softmax_n, are one scaling of the stored exponentials.</summary>
    private protected override void AnchorRow(int a, ReadOnlySpan<float> s, ReadOnlySpan<int> positives, Span<float> t, ElementReducer r, Span<float> g)
    {
        Row.Scale(s, (float)(1 / TauValue), 0f, t, streaming: false);
        t[a] = float.NegativeInfinity;
        foreach (int p in positives) (g[p], t[p]) = (t[p], float.NegativeInfinity);   // t_p held in g
        double sum = SumExpRow(t, float.NegativeInfinity, t, out double max), coefficient = 0;   // t ← e^(t − max)
        foreach (int p in positives)
        {
            double c = g[p], top = Math.Max(c, max), scaled = sum * Math.Exp(max - top), total = Math.Exp(c - top) + scaled;
            double w = r.Visit(0, a, top + Math.Log(total) - c);
            t[p] = (float)(w * (Math.Exp(c - top) / total - 1) / TauValue);   // held while g is written
            coefficient += w * (double.IsNegativeInfinity(max) ? 0 : Math.Exp(max - top) / total);
        }
        Row.Scale(t, (float)(coefficient / TauValue), 0f, g, streaming: false);
        foreach (int p in positives) g[p] = t[p];
    }
}

/// <summary>
/// Lifted structure loss, spec <c>lifted(pos_margin=0, neg_margin=1, distance=euclidean, reducer=mean, ...)</c>: per
/// kept positive pair (a, p), <c>ℓ = ½·[log Σ_{(i,n)} e^{m_neg − d(i,n)} + d(a,p) − m_pos]₊²</c> over the kept negative
/// pairs of a and of p (similarities: <c>e^{s(i,n) − m_neg}</c> and <c>m_pos − s(a,p)</c>). Reference: Oh Song et al. 2016,
/// Deep metric learning via lifted structured feature embedding; pytorch-metric-learning <c>LiftedStructureLoss</c>.
/// </summary>
public sealed class LiftedStructureLoss : EmbeddingLoss
{
    private static readonly EmbeddingParameters s_parts = new("euclidean", "mean");

    public static LossCard Definition { get; } = EmbeddingCard("lifted", "Lifted structured loss",
        "ℓ = ½·[log Σ_{(i,n) ∈ N(a) ∪ N(p)} e^{m_neg − d(i,n)} + d(a,p) − m_pos]₊² per positive pair (a, p)",
        "∂ℓ/∂d(a,p) = h, ∂ℓ/∂d(i,n) = −h·softmax(i,n), h = [·]₊ the bracket",
        "Oh Song et al. 2016 (CVPR); pytorch-metric-learning LiftedStructureLoss", LossProperties.NonNegative,
        "Each ordered positive pair counts (hence the ½, as pytorch-metric-learning). A positive pair without negatives gives 0.",
        s_parts, ContrastiveLoss.PosMargin, ContrastiveLoss.NegMargin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition,
        a => new LiftedStructureLoss(a.Number(ContrastiveLoss.PosMargin), a.Number(ContrastiveLoss.NegMargin), s_parts.Read(a)));

    public LiftedStructureLoss(double? posMargin = null, double? negMargin = null, EmbeddingOptions? options = null) : base(s_parts, options) =>
        (PosMarginValue, NegMarginValue) = (ContrastiveLoss.PosMargin.Resolve(posMargin), ContrastiveLoss.NegMargin.Resolve(negMargin));

    public double PosMarginValue { get; }
    public double NegMarginValue { get; }
    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [ContrastiveLoss.PosMargin.Of(PosMarginValue), ContrastiveLoss.NegMargin.Of(NegMarginValue)];

    private protected override void Evaluate(EmbeddingBatch b, Mining m, ElementReducer r, double[] g)
    {
        int n = b.N;
        using Pooled<int> negativePairs = Pooled<int>.Of(2 * n);
        using Pooled<double> exponents = Pooled<double>.Of(2 * n), weights = Pooled<double>.Of(2 * n);
        int[] index = negativePairs.Values;
        double[] t = exponents.Values, soft = weights.Values;
        bool anyNegative = m.HasNegative;
        for (int a = 0; a < n; a++)
            for (int p = 0; p < n; p++)
            {
                if (!m.Pos[a * n + p]) continue;
                if (!anyNegative) { r.Visit(0, a, 0); continue; }
                int count = 0;   // the negative pairs of a and of p: their places i·N + q in index, their margins in t
                foreach (int i in (ReadOnlySpan<int>)[a, p])
                    for (int q = 0; q < n; q++)
                        if (m.Neg[i * n + q]) { t[count] = b.Margin(NegMarginValue, b.V[i * n + q]); index[count++] = i * n + q; }
                if (count == 0) { r.Visit(0, a, 0); continue; }
                double h = AnchorLoss.LogSumExpOf(t.AsSpan(0, count), double.NegativeInfinity, soft, b.Single) + b.Margin(b.V[a * n + p], PosMarginValue);
                double l = h > 0 ? 0.5 * h * h : 0, w = r.Visit(0, a, l);
                if (w == 0 || h <= 0) continue;
                g[a * n + p] += w * h * b.MarginSign;
                for (int k = 0; k < count; k++) g[index[k]] -= w * h * soft[k] * b.MarginSign;
            }
    }
}

/// <summary>
/// N-pair loss, spec <c>npair(distance=dot, reducer=mean, ...)</c>: one kept positive pair (a_c, p_c) per class (the
/// first in row order, as pytorch-metric-learning), then cross-entropy of each anchor against all the chosen positives:
/// <c>ℓ_c = −log(e^{s(a_c,p_c)} / Σ_k e^{s(a_c,p_k)})</c>. Reference: Sohn 2016, Improved deep metric learning with
/// multi-class N-pair loss objective; pytorch-metric-learning <c>NPairsLoss</c> (whose embedding L2 regulariser is
/// not part of this loss).
/// </summary>
public sealed class NPairLoss : EmbeddingLoss
{
    private static readonly EmbeddingParameters s_parts = new("dot", "mean");

    public static LossCard Definition { get; } = EmbeddingCard("npair", "N-pair loss",
        "ℓ_c = −log(e^{s(a_c,p_c)} / Σ_k e^{s(a_c,p_k)}), one positive pair per class",
        "∂ℓ_c/∂s(a_c,p_k) = softmax_k − [k = c]",
        "Sohn 2016 (NeurIPS); pytorch-metric-learning NPairsLoss", LossProperties.NonNegative,
        "With a distance, s = −d. A batch without a kept positive pair gives 0; so does one whose kept positives are all of one class (one chosen pair).", s_parts);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new NPairLoss(s_parts.Read(a)));

    public NPairLoss(EmbeddingOptions? options = null) : base(s_parts, options) { }

    public override LossCard Card => Definition;
    private protected override IEnumerable<ParameterValue> OwnValues => [];

    [ThreadStatic] private static HashSet<int>? t_seen;

    private protected override void Evaluate(EmbeddingBatch b, Mining m, ElementReducer r, double[] g)
    {
        int n = b.N;
        using Pooled<int> anchorRows = Pooled<int>.Of(n), positiveRows = Pooled<int>.Of(n);
        int[] anchors = anchorRows.Values, positives = positiveRows.Values;
        HashSet<int> seen = t_seen ??= [];   // the classes with a chosen pair (this thread's set, emptied per call)
        seen.Clear();
        int k = 0;
        for (int a = 0; a < n; a++)
            for (int p = 0; p < n; p++)
                if (m.Pos[a * n + p] && seen.Add(b.Labels[a])) (anchors[k], positives[k++]) = (a, p);
        using Pooled<double> exponents = Pooled<double>.Of(k), weights = Pooled<double>.Of(k);
        double[] t = exponents.Values, soft = weights.Values;
        for (int c = 0; c < k; c++)
        {
            int a = anchors[c];
            for (int j = 0; j < k; j++) t[j] = -b.D(a, positives[j]);
            double l = AnchorLoss.LogSumExpOf(t, double.NegativeInfinity, soft, b.Single) - t[c], w = r.Visit(0, a, l);
            if (w == 0) continue;
            for (int j = 0; j < k; j++) g[a * n + positives[j]] += w * (soft[j] - (j == c ? 1 : 0)) * -b.MarginSign;
        }
    }
}
