using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Tests.Checking;

namespace LossKit.Tests.Embedding;

/// <summary>PyTorch's pair and triplet criteria, and the proxy losses (their logits and cross-entropy written in torch),
/// against Debian's PyTorch (<c>tools/make_fixtures_embedding.py</c>): every reduction, float64 and float32, through the
/// kind (the path of <c>losskit eval</c>).</summary>
public class PairCriteriaTests
{
    private sealed record Tensor(int[] shape, double[] values);

    private sealed record Case(string name, string spec, string dtype, Dictionary<string, Tensor> inputs, double loss, double[] unreduced,
        Dictionary<string, Tensor> grads);

    private sealed record FixtureFile(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<FixtureFile>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "embedding.json")))!.cases);

    public static TheoryData<string> Names() => new(s_cases.Value.Select(c => c.name));

    [Fact]
    public void Fixtures_cover_every_criterion_and_reduction()
    {
        foreach (string loss in new[] { "margin_ranking", "cosine_embedding", "hinge_embedding", "triplet_margin", "normface", "cosface", "arcface", "proxy_nca" })
            foreach (string reduction in new[] { "mean", "sum", "none" })
                Assert.Contains(s_cases.Value, c => c.spec.StartsWith(loss, StringComparison.Ordinal)
                    && (reduction == "mean" ? !c.spec.Contains("reduction=", StringComparison.Ordinal) : c.spec.Contains("reduction=" + reduction, StringComparison.Ordinal)));
        Assert.Contains(s_cases.Value, c => c.spec.Contains("swap=true", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.spec.Contains("easy_margin=true", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.spec.StartsWith("proxy_anchor", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.dtype == "float32");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_PyTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        ILoss loss = LossRegistry.Create(c.spec);
        var inputs = new LossInputs();
        foreach (var (key, t) in c.inputs) inputs[key] = new LossTensor(t.values, t.shape);
        bool single = c.dtype == "float32";
        LossOutputs o = single ? loss.Kind.Evaluate<float>(loss, inputs) : loss.Kind.Evaluate<double>(loss, inputs);
        double tolerance = single ? 1e-5 : 1e-12;
        Assert.True(Math.Abs(o.Loss - c.loss) <= tolerance * Math.Max(1, Math.Abs(c.loss)), $"{c.spec}: loss {o.Loss} vs {c.loss}");
        Assert.True(TestChecks.NormError(o.Unreduced.Values, c.unreduced) <= tolerance, $"{c.spec}: unreduced off by {TestChecks.NormError(o.Unreduced.Values, c.unreduced)}");
        Assert.Equal(c.grads.Keys.Order(), o.Gradients.Keys.Order());
        foreach (var (key, g) in c.grads)
        {
            Assert.Equal(g.shape, o.Gradients[key].Shape);
            double error = TestChecks.NormError(o.Gradients[key].Values, g.values);
            Assert.True(error <= tolerance, $"{c.spec}: grad_{key} off by {error}");
        }
    }

    /// <summary>The triplet loss's scratch comes from the shared array pool with old values: a NaN left there by an
    /// earlier user (here planted in this thread's pool for the scratch's size) must not reach the gradient through the
    /// swap term's zero share (0·NaN is NaN) when swap is off.</summary>
    [Fact]
    public void Triplet_margin_ignores_old_values_in_its_pooled_scratch()
    {
        const int dim = 7;
        double[] anchor = [.. Enumerable.Range(0, 2 * dim).Select(i => 0.1 * i)];
        double[] positive = [.. anchor.Select(v => v + 0.3)], negative = [.. anchor.Select(v => v - 0.2)];
        var loss = new TripletMarginLoss(margin: 2, p: 1);
        double[] clean = new double[anchor.Length];
        loss.Compute<double>(anchor, positive, negative, dim, gradPositive: clean);
        double[] planted = System.Buffers.ArrayPool<double>.Shared.Rent(3 * dim);
        planted.AsSpan().Fill(double.NaN);
        System.Buffers.ArrayPool<double>.Shared.Return(planted);
        double[] gradient = new double[anchor.Length];
        loss.Compute<double>(anchor, positive, negative, dim, gradPositive: gradient);
        Assert.Equal(clean, gradient);
    }

    [Fact]
    public void A_target_that_is_not_plus_or_minus_one_is_an_error_naming_the_pair()
    {
        var e = Assert.Throws<RowException>(() => new MarginRankingLoss().Compute<double>([1, 2], [0, 0], [1, 0]));
        Assert.Equal(("target", 1), (e.ParamName, e.Row));
        Assert.Throws<RowException>(() => new CosineEmbeddingLoss().Compute<double>([1, 0], [0, 1], 2, [2]));
        Assert.Throws<RowException>(() => new HingeEmbeddingLoss().Compute<double>([1], [double.NaN]));
    }

    [Fact]
    public void Cosine_embedding_of_a_zero_row_is_finite_and_its_gradient_is_the_other_row_over_the_epsilon_norm()
    {
        double[] g1 = new double[2], g2 = new double[2], unreduced = new double[1];
        double value = new CosineEmbeddingLoss().Compute<double>([0, 0], [3, 4], 2, [1], unreduced, g1, g2);
        Assert.Equal(1, value);
        double denominator = Math.Sqrt(CosineEmbeddingLoss.Epsilon * (25 + CosineEmbeddingLoss.Epsilon));
        Assert.Equal(-3 / denominator, g1[0], 6);
        Assert.Equal([0, 0], g2);
    }

    [Fact]
    public void Triplet_margin_distances_neither_overflow_nor_underflow()
    {
        foreach (double scale in new[] { 1e-200, 1e200 })
        {
            var loss = new TripletMarginLoss(margin: 0, eps: 0, p: 3);
            double[] ga = new double[2];
            double value = loss.Compute<double>([0, 0], [3 * scale, 4 * scale], [6 * scale, 8 * scale], 2, gradAnchor: ga);
            Assert.Equal(0, value);
            // a = 0, p = (6, 8)·s, n = (4, −3)·s: d(a, p) = 10s, d(a, n) = 5s; ∂/∂a = (a − p)/10s − (a − n)/5s = (0.2, −1.4).
            value = new TripletMarginLoss(margin: 0, eps: 0, p: 2).Compute<double>([0, 0], [6 * scale, 8 * scale], [4 * scale, -3 * scale], 2, gradAnchor: ga);
            Assert.Equal(5 * scale, value, 1e-12 * scale);
            Assert.Equal(0.2, ga[0], 12);
            Assert.Equal(-1.4, ga[1], 12);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ArcFace_is_finite_at_cos_theta_plus_and_minus_one_exactly(bool easyMargin)
    {
        var loss = new ArcFaceLoss(s: 8, m: 0.5, easyMargin: easyMargin);
        // Row 0 is proxy 0 (cos θ = 1), row 1 is −proxy 1 (cos θ = −1), row 2 is a hair away from proxy 0.
        double[] x = [2, 0, 0, -3, 1, 1e-9], w = [1, 0, 0, 1];
        double[] unreduced = new double[3], gx = new double[6], gw = new double[4];
        double value = loss.Compute<double>(x, 2, [0, 1, 0], w, unreduced, gx, gw);
        Assert.True(double.IsFinite(value));
        Assert.All(unreduced.Concat(gx).Concat(gw), v => Assert.True(double.IsFinite(v), $"{v}"));
        // At cos θ = 1 the label column's slope is projected out: row 0's gradient is the other column's alone,
        // (1/3)·s·p₁·(0, 1)/‖x‖ with p₁ = softmax of (s·cos(m), 0).
        double p1 = 1 / (1 + Math.Exp(8 * Math.Cos(0.5)));
        Assert.Equal(0, gx[0], 15);
        Assert.Equal(8 * p1 / 3 / 2, gx[1], 12);
        // A hair away, the gradient stays bounded by s·(cos m + sin m + 1)/‖x‖ (over the mean's 3 rows).
        Assert.True(Math.Abs(gx[4]) + Math.Abs(gx[5]) <= 8 * (Math.Cos(0.5) + Math.Sin(0.5) + 1) / 3 * 2);
    }
}
