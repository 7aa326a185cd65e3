using System.Numerics.Tensors;
using LossKit.Kernels;

namespace LossKit.Metrics;

/// <summary>The retrieval metrics of a set of labelled embeddings, each item a query against all the others.</summary>
/// <param name="PrecisionAt1">Fraction of queries whose nearest other item has the query's label.</param>
/// <param name="RPrecision">Mean over queries of (same-label items among the R nearest) / R, R = the number of other items with the query's label.</param>
/// <param name="MapAtR">Mean over queries of (1/R) Σ_{i≤R} P(i)·rel(i) (Musgrave et al. 2020).</param>
/// <param name="RecallAtK">For each requested k: fraction of queries with at least one same-label item among the k nearest.</param>
/// <param name="KnnAccuracy">Fraction of queries whose label is the majority label of the <c>knn</c> nearest (ties: the tied label of the nearest neighbour).</param>
public sealed record RetrievalReport(double PrecisionAt1, double RPrecision, double MapAtR, IReadOnlyList<(int K, double Value)> RecallAtK, double KnnAccuracy);

/// <summary>
/// Retrieval metrics with pytorch-metric-learning's <c>AccuracyCalculator</c> definitions (precision_at_1, r_precision,
/// mean_average_precision_at_r, with the query set equal to the reference set and each query excluded from its own
/// neighbours), plus Recall@k as in the deep-metric-learning papers (Song et al. 2016: a hit if any of the k nearest
/// shares the label) and k-NN majority-vote accuracy. Neighbours are ordered by ascending euclidean distance, or by
/// descending cosine similarity; ties by item index. Queries whose label has no other item (R = 0) are skipped by
/// r_precision and MAP@R (as pytorch-metric-learning) and count as misses for the others.
/// </summary>
public static class RetrievalMetrics
{
    /// <summary>A neighbour of a query: its distance key (squared euclidean distance, or minus the cosine similarity)
    /// and its index; ordered by key, ties by index.</summary>
    private readonly record struct Neighbour(double Key, int Index) : IComparable<Neighbour>
    {
        public int CompareTo(Neighbour other)
        {
            int c = Key.CompareTo(other.Key);
            return c != 0 ? c : Index.CompareTo(other.Index);
        }
    }

