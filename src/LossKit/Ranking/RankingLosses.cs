using System.Runtime.InteropServices;
using LossKit.Core;

namespace LossKit.Ranking;

/// <summary>A pairwise ranking function of the score gap d = s_i − s_j: its value and slope.</summary>
internal interface IPairFunction
{
    double Value(double d);
    double Slope(double d);
}

/// <summary>
/// RankNet, spec <c>ranknet</c>: the pairwise logistic loss summed over the list's ordered pairs,
/// <c>ℓ = Σ_{y_i &gt; y_j} log(1 + e^{−(s_i − s_j)})</c>. Reference: Burges et al. 2005, Learning to rank using gradient
/// descent; Rax <c>pairwise_logistic_loss</c> (which averages over pairs; here the sum, as RankNet and LambdaRank).
/// </summary>
public sealed class RankNetLoss(Reduction reduction = Reduction.Mean) : RankingLoss(reduction)
{
    public static LossCard Definition { get; } = RankingCard("ranknet", "RankNet (pairwise logistic)",
        "ℓ = Σ_{y_i > y_j} log(1 + exp(−(s_i − s_j)))", "∂ℓ/∂s_i = −Σ_{j: y_i > y_j} σ(−(s_i − s_j)) + Σ_{j: y_j > y_i} σ(−(s_j − s_i))",
        "Burges et al. 2005, Learning to rank using gradient descent; Rax pairwise_logistic_loss", "Summed over the list's pairs (Rax averages them).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new RankNetLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <summary>Pair (i, j) is weighted by item_weights[i], the preferred item's weight (Rax).</summary>
    private protected override bool TakesPairWeights => true;

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch) =>
        Pairs(s, y, w, g, new Logistic());

    /// <summary>Σ over the ordered pairs (i, j) — y_i &gt; y_j, or with <paramref name="binary"/> y_i &gt; 0 = y_j — of
    /// w_i·φ(s_i − s_j) (w_i = 1 when <paramref name="w"/> is empty: Rax's pair weight, the weight of the preferred
    /// item), and its gradient: the pair function is an operator struct, so the O(L²) loop makes no call through a delegate.</summary>
    internal static double Pairs<TPhi>(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, TPhi phi,
        bool binary = false, double pairScale = 1) where TPhi : struct, IPairFunction
    {
        double sum = 0;
        for (int i = 0; i < s.Length; i++)
        {
            double scale = w.IsEmpty ? pairScale : pairScale * w[i];
            for (int j = 0; j < s.Length; j++)
            {
                if (binary ? !(y[i] > 0 && y[j] == 0) : !(y[i] > y[j])) continue;
                double d = s[i] - s[j], dl = scale * phi.Slope(d);
                sum += scale * phi.Value(d);
                g[i] += dl;
                g[j] -= dl;
            }
        }
        return sum;
    }

    /// <summary>φ(d) = log(1 + e^{−d}), φ'(d) = −σ(−d).</summary>
    internal readonly struct Logistic : IPairFunction
    {
        public double Value(double d) => Softplus(-d);
        public double Slope(double d) => -Sigmoid(-d);
    }

    internal static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    internal static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary><see cref="Softplus"/>(x) and <see cref="Sigmoid"/>(x) from one exponential, bit for bit the same
    /// doubles: both take e^{−|x|} (e^{−x} for x &gt; 0, e^{x} otherwise; at x = 0 both are 1).</summary>
    internal static (double Softplus, double Sigmoid) SoftplusAndSigmoid(double x)
    {
        double e = Math.Exp(-Math.Abs(x));
        return x > 0 ? (x + Math.Log(1 + e), 1 / (1 + e)) : (Math.Log(1 + e), x >= 0 ? 1 / (1 + e) : e / (1 + e));
    }
}

