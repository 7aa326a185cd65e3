using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;

namespace LossKit.Tests.Binary;

/// <summary>auc_m's state and its update, anyloss's metrics, ensloss's draws, seeding and period.</summary>
public class BatchLevelTests
{
    private static double Sigmoid(double s) => 1 / (1 + Math.Exp(-s));

    // ------------------------------------------------------------------------------------------------ auc_m

    /// <summary>A direct transcription of LibAUC's AUCMLoss v1 with p = share of positives.</summary>
    private static double LibAucV1(double[] s, double[] y, double a, double b, double alpha, double m)
    {
        int n = s.Length;
        double p = y.Count(v => v == 1) / (double)n;
        double t1 = 0, t2 = 0, t3 = 0;
        for (int i = 0; i < n; i++)
        {
            double h = Sigmoid(s[i]);
            t1 += Math.Pow(h - a, 2) * (y[i] == 1 ? 1 : 0);
            t2 += Math.Pow(h - b, 2) * (y[i] == 0 ? 1 : 0);
            t3 += p * h * (y[i] == 0 ? 1 : 0) - (1 - p) * h * (y[i] == 1 ? 1 : 0);
        }
        return (1 - p) * t1 / n + p * t2 / n + 2 * alpha * (p * (1 - p) * m + t3 / n) - p * (1 - p) * alpha * alpha;
    }

    [Fact]
    public void AucMatchesLibAucTranscriptionAndLeavesStateAlone()
    {
        var rng = new Random(3);
        double[] s = GradientCheck.RandomLogits(rng, 20, 1, 1.5);
        double[] y = GradientCheck.RandomBinaryTargets(rng, 20, soft: false);
        var loss = new AucMarginLoss(margin: 0.8, a: 0.2, b: 0.6, alpha: 0.4);
        Assert.Null(loss.LastStateGradient);
        double f = loss.Compute<double>(s, y);
        Assert.Equal(LibAucV1(s, y, 0.2, 0.6, 0.4, 0.8), f, 1e-14);
        Assert.Equal((0.2, 0.6, 0.4), (loss.A, loss.B, loss.Alpha));
        Assert.NotNull(loss.LastStateGradient);
        // The out overload returns the same state gradient and records nothing new.
        loss.Compute<double>(s, y, default, default, out AucMarginStateGradient g);
        Assert.Equal(loss.LastStateGradient, g);
    }

    [Fact]
    public void AlphaAscentIncreasesAndPrimalDescentDecreasesTheObjective()
    {
        var rng = new Random(8);
        for (int trial = 0; trial < 10; trial++)
        {
            double[] s = GradientCheck.RandomLogits(rng, 16, 1, 2);
            double[] y = GradientCheck.RandomBinaryTargets(rng, 16, soft: trial % 2 == 1);
            double a = rng.NextDouble(), b = rng.NextDouble(), alpha = rng.NextDouble();

            var dual = new AucMarginLoss(a: a, b: b, alpha: alpha);
            double f0 = dual.Compute<double>(s, y);
            double gAlpha = dual.LastStateGradient!.Value.Alpha;
            dual.Step(0, 0.05);                                     // α only, by gradient ascent
            Assert.Equal(Math.Max(0, alpha + 0.05 * gAlpha), dual.Alpha, 1e-15);
            Assert.Equal((a, b), (dual.A, dual.B));
            double f1 = dual.Compute<double>(s, y);
            if (dual.Alpha > 0) Assert.True(f1 > f0, $"trial {trial}: α ascent {f0} → {f1}");

            var primal = new AucMarginLoss(a: a, b: b, alpha: alpha);
            primal.Compute<double>(s, y);
            primal.Step(0.05, 0);                                   // a, b only, by descent
            Assert.Equal(alpha, primal.Alpha);
            Assert.True(primal.Compute<double>(s, y) < f0, $"trial {trial}: a, b descent must decrease F");
        }
    }

    [Fact]
    public void AlphaStaysNonNegativeAndPesgRuleMatchesLibAuc()
    {
        // Well-ranked scores and m = 0: ∂F/∂α = 2p(1−p)(m − α) + (2/N)Σ(p(1−t) − (1−p)t)h < 0 at α = 0.
        var loss = new AucMarginLoss(margin: 0, alpha: 0);
        loss.Compute<double>([3.0, 3.0, -3.0, -3.0], [1.0, 1.0, 0.0, 0.0]);
        Assert.True(loss.LastStateGradient!.Value.Alpha < 0);
        loss.Step(1);
        Assert.Equal(0, loss.Alpha);

        var pesg = new AucMarginLoss(margin: 1, a: 0.3, b: 0.1, alpha: 0.2);
        pesg.Compute<double>([0.5, -0.5, 1.0], [1.0, 0.0, 0.0]);
        var g = pesg.LastStateGradient!.Value;
        pesg.Step(0.1, 0.1, AucDualUpdate.Pesg);
        double a1 = 0.3 - 0.1 * g.A, b1 = 0.1 - 0.1 * g.B;
        Assert.Equal(a1, pesg.A, 1e-15);
        Assert.Equal(b1, pesg.B, 1e-15);
        Assert.Equal(Math.Clamp(0.2 + 0.1 * (2 * (1 + b1 - a1) - 2 * 0.2), 0, 999), pesg.Alpha, 1e-15);
    }

