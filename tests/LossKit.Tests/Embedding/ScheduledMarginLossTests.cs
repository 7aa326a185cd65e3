using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Tests.Checking;

namespace LossKit.Tests.Embedding;

/// <summary>
/// SphereFace and ElasticFace against a slow reference that takes θ = arccos(c) and writes the label logit as the papers
/// do (ψ(θ) = (−1)^k·cos(mθ) − 2k, cos(θ + m_i), cos θ − m_i) — value, and gradients of embeddings and proxies by central
/// differences of the reference with the call's λ or margins — and the claims of their cards: ψ monotone and continuous,
/// m = 1 is NormFace, finite at cos θ = ±1, λ's schedule, margins seeded, reproducible and redrawn per call.
/// </summary>
public class ScheduledMarginLossTests
{
    private static (double[] X, int[] Y, double[] W) Batch(int seed, int n = 10, int d = 4, int classes = 3)
    {
        var random = new Random(seed);
        double[] x = new double[n * d], w = new double[classes * d];
        for (int i = 0; i < x.Length; i++) x[i] = 2 * random.NextDouble() - 1;
        for (int i = 0; i < w.Length; i++) w[i] = 2 * random.NextDouble() - 1;
        var y = new int[n];
        for (int i = 0; i < n; i++) y[i] = i % classes;
        return (x, y, w);
    }

    /// <summary>ψ(θ) of the paper, from θ itself.</summary>
    private static double PaperPsi(int m, double theta)
    {
        int k = Math.Min((int)Math.Floor(theta * m / Math.PI), m - 1);
        return (k % 2 == 0 ? 1 : -1) * Math.Cos(m * theta) - 2 * k;
    }

    /// <summary>The label column's logit before the scale, for row i at cosine c, as the papers write it.</summary>
    private static Func<int, double, double> PaperLabel(ScheduledProxyLoss loss, int rows)
    {
        double[] values = loss.ValuesOf(0, rows);
        return loss switch
        {
            SphereFaceLoss sf => (_, c) => (values[0] * c + PaperPsi(sf.MarginValue, Math.Acos(c))) / (1 + values[0]),
            ElasticFaceLoss { Angular: true } => (i, c) => Math.Cos(Math.Acos(c) + values[i]),
            _ => (i, c) => c - values[i],
        };
    }