/// <summary>
/// Pairwise hinge, spec <c>pair_hinge(margin=1)</c>: <c>ℓ = Σ_{y_i &gt; y_j} max(0, m − (s_i − s_j))</c> (the RankSVM
/// loss). Reference: Herbrich, Graepel &amp; Obermayer 1999; Joachims 2002, Optimizing search engines using clickthrough data;
/// Rax <c>pairwise_hinge_loss</c>. Subgradient 0 at the kink.
/// </summary>
public sealed class PairHingeLoss : RankingLoss
{
    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "m: the score gap each ordered pair should keep") { Default = 1, Min = 0 };

    public static LossCard Definition { get; } = RankingCard("pair_hinge", "Pairwise hinge (RankSVM)",
        "ℓ = Σ_{y_i > y_j} max(0, m − (s_i − s_j))", "∂ℓ/∂s_i = −Σ_j [m − (s_i − s_j) > 0] + Σ_j [m − (s_j − s_i) > 0] over the ordered pairs",
        "Joachims 2002, Optimizing search engines using clickthrough data; Rax pairwise_hinge_loss", "Summed over the list's pairs; subgradient 0 at the kink.", Margin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new PairHingeLoss(a.Number(Margin), a.Reduction()));

    /// <param name="margin">m ≥ 0 (null: 1).</param>
    /// <param name="reduction">mean over lists, sum or none.</param>
    public PairHingeLoss(double? margin = null, Reduction reduction = Reduction.Mean) : base(reduction) => MarginValue = Margin.Resolve(margin);

    /// <summary>m.</summary>
    public double MarginValue { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <summary>Pair (i, j) is weighted by item_weights[i], the preferred item's weight (Rax).</summary>
    private protected override bool TakesPairWeights => true;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Margin.Of(MarginValue), .. base.ParameterValues];

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        return RankNetLoss.Pairs(s, y, w, g, new Hinge(MarginValue));
    }

    /// <summary>φ(d) = max(0, m − d), φ'(d) = −1 inside the margin, 0 at the kink and beyond.</summary>
    private readonly struct Hinge(double margin) : IPairFunction
    {
        public double Value(double d) => Math.Max(0, margin - d);
        public double Slope(double d) => margin - d > 0 ? -1 : 0;
    }
}

/// <summary>
/// Bayesian personalised ranking, spec <c>bpr</c>: the mean over the list's (relevant, non-relevant) pairs of
/// <c>−log σ(s_i − s_j)</c>, relevant meaning y &gt; 0 (0 when the list has no such pair). Reference: Rendle et al. 2009,
/// BPR: Bayesian personalized ranking from implicit feedback.
/// </summary>
public sealed class BprLoss(Reduction reduction = Reduction.Mean) : RankingLoss(reduction)
{
    public static LossCard Definition { get; } = RankingCard("bpr", "Bayesian personalised ranking",
        "ℓ = mean over pairs (y_i > 0, y_j = 0) of −log σ(s_i − s_j)", "∂ℓ/∂s_i = −Σ_j σ(−(s_i − s_j))/P, ∂ℓ/∂s_j = +σ(−(s_i − s_j))/P, P = the list's pairs",
        "Rendle, Freudenthaler, Gantner & Schmidt-Thieme 2009, BPR: Bayesian personalized ranking from implicit feedback",
        "Binary relevance: y > 0 is a positive; averaged over the list's positive–negative pairs (0 without one).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new BprLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <summary>Pair (i, j) is weighted by item_weights[i], the preferred item's weight (Rax).</summary>
    private protected override bool TakesPairWeights => true;

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        int positives = 0;
        foreach (double v in y) if (v > 0) positives++;
        long pairs = (long)positives * (y.Length - positives);
        return pairs == 0 ? 0 : RankNetLoss.Pairs(s, y, w, g, new RankNetLoss.Logistic(), binary: true, pairScale: 1.0 / pairs);
    }
}

