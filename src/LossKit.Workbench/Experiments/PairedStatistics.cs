using MathNetNormal = MathNet.Numerics.Distributions.Normal;
using MathNetStudentT = MathNet.Numerics.Distributions.StudentT;

namespace LossKit.Workbench.Experiments;

/// <summary>What a paired comparison of one loss against the baseline allows a reader to conclude.</summary>
public enum Verdict
{
    /// <summary>Holm-adjusted paired-t p below alpha, and the mean difference in the metric's good direction.</summary>
    Better,

    /// <summary>Holm-adjusted paired-t p below alpha, and the mean difference in the metric's bad direction.</summary>
    Worse,

    /// <summary>Enough seeds, but the Holm-adjusted p is not below alpha (or the mean difference is exactly 0).</summary>
    NoEvidence,

    /// <summary>Fewer than <see cref="PairedComparison.MinSeedsForVerdict"/> paired seeds: no verdict is given.</summary>
    TooFewSeeds,
}

/// <summary>One loss against the baseline on one metric, paired over the seeds both have.</summary>
/// <param name="Loss">The loss compared.</param>
/// <param name="Baseline">The reference loss.</param>
/// <param name="Metric">The metric's name.</param>
/// <param name="N">Number of seeds on which both losses have a (non-NaN) value: the number of paired differences.</param>
/// <param name="DiffMean">Mean of d_s = loss_s − baseline_s over those seeds; NaN when N = 0.</param>
/// <param name="CiLow">Lower end of the 95% Student-t interval of the mean paired difference (<see cref="PairedTests.TInterval"/>); NaN when N &lt; 2.</param>
/// <param name="CiHigh">Upper end of that interval; NaN when N &lt; 2.</param>
/// <param name="PT">Two-sided paired t-test p-value (<see cref="PairedTests.PairedT"/>); NaN when N &lt; 2.</param>
/// <param name="PWilcoxon">Two-sided Wilcoxon signed-rank p-value (<see cref="PairedTests.WilcoxonSignedRank"/>); NaN when N = 0.</param>
/// <param name="PHolm"><see cref="PT"/> Holm-adjusted across the losses compared in the same call (<see cref="PairedTests.Holm"/>).</param>
/// <param name="Verdict">The verdict (<see cref="PairedComparison.Compare"/>).</param>
public sealed record PairedDifference(string Loss, string Baseline, string Metric, int N,
    double DiffMean, double CiLow, double CiHigh,
    double PT, double PWilcoxon, double PHolm,
    Verdict Verdict);

/// <summary>
/// Tests on paired differences d_1..d_n (one per seed: the loss's metric minus the baseline's on the same seed, so that
/// the part of the metric's variation that a seed gives both losses alike, through its split, initial weights, batch
/// order and noise draw, cancels).
/// The t and normal distributions come from MathNet.Numerics.
/// </summary>
public static class PairedTests
{
    /// <summary>Largest number of nonzero differences for which <see cref="WilcoxonSignedRank"/> uses the exact null
    /// distribution (when |d| has no ties); 2^25 sign patterns are counted, not enumerated.</summary>
    public const int ExactWilcoxonMaxN = 25;

    /// <summary>
    /// Two-sided p-value of the paired t-test: with mean d̄ and sample standard deviation s (divisor n − 1),
    /// t = d̄ / (s/√n) on n − 1 degrees of freedom, p = 2·P(T ≥ |t|). When all differences are equal, s = 0 and t is
    /// undefined; then p = 1 if they are all 0 (no difference at all) and p = 0 otherwise (a constant nonzero shift).
    /// NaN when n &lt; 2. It assumes the differences are roughly normal, which 2–4 values cannot show; see
    /// <see cref="WilcoxonSignedRank"/> for a test that does not.
    /// </summary>
    /// <exception cref="ArgumentException">A difference is NaN or infinite.</exception>
    public static double PairedT(IReadOnlyList<double> diffs)
    {
        int n = CheckFinite(diffs);
        if (n < 2) return double.NaN;
        if (AllEqual(diffs)) return diffs[0] == 0 ? 1 : 0;
        var (mean, sd) = MeanSd(diffs);
        double t = mean / (sd / Math.Sqrt(n));
        // 2·CDF(−|t|) rather than 2·(1 − CDF(|t|)): keeps small p-values accurate.
        return Math.Min(1, 2 * MathNetStudentT.CDF(0, 1, n - 1, -Math.Abs(t)));
    }