    /// <summary>Cross-entropy over s·cos θ with the label column replaced, rows and proxies normalised by explicit loops.</summary>
    private static double Reference(Func<int, double, double> label, double s, bool mean, double[] x, int d, int[] y, double[] w)
    {
        int n = y.Length, k = w.Length / d;
        double Norm(double[] a, int r) => Math.Sqrt(Enumerable.Range(0, d).Sum(j => a[r * d + j] * a[r * d + j]));
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var z = new double[k];
            for (int c = 0; c < k; c++)
            {
                double cos = Enumerable.Range(0, d).Sum(j => x[i * d + j] * w[c * d + j]) / (Norm(x, i) * Norm(w, c));
                z[c] = s * (c == y[i] ? label(i, Math.Clamp(cos, -1, 1)) : cos);
            }
            total += Math.Log(z.Sum(Math.Exp)) - z[y[i]];
        }
        return mean ? total / n : total;
    }

    public static TheoryData<string> Specs => new(
    [
        "sphereface", "sphereface(s=8, m=2)", "sphereface(s=4, m=3, lambda_base=0, lambda_min=0)", "sphereface(s=16, m=1)",
        "sphereface(s=6, lambda_gamma=0, lambda_base=7, reduction=sum)", "sphereface(s=5, m=8, lambda_base=0, lambda_min=0.5)",
        "elasticface_arc", "elasticface_arc(s=8, m=0.3, sigma=0.2, seed=5)", "elasticface_arc(s=4, m=1.2, sigma=0.4, reduction=sum)",
        "elasticface_cos", "elasticface_cos(s=8, m=0.2, sigma=0.3, seed=11)", "elasticface_cos(s=2, sigma=0, reduction=sum)",
    ]);

    [Theory]
    [MemberData(nameof(Specs))]
    public void Value_and_gradients_are_the_reference_with_the_calls_values(string spec)
    {
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var loss = (ScheduledProxyLoss)LossRegistry.Create(spec);
            var (x, y, w) = Batch(seed);
            const int d = 4;
            var label = PaperLabel(loss, y.Length);
            bool mean = loss.Reduction == Reduction.Mean;
            double[] unreduced = new double[y.Length], gx = new double[x.Length], gw = new double[w.Length];
            double value = loss.Compute<double>(x, d, y, w, unreduced, gx, gw);
            Assert.Equal(1, loss.Calls);
            double expected = Reference(label, loss.ScaleValue, mean, x, d, y, w);
            Assert.True(Math.Abs(value - expected) <= 1e-10 * Math.Max(1, Math.Abs(expected)), $"{spec}, seed {seed}: {value} vs reference {expected}");
            Assert.Equal(mean ? unreduced.Average() : unreduced.Sum(), value, 1e-12);
            Assert.True(TestChecks.NormError(gx, EmbeddingReference.CentralDifferences(v => Reference(label, loss.ScaleValue, mean, v, d, y, w), x)) <= 1e-6, $"{spec}, seed {seed}: embeddings' gradient");
            Assert.True(TestChecks.NormError(gw, EmbeddingReference.CentralDifferences(v => Reference(label, loss.ScaleValue, mean, x, d, y, v), w)) <= 1e-6, $"{spec}, seed {seed}: proxies' gradient");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void Psi_is_the_papers_monotone_continuous_and_its_slope_is_the_derivative(int m)
    {
        var loss = new SphereFaceLoss(m: m);
        double previous = double.PositiveInfinity;
        for (int step = 0; step <= 2000; step++)
        {
            double theta = Math.PI * step / 2000, c = Math.Cos(theta);
            var (psi, slope) = loss.Psi(c);
            Assert.Equal(PaperPsi(m, Math.Acos(c)), psi, 1e-9);
            Assert.True(psi <= previous + 1e-12, $"m = {m}: ψ rises at θ = {theta}");
            previous = psi;
            if (c is > -0.999 and < 0.999)
            {
                // ψ is C¹ (slope 0 on both sides of a piece boundary) but ψ'' jumps there: central differences err by up to h·m⁴.
                const double h = 1e-7;
                Assert.Equal((loss.Psi(c + h).Psi - loss.Psi(c - h).Psi) / (2 * h), slope, 1e-6 * Math.Pow(m, 4));
            }
        }
        Assert.Equal(1, loss.Psi(1).Psi, 12);
        Assert.Equal(1 - 2 * m, loss.Psi(-1).Psi, 12);
        // Finite slopes at cos θ = ±1: m² at both ends (the Chebyshev derivative), where d/dc of arccos is infinite.
        Assert.Equal(m * m, loss.Psi(1).Slope, 9);
        Assert.Equal(m * m, loss.Psi(-1).Slope, 9);
    }

    [Fact]
    public void SphereFace_with_m_1_is_NormFace_for_any_lambda()
    {
        var (x, y, w) = Batch(4);
        double[] gx1 = new double[x.Length], gw1 = new double[w.Length], gx2 = new double[x.Length], gw2 = new double[w.Length];
        double a = new SphereFaceLoss(s: 16, m: 1).Compute<double>(x, 4, y, w, default, gx1, gw1);
        double b = new NormFaceLoss(s: 16).Compute<double>(x, 4, y, w, default, gx2, gw2);
        Assert.Equal(b, a, 12);
        Assert.True(TestChecks.NormError(gx1, gx2) <= 1e-12 && TestChecks.NormError(gw1, gw2) <= 1e-12);
    }

    [Theory]
    [InlineData("sphereface(s=8)")]
    [InlineData("sphereface(s=8, m=3, lambda_base=0, lambda_min=0)")]
    [InlineData("elasticface_arc(s=8, sigma=0.1)")]
    public void Finite_at_cos_theta_plus_and_minus_one_exactly(string spec)
    {
        var loss = (ScheduledProxyLoss)LossRegistry.Create(spec);
        // Row 0 is proxy 0 (cos θ = 1), row 1 is −proxy 1 (cos θ = −1), row 2 a hair away from proxy 0.
        double[] x = [2, 0, 0, -3, 1, 1e-9], w = [1, 0, 0, 1];
        int[] y = [0, 1, 0];
        var label = PaperLabel(loss, 3);
        double[] unreduced = new double[3], gx = new double[6], gw = new double[4];
        double value = loss.Compute<double>(x, 2, y, w, unreduced, gx, gw);
        Assert.Equal(Reference(label, loss.ScaleValue, true, x, 2, y, w), value, 10);
        Assert.All(unreduced.Concat(gx).Concat(gw), v => Assert.True(double.IsFinite(v), $"{spec}: {v}"));
        // At cos θ = 1 the label column moves along x̂ only (its direction ŵ − c·x̂ is 0): row 0's first component is 0.
        Assert.Equal(0, gx[0], 15);
    }

    [Fact]
    public void SphereFace_lambda_anneals_with_the_calls_as_the_Caffe_layer()
    {
        var loss = new SphereFaceLoss();
        Assert.Equal(1000 / 1.12, loss.LambdaAt(1), 12);
        Assert.Equal(5, loss.LambdaAt(10_000_000));
        Assert.Equal(loss.LambdaAt(1), loss.ValuesOf(0, 7)[0]);
        var (x, y, w) = Batch(6);
        double first = loss.Compute<double>(x, 4, y, w);
        double second = loss.Compute<double>(x, 4, y, w);
        Assert.Equal(2, loss.Calls);
        Assert.NotEqual(first, second);   // λ fell from 893 to 806: more of ψ in the label logit
        loss.Reset();
        Assert.Equal(first, loss.Compute<double>(x, 4, y, w));
        var fixedLambda = new SphereFaceLoss(lambdaBase: 7, lambdaGamma: 0);
        Assert.Equal(7, fixedLambda.ValuesOf(0, 1)[0]);
        Assert.Equal(7, fixedLambda.ValuesOf(123_456, 1)[0]);
    }

    [Fact]
    public void ElasticFace_margins_are_seeded_reproducible_and_redrawn_every_call()
    {
        var (x, y, w) = Batch(7);
        var a = new ElasticFaceLoss(angular: true, s: 8, sigma: 0.3, seed: 3);
        var b = new ElasticFaceLoss(angular: true, s: 8, sigma: 0.3, seed: 3);
        var other = new ElasticFaceLoss(angular: true, s: 8, sigma: 0.3, seed: 4);
        double[] fromA = [.. Enumerable.Range(0, 3).Select(_ => a.Compute<double>(x, 4, y, w))];
        double[] fromB = [.. Enumerable.Range(0, 3).Select(_ => b.Compute<double>(x, 4, y, w))];
        Assert.Equal(fromA, fromB);                                  // same seed, same call sequence: same margins, same bits
        Assert.NotEqual(fromA[0], fromA[1]);                         // redrawn per call (per batch), as torch.normal in every forward
        Assert.NotEqual(fromA[0], other.Compute<double>(x, 4, y, w));
        a.Reset(1);
        Assert.Equal(fromA[1], a.Compute<double>(x, 4, y, w));
        Assert.Equal(a.ValuesOf(5, 10), b.ValuesOf(5, 10));
        Assert.Equal(a.ValuesOf(5, 10)[..4], a.ValuesOf(5, 4));      // one per row, in row order

        double[] margins = new ElasticFaceLoss(angular: false, m: 0.35, sigma: 0.05).ValuesOf(0, 20_000);
        double mean = margins.Average(), sd = Math.Sqrt(margins.Sum(v => (v - mean) * (v - mean)) / (margins.Length - 1));
        Assert.Equal(0.35, mean, 0.05 * 4 / Math.Sqrt(margins.Length));
        Assert.Equal(0.05, sd, 0.002);
    }

    [Fact]
    public void ElasticFace_with_sigma_zero_is_CosFace_and_ArcFace()
    {
        var (x, y, w) = Batch(8);
        for (int i = 0; i < y.Length; i++)   // each row near its proxy, so θ + m stays below π (where arcface continues linearly)
            for (int j = 0; j < 4; j++) x[i * 4 + j] = w[y[i] * 4 + j] + 0.3 * x[i * 4 + j];
        double[] g1 = new double[x.Length], g2 = new double[x.Length];
        Assert.Equal(new CosFaceLoss(s: 8, m: 0.3).Compute<double>(x, 4, y, w, default, g2),
            new ElasticFaceLoss(false, s: 8, m: 0.3, sigma: 0).Compute<double>(x, 4, y, w, default, g1), 12);
        Assert.True(TestChecks.NormError(g1, g2) <= 1e-12);
        Assert.Equal(new ArcFaceLoss(s: 8, m: 0.3).Compute<double>(x, 4, y, w, default, g2),
            new ElasticFaceLoss(true, s: 8, m: 0.3, sigma: 0).Compute<double>(x, 4, y, w, default, g1), 12);
        Assert.True(TestChecks.NormError(g1, g2) <= 1e-12);
    }

    [Theory]
    [InlineData("sphereface(m=0)", "m")]
    [InlineData("sphereface(m=9)", "m")]
    [InlineData("sphereface(m=2.5)", "m")]
    [InlineData("sphereface(lambda_min=-1)", "lambda_min")]
    [InlineData("elasticface_arc(sigma=-0.1)", "sigma")]
    [InlineData("elasticface_arc(m=2)", "m")]
    [InlineData("elasticface_cos(s=0)", "s")]
    public void Bad_parameters_are_errors_naming_them(string spec, string parameter)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec));
        Assert.Equal(parameter, e.ParamName);
    }

    [Fact]
    public void A_label_without_a_proxy_is_an_error_naming_the_row_and_does_not_count_a_call()
    {
        var loss = new ElasticFaceLoss(angular: true);
        var e = Assert.Throws<RowException>(() => loss.Compute<double>([1, 0, 0, 1], 2, [0, 2], [1, 0, 0, 1]));
        Assert.Equal(("labels", 1), (e.ParamName, e.Row));
        Assert.Contains("labels[1] = 2", e.Message);
        Assert.Equal(0, loss.Calls);
    }

    [Theory]
    [InlineData("sphereface(s=8, m=2, lambda_base=0, lambda_min=0)")]
    [InlineData("sphereface(m=3, lambda_gamma=0, lambda_base=1, reduction=none)")]
    [InlineData("elasticface_arc(sigma=0.3, seed=7, reduction=sum)")]
    [InlineData("elasticface_cos(m=0.5, sigma=0.2, reduction=none)")]
    public void Option_variants_conform(string spec) => TestChecks.AssertConforms(LossRegistry.Create(spec));
}