    /// <summary>Moves the <paramref name="count"/> smallest items of <paramref name="items"/> (in <see cref="Neighbour"/>
    /// order) to its front, in any order (Hoare's selection, median-of-three pivots: expected linear time).</summary>
    private static void SelectSmallest(Neighbour[] items, int count)
    {
        int lo = 0, hi = items.Length - 1;
        if (count <= 0 || count >= items.Length) return;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (items[mid].CompareTo(items[lo]) < 0) (items[mid], items[lo]) = (items[lo], items[mid]);
            if (items[hi].CompareTo(items[lo]) < 0) (items[hi], items[lo]) = (items[lo], items[hi]);
            if (items[hi].CompareTo(items[mid]) < 0) (items[hi], items[mid]) = (items[mid], items[hi]);
            var pivot = items[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (items[i].CompareTo(pivot) < 0) i++;
                while (items[j].CompareTo(pivot) > 0) j--;
                if (i <= j) { (items[i], items[j]) = (items[j], items[i]); i++; j--; }
            }
            // [lo, j] ≤ pivot ≤ [i, hi]; the boundary count − 1 lies in one part or between them.
            if (count - 1 <= j) hi = j;
            else if (count - 1 >= i) lo = i;
            else return;
        }
    }

    /// <summary>The metrics of N = labels.Length embeddings (N×<paramref name="dim"/> row-major). Queries run in
    /// parallel (<see cref="Parallelism.MaxThreads"/>); the result does not depend on the thread count.</summary>
    public static RetrievalReport Compute(ReadOnlySpan<float> embeddings, int dim, ReadOnlySpan<int> labels, bool cosine, IReadOnlyList<int> recallKs, int knn = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(knn, 1);
        int n = labels.Length;
        if (embeddings.Length != (long)n * dim)
            throw new ArgumentException($"embeddings has {embeddings.Length} values but there are {n} labels of d = {dim}: expected {(long)n * dim}.", nameof(embeddings));
        if (n < 2) throw new ArgumentException($"retrieval needs at least 2 items, got {n}.", nameof(labels));
        var x = new double[embeddings.Length];
        for (int i = 0; i < x.Length; i++) x[i] = embeddings[i];
        if (cosine)
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < dim; j++) s += x[i * dim + j] * x[i * dim + j];
                double norm = Math.Max(Math.Sqrt(s), 1e-12);
                for (int j = 0; j < dim; j++) x[i * dim + j] /= norm;
            }
        int[] y = labels.ToArray();
        var counts = new Dictionary<int, int>();
        foreach (int l in y) counts[l] = counts.GetValueOrDefault(l) + 1;
        int maxK = Math.Max(knn, recallKs.Count == 0 ? 1 : recallKs.Max());
        // Each query's results go to its own slot and are added in query order afterwards: the same numbers for any
        // thread count. A query needs its neighbours in order only up to max(R, k): those are selected, then sorted.
        var hit1 = new bool[n];
        var recallHit = new bool[n, recallKs.Count];
        var rPrec = new double[n];
        var ap = new double[n];
        var knnHit = new bool[n];
        int[] rOf = [.. y.Select(l => counts[l] - 1)];
        int queriesPerBlock = Math.Max(1, 65_536 / Math.Max(1, n));
        Parallelism.ForElements(n, queriesPerBlock, (_, first, end) =>
        {
            var near = new Neighbour[n - 1];
            var diff = cosine ? null : new double[dim];
            for (int q = first; q < end; q++)
            {
                var xq = new ReadOnlySpan<double>(x, q * dim, dim);
                int m = 0;
                for (int j = 0; j < n; j++)
                {
                    if (j == q) continue;
                    var xj = new ReadOnlySpan<double>(x, j * dim, dim);
                    double v;
                    if (cosine) v = -TensorPrimitives.Dot(xq, xj);
                    else
                    {
                        TensorPrimitives.Subtract(xq, xj, diff);
                        v = TensorPrimitives.SumOfSquares<double>(diff);
                    }
                    near[m++] = new Neighbour(v, j);
                }
                int r = rOf[q];
                int needed = Math.Min(m, Math.Max(r, maxK));
                SelectSmallest(near, needed);
                Array.Sort(near, 0, needed);
                hit1[q] = y[near[0].Index] == y[q];
                for (int k = 0; k < recallKs.Count; k++)
                {
                    int kk = Math.Min(recallKs[k], m);
                    for (int i = 0; i < kk; i++) if (y[near[i].Index] == y[q]) { recallHit[q, k] = true; break; }
                }
                if (r > 0)
                {
                    int hits = 0;
                    double sum = 0;
                    for (int i = 0; i < r; i++)
                        if (y[near[i].Index] == y[q]) { hits++; sum += hits / (double)(i + 1); }
                    rPrec[q] = hits / (double)r;
                    ap[q] = sum / r;
                }
                // k-NN majority vote; a tie goes to the tied label met first (nearest).
                int kn = Math.Min(knn, m);
                int winner = 0, top = 0;
                for (int i = 0; i < kn; i++)
                {
                    int votes = 0;
                    for (int t = 0; t < kn; t++) if (y[near[t].Index] == y[near[i].Index]) votes++;
                    if (votes > top) { top = votes; winner = y[near[i].Index]; }
                }
                knnHit[q] = winner == y[q];
            }
        });
        double p1 = 0, rp = 0, map = 0, knnHits = 0;
        var recall = new double[recallKs.Count];
        int withR = 0;
        for (int q = 0; q < n; q++)
        {
            if (hit1[q]) p1++;
            for (int k = 0; k < recallKs.Count; k++) if (recallHit[q, k]) recall[k]++;
            if (rOf[q] > 0) { withR++; rp += rPrec[q]; map += ap[q]; }
            if (knnHit[q]) knnHits++;
        }
        return new RetrievalReport(p1 / n, withR == 0 ? 0 : rp / withR, withR == 0 ? 0 : map / withR,
            [.. recallKs.Select((k, i) => (k, recall[i] / n))], knnHits / n);
    }
}
