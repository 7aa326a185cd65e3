using System.Numerics;

namespace LossKit.Metrics;

/// <summary>The ranking metrics of one batch of padded lists, averaged over the lists.</summary>
/// <param name="Ndcg">NDCG@k for each requested k, in the order asked.</param>
/// <param name="Mrr">Mean reciprocal rank of the first relevant item (0 for a list without one).</param>
/// <param name="Map">Mean average precision (0 for a list without a relevant item).</param>
/// <param name="Precision">Precision@k for each requested k.</param>
public sealed record RankingReport(IReadOnlyList<(int K, double Value)> Ndcg, double Mrr, double Map, IReadOnlyList<(int K, double Value)> Precision);

/// <summary>
/// Learning-to-rank metrics over padded lists: <c>scores</c> and <c>labels</c> N×L, <c>mask</c> N×L (1 = real item) or
/// empty. Items are ranked by descending score, ties by position. NDCG@k uses the exponential gain 2^y − 1 and the
/// discount 1/log₂(1 + rank) (Järvelin &amp; Kekäläinen 2002; Burges et al. 2005), and — LightGBM's convention — a list
/// with no relevant item has NDCG 1 (its ideal DCG is 0: any order is ideal). Relevant means y &gt; 0 for MRR, MAP and
/// precision.
/// </summary>
public static class RankingMetrics
{
    /// <summary>NDCG@k of each list (1 for a list without a relevant item).</summary>
    public static double[] NdcgAt<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return PerList(scores, listLength, labels, mask, (s, y, order) =>
        {
            double dcg = 0;
            for (int r = 0; r < Math.Min(k, order.Length); r++) dcg += Gain(y[order[r]]) / Math.Log2(r + 2);
            double[] ideal = [.. y.OrderByDescending(v => v)];
            double idcg = 0;
            for (int r = 0; r < Math.Min(k, ideal.Length); r++) idcg += Gain(ideal[r]) / Math.Log2(r + 2);
            return idcg > 0 ? dcg / idcg : 1;
        });
    }

    /// <summary>Reciprocal rank of each list's first relevant item (0 without one).</summary>
    public static double[] ReciprocalRank<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        PerList(scores, listLength, labels, mask, (s, y, order) =>
        {
            for (int r = 0; r < order.Length; r++) if (y[order[r]] > 0) return 1.0 / (r + 1);
            return 0;
        });

    /// <summary>Average precision of each list: the mean of precision@r over the ranks r of its relevant items (0 without one).</summary>
    public static double[] AveragePrecision<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        PerList(scores, listLength, labels, mask, (s, y, order) =>
        {
            double hits = 0, sum = 0;
            for (int r = 0; r < order.Length; r++)
                if (y[order[r]] > 0) sum += ++hits / (r + 1);
            return hits > 0 ? sum / hits : 0;
        });

    /// <summary>Precision@k of each list: relevant items among the top k, over k (a list shorter than k counts its missing places as not relevant).</summary>
    public static double[] PrecisionAt<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return PerList(scores, listLength, labels, mask, (s, y, order) =>
        {
            int hits = 0;
            for (int r = 0; r < Math.Min(k, order.Length); r++) if (y[order[r]] > 0) hits++;
            return (double)hits / k;
        });
    }

    /// <summary>NDCG at each of <paramref name="ks"/>, MRR, MAP and precision at each of <paramref name="ks"/>, averaged over the lists.</summary>
    public static RankingReport Report<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask, params int[] ks)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ndcg = new List<(int, double)>();
        var precision = new List<(int, double)>();
        foreach (int k in ks)
        {
            ndcg.Add((k, NdcgAt(scores, listLength, labels, mask, k).DefaultIfEmpty().Average()));
            precision.Add((k, PrecisionAt(scores, listLength, labels, mask, k).DefaultIfEmpty().Average()));
        }
        return new RankingReport(ndcg, ReciprocalRank(scores, listLength, labels, mask).DefaultIfEmpty().Average(),
            AveragePrecision(scores, listLength, labels, mask).DefaultIfEmpty().Average(), precision);
    }

    private static double Gain(double y) => Math.Pow(2, y) - 1;

    /// <summary>Runs <paramref name="metric"/> on each list's real items (scores, labels, order by descending score, ties by position).</summary>
    private static double[] PerList<T>(ReadOnlySpan<T> scores, int listLength, ReadOnlySpan<T> labels, ReadOnlySpan<T> mask,
        Func<double[], double[], int[], double> metric) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(listLength, 1);
        if (scores.Length % listLength != 0)
            throw new ArgumentException($"scores has {scores.Length} values, not a whole number of lists of {listLength} items.", nameof(scores));
        if (labels.Length != scores.Length)
            throw new ArgumentException($"labels has {labels.Length} values but scores has {scores.Length}; they must have the same shape.", nameof(labels));
        if (!mask.IsEmpty && mask.Length != scores.Length)
            throw new ArgumentException($"mask has {mask.Length} values but scores has {scores.Length}; give one 0/1 per item or none.", nameof(mask));
        int lists = scores.Length / listLength;
        var result = new double[lists];
        for (int r = 0; r < lists; r++)
        {
            var s = new List<double>();
            var y = new List<double>();
            for (int j = 0; j < listLength; j++)
            {
                int i = r * listLength + j;
                if (!mask.IsEmpty && mask[i] == T.Zero) continue;
                s.Add(double.CreateTruncating(scores[i]));
                y.Add(double.CreateTruncating(labels[i]));
            }
            double[] sa = [.. s], ya = [.. y];
            int[] order = [.. Enumerable.Range(0, sa.Length).OrderByDescending(i => sa[i]).ThenBy(i => i)];
            result[r] = metric(sa, ya, order);
        }
        return result;
    }
}
