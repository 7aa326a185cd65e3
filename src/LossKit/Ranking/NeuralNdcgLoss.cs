using LossKit.Core;

namespace LossKit.Ranking;

/// <summary>
/// NeuralNDCG, spec <c>neural_ndcg(tau=1, k=0, iterations=50)</c>: minus NDCG@k with the sorting permutation replaced by
/// its NeuralSort relaxation, made doubly stochastic by Sinkhorn scaling. For a list of n real items, places r = 1..n:
/// <code>
/// P̂[r, i] = softmax_i(((n + 1 − 2r)·s_i − Σ_j |s_i − s_j|)/τ)        (NeuralSort, Grover et al. 2019)
/// P = Sinkhorn(P̂): each iteration divides every column by its sum, then every row by its sum
/// ℓ = −(1/IDCG@k)·Σ_{r ≤ k} (P·g)_r / log₂(1 + r),   g_i = 2^{y_i} − 1
/// </code>
/// (P·g)_r is the relaxed gain at place r; as τ → 0, P̂ tends to the sorting permutation and −ℓ to NDCG@k. A list
/// without a relevant item has loss 0.
/// <para>Reference: Pobrotyn &amp; Białobrzeski 2021, NeuralNDCG: direct optimisation of a ranking metric via differentiable
/// relaxation of sorting (arXiv:2102.07831), the definition of NeuralNDCG@k (the formula above was checked against the
/// authors' implementation, allRank <c>neuralNDCG</c> with <c>deterministic_neural_sort</c> and <c>sinkhorn_scaling</c>;
/// the paper's equation number was not checked). Where this differs from allRank: the Sinkhorn scaling runs exactly <c>iterations</c>
/// times (allRank stops after at most 50 once every row and column of the whole batch sums to 1 within 10⁻⁶, so a list's
/// loss depends on its batch; here it is a smooth function of the list alone); NDCG divides by IDCG rather than
/// IDCG + 10⁻¹⁰; and <c>mean</c> divides by all N lists (allRank by the lists with a relevant item). Like allRank, a
/// Sinkhorn sum is floored at 10⁻¹⁰ before dividing by it.</para>
/// <para>Padding: the base gathers the real items, so padding enters neither NeuralSort's |s_i − s_j| sums nor its rank
/// coefficients (which use the count n of real items), nor the Sinkhorn sums, nor the gains. allRank reaches the same
/// numbers by masking: padded scores are left out of the |s_i − s_j| sums, padded rows and columns of P̂ get weight 0
/// (−∞ before the softmax), the padded block is set to ones for the scaling (so it normalises on its own) and zeroed
/// afterwards, and padded gains are 0 — that relies on padding sitting at the end of the list, which the gather here
/// does not need.</para>
/// <para>Gradient: exact, by a reverse pass through NeuralSort's softmax and through every Sinkhorn iteration (the
/// iterates are kept as their row and column scalings, P = diag(u)·P̂·diag(v), so the pass needs two n×n matrices).
/// |s_i − s_j| takes the subgradient 0 at ties.</para>
/// </summary>
public sealed class NeuralNdcgLoss : RankingLoss
{
    public static readonly LossParameter Tau = new("tau", ParameterKind.Number,
        "τ: the NeuralSort temperature (smaller is closer to the sorting permutation; allRank temperature)") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter K = new("k", ParameterKind.Integer,
        "k: NDCG@k counts the first k places and IDCG@k normalises (0: the whole list, allRank's k=None)") { Default = 0, Min = 0 };
    public static readonly LossParameter Iterations = new("iterations", ParameterKind.Integer,
        "Sinkhorn iterations, run exactly (allRank: at most 50, stopping at tolerance 1e-6); 0 uses NeuralSort's P̂ as it is") { Default = 50, Min = 0, Max = 1000 };

    /// <summary>A Sinkhorn divisor is max(sum, 10⁻¹⁰), allRank's <c>DEFAULT_EPS</c>.</summary>
    private const double SumFloor = 1e-10;