/// <summary>
/// ListNet, spec <c>listnet</c>: the cross-entropy between the top-one distributions of the labels and the scores,
/// <c>ℓ = −Σ_i softmax(y)_i·log softmax(s)_i</c> over the real items. Reference: Cao et al. 2007, Learning to rank: from
/// pairwise approach to listwise approach; allRank <c>listNet</c>.
/// </summary>
public sealed class ListNetLoss(Reduction reduction = Reduction.Mean) : RankingLoss(reduction)
{
    public static LossCard Definition { get; } = RankingCard("listnet", "ListNet (top-one probabilities)",
        "ℓ = −Σ_i softmax(y)_i·log softmax(s)_i", "∂ℓ/∂s_i = softmax(s)_i − softmax(y)_i",
        "Cao, Qin, Liu, Tsai & Li 2007, Learning to rank: from pairwise approach to listwise approach; allRank listNet", "");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ListNetLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        Span<double> target = scratch[..y.Length];
        double lseY = LogSumExp(y);
        for (int i = 0; i < y.Length; i++) target[i] = Math.Exp(y[i] - lseY);
        return SoftmaxCrossEntropy(s, target, g);
    }

    /// <summary>−Σ q_i·log softmax(s)_i and its gradient (Σq)·softmax(s) − q (Σq = 1, or 0 for an all-zero q).</summary>
    internal static double SoftmaxCrossEntropy(ReadOnlySpan<double> s, ReadOnlySpan<double> q, Span<double> g)
    {
        double lse = LogSumExp(s), loss = 0, mass = 0;
        foreach (double v in q) mass += v;
        for (int i = 0; i < s.Length; i++)
        {
            if (q[i] != 0) loss -= q[i] * (s[i] - lse);
            g[i] = mass * Math.Exp(s[i] - lse) - q[i];
        }
        return loss;
    }

    internal static double LogSumExp(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (double v in x) max = Math.Max(max, v);
        foreach (double v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}

/// <summary>
/// Softmax ranking loss, spec <c>softmax_rank</c>: <c>ℓ = −Σ_i (y_i/Σy)·log softmax(s)_i</c> over the real items (0 for a
/// list without a relevant item). Reference: Optax <c>ranking_softmax_loss</c>; Rax <c>softmax_loss</c>; Bruch et al. 2019,
/// An analysis of the softmax cross entropy loss for learning-to-rank with binary relevance.
/// </summary>
public sealed class SoftmaxRankLoss(Reduction reduction = Reduction.Mean) : RankingLoss(reduction)
{
    public static LossCard Definition { get; } = RankingCard("softmax_rank", "Softmax ranking loss",
        "ℓ = −Σ_i (y_i/Σ_j y_j)·log softmax(s)_i", "∂ℓ/∂s_i = softmax(s)_i − y_i/Σ_j y_j (0 for a list without a relevant item)",
        "Bruch, Wang, Bendersky & Najork 2019, An analysis of the softmax cross entropy loss for learning-to-rank with binary relevance; Optax ranking_softmax_loss; Rax softmax_loss",
        "A list whose labels are all 0 has loss 0 and gradient 0 (Rax).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SoftmaxRankLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        double total = 0;
        foreach (double v in y) total += v;
        if (total == 0) return 0;
        Span<double> target = scratch[..y.Length];
        for (int i = 0; i < y.Length; i++) target[i] = y[i] / total;
        return ListNetLoss.SoftmaxCrossEntropy(s, target, g);
    }
}

/// <summary>
/// ListMLE, spec <c>listmle</c>: the Plackett–Luce negative log-likelihood of the ranking by descending label,
/// <c>ℓ = Σ_k (log Σ_{m≥k} e^{s_π(m)} − s_π(k))</c> over the real items only (padding never enters the sums). Items with
/// equal labels keep their order in the list. Reference: Xia et al. 2008, Listwise approach to learning to rank; allRank <c>listMLE</c>.
/// </summary>
public sealed class ListMleLoss(Reduction reduction = Reduction.Mean) : RankingLoss(reduction)
{
    public static LossCard Definition { get; } = RankingCard("listmle", "ListMLE (Plackett–Luce likelihood)",
        "ℓ = Σ_k (log Σ_{m≥k} exp(s_π(m)) − s_π(k)), π = items by descending label",
        "∂ℓ/∂s_π(m) = Σ_{k≤m} softmax over {π(k..)} at π(m) − 1",
        "Xia, Liu, Wang, Zhang & Li 2008, Listwise approach to learning to rank: theory and algorithm; allRank listMLE",
        "Ties in the labels keep the items' order (allRank shuffles them); padding is excluded from every suffix sum.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ListMleLoss(a.Reduction()));

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        int n = s.Length;
        Span<int> order = MemoryMarshal.Cast<double, int>(scratch[..n])[..n];
        OrderByLabelDescending(y, order);
        Span<double> lse = scratch.Slice(n, n);
        // Suffix log-sum-exps from the end: lse[k] = log Σ_{m≥k} exp(s_π(m)).
        double running = double.NegativeInfinity, loss = 0;
        for (int k = n - 1; k >= 0; k--)
        {
            double v = s[order[k]];
            if (running >= v && double.IsFinite(running))
                running += Math.Log(1 + Math.Exp(v - running));   // max = running: its term is e^0 = 1 exactly, one exp saved
            else
            {
                double max = Math.Max(running, v);
                running = max + Math.Log(Math.Exp(running - max) + Math.Exp(v - max));
            }
            lse[k] = running;
            loss += running - v;
        }
        // ∂ℓ/∂s_π(m) = Σ_{k≤m} exp(s_π(m) − lse[k]) − 1 = exp(s_π(m) − lse[m])·P_m − 1 with P_m = Σ_{k≤m} exp(lse[m] − lse[k])
        // (every term ≤ 1, since the suffix sums only shrink): P_m = P_{m−1}·exp(lse[m] − lse[m−1]) + 1.
        double p = 0;
        for (int m = 0; m < n; m++)
        {
            p = m == 0 ? 1 : p * Math.Exp(lse[m] - lse[m - 1]) + 1;
            g[order[m]] = Math.Exp(s[order[m]] - lse[m]) * p - 1;
        }
        return loss;
    }
}

/// <summary>
/// LambdaRank, spec <c>lambdarank(sigma=1, truncation=30)</c>, with LightGBM's definition: the pairwise logistic loss
/// weighted by the change in NDCG from swapping the pair in the current ranking,
/// <c>ℓ = Σ_{y_i &gt; y_j, min(r_i, r_j) ≤ k} |ΔNDCG_ij|·log(1 + e^{−σ(s_i − s_j)})</c> with gains 2^y − 1, discounts
/// 1/log₂(1 + r), ranks r by the current scores (ties by position), |ΔNDCG_ij| = |G_i − G_j|·|D(r_i) − D(r_j)|/IDCG@k
/// and k the truncation level. |ΔNDCG| is held constant (it is piecewise constant in the scores), so the gradient is
/// LightGBM's lambdas. A list without a relevant item has loss 0. Reference: Burges 2010, From RankNet to LambdaRank to
/// LambdaMART: an overview; LightGBM <c>lambdarank</c> objective (<c>lambdarank_truncation_level</c> = 30,
/// <c>sigmoid</c> = 1; its <c>lambdarank_norm</c> rescaling is not applied).
/// </summary>
public sealed class LambdaRankLoss : RankingLoss
{
    public static readonly LossParameter Sigma = new("sigma", ParameterKind.Number, "σ: the slope of the pairwise logistic (LightGBM sigmoid)") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter Truncation = new("truncation", ParameterKind.Integer,
        "k: pairs count when one item is in the current top k; IDCG@k normalises (LightGBM lambdarank_truncation_level)") { Default = 30, Min = 1 };

    public static LossCard Definition { get; } = RankingCard("lambdarank", "LambdaRank (LightGBM's NDCG-weighted pairwise logistic)",
        "ℓ = Σ_{y_i > y_j, min(r_i, r_j) ≤ k} |ΔNDCG_ij|·log(1 + exp(−σ(s_i − s_j))), |ΔNDCG_ij| = |2^{y_i} − 2^{y_j}|·|1/log₂(1+r_i) − 1/log₂(1+r_j)|/IDCG@k",
        "∂ℓ/∂s_i = −σ·Σ_j |ΔNDCG_ij|·σ(−σ(s_i − s_j)) over pairs where i is preferred, and the opposite for j (|ΔNDCG| held constant: LightGBM's lambdas)",
        "Burges 2010, From RankNet to LambdaRank to LambdaMART: an overview; LightGBM lambdarank objective",
        "Ranks by the current scores, ties by position; lists without a relevant item give 0. LightGBM's lambdarank_norm rescaling of the lambdas is not applied.",
        Sigma, Truncation);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new LambdaRankLoss(a.Number(Sigma), a.Integer(Truncation), a.Reduction()));

    /// <param name="sigma">σ &gt; 0 (null: 1).</param>
    /// <param name="truncation">k ≥ 1 (null: 30).</param>
    /// <param name="reduction">mean over lists, sum or none.</param>
    public LambdaRankLoss(double? sigma = null, int? truncation = null, Reduction reduction = Reduction.Mean) : base(reduction) =>
        (SigmaValue, TruncationLevel) = (Sigma.Resolve(sigma), (int)Truncation.Resolve(truncation));

    /// <summary>σ.</summary>
    public double SigmaValue { get; }

    /// <summary>k.</summary>
    public int TruncationLevel { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <summary>Pair (i, j) is weighted by item_weights[i], the preferred item's weight (Rax).</summary>
    private protected override bool TakesPairWeights => true;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Sigma.Of(SigmaValue), Truncation.Of(TruncationLevel), .. base.ParameterValues];

    /// <summary>Order, ranks, gains and discounts of the list's items.</summary>
    private protected override int ScratchLength(int listLength) => 4 * listLength;

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        int n = s.Length;
        double idcg = IdealDcg(y, TruncationLevel, scratch);
        if (idcg == 0) return 0;
        Span<int> order = MemoryMarshal.Cast<double, int>(scratch[..n])[..n];
        OrderDescending(s, order);
        Span<double> rank = scratch.Slice(n, n), gain = scratch.Slice(2 * n, n), discount = scratch.Slice(3 * n, n);
        for (int r = 0; r < n; r++) rank[order[r]] = r + 1;
        // The gains and discounts once per item rather than twice per pair (the same doubles: pure functions of y and r).
        for (int i = 0; i < n; i++) (gain[i], discount[i]) = (Gain(y[i]), Discount(rank[i]));
        double loss = 0, sigma = SigmaValue;
        int k = TruncationLevel;
        for (int i = 0; i < n; i++)
        {
            double yi = y[i], gi = gain[i], di = discount[i], si = s[i], ri = rank[i], gradI = g[i];   // g[i] in a register: j = i never pairs, so only this row touches it now
            for (int j = 0; j < n; j++)
            {
                if (!(yi > y[j]) || Math.Min(ri, rank[j]) > k) continue;
                double delta = Math.Abs(gi - gain[j]) * Math.Abs(di - discount[j]) / idcg;
                if (!w.IsEmpty) delta *= w[i];
                double d = sigma * (si - s[j]);
                var (softplus, sigmoid) = RankNetLoss.SoftplusAndSigmoid(-d);
                loss += delta * softplus;
                double lambda = -sigma * delta * sigmoid;
                gradI += lambda;
                g[j] -= lambda;
            }
            g[i] = gradI;
        }
        return loss;
    }
}