    /// <summary>
    /// Two-sided p-value of the Wilcoxon signed-rank test. Zero differences are dropped first (Wilcoxon's own convention,
    /// scipy's default <c>zero_method='wilcox'</c> and R's <c>wilcox.test</c>); n is then the number of nonzero
    /// differences, ranked 1..n by |d| (ties get their average rank; |d| equal to a relative 1e-9 count as tied, since
    /// differences of equal value computed from different metric values can differ in the last bits), and T⁺ is the sum
    /// of the ranks of the positive ones.
    /// <list type="bullet">
    /// <item>n ≤ <see cref="ExactWilcoxonMaxN"/> and no ties in |d|: the exact null distribution. Under the null each of
    /// the 2^n sign patterns is equally likely, so P(T⁺ = t) = c_n(t)/2^n with c_n(t) the number of subsets of {1..n}
    /// summing to t, counted by dynamic programming over the ranks (c_k(t) = c_{k−1}(t) + c_{k−1}(t − k));
    /// p = min(1, 2·min(P(T⁺ ≤ t⁺), P(T⁺ ≥ t⁺))). Its smallest value, all signs alike, is 2/2^n: 0.125 at n = 4,
    /// 0.0625 at n = 5, 0.03125 at n = 6, so below 6 nonzero pairs it cannot reach p &lt; 0.05.</item>
    /// <item>otherwise (more pairs, or ties, where the exact table no longer applies): the normal approximation,
    /// E[T⁺] = n(n+1)/4, Var[T⁺] = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over the groups of t tied |d|,
    /// z = max(|T⁺ − E| − ½, 0)/√Var (continuity correction, not allowed to overshoot the mean), p = min(1, 2·Φ(−z)).
    /// This is scipy's and R's approximation except when |T⁺ − E| &lt; ½, where they let the correction overshoot.</item>
    /// </list>
    /// No nonzero differences: p = 1 (including an empty list).
    /// </summary>
    /// <exception cref="ArgumentException">A difference is NaN or infinite.</exception>
    public static double WilcoxonSignedRank(IReadOnlyList<double> diffs)
    {
        CheckFinite(diffs);
        var nonzero = diffs.Where(d => d != 0).ToArray();
        int n = nonzero.Length;
        if (n == 0) return 1;
        var (ranks, tieGroups) = AbsRanks(nonzero);
        double tPlus = 0;
        for (int i = 0; i < n; i++)
            if (nonzero[i] > 0) tPlus += ranks[i];
        if (n <= ExactWilcoxonMaxN && tieGroups.Count == 0) return ExactSignedRankP(n, (int)tPlus);
        double mean = n * (n + 1) / 4.0;
        double variance = n * (n + 1.0) * (2 * n + 1) / 24.0 - tieGroups.Sum(t => (double)t * t * t - t) / 48.0;
        double z = Math.Max(Math.Abs(tPlus - mean) - 0.5, 0) / Math.Sqrt(variance);
        return Math.Min(1, 2 * MathNetNormal.CDF(0, 1, -z));
    }

    /// <summary>Exact two-sided signed-rank p-value for T⁺ = <paramref name="tPlus"/> with <paramref name="n"/> untied
    /// nonzero differences: min(1, 2·min(P(T⁺ ≤ t⁺), P(T⁺ ≥ t⁺))), the null distribution counted by dynamic programming.</summary>
    internal static double ExactSignedRankP(int n, int tPlus)
    {
        if (n < 1 || n > 62) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be in 1..62.");
        int max = n * (n + 1) / 2;
        if (tPlus < 0 || tPlus > max) throw new ArgumentOutOfRangeException(nameof(tPlus), tPlus, $"T+ must be in 0..{max}.");
        // counts[t] = number of subsets of {1..k} whose sum is t; exact in long up to 2^62.
        var counts = new long[max + 1];
        counts[0] = 1;
        for (int k = 1; k <= n; k++)
            for (int t = k * (k + 1) / 2; t >= k; t--)
                counts[t] += counts[t - k];
        long below = 0, above = 0;
        for (int t = 0; t <= max; t++)
        {
            if (t <= tPlus) below += counts[t];
            if (t >= tPlus) above += counts[t];
        }
        double total = Math.Pow(2, n);
        return Math.Min(1, 2 * Math.Min(below, above) / total);
    }