    /// <summary>Minimising over the scores while a, b descend and α ascends (PESG-style) separates the classes: AUC → 1.</summary>
    [Fact]
    public void MinMaxTrainingOnFreeScoresReachesPerfectAuc()
    {
        var rng = new Random(12);
        const int n = 40;
        double[] s = GradientCheck.RandomLogits(rng, n, 1, 1);
        double[] y = Enumerable.Range(0, n).Select(i => i < 12 ? 1.0 : 0.0).ToArray();
        var loss = new AucMarginLoss();
        var g = new double[n];
        double Auc() => y.Select((v, i) => (v, i)).Where(p => p.v == 1)
            .SelectMany(p => y.Select((w, j) => (w, j)).Where(q => q.w == 0).Select(q => s[p.i] > s[q.j] ? 1.0 : 0.0)).Average();
        double before = Auc();
        for (int step = 0; step < 3000; step++)
        {
            loss.Compute<double>(s, y, default, g);
            for (int i = 0; i < n; i++) s[i] -= 20 * g[i];
            loss.Step(0.1);
        }
        Assert.True(before < 0.9);
        Assert.Equal(1.0, Auc());
        Assert.True(loss.Alpha > 0);
        Assert.True(loss.A > loss.B);
    }

    [Fact]
    public void FixedImRatioEqualsBatchRatioWhenTheyAgree()
    {
        double[] s = [0.3, -1, 2, 0.7, -0.2];
        double[] y = [1, 0, 0, 1, 0];
        var g1 = new double[5];
        var g2 = new double[5];
        double f1 = new AucMarginLoss(a: 0.1, alpha: 0.3).Compute<double>(s, y, default, g1);
        double f2 = new AucMarginLoss(imratio: 0.4, a: 0.1, alpha: 0.3).Compute<double>(s, y, default, g2);
        Assert.Equal(f1, f2, 1e-15);
        for (int i = 0; i < 5; i++) Assert.Equal(g1[i], g2[i], 1e-15);
    }

    // ------------------------------------------------------------------------------------------------ anyloss

    [Fact]
    public void AnyLossDefaultsFollowThePaper()
    {
        var loss = (AnyLoss)LossRegistry.Create("anyloss");
        Assert.Equal(73, loss.L);
        Assert.Equal(AnyLossMetric.F1, loss.Metric);
        Assert.Equal(73, AnyLoss.LParameter.Default);
    }

    public static TheoryData<string> AnyLossMetrics => new(["f1", "accuracy", "fbeta", "balanced_accuracy", "gmean"]);