/// <summary>
/// ApproxNDCG, spec <c>approx_ndcg(tau=1)</c>: minus NDCG with each rank replaced by the smooth
/// <c>π̂_i = 1 + Σ_{j≠i} σ((s_j − s_i)/τ)</c>, <c>ℓ = −(1/IDCG)·Σ_i (2^{y_i} − 1)/log₂(1 + π̂_i)</c> (0 for a list
/// without a relevant item). Reference: Qin, Liu &amp; Li 2010, A general approximation framework for direct optimization of
/// information retrieval measures; Rax <c>approx_ndcg_loss</c>; Bruch et al. 2019, Revisiting approximate metric optimization.
/// </summary>
public sealed class ApproxNdcgLoss : RankingLoss
{
    public static readonly LossParameter Tau = new("tau", ParameterKind.Number, "τ: the temperature of the smooth ranks (smaller is closer to the true ranks)") { Default = 1, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = RankingCard("approx_ndcg", "ApproxNDCG (smooth ranks)",
        "ℓ = −(1/IDCG)·Σ_i (2^{y_i} − 1)/log₂(1 + π̂_i), π̂_i = 1 + Σ_{j≠i} σ((s_j − s_i)/τ)",
        "through π̂: ∂π̂_i/∂s_j = σ'((s_j − s_i)/τ)/τ for j ≠ i, ∂π̂_i/∂s_i = −Σ_{j≠i} σ'((s_j − s_i)/τ)/τ",
        "Qin, Liu & Li 2010, A general approximation framework for direct optimization of information retrieval measures; Rax approx_ndcg_loss",
        "In [−1, 0] up to the smoothing; lists without a relevant item give 0.", Tau);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ApproxNdcgLoss(a.Number(Tau), a.Reduction()));