    /// <summary>
    /// Holm–Bonferroni step-down adjusted p-values, in the input's order. With the m non-NaN p-values sorted ascending,
    /// p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted value of p₍ᵢ₎ is max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎): each is multiplied by
    /// the number of hypotheses not yet rejected, and the running maximum keeps the adjusted values in the order of the raw
    /// ones. Rejecting where adjusted p &lt; α controls the family-wise error rate at α under any dependence between the
    /// tests. NaN stays NaN and does not count in m.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A p-value (not NaN) lies outside [0, 1].</exception>
    public static double[] Holm(IReadOnlyList<double> p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var result = new double[p.Count];
        var order = new List<int>(p.Count);
        for (int i = 0; i < p.Count; i++)
        {
            result[i] = double.NaN;
            if (double.IsNaN(p[i])) continue;
            if (p[i] < 0 || p[i] > 1) throw new ArgumentOutOfRangeException(nameof(p), p[i], $"p-value {i} is outside [0, 1].");
            order.Add(i);
        }
        order.Sort((a, b) => p[a] != p[b] ? p[a].CompareTo(p[b]) : a.CompareTo(b));
        int m = order.Count;
        double running = 0;
        for (int j = 0; j < m; j++)
        {
            running = Math.Max(running, Math.Min(1, (m - j) * p[order[j]]));
            result[order[j]] = running;
        }
        return result;
    }

    /// <summary>
    /// Two-sided Student-t interval of the mean difference at <paramref name="level"/>:
    /// d̄ ± t((1 + level)/2, n − 1)·s/√n, s the sample standard deviation (divisor n − 1). (NaN, NaN) when n &lt; 2; the
    /// single point (d, d) when all differences equal d.
    /// </summary>
    /// <exception cref="ArgumentException">A difference is NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="level"/> is not strictly between 0 and 1.</exception>
    public static (double Low, double High) TInterval(IReadOnlyList<double> diffs, double level = 0.95)
    {
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "level must be strictly between 0 and 1.");
        int n = CheckFinite(diffs);
        if (n < 2) return (double.NaN, double.NaN);
        if (AllEqual(diffs)) return (diffs[0], diffs[0]);
        var (mean, sd) = MeanSd(diffs);
        double half = MathNetStudentT.InvCDF(0, 1, n - 1, (1 + level) / 2) * sd / Math.Sqrt(n);
        return (mean - half, mean + half);
    }

    private static int CheckFinite(IReadOnlyList<double> diffs)
    {
        ArgumentNullException.ThrowIfNull(diffs);
        for (int i = 0; i < diffs.Count; i++)
            if (!double.IsFinite(diffs[i])) throw new ArgumentException($"difference {i} is {diffs[i]}; drop the pair instead.", nameof(diffs));
        return diffs.Count;
    }

    private static bool AllEqual(IReadOnlyList<double> diffs)
    {
        for (int i = 1; i < diffs.Count; i++)
            if (diffs[i] != diffs[0]) return false;
        return true;
    }

    private static (double Mean, double Sd) MeanSd(IReadOnlyList<double> values)
    {
        double mean = 0;
        foreach (double v in values) mean += v;
        mean /= values.Count;
        double ss = 0;
        foreach (double v in values) ss += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(ss / (values.Count - 1)));
    }

    /// <summary>Relative tolerance within which two |d| count as tied: a difference of two accuracies, k/n − j/n, can
    /// come out an ulp or two away from an equal one computed from other counts (0.3 − 0.1 is 0.19999999999999998).</summary>
    internal const double TieTolerance = 1e-9;

    /// <summary>Ranks 1..n of |values| (average ranks for ties, |d| within <see cref="TieTolerance"/> of the smallest of its
    /// group counting as tied) and the sizes of the tied groups (size ≥ 2).</summary>
    private static (double[] Ranks, List<int> TieGroups) AbsRanks(double[] values)
    {
        int n = values.Length;
        var order = Enumerable.Range(0, n).OrderBy(i => Math.Abs(values[i])).ToArray();
        var ranks = new double[n];
        var ties = new List<int>();
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            double first = Math.Abs(values[order[start]]);
            while (end < n && Math.Abs(values[order[end]]) - first <= TieTolerance * first) end++;
            double rank = (start + 1 + end) / 2.0; // average of ranks start+1..end
            for (int k = start; k < end; k++) ranks[order[k]] = rank;
            if (end - start > 1) ties.Add(end - start);
            start = end;
        }
        return (ranks, ties);
    }
}

/// <summary>Paired comparison of several losses against a baseline on one metric, over seeds.</summary>
public static class PairedComparison
{
    /// <summary>
    /// Fewest paired seeds for which a verdict is given. Below it the verdict is <see cref="Verdict.TooFewSeeds"/>: the
    /// paired t-test can reach any p with 2 pairs, but only by assuming normal differences, which 2–4 values cannot
    /// support, and the exact signed-rank test, which assumes nothing about their shape, has smallest two-sided p 2/2^n
    /// with n nonzero pairs (0.125 at 4). Five is a floor, not a guarantee: at 5 pairs that smallest p is 0.0625, so the
    /// signed-rank test can reach p &lt; 0.05 only from 6 nonzero pairs on (2/2^6 = 0.03125), and a verdict at 5 seeds
    /// rests on the t-test alone.
    /// </summary>
    public const int MinSeedsForVerdict = 5;