    public static LossCard Definition { get; } = RankingCard("neural_ndcg", "NeuralNDCG (NeuralSort + Sinkhorn relaxed NDCG@k)",
        "ℓ = −(1/IDCG@k)·Σ_{r≤k} (P·g)_r/log₂(1 + r), g = 2^y − 1, P = Sinkhorn(P̂), P̂[r,:] = softmax(((n + 1 − 2r)·s − A_s·1)/τ), A_s[i,j] = |s_i − s_j|",
        "exact reverse pass through the Sinkhorn iterations (column then row normalisation) and NeuralSort's row softmaxes; subgradient 0 of |s_i − s_j| at ties",
        "Pobrotyn & Białobrzeski 2021, NeuralNDCG: direct optimisation of a ranking metric via differentiable relaxation of sorting; Grover et al. 2019 (NeuralSort); allRank neuralNDCG",
        "In [−1, 0]; lists without a relevant item give 0. Sinkhorn runs exactly `iterations` times (allRank stops early at tolerance 1e-6 over the batch); " +
        "padding is left out before NeuralSort (allRank masks it, assuming it trails the list).", Tau, K, Iterations);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new NeuralNdcgLoss(a.Number(Tau), a.Integer(K), a.Integer(Iterations), a.Reduction()));

    /// <param name="tau">τ &gt; 0 (null: 1).</param>
    /// <param name="k">Truncation k ≥ 0, 0 for the whole list (null: 0).</param>
    /// <param name="iterations">Sinkhorn iterations in [0, 1000] (null: 50).</param>
    /// <param name="reduction">mean over lists, sum or none.</param>
    public NeuralNdcgLoss(double? tau = null, int? k = null, int? iterations = null, Reduction reduction = Reduction.Mean) : base(reduction) =>
        (TauValue, Truncation, IterationCount) = (Tau.Resolve(tau), K.Resolve(k), Iterations.Resolve(iterations));

    /// <summary>τ.</summary>
    public double TauValue { get; }

    /// <summary>k (0: the whole list).</summary>
    public int Truncation { get; }

    /// <summary>Sinkhorn iterations.</summary>
    public int IterationCount { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [Tau.Of(TauValue), K.Of(Truncation), Iterations.Of(IterationCount), .. base.ParameterValues];

    /// <summary>P̂ and the gradient matrix (n² each), the row and column scalings of every iterate ((T + 1)·n each), the raw
    /// row and column sums of every iteration (T·n each), and three vectors.</summary>
    private protected override int ScratchLength(int listLength)
    {
        long n = listLength, length = 2 * n * n + 4 * (IterationCount + 1L) * n + 3 * n;
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(listLength), listLength,
                $"neural_ndcg keeps two L×L matrices per list: lists of L = {listLength} items are too long.");
        return (int)length;
    }

    private protected override double List(ReadOnlySpan<double> s, ReadOnlySpan<double> y, ReadOnlySpan<double> w, Span<double> g, Span<double> scratch)
    {
        int n = s.Length, iterations = IterationCount, k = Truncation == 0 ? n : Math.Min(Truncation, n);
        double idcg = IdealDcg(y, k, scratch);
        if (idcg == 0) return 0;
        int nn = n * n, vectors = (iterations + 1) * n;
        Span<double> sort = scratch[..nn], grad = scratch.Slice(nn, nn);
        Span<double> u = scratch.Slice(2 * nn, vectors), v = scratch.Slice(2 * nn + vectors, vectors);
        Span<double> rowSums = scratch.Slice(2 * nn + 2 * vectors, iterations * n), colSums = scratch.Slice(2 * nn + 2 * vectors + iterations * n, iterations * n);
        Span<double> spread = scratch.Slice(2 * nn + 2 * vectors + 2 * iterations * n, n), gain = scratch.Slice(2 * nn + 2 * vectors + 2 * iterations * n + n, n);
        Span<double> work = scratch.Slice(2 * nn + 2 * vectors + 2 * iterations * n + 2 * n, n);

        NeuralSort(s, sort, spread);
        Sinkhorn(sort, n, u, v, rowSums, colSums);

        // ℓ = −(1/IDCG)·Σ_{r<k} D_r·Σ_i P[r, i]·g_i, and ∂ℓ/∂P[r, i] = −D_r·g_i/IDCG.
        for (int i = 0; i < n; i++) gain[i] = Gain(y[i]);
        ReadOnlySpan<double> uLast = u.Slice(iterations * n, n), vLast = v.Slice(iterations * n, n);
        double loss = 0;
        grad.Clear();
        for (int r = 0; r < k; r++)
        {
            double weight = Discount(r + 1) / idcg, placeGain = 0;
            for (int i = 0; i < n; i++)
            {
                placeGain += Entry(uLast[r], sort[r * n + i], vLast[i]) * gain[i];
                grad[r * n + i] = -weight * gain[i];
            }
            loss -= weight * placeGain;
        }

        SinkhornBackward(sort, n, u, v, rowSums, colSums, grad, work);
        NeuralSortBackward(s, sort, grad, g, work);
        return loss;
    }

    /// <summary>P̂[r, i] = softmax_i(((n − 1 − 2r)·s_i − Σ_j |s_i − s_j|)/τ) for 0-based places r (the paper's n + 1 − 2r
    /// for 1-based r); <paramref name="spread"/> receives Σ_j |s_i − s_j|.</summary>
    private void NeuralSort(ReadOnlySpan<double> s, Span<double> sort, Span<double> spread)
    {
        int n = s.Length;
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++) sum += Math.Abs(s[i] - s[j]);
            spread[i] = sum;
        }
        for (int r = 0; r < n; r++)
        {
            Span<double> row = sort.Slice(r * n, n);
            double coefficient = n - 1 - 2 * r, max = double.NegativeInfinity, total = 0;
            for (int i = 0; i < n; i++) max = Math.Max(max, row[i] = (coefficient * s[i] - spread[i]) / TauValue);
            for (int i = 0; i < n; i++) total += row[i] = Math.Exp(row[i] - max);
            for (int i = 0; i < n; i++) row[i] /= total;
        }
    }

    /// <summary>The Sinkhorn iterations on the scalings: iterate t is diag(u_t)·P̂·diag(v_t), u_0 = v_0 = 1; iteration t
    /// divides the columns by their sums c_t (v_t = v_{t−1}/c_t), then the rows by their sums r_t (u_t = u_{t−1}/r_t),
    /// each sum floored at 10⁻¹⁰. The raw sums are kept for the reverse pass.</summary>
    private static void Sinkhorn(ReadOnlySpan<double> sort, int n, Span<double> u, Span<double> v, Span<double> rowSums, Span<double> colSums)
    {
        u[..n].Fill(1);
        v[..n].Fill(1);
        for (int t = 1; t * n < u.Length; t++)
        {
            ReadOnlySpan<double> uPrev = u.Slice((t - 1) * n, n), vPrev = v.Slice((t - 1) * n, n);
            Span<double> uNext = u.Slice(t * n, n), vNext = v.Slice(t * n, n);
            Span<double> c = colSums.Slice((t - 1) * n, n), r = rowSums.Slice((t - 1) * n, n);
            c.Clear();
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) c[b] += Entry(uPrev[a], sort[a * n + b], vPrev[b]);
            for (int b = 0; b < n; b++) vNext[b] = vPrev[b] / Math.Max(c[b], SumFloor);
            for (int a = 0; a < n; a++)
            {
                double sum = 0;
                for (int b = 0; b < n; b++) sum += Entry(uPrev[a], sort[a * n + b], vNext[b]);
                r[a] = sum;
                uNext[a] = uPrev[a] / Math.Max(sum, SumFloor);
            }
        }
    }

    /// <summary>The reverse pass through the Sinkhorn iterations: on entry <paramref name="grad"/> is ∂ℓ/∂(last iterate),
    /// on exit ∂ℓ/∂P̂. Through X = Y/rowsum(Y): ∂ℓ/∂Y[a, b] = (G[a, b] − Σ_c G[a, c]·X[a, c])/rowsum_a; through
    /// Y = X/colsum(X) likewise by columns (a floored sum is a constant: only the division remains).</summary>
    private static void SinkhornBackward(ReadOnlySpan<double> sort, int n, ReadOnlySpan<double> u, ReadOnlySpan<double> v,
        ReadOnlySpan<double> rowSums, ReadOnlySpan<double> colSums, Span<double> grad, Span<double> work)
    {
        for (int t = u.Length / n - 1; t >= 1; t--)
        {
            ReadOnlySpan<double> uPrev = u.Slice((t - 1) * n, n), uNext = u.Slice(t * n, n), vNext = v.Slice(t * n, n);
            ReadOnlySpan<double> c = colSums.Slice((t - 1) * n, n), r = rowSums.Slice((t - 1) * n, n);
            for (int a = 0; a < n; a++)
            {
                Span<double> row = grad.Slice(a * n, n);
                double dot = 0;
                if (r[a] >= SumFloor)
                    for (int b = 0; b < n; b++) dot += row[b] * Entry(uNext[a], sort[a * n + b], vNext[b]);
                double divisor = Math.Max(r[a], SumFloor);
                for (int b = 0; b < n; b++) row[b] = (row[b] - dot) / divisor;
            }
            work.Clear();
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) work[b] += grad[a * n + b] * Entry(uPrev[a], sort[a * n + b], vNext[b]);
            for (int b = 0; b < n; b++) if (c[b] < SumFloor) work[b] = 0;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) grad[a * n + b] = (grad[a * n + b] - work[b]) / Math.Max(c[b], SumFloor);
        }
    }

    /// <summary>From ∂ℓ/∂P̂ to ∂ℓ/∂s: through each row's softmax, z = ∂ℓ/∂logits, then
    /// ∂ℓ/∂s_i = Σ_r z[r, i]·(n − 1 − 2r)/τ − (1/τ)·Σ_j (w_i + w_j)·sign(s_i − s_j), w = Σ_r z[r, ·].</summary>
    private void NeuralSortBackward(ReadOnlySpan<double> s, ReadOnlySpan<double> sort, Span<double> grad, Span<double> g, Span<double> w)
    {
        int n = s.Length;
        double tau = TauValue;
        w.Clear();
        for (int r = 0; r < n; r++)
        {
            Span<double> row = grad.Slice(r * n, n);
            ReadOnlySpan<double> p = sort.Slice(r * n, n);
            double dot = 0, coefficient = (n - 1 - 2 * r) / tau;
            for (int i = 0; i < n; i++) dot += row[i] * p[i];
            for (int i = 0; i < n; i++)
            {
                double z = p[i] * (row[i] - dot);
                g[i] += coefficient * z;
                w[i] += z;
            }
        }
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++) sum += (w[i] + w[j]) * Math.Sign(s[i] - s[j]);
            g[i] -= sum / tau;
        }
    }

    /// <summary>u·p·v, and 0 where p is 0 (a scaling of an all-zero column may grow without bound).</summary>
    private static double Entry(double u, double p, double v) => p == 0 ? 0 : u * p * v;
}