    /// <param name="tau">τ &gt; 0 (null: 1).</param>
    /// <param name="reduction">mean over lists, sum or none.</param>
    public ApproxNdcgLoss(double? tau = null, Reduction reduction = Reduction.Mean) : base(reduction) => TauValue = Tau.Resolve(tau);

    /// <summary>τ.</summary>
    public double TauValue { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Tau.Of(TauValue), .. base.ParameterValues];

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        int n = s.Length;
        double idcg = IdealDcg(y, n, scratch);
        if (idcg == 0) return 0;
        double tau = TauValue, loss = 0;
        Span<double> rank = scratch.Slice(n, n);
        for (int i = 0; i < n; i++)
        {
            double r = 1;
            for (int j = 0; j < n; j++) if (j != i) r += RankNetLoss.Sigmoid((s[j] - s[i]) / tau);
            rank[i] = r;
        }
        for (int i = 0; i < n; i++)
        {
            double gain = Gain(y[i]);
            if (gain == 0) continue;
            double log = Math.Log2(1 + rank[i]);
            loss -= gain / log / idcg;
            // ∂ℓ/∂π̂_i = (gain/IDCG)/(ln 2·(1 + π̂_i)·log₂²(1 + π̂_i)).
            double dRank = gain / idcg / (Math.Log(2) * (1 + rank[i]) * log * log);
            for (int j = 0; j < n; j++)
            {
                if (j == i) continue;
                double u = (s[j] - s[i]) / tau, slope = RankNetLoss.Sigmoid(u) * RankNetLoss.Sigmoid(-u) / tau;
                g[j] += dRank * slope;
                g[i] -= dRank * slope;
            }
        }
        return loss;
    }
}

