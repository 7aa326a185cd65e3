using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.Binary;

/// <summary>The element-wise losses against slow, obviously-correct scalar references (value per element, and the
/// gradient against a high-precision central difference of the reference), on batch lengths that exercise the vector
/// body and the padded tail.</summary>
public class ReferenceTests
{
    /// <summary>Straightforward scalar definitions, for moderate logits.</summary>
    private static readonly Dictionary<string, Func<double, double, double>> Reference = new()
    {
        ["hinge"] = (s, t) => Margin(s, t, m => Math.Max(0, 1 - m)),
        ["sq_hinge"] = (s, t) => Margin(s, t, m => Math.Pow(Math.Max(0, 1 - m), 2)),
        ["smoothed_hinge"] = (s, t) => Margin(s, t, m => MlNetSmoothedHinge(m, 1)),
        ["smoothed_hinge(h=0.4)"] = (s, t) => Margin(s, t, m => MlNetSmoothedHinge(m, 0.4)),
        ["smoothed_hinge(h=0)"] = (s, t) => Margin(s, t, m => Math.Max(0, 1 - m)),
        ["modified_huber"] = (s, t) => Margin(s, t, m => m >= -1 ? Math.Pow(Math.Max(0, 1 - m), 2) : -4 * m),
        ["exponential"] = (s, t) => Margin(s, t, m => Math.Exp(-m)),
        ["exponential(beta=2.5)"] = (s, t) => Margin(s, t, m => Math.Exp(-2.5 * m)),
        ["logistic"] = (s, t) => Margin(s, t, m => Math.Log(1 + Math.Exp(-m))),
        ["bce"] = (s, t) => -(t * Math.Log(Sigmoid(s)) + (1 - t) * Math.Log(1 - Sigmoid(s))),
        ["sigmoid_focal"] = (s, t) => Focal(s, t, 2, 0.25),
        ["sigmoid_focal(gamma=0.7, alpha=-1)"] = (s, t) => Focal(s, t, 0.7, -1),
        ["asl"] = (s, t) => Asl(s, t, 0, 4, 0.05),
        ["asl(gamma_pos=1.5, gamma_neg=2, clip=0.2)"] = (s, t) => Asl(s, t, 1.5, 2, 0.2),
        ["asl(clip=0)"] = (s, t) => Asl(s, t, 0, 4, 0),
    };

    public static TheoryData<string> Names => new(Reference.Keys);

    private static double Sigmoid(double s) => 1 / (1 + Math.Exp(-s));
    private static double Margin(double s, double t, Func<double, double> phi) => t * phi(s) + (1 - t) * phi(-s);

    /// <summary>ML.NET's SmoothedHingeLoss.Loss, transcribed: u = 1 − y·s.</summary>
    private static double MlNetSmoothedHinge(double m, double h)
    {
        double u = 1 - m;
        if (u < 0) return 0;
        if (u < h) return u * u / (2 * h);
        return u - h / 2;
    }

    private static double Focal(double s, double t, double gamma, double alpha)
    {
        double p = Sigmoid(s);
        double ce = -(t * Math.Log(p) + (1 - t) * Math.Log(1 - p));
        double pt = p * t + (1 - p) * (1 - t);
        double loss = ce * Math.Pow(1 - pt, gamma);
        return alpha >= 0 ? (alpha * t + (1 - alpha) * (1 - t)) * loss : loss;
    }

    private static double Asl(double s, double t, double gp, double gn, double clip)
    {
        double p = Sigmoid(s);
        double pm = Math.Max(p - clip, 0);
        double lp = -Math.Pow(1 - p, gp) * Math.Log(p);
        double ln = pm == 0 ? 0 : -Math.Pow(pm, gn) * Math.Log(1 - pm);
        return t * lp + (1 - t) * ln;
    }