    [Theory, MemberData(nameof(AnyLossMetrics))]
    public void AnyLossOnHardPredictionsIsOneMinusTheExactMetric(string metric)
    {
        var rng = new Random(metric.Length);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = 5 + rng.Next(40);
            double[] y = GradientCheck.RandomBinaryTargets(rng, n, soft: false);
            double[] s = Enumerable.Range(0, n).Select(_ => (rng.Next(2) == 0 ? -1 : 1) * (trial % 2 == 0 ? 1e30 : 50 + 100 * rng.NextDouble())).ToArray();
            int tp = 0, fn = 0, fp = 0, tn = 0;
            for (int i = 0; i < n; i++)
            {
                bool pred = s[i] > 0, pos = y[i] == 1;
                if (pos && pred) tp++; else if (pos) fn++; else if (pred) fp++; else tn++;
            }
            double beta = metric == "fbeta" ? 0.5 + trial % 3 : 1;
            double b2 = beta * beta;
            double exact = metric switch
            {
                "accuracy" => (tp + tn) / (double)n,
                "f1" => 2.0 * tp / (2 * tp + fp + fn),
                "fbeta" => (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp),
                "balanced_accuracy" => 0.5 * (tp / (double)(tp + fn) + tn / (double)(tn + fp)),
                _ => Math.Sqrt(tp / (double)(tp + fn) * (tn / (double)(tn + fp))),
            };
            string spec = metric == "fbeta" ? $"anyloss(metric=fbeta, beta={beta})" : $"anyloss(metric={metric})";
            double loss = ((IBinaryLoss)LossRegistry.Create(spec)).Compute<double>(s, y);
            Assert.True(Math.Abs(1 - exact - loss) < 1e-12, $"{spec} tp={tp} fn={fn} fp={fp} tn={tn}: {loss} vs {1 - exact}");
        }
    }

    [Theory, MemberData(nameof(AnyLossMetrics))]
    public void AnyLossPushesPositivesUpAndNegativesDown(string metric)
    {
        var rng = new Random(5);
        double[] s = GradientCheck.RandomLogits(rng, 30, 1, 0.05);
        double[] y = GradientCheck.RandomBinaryTargets(rng, 30, soft: false);
        var g = new double[30];
        var l = new double[30];
        double value = ((IBinaryLoss)LossRegistry.Create($"anyloss(metric={metric})")).Compute<double>(s, y, l, g);
        Assert.InRange(value, 0, 1);
        for (int i = 0; i < 30; i++)
        {
            if (y[i] == 1) Assert.True(g[i] <= 0, $"positive {i}: {g[i]}");
            else Assert.True(g[i] >= 0, $"negative {i}: {g[i]}");
            Assert.Equal(value / 30, l[i], 1e-15);
        }
    }

    [Fact]
    public void AnyLossSoftCountsMatchTheirDefinition()
    {
        double[] s = [0.01, -0.02, 0.03, 0.005, -0.01];
        double[] t = [1, 0, 0.5, 0.25, 1];
        const double l = 20;
        double[] a = s.Select(v => 1 / (1 + Math.Exp(-l * (Sigmoid(v) - 0.5)))).ToArray();
        double tp = t.Zip(a, (x, y) => x * y).Sum(), fn = t.Zip(a, (x, y) => x * (1 - y)).Sum();
        double fp = t.Zip(a, (x, y) => (1 - x) * y).Sum(), tn = t.Zip(a, (x, y) => (1 - x) * (1 - y)).Sum();
        var loss = new AnyLoss(AnyLossMetric.F1, l);
        Assert.Equal(1 - 2 * tp / (2 * tp + fp + fn), loss.Compute<double>(s, t), 1e-14);
        Assert.Equal(1 - Math.Sqrt(tp / (tp + fn) * tn / (tn + fp)), new AnyLoss(AnyLossMetric.GMean, l).Compute<double>(s, t), 1e-14);
    }

    // ------------------------------------------------------------------------------------------------ ensloss

    private static (double[] Z, double[] T) Batch(int seed, int n = 64, double scale = 2)
    {
        var rng = new Random(seed);
        return (GradientCheck.RandomLogits(rng, n, 1, scale), GradientCheck.RandomBinaryTargets(rng, n, soft: false));
    }

    private static double[] Gradient(EnsLoss loss, double[] z, double[] t)
    {
        var g = new double[z.Length];
        loss.Compute<double>(z, t, default, g);
        return g;
    }

    [Fact]
    public void EnsLossIsReproducibleFromItsSeed()
    {
        var (z, t) = Batch(1);
        var a = new EnsLoss(seed: 42);
        var b = new EnsLoss(seed: 42);
        var c = new EnsLoss(seed: 43);
        for (int call = 0; call < 5; call++)
        {
            double[] ga = Gradient(a, z, t), gb = Gradient(b, z, t), gc = Gradient(c, z, t);
            Assert.Equal(ga, gb);
            Assert.NotEqual(ga, gc);
        }
        Assert.Equal(5, a.Calls);
        a.Reset();
        var replay = new EnsLoss(seed: 42);
        Assert.Equal(Gradient(replay, z, t), Gradient(a, z, t));
    }

    [Fact]
    public void EnsLossDrawsAnewEveryPeriodCalls()
    {
        var (z, t) = Batch(2);
        var loss = new EnsLoss(period: 3, seed: 7);
        var g = Enumerable.Range(0, 7).Select(_ => Gradient(loss, z, t)).ToArray();
        Assert.Equal(g[0], g[1]);
        Assert.Equal(g[0], g[2]);
        Assert.NotEqual(g[0], g[3]);
        Assert.Equal(g[3], g[4]);
        Assert.Equal(g[3], g[5]);
        Assert.NotEqual(g[3], g[6]);
        Assert.NotEqual(g[0], g[6]);

        // period = 1: every call draws.
        var every = new EnsLoss(seed: 7);
        Assert.NotEqual(Gradient(every, z, t), Gradient(every, z, t));
    }

    [Fact]
    public void WithinAPeriodDifferentBatchesGetTheSameDerivativeSequence()
    {
        // Margins in (−1, 0): no 1/m scaling, and the extra margin 0 is the largest, so it takes the largest g and
        // the batch gets the other B values in rank order: the same sorted sequence in both calls of the period.
        var rng = new Random(4);
        double[] t = Enumerable.Range(0, 50).Select(i => (double)(i % 2)).ToArray();
        double[] Margins() => t.Select(v => -(0.05 + 0.9 * rng.NextDouble()) * (2 * v - 1)).ToArray();
        var loss = new EnsLoss(period: 2, seed: 1);
        double[] g1 = loss.PeekDerivatives<double>(Margins(), t);
        loss.Compute<double>(new double[50], t);
        double[] g2 = loss.PeekDerivatives<double>(Margins(), t);
        Assert.Equal(g1.Order().ToArray(), g2.Order().ToArray());
        loss.Compute<double>(new double[50], t);
        Assert.NotEqual(g1.Order().ToArray(), loss.PeekDerivatives<double>(Margins(), t).Order().ToArray());
    }

    [Fact]
    public void EnsLossFollowsTheCatalogAlgorithm()
    {
        var (z, t) = Batch(3, n: 2000, scale: 3);
        var loss = new EnsLoss(seed: 5);
        double[] g = loss.PeekDerivatives<double>(z, t);
        double[] m = z.Select((s, i) => (2 * t[i] - 1) * s).ToArray();
        var l = new double[z.Length];
        var grad = new double[z.Length];
        double value = loss.Compute<double>(z, t, l, grad);
        Assert.Equal(1, loss.Calls);
        // Undo the 1/m scaling: the raw values are in [−1, 0], −1 where clamped, and non-decreasing in the margin.
        double[] raw = g.Select((v, i) => (v + 1e-6) * (m[i] > 1 ? m[i] : 1)).ToArray();
        Assert.All(raw, v => Assert.InRange(v, -1 - 1e-12, 1e-12));
        int[] order = Enumerable.Range(0, z.Length).OrderBy(i => m[i]).ToArray();
        for (int k = 1; k < order.Length; k++) Assert.True(raw[order[k]] >= raw[order[k - 1]] - 1e-15, $"rank {k}");
        // λ = 0: g = −exp(z) is clamped at −1 for z ≥ 0, half the draws.
        double clamped = raw.Count(v => Math.Abs(v + 1) < 1e-12) / (double)raw.Length;
        Assert.InRange(clamped, 0.46, 0.54);
        // Loss g·m, value mean(g·m), gradient g·y/B.
        for (int i = 0; i < z.Length; i++)
        {
            Assert.Equal(g[i] * m[i], l[i], 1e-15);
            Assert.Equal(g[i] * (2 * t[i] - 1) / z.Length, grad[i], 1e-18);
        }
        Assert.Equal(l.Average(), value, 1e-14);
    }

    [Fact]
    public void EnsLossBoxCoxShapesTheDraws()
    {
        Assert.Equal(Math.Exp(0.3), EnsLoss.BoxCoxInverse(0.3, 0), 1e-15);
        Assert.Equal(Math.Pow(1 + 0.5 * 0.3, 2), EnsLoss.BoxCoxInverse(0.3, 0.5), 1e-15);
        Assert.Equal(0, EnsLoss.BoxCoxInverse(-3, 0.5));
        Assert.Equal(1 / 0.7, EnsLoss.BoxCoxInverse(0.3, -1), 1e-15);
        Assert.Equal(double.PositiveInfinity, EnsLoss.BoxCoxInverse(2, -1));
        // λ = 1: g = −max(1 + z, 0) → clamped to −1 for z ≥ 0 (50%), exactly 0 for z ≤ −1 (15.9%).
        var (z, t) = Batch(9, n: 4000, scale: 0.01);
        double[] g = new EnsLoss(lambda: 1, seed: 2).PeekDerivatives<double>(z, t);
        Assert.InRange(g.Count(v => v == -1e-6) / 4000.0, 0.14, 0.18);
        Assert.InRange(g.Count(v => v == -1 - 1e-6) / 4000.0, 0.47, 0.53);
    }

    [Fact]
    public void EnsLossReductionsRelate()
    {
        var (z, t) = Batch(6, n: 30);
        var mean = new EnsLoss(seed: 3);
        var sum = new EnsLoss(seed: 3, reduction: Reduction.Sum);
        var none = new EnsLoss(seed: 3, reduction: Reduction.None);
        var gm = new double[30]; var gs = new double[30]; var gn = new double[30];
        double vm = mean.Compute<double>(z, t, default, gm), vs = sum.Compute<double>(z, t, default, gs), vn = none.Compute<double>(z, t, default, gn);
        Assert.Equal(vs, vn);
        Assert.Equal(vs / 30, vm, 1e-14);
        Assert.Equal(gs, gn);
        for (int i = 0; i < 30; i++) Assert.Equal(gs[i] / 30, gm[i], 1e-17);
    }
}