/// <summary>
/// Pairwise softmax loss, spec <c>psl(tau=1, activation=tanh)</c>: the softmax loss with its exponential replaced by a
/// surrogate activation σ of the score gap d_ij = s_j − s_i, summed over the list's positives (y_i &gt; 0):
/// <c>ℓ = Σ_{i: y_i &gt; 0} log Σ_j σ(s_j − s_i)^{1/τ}</c>, j over every real item of the list (i itself included:
/// σ(0) = 1), with <c>tanh</c>: σ(d) = tanh(d) + 1, <c>atan</c>: σ(d) = max(0, arctan(d) + 1), <c>relu</c>:
/// σ(d) = max(0, d + 1). With σ = exp it is the softmax loss Σ_i −log softmax(s/τ)_i. A list without a positive has
/// loss 0. Reference: Yang, Chen, Xin, Zhou, Hu, Feng, Chen &amp; Wang 2024, PSL: Rethinking and improving softmax loss
/// from pairwise perspective for recommendation (NeurIPS 2024), Eq. (4.1) and the three activations of its Section 4.1;
/// the authors' code, IR-Benchmark <c>optim_PSL.py</c> (<c>method=1</c>). Where they differ: the code sums over sampled
/// negatives only (no j = i term, so with <c>relu</c> its sum can be 0 and its loss −∞) and averages over (user, positive)
/// pairs, i.e. this loss's <c>sum</c> divided by the number of positives; it scales cosine scores by 1/τ_score before
/// the activation, which here is the scorer's business. The paper's arctan(d) + 1 is negative for d &lt; −tan 1 ≈ −1.557
/// (its power 1/τ undefined); LossKit clips it at 0, so that a pair that far apart contributes nothing, as with relu.
/// </summary>
public sealed class PslLoss : RankingLoss
{
    public static readonly LossParameter Tau = new("tau", ParameterKind.Number,
        "τ: the temperature, applied outside the activation (σ(d)^{1/τ}; the paper reports τ ≈ 0.2 best with cosine scores)") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter Activation = new("activation", ParameterKind.Choice,
        "σ: tanh (tanh(d) + 1), atan (max(0, arctan(d) + 1)) or relu (max(0, d + 1))") { Choices = ["tanh", "atan", "relu"] };

