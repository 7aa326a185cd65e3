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
    /// <summary>The metrics of N = labels.Length embeddings (N×<paramref name="dim"/> row-major).</summary>
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
        double p1 = 0, rp = 0, map = 0, knnHits = 0;
        var recall = new double[recallKs.Count];
        int withR = 0;
        var key = new double[n - 1];
        var idx = new int[n - 1];
        for (int q = 0; q < n; q++)
        {
            int m = 0;
            for (int j = 0; j < n; j++)
            {
                if (j == q) continue;
                double v = 0;
                if (cosine) for (int t = 0; t < dim; t++) v -= x[q * dim + t] * x[j * dim + t];
                else for (int t = 0; t < dim; t++) { double d = x[q * dim + t] - x[j * dim + t]; v += d * d; }
                (key[m], idx[m]) = (v, j);
                m++;
            }
            var order = Enumerable.Range(0, m).OrderBy(i => key[i]).ThenBy(i => idx[i]).Select(i => idx[i]).ToArray();
            int r = counts[y[q]] - 1;
            if (y[order[0]] == y[q]) p1++;
            for (int k = 0; k < recallKs.Count; k++)
            {
                int kk = Math.Min(recallKs[k], order.Length);
                for (int i = 0; i < kk; i++) if (y[order[i]] == y[q]) { recall[k]++; break; }
            }
            if (r > 0)
            {
                withR++;
                int hits = 0;
                double ap = 0;
                for (int i = 0; i < r; i++)
                    if (y[order[i]] == y[q]) { hits++; ap += hits / (double)(i + 1); }
                rp += hits / (double)r;
                map += ap / r;
            }
            // k-NN majority vote; a tie goes to the tied label met first (nearest).
            var votes = new Dictionary<int, int>();
            int kn = Math.Min(knn, order.Length);
            for (int i = 0; i < kn; i++) votes[y[order[i]]] = votes.GetValueOrDefault(y[order[i]]) + 1;
            int top = votes.Values.Max();
            int winner = 0;
            for (int i = 0; i < kn; i++) if (votes[y[order[i]]] == top) { winner = y[order[i]]; break; }
            if (winner == y[q]) knnHits++;
        }
        return new RetrievalReport(p1 / n, withR == 0 ? 0 : rp / withR, withR == 0 ? 0 : map / withR,
            [.. recallKs.Select((k, i) => (k, recall[i] / n))], knnHits / n);
    }
}