    [Theory, MemberData(nameof(Names))]
    public void MatchesScalarReferenceOnEveryLength(string spec)
    {
        string withNone = spec.Contains('(') ? spec.Insert(spec.Length - 1, ", reduction=none") : spec + "(reduction=none)";
        var loss = (IBinaryLoss)LossRegistry.Create(withNone);
        var rng = new Random(spec.Length * 31 + 7);
        Func<double, double, double> f = Reference[spec];
        foreach (int n in new[] { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100 })
        {
            double[] z = Enumerable.Range(0, n).Select(_ => 6 * (rng.NextDouble() - 0.5)).ToArray();
            double[] t = Enumerable.Range(0, n).Select(i => i % 3 == 2 ? Math.Round(rng.NextDouble(), 3) : rng.Next(2)).ToArray();
            var l = new double[n];
            var g = new double[n];
            double value = loss.Compute<double>(z, t, l, g);
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                double expected = f(z[i], t[i]);
                sum += expected;
                Assert.True(Math.Abs(expected - l[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"n={n} ℓ[{i}]({z[i]}, {t[i]}): {l[i]} vs {expected}");
                const double h = 1e-6;
                double numeric = (f(z[i] + h, t[i]) - f(z[i] - h, t[i])) / (2 * h);
                Assert.True(Math.Abs(numeric - g[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"n={n} g[{i}]({z[i]}, {t[i]}): {g[i]} vs {numeric}");
            }
            Assert.Equal(sum, value, 1e-10);
        }
    }

    [Fact]
    public void LogisticEqualsBceForEveryTarget()
    {
        double[] z = [-30, -3, -0.5, 0, 0.2, 4, 50, 1e30, -1e30];
        double[] t = [0, 0.25, 1, 0.5, 0.9, 0, 1, 0.3, 0.7];
        var l1 = new double[z.Length];
        var l2 = new double[z.Length];
        var g1 = new double[z.Length];
        var g2 = new double[z.Length];
        double v1 = new LogisticLoss().Compute<double>(z, t, l1, g1);
        double v2 = new BinaryCrossEntropyLoss().Compute<double>(z, t, l2, g2);
        Assert.Equal(v2, v1);
        Assert.Equal(l2, l1);
        Assert.Equal(g2, g1);
    }

    [Fact]
    public void SmoothedHingeWithZeroSmoothingIsHinge()
    {
        double[] z = [-3, -1, -0.5, 0, 0.5, 0.999, 1.001, 2, 5];
        double[] t = [1, 0, 1, 0.3, 1, 1, 0, 1, 0];
        var l1 = new double[z.Length]; var l2 = new double[z.Length];
        var g1 = new double[z.Length]; var g2 = new double[z.Length];
        new SmoothedHingeLoss(h: 0).Compute<double>(z, t, l1, g1);
        new HingeLoss().Compute<double>(z, t, l2, g2);
        Assert.Equal(l2, l1);
        Assert.Equal(g2, g1);
    }

    [Fact]
    public void FocalWithGammaZeroIsAlphaWeightedBce()
    {
        double[] z = [-8, -1, 0, 0.3, 2, 9];
        double[] t = [1, 0, 0.5, 1, 0, 0.2];
        var l1 = new double[z.Length]; var l2 = new double[z.Length];
        new SigmoidFocalLoss(gamma: 0, alpha: -1).Compute<double>(z, t, l1);
        new BinaryCrossEntropyLoss().Compute<double>(z, t, l2);
        for (int i = 0; i < z.Length; i++) Assert.Equal(l2[i], l1[i], 1e-14);
    }

    [Fact]
    public void AslWithoutFocusingOrShiftIsBce()
    {
        double[] z = [-8, -1, 0, 0.3, 2, 9, 40, -40];
        double[] t = [1, 0, 0.5, 1, 0, 0.2, 1, 1];
        var l1 = new double[z.Length]; var l2 = new double[z.Length];
        var g1 = new double[z.Length]; var g2 = new double[z.Length];
        new AsymmetricLoss(0, 0, 0).Compute<double>(z, t, l1, g1);
        new BinaryCrossEntropyLoss().Compute<double>(z, t, l2, g2);
        for (int i = 0; i < z.Length; i++)
        {
            Assert.Equal(l2[i], l1[i], 1e-13);
            Assert.Equal(g2[i], g1[i], 1e-15);
        }
    }

    /// <summary>Unlike the reference code's eps = 1e-8 clamp (which caps a positive's loss at 18.42 and zeroes its
    /// gradient), log p is exact: a positive at s = −40 costs 40 and still pulls with gradient −1.</summary>
    [Fact]
    public void AslUsesExactLogsFarOutside()
    {
        var loss = new AsymmetricLoss(reduction: Reduction.None);
        var l = new double[2];
        var g = new double[2];
        loss.Compute<double>([-40.0, 60.0], [1.0, 0.0], l, g);
        Assert.Equal(40, l[0], 1e-12);
        Assert.Equal(-1, g[0], 1e-12);
        // A confident negative beyond the clip costs −(1 − clip)^4·log(clip) ≈ 2.44 (p_m = 0.95).
        Assert.Equal(-Math.Pow(0.95, 4) * Math.Log(0.05), l[1], 1e-12);
        Assert.True(g[1] > 0 && g[1] < 1e-20);
    }

    [Fact]
    public void PosWeightAndWeightFollowColumns()
    {
        // 2 rows × 3 columns; columns get p = [2, 1, 0.5], w = [1, 3, 0.5].
        var loss = new BinaryCrossEntropyLoss([2, 1, 0.5], [1, 3, 0.5], Reduction.None);
        double[] z = [0.5, -1, 2, 3, 0, -2];
        double[] t = [1, 0, 1, 0.5, 1, 0];
        double[] p = [2, 1, 0.5], w = [1, 3, 0.5];
        var l = new double[6];
        loss.Compute<double>(z, t, l);
        for (int i = 0; i < 6; i++)
        {
            int c = i % 3;
            double expected = -w[c] * (p[c] * t[i] * Math.Log(Sigmoid(z[i])) + (1 - t[i]) * Math.Log(1 - Sigmoid(z[i])));
            Assert.Equal(expected, l[i], 1e-14);
        }
    }

    [Fact]
    public void ScalarPosWeightBroadcastsToAnyShape()
    {
        var loss = new BinaryCrossEntropyLoss(posWeight: [3]);
        Assert.Null(loss.FixedColumnCount);
        double[] z = [0.1, -0.2, 0.3, 1, 2, -3, 0.5];
        double[] t = [1, 0, 1, 1, 0, 1, 0.5];
        double expected = z.Select((s, i) => -(3 * t[i] * Math.Log(Sigmoid(s)) + (1 - t[i]) * Math.Log(1 - Sigmoid(s)))).Average();
        Assert.Equal(expected, loss.Compute<double>(z, t), 1e-14);
    }

    [Fact]
    public void ReductionsRelate()
    {
        double[] z = [0.1, -0.2, 0.3, 1, 2, -3, 0.5, 4, -4];
        double[] t = [1, 0, 1, 1, 0, 1, 0.5, 0, 0.25];
        foreach (string name in new[] { "bce", "sigmoid_focal", "hinge", "smoothed_hinge", "modified_huber", "exponential", "logistic", "asl", "sq_hinge" })
        {
            var gm = new double[9]; var gs = new double[9]; var gn = new double[9];
            var lm = new double[9]; var ln = new double[9];
            double mean = ((IBinaryLoss)LossRegistry.Create(name)).Compute<double>(z, t, lm, gm);
            double sum = ((IBinaryLoss)LossRegistry.Create(name + "(reduction=sum)")).Compute<double>(z, t, default, gs);
            double none = ((IBinaryLoss)LossRegistry.Create(name + "(reduction=none)")).Compute<double>(z, t, ln, gn);
            Assert.Equal(sum, none);
            Assert.Equal(lm, ln);
            Assert.Equal(sum / 9, mean, 1e-14);
            Assert.Equal(gs, gn);
            for (int i = 0; i < 9; i++) Assert.Equal(gs[i] / 9, gm[i], 1e-15);
        }
    }
}
