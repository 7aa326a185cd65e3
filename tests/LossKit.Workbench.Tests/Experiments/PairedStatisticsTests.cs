using LossKit.Workbench.Experiments;

namespace LossKit.Workbench.Tests.Experiments;

/// <summary>
/// The paired tests against published results (Student's sleep data as R's <c>t.test</c>/<c>wilcox.test</c> print them,
/// Darwin's Zea mays data as scipy's <c>wilcoxon</c> documentation and Fisher report them, the t(0.975, ν) table), against
/// slow references that follow the definitions (all 2^n sign patterns for the signed-rank test, numerical integration of
/// the t density for the t-test), Holm against a worked example, and the comparison's pairing by seed.
/// </summary>
public class PairedStatisticsTests
{
    // Student (1908) / Cushny & Peebles: extra hours of sleep, drug 2 − drug 1, for 10 patients. R:
    // t.test(extra ~ group, data = sleep, paired = TRUE): t = -4.0621, df = 9, p-value = 0.002833,
    // 95 percent CI -2.4598858 -0.7001142, mean difference -1.58 (group 1 − group 2; here the sign is flipped).
    // wilcox.test(..., paired = TRUE): V = 0, p-value = 0.009091 (normal approximation: one zero, one tie).
    private static readonly double[] s_sleep = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4];

    // Darwin's Zea mays: height differences (eighths of an inch), cross- minus self-fertilised, 15 pairs. Fisher (1935):
    // t = 2.148 on 14 df, p ≈ 0.0497; scipy.stats.wilcoxon(d): statistic = 24.0 (T⁻; T⁺ = 96), p = 0.041259765625 (exact).
    private static readonly double[] s_zea = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];

    [Fact]
    public void Paired_t_matches_Rs_sleep_data()
    {
        Assert.Equal(0.002833, PairedTests.PairedT(s_sleep), 6);
        var (low, high) = PairedTests.TInterval(s_sleep);
        Assert.Equal(0.7001142, low, 7);
        Assert.Equal(2.4598858, high, 7);
        // Negating the differences flips the interval and keeps the two-sided p.
        double[] negated = [.. s_sleep.Select(d => -d)];
        Assert.Equal(PairedTests.PairedT(s_sleep), PairedTests.PairedT(negated), 14);
        Assert.Equal(-high, PairedTests.TInterval(negated).Low, 12);
    }

    [Fact]
    public void Paired_t_matches_Fishers_zea_mays()
    {
        Assert.Equal(0.0497, PairedTests.PairedT(s_zea), 4);
    }

    public static TheoryData<double[]> SmallSamples => new()
    {
        { [0.3, 1.1] },                       // ν = 1: the Cauchy case
        { [0.02, -0.01, 0.05] },
        { [1.5, 2.5, 0.5, 3.0] },
        { [0.01, 0.012, 0.009, 0.011, 0.013, 0.0105] },
        { [-0.4, 0.1, -0.2, 0.05, -0.3, -0.1, 0.2, -0.25] },
        { [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4] },
    };

    /// <summary>p = P(|T| ≥ |t|) by integrating the t density numerically: the slow, obviously correct reference.</summary>
    [Theory]
    [MemberData(nameof(SmallSamples))]
    public void Paired_t_matches_numerical_integration_of_the_t_density(double[] diffs)
    {
        int n = diffs.Length;
        double mean = diffs.Average();
        double sd = Math.Sqrt(diffs.Sum(d => (d - mean) * (d - mean)) / (n - 1));
        double t = mean / (sd / Math.Sqrt(n));
        double expected = TwoSidedTailByIntegration(t, n - 1);
        Assert.Equal(expected, PairedTests.PairedT(diffs), 8);
    }

    /// <summary>2·∫_{|t|}^∞ f / ∫_{−∞}^∞ f with f(x) = (1 + x²/ν)^{−(ν+1)/2}, the unnormalised t density (so no gamma
    /// function is needed); x = tan θ maps the real line to (−π/2, π/2), where the integrand is bounded; midpoint rule.</summary>
    private static double TwoSidedTailByIntegration(double t, int nu)
    {
        static double G(double theta, int nu)
        {
            double c = Math.Cos(theta), s = Math.Sin(theta);
            // (1 + tan²θ/ν)^{−(ν+1)/2} · sec²θ, written without tan so that it stays finite near ±π/2.
            return Math.Pow(nu * c * c / (nu * c * c + s * s), (nu + 1) / 2.0) / (c * c);
        }
        static double Integrate(double a, double b, int nu, int steps)
        {
            double h = (b - a) / steps, sum = 0;
            for (int i = 0; i < steps; i++) sum += G(a + (i + 0.5) * h, nu);
            return sum * h;
        }
        const int steps = 400_000;
        double theta0 = Math.Atan(Math.Abs(t));
        double tail = Integrate(theta0, Math.PI / 2, nu, steps);
        double total = Integrate(-Math.PI / 2, Math.PI / 2, nu, steps);
        return 2 * tail / total;
    }

    [Fact]
    public void Paired_t_edge_cases()
    {
        Assert.Equal(1, PairedTests.PairedT([0, 0, 0, 0, 0]));          // no difference at all
        Assert.Equal(0, PairedTests.PairedT([0.1, 0.1, 0.1, 0.1, 0.1])); // a constant shift: sd 0
        Assert.True(double.IsNaN(PairedTests.PairedT([0.3])));
        Assert.True(double.IsNaN(PairedTests.PairedT([])));
        Assert.Throws<ArgumentException>(() => PairedTests.PairedT([0.1, double.NaN, 0.2]));
        Assert.Equal((0.1, 0.1), PairedTests.TInterval([0.1, 0.1, 0.1]));
        var one = PairedTests.TInterval([0.5]);
        Assert.True(double.IsNaN(one.Low) && double.IsNaN(one.High));
    }

    /// <summary>The interval's half-width over s/√n is t(0.975, n − 1): the table of <see cref="StudentT.Quantile975"/>
    /// (4 decimals, as printed in statistics textbooks) and mpmath's values at 1, 9 and 100 degrees of freedom.</summary>
    [Fact]
    public void Interval_uses_the_t_quantile()
    {
        foreach (int nu in new[] { 1, 2, 3, 4, 5, 9, 14, 29, 30 })
            Assert.Equal(StudentT.Quantile975(nu), HalfWidthFactor(nu, 0.95), 4);
        Assert.Equal(12.7062047361747, HalfWidthFactor(1, 0.95), 9);
        Assert.Equal(2.26215716279820, HalfWidthFactor(9, 0.95), 9);
        Assert.Equal(1.98397151852355, HalfWidthFactor(100, 0.95), 9);
        // A 90% interval is t(0.95, ν): 2.0150 at ν = 5 (table value).
        Assert.Equal(2.0150, HalfWidthFactor(5, 0.90), 4);
    }

    /// <summary>(High − Low)/2 divided by s/√n for the sample {−1, 1, 0, …, 0} of size ν + 1.</summary>
    private static double HalfWidthFactor(int nu, double level)
    {
        var diffs = new double[nu + 1];
        diffs[0] = -1;
        diffs[1] = 1;
        double sd = Math.Sqrt(2.0 / nu);
        var (low, high) = PairedTests.TInterval(diffs, level);
        return (high - low) / 2 / (sd / Math.Sqrt(nu + 1));
    }

    [Fact]
    public void Wilcoxon_exact_matches_scipys_zea_mays()
    {
        Assert.Equal(0.041259765625, PairedTests.WilcoxonSignedRank(s_zea), 12);
    }

    [Fact]
    public void Wilcoxon_normal_approximation_with_a_zero_and_a_tie_matches_Rs_sleep_data()
    {
        // The zero is dropped (n = 9) and the tie of 1.3 forces the normal approximation with tie correction.
        Assert.Equal(0.009091, PairedTests.WilcoxonSignedRank(s_sleep), 6);
        Assert.Equal(0.00909069801592506, PairedTests.WilcoxonSignedRank(s_sleep), 12); // mpmath, same formula
    }

    [Theory]
    [InlineData(4, 0.125)]
    [InlineData(5, 0.0625)]
    [InlineData(6, 0.03125)]
    [InlineData(10, 2.0 / 1024)]
    public void Smallest_exact_signed_rank_p_is_two_over_two_to_the_n(int n, double expected)
    {
        double[] allPositive = [.. Enumerable.Range(1, n).Select(i => 0.1 * i)];
        Assert.Equal(expected, PairedTests.WilcoxonSignedRank(allPositive), 15);
        Assert.Equal(expected, PairedTests.WilcoxonSignedRank([.. allPositive.Select(d => -d)]), 15);
        // Zeros are dropped: they neither add a pair nor change p.
        Assert.Equal(expected, PairedTests.WilcoxonSignedRank([0, .. allPositive, 0]), 15);
    }

    /// <summary>Random untied samples with n ≤ 14 nonzero differences (and some zeros): the exact p equals the share of all
    /// 2^n sign patterns, enumerated one by one, whose T⁺ is at least as extreme.</summary>
    [Fact]
    public void Wilcoxon_exact_matches_brute_force_enumeration_of_sign_patterns()
    {
        var rng = new Random(18);
        for (int trial = 0; trial < 60; trial++)
        {
            int n = 1 + trial % 14;
            var diffs = new List<double>();
            for (int i = 0; i < n; i++) diffs.Add((rng.NextDouble() - 0.35) * (i + 1));
            if (trial % 3 == 0) diffs.Insert(rng.Next(diffs.Count + 1), 0.0);
            Assert.Equal(BruteForceSignedRankP(diffs), PairedTests.WilcoxonSignedRank(diffs), 14);
        }
    }

    private static double BruteForceSignedRankP(IReadOnlyList<double> diffs)
    {
        var nonzero = diffs.Where(d => d != 0).ToArray();
        int n = nonzero.Length;
        var byAbs = nonzero.OrderBy(Math.Abs).ToArray();
        Assert.Equal(n, byAbs.Select(Math.Abs).Distinct().Count()); // the reference assumes no ties
        int observed = 0;
        for (int r = 0; r < n; r++)
            if (byAbs[r] > 0) observed += r + 1;
        long atMost = 0, atLeast = 0;
        for (long pattern = 0; pattern < 1L << n; pattern++)
        {
            int tPlus = 0;
            for (int r = 0; r < n; r++)
                if ((pattern >> r & 1) != 0) tPlus += r + 1;
            if (tPlus <= observed) atMost++;
            if (tPlus >= observed) atLeast++;
        }
        return Math.Min(1, 2.0 * Math.Min(atMost, atLeast) / (1L << n));
    }

    [Fact]
    public void Wilcoxon_switches_to_the_normal_approximation_above_25_and_it_agrees_with_the_exact_distribution()
    {
        // Ranks 1..26, negative at {1, 2, 3, 5, 8, 13, 20, 21, 24}: T⁺ = 254. Reference values from an independent Python
        // count of the null distribution (exact) and mpmath (normal approximation with continuity correction).
        int[] negative = [1, 2, 3, 5, 8, 13, 20, 21, 24];
        double[] diffs = [.. Enumerable.Range(1, 26).Select(i => negative.Contains(i) ? -0.01 * i : 0.01 * i)];
        Assert.Equal(0.04758653837465612, PairedTests.WilcoxonSignedRank(diffs), 12);
        Assert.Equal(0.046331167221069336, PairedTests.ExactSignedRankP(26, 254), 15);
        // 25 untied differences (T⁺ = 228) still use the exact distribution.
        Assert.Equal(0.0801958441734314, PairedTests.WilcoxonSignedRank(diffs[..25]), 15);
    }

    /// <summary>0.3 − 0.1 is 0.19999999999999998, not 0.2: differences of equal size computed from different metric
    /// values are ties all the same (average ranks and the normal approximation), not an order decided by rounding.</summary>
    [Fact]
    public void Differences_equal_up_to_rounding_are_ties()
    {
        double[] rounded = [0.3 - 0.1, 0.2, 0.05, 0.4, -0.1, 0.6];
        double[] exact = [0.2, 0.2, 0.05, 0.4, -0.1, 0.6];
        Assert.NotEqual(rounded[0], rounded[1]);
        Assert.Equal(PairedTests.WilcoxonSignedRank(exact), PairedTests.WilcoxonSignedRank(rounded), 15);
        // Tied, so not the exact table: T⁺ = 19 of 21 (−0.1 has rank 2), one group of 2 ties, normal approximation (mpmath).
        Assert.Equal(0.0925915957502300, PairedTests.WilcoxonSignedRank(exact), 12);
    }

    [Fact]
    public void Wilcoxon_edge_cases()
    {
        Assert.Equal(1, PairedTests.WilcoxonSignedRank([]));
        Assert.Equal(1, PairedTests.WilcoxonSignedRank([0, 0, 0]));
        Assert.Equal(1, PairedTests.WilcoxonSignedRank([0.5]));          // n = 1: 2·min(½, 1) capped at 1
        Assert.Throws<ArgumentException>(() => PairedTests.WilcoxonSignedRank([1, double.PositiveInfinity]));
    }

    [Fact]
    public void Holm_matches_a_worked_example_with_monotonicity_enforced()
    {
        // Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04, raised to 0.06 by the running max).
        double[] adjusted = PairedTests.Holm([0.01, 0.04, 0.03, 0.005]);
        Assert.Equal([0.03, 0.06, 0.06, 0.02], adjusted.Select(p => Math.Round(p, 12)));
    }

    [Fact]
    public void Holm_caps_at_one_and_passes_NaN_through_without_counting_it()
    {
        Assert.Equal([1.0, 1.0], PairedTests.Holm([0.6, 0.9]));
        double[] withNaN = PairedTests.Holm([0.01, double.NaN, 0.04]);
        Assert.Equal(0.02, withNaN[0], 15);                // m = 2, not 3
        Assert.True(double.IsNaN(withNaN[1]));
        Assert.Equal(0.04, withNaN[2], 15);
        Assert.Empty(PairedTests.Holm([]));
        Assert.Equal([0.3], PairedTests.Holm([0.3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedTests.Holm([0.1, 1.5]));
    }

    [Fact]
    public void Holm_is_monotone_in_the_raw_p_values_and_never_below_them()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 50; trial++)
        {
            double[] p = [.. Enumerable.Range(0, 1 + trial % 9).Select(_ => rng.NextDouble() * rng.NextDouble())];
            double[] adjusted = PairedTests.Holm(p);
            for (int i = 0; i < p.Length; i++)
            {
                Assert.True(adjusted[i] >= p[i] && adjusted[i] <= 1);
                for (int j = 0; j < p.Length; j++)
                    if (p[i] <= p[j]) Assert.True(adjusted[i] <= adjusted[j]);
            }
        }
    }

    // ---- PairedComparison.Compare ----

    private static IReadOnlyDictionary<int, double> Seeds(params (int Seed, double Value)[] values) =>
        values.ToDictionary(v => v.Seed, v => v.Value);

    /// <summary>A baseline whose value varies a lot from seed to seed (as a split does), and a loss that is the baseline
    /// plus a small, consistent shift: only pairing by seed sees the shift.</summary>
    private static Dictionary<string, IReadOnlyDictionary<int, double>> SeedDominated(double shift, int seeds = 8)
    {
        double[] seedEffect = [0.80, 0.95, 0.70, 0.88, 0.76, 0.91, 0.83, 0.73, 0.86, 0.79];
        double[] jitter = [0.002, -0.001, 0.0015, -0.002, 0.001, 0.0, -0.0015, 0.0025, -0.0005, 0.001];
        return new Dictionary<string, IReadOnlyDictionary<int, double>>
        {
            ["ce"] = Enumerable.Range(0, seeds).ToDictionary(s => s, s => seedEffect[s]),
            ["mae"] = Enumerable.Range(0, seeds).ToDictionary(s => s, s => seedEffect[s] + shift + jitter[s]),
        };
    }

    [Fact]
    public void Pairs_by_seed_and_drops_seeds_one_side_lacks_or_that_are_NaN()
    {
        var values = new Dictionary<string, IReadOnlyDictionary<int, double>>
        {
            ["ce"] = Seeds((1, 0.5), (2, 0.6), (3, 0.7), (4, 0.8), (5, 0.9), (6, 0.4)),
            ["mae"] = Seeds((6, 0.45), (5, 0.93), (4, double.NaN), (3, 0.71), (2, 0.62), (7, 0.99)),
        };
        var result = Assert.Single(PairedComparison.Compare(values, "ce", "accuracy", higherIsBetter: true));
        // Seeds 2, 3, 5, 6 pair (1 and 7 are on one side only, 4 is NaN): differences 0.02, 0.01, 0.03, 0.05.
        Assert.Equal(4, result.N);
        Assert.Equal(0.0275, result.DiffMean, 12);
        Assert.Equal(PairedTests.PairedT([0.02, 0.01, 0.03, 0.05]), result.PT, 10);
        Assert.Equal(PairedTests.WilcoxonSignedRank([0.02, 0.01, 0.03, 0.05]), result.PWilcoxon, 15);
        Assert.Equal(("mae", "ce", "accuracy"), (result.Loss, result.Baseline, result.Metric));
    }

    [Theory]
    [InlineData(+0.01, true, Verdict.Better)]
    [InlineData(+0.01, false, Verdict.Worse)]
    [InlineData(-0.01, true, Verdict.Worse)]
    [InlineData(-0.01, false, Verdict.Better)]
    public void Verdict_follows_the_metrics_direction(double shift, bool higherIsBetter, Verdict expected)
    {
        var result = Assert.Single(PairedComparison.Compare(SeedDominated(shift), "ce", "m", higherIsBetter));
        Assert.Equal(8, result.N);
        Assert.True(result.PHolm < 0.001, $"p_holm {result.PHolm}");
        Assert.Equal(expected, result.Verdict);
        Assert.True(result.CiLow < result.DiffMean && result.DiffMean < result.CiHigh);
        Assert.Equal(Math.Sign(shift), Math.Sign(result.CiLow));   // the interval excludes 0 on the shift's side
    }

    [Fact]
    public void Four_seeds_give_no_verdict_however_clear_the_difference()
    {
        var result = Assert.Single(PairedComparison.Compare(SeedDominated(0.05, seeds: 4), "ce", "accuracy", true));
        Assert.Equal(4, result.N);
        Assert.True(result.PT < 0.001);
        Assert.Equal(Verdict.TooFewSeeds, result.Verdict);
        // With 5 the same data gives one.
        Assert.Equal(Verdict.Better, PairedComparison.Compare(SeedDominated(0.05, seeds: 5), "ce", "accuracy", true)[0].Verdict);
    }

    [Fact]
    public void No_evidence_when_the_difference_is_noise()
    {
        var values = new Dictionary<string, IReadOnlyDictionary<int, double>>
        {
            ["ce"] = Seeds((0, 0.80), (1, 0.81), (2, 0.79), (3, 0.80), (4, 0.82), (5, 0.78)),
            ["gce"] = Seeds((0, 0.81), (1, 0.80), (2, 0.80), (3, 0.79), (4, 0.82), (5, 0.79)),
        };
        var result = Assert.Single(PairedComparison.Compare(values, "ce", "accuracy", true));
        Assert.Equal(Verdict.NoEvidence, result.Verdict);
        Assert.True(result.CiLow < 0 && result.CiHigh > 0);
    }

    /// <summary>The deliberately wrong comparison: shuffle which seed each of the loss's values belongs to. The mean
    /// difference (over the same seeds) cannot change, so a pooled comparison of the two sets of values would not change
    /// either; the paired one must, because the seed effect no longer cancels.</summary>
    [Fact]
    public void Shuffling_one_losss_seeds_changes_the_paired_result()
    {
        var values = SeedDominated(0.01);
        var paired = Assert.Single(PairedComparison.Compare(values, "ce", "accuracy", true));

        var mae = values["mae"];
        int[] seeds = [.. mae.Keys.Order()];
        int[] rotated = [.. seeds.Skip(3), .. seeds.Take(3)];
        values["mae"] = seeds.Select((s, i) => (Seed: rotated[i], Value: mae[s])).ToDictionary(x => x.Seed, x => x.Value);
        var shuffled = Assert.Single(PairedComparison.Compare(values, "ce", "accuracy", true));

        Assert.Equal(paired.DiffMean, shuffled.DiffMean, 12);
        Assert.Equal(Verdict.Better, paired.Verdict);
        Assert.True(paired.PT < 1e-4, $"paired p {paired.PT}");
        Assert.Equal(Verdict.NoEvidence, shuffled.Verdict);
        Assert.True(shuffled.PT > 0.3, $"shuffled p {shuffled.PT}");
        Assert.True(shuffled.CiHigh - shuffled.CiLow > 10 * (paired.CiHigh - paired.CiLow));
    }

    [Fact]
    public void Holm_runs_across_the_losses_of_one_call_in_their_order()
    {
        var values = SeedDominated(0.01);
        values["gce"] = values["ce"].ToDictionary(kv => kv.Key, kv => kv.Value + (kv.Key % 2 == 0 ? 0.004 : -0.003));
        values["sce"] = values["ce"].ToDictionary(kv => kv.Key, kv => kv.Value - 0.02 + 0.001 * (kv.Key % 3));
        var results = PairedComparison.Compare(values, "ce", "accuracy", true);
        Assert.Equal(["mae", "gce", "sce"], results.Select(r => r.Loss));
        double[] holm = PairedTests.Holm([.. results.Select(r => r.PT)]);
        for (int i = 0; i < results.Count; i++)
        {
            Assert.Equal(holm[i], results[i].PHolm, 15);
            Assert.True(results[i].PHolm >= results[i].PT);
        }
        Assert.Equal([Verdict.Better, Verdict.NoEvidence, Verdict.Worse], results.Select(r => r.Verdict));
    }

    [Fact]
    public void One_seed_gives_NaN_interval_and_t_and_a_missing_baseline_is_an_error()
    {
        var values = new Dictionary<string, IReadOnlyDictionary<int, double>>
        {
            ["ce"] = Seeds((1, 0.5)),
            ["mae"] = Seeds((1, 0.6)),
            ["gce"] = Seeds((2, 0.6)),
        };
        var results = PairedComparison.Compare(values, "ce", "nll", higherIsBetter: false);
        var one = results[0];
        Assert.Equal(1, one.N);
        Assert.Equal(0.1, one.DiffMean, 12);
        Assert.True(double.IsNaN(one.CiLow) && double.IsNaN(one.CiHigh) && double.IsNaN(one.PT) && double.IsNaN(one.PHolm));
        Assert.Equal(Verdict.TooFewSeeds, one.Verdict);
        var none = results[1];
        Assert.Equal(0, none.N);
        Assert.True(double.IsNaN(none.DiffMean) && double.IsNaN(none.PWilcoxon));
        Assert.Equal(Verdict.TooFewSeeds, none.Verdict);

        var e = Assert.Throws<ArgumentException>(() => PairedComparison.Compare(values, "focal", "nll", false));
        Assert.Contains("focal", e.Message);
    }
}