    public static LossCard Definition { get; } = RankingCard("psl", "PSL (pairwise softmax loss)",
        "ℓ = Σ_{i: y_i > 0} log Σ_j σ(s_j − s_i)^{1/τ}, σ = tanh(d) + 1, max(0, arctan(d) + 1) or max(0, d + 1)",
        "∂ℓ/∂s_j = Σ_i w_ij·(log σ)'(s_j − s_i)/τ, ∂ℓ/∂s_i = −Σ_j w_ij·(log σ)'(s_j − s_i)/τ, w_i· = softmax_j(log σ(s_j − s_i)/τ)",
        "Yang et al. 2024, PSL: Rethinking and improving softmax loss from pairwise perspective for recommendation, Eq. (4.1); IR-Benchmark optim_PSL.py",
        "Binary relevance: y > 0 is a positive; j runs over every real item (the paper's Σ_{j∈I}; the authors' code sums over sampled negatives only). " +
        "arctan(d) + 1 is clipped at 0 below d = −tan 1. ≥ 0 (each sum holds σ(0)^{1/τ} = 1); lists without a positive give 0.", Tau, Activation);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new PslLoss(a.Number(Tau), a.Choice(Activation), a.Reduction()));

    /// <param name="tau">τ &gt; 0 (null: 1).</param>
    /// <param name="activation">tanh, atan or relu (null: tanh).</param>
    /// <param name="reduction">mean over lists, sum or none.</param>
    public PslLoss(double? tau = null, string? activation = null, Reduction reduction = Reduction.Mean) : base(reduction) =>
        (TauValue, ActivationName) = (Tau.Resolve(tau), Activation.Resolve(activation));

    /// <summary>τ.</summary>
    public double TauValue { get; }

    /// <summary>The surrogate activation: tanh, atan or relu.</summary>
    public string ActivationName { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Tau.Of(TauValue), Activation.Of(ActivationName), .. base.ParameterValues];

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        int n = s.Length;
        Span<double> a = scratch[..n];
        double loss = 0, tau = TauValue;
        for (int i = 0; i < n; i++)
        {
            if (!(y[i] > 0)) continue;
            for (int j = 0; j < n; j++) a[j] = LogActivation(s[j] - s[i]) / tau;
            double lse = ListNetLoss.LogSumExp(a);   // finite: a[i] = log σ(0)/τ = 0
            loss += lse;
            for (int j = 0; j < n; j++)
            {
                if (j == i || double.IsNegativeInfinity(a[j])) continue;
                double c = Math.Exp(a[j] - lse) / tau * LogActivationSlope(s[j] - s[i]);
                g[j] += c;
                g[i] -= c;
            }
        }
        return loss;
    }

    /// <summary>log σ(d): tanh(d) + 1 = 2σ(2d), so log 2 − softplus(−2d); −∞ where atan and relu are clipped.</summary>
    private double LogActivation(double d) => ActivationName switch
    {
        "tanh" => Math.Log(2) - RankNetLoss.Softplus(-2 * d),
        "atan" => Math.Atan(d) + 1 > 0 ? Math.Log(Math.Atan(d) + 1) : double.NegativeInfinity,
        _ => d > -1 ? Math.Log(d + 1) : double.NegativeInfinity,
    };

    /// <summary>(log σ)'(d): 2σ(−2d) for tanh, 1/((1 + d²)(arctan(d) + 1)) for atan, 1/(d + 1) for relu (0 where clipped).</summary>
    private double LogActivationSlope(double d) => ActivationName switch
    {
        "tanh" => 2 * RankNetLoss.Sigmoid(-2 * d),
        "atan" => Math.Atan(d) + 1 > 0 ? 1 / ((1 + d * d) * (Math.Atan(d) + 1)) : 0,
        _ => d > -1 ? 1 / (d + 1) : 0,
    };
}