    /// <summary>
    /// Compares each loss of <paramref name="valuesByLoss"/> other than <paramref name="baseline"/> with the baseline on
    /// <paramref name="metric"/>, in the dictionary's enumeration order. A loss is paired with the baseline on the seeds
    /// both have; a NaN value on either side drops that seed's pair (so does an infinite one: a diverged run has no finite
    /// difference to average; N then says how many pairs were left). Differences are loss − baseline, in ascending seed
    /// order. The paired-t p-values of the losses compared in this call are Holm-adjusted together (a loss with fewer than
    /// 2 pairs has p NaN and does not count; one with 2 to 4 pairs does count, so the correction never shrinks when
    /// seeds are missing). Verdict: N &lt; <see cref="MinSeedsForVerdict"/> → <see cref="Verdict.TooFewSeeds"/>; else
    /// PHolm &lt; <paramref name="alpha"/> and the mean difference in the good direction (above 0 when
    /// <paramref name="higherIsBetter"/>, below 0 otherwise) → <see cref="Verdict.Better"/>, in the bad direction →
    /// <see cref="Verdict.Worse"/>; else <see cref="Verdict.NoEvidence"/>. The Wilcoxon p is reported beside it as the
    /// check that does not assume normal differences; it does not enter the verdict.
    /// </summary>
    /// <param name="valuesByLoss">loss → (seed → metric value).</param>
    /// <param name="baseline">The reference loss; must be a key of <paramref name="valuesByLoss"/>.</param>
    /// <param name="metric">The metric's name (copied into the results).</param>
    /// <param name="higherIsBetter">Whether a higher value of the metric is better (accuracy) or worse (NLL, ECE).</param>
    /// <param name="alpha">Family-wise significance level for the verdicts.</param>
    /// <exception cref="ArgumentException">The baseline has no values.</exception>
    public static IReadOnlyList<PairedDifference> Compare(IReadOnlyDictionary<string, IReadOnlyDictionary<int, double>> valuesByLoss,
        string baseline, string metric, bool higherIsBetter, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(valuesByLoss);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(metric);
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be strictly between 0 and 1.");
        if (!valuesByLoss.TryGetValue(baseline, out var reference))
            throw new ArgumentException($"the baseline '{baseline}' has no values; losses: {string.Join(", ", valuesByLoss.Keys)}.", nameof(baseline));

        var partial = new List<(string Loss, double[] Diffs)>();
        foreach (var (loss, values) in valuesByLoss)
        {
            if (loss == baseline) continue;
            partial.Add((loss, PairedDiffs(values, reference)));
        }
        var pt = partial.Select(x => PairedTests.PairedT(x.Diffs)).ToArray();
        var holm = PairedTests.Holm(pt);
        var results = new List<PairedDifference>(partial.Count);
        for (int i = 0; i < partial.Count; i++)
        {
            var (loss, diffs) = partial[i];
            int n = diffs.Length;
            double mean = n == 0 ? double.NaN : diffs.Average();
            var (low, high) = PairedTests.TInterval(diffs);
            double wilcoxon = n == 0 ? double.NaN : PairedTests.WilcoxonSignedRank(diffs);
            results.Add(new PairedDifference(loss, baseline, metric, n, mean, low, high, pt[i], wilcoxon, holm[i],
                VerdictOf(n, mean, holm[i], higherIsBetter, alpha)));
        }
        return results;
    }

    /// <summary>loss − baseline on the seeds both have, in ascending seed order; a pair whose difference is not finite
    /// (a NaN or infinite value on either side) is dropped.</summary>
    internal static double[] PairedDiffs(IReadOnlyDictionary<int, double> values, IReadOnlyDictionary<int, double> baseline) =>
        [.. values.Where(kv => baseline.ContainsKey(kv.Key)).OrderBy(kv => kv.Key)
            .Select(kv => kv.Value - baseline[kv.Key]).Where(double.IsFinite)];

    private static Verdict VerdictOf(int n, double mean, double pHolm, bool higherIsBetter, double alpha)
    {
        if (n < MinSeedsForVerdict) return Verdict.TooFewSeeds;
        if (!(pHolm < alpha) || mean == 0) return Verdict.NoEvidence;
        return (mean > 0) == higherIsBetter ? Verdict.Better : Verdict.Worse;
    }
}
