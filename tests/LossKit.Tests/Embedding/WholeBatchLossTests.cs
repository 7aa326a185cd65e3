using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Tests.Checking;

namespace LossKit.Tests.Embedding;

/// <summary>
/// proto_triplet, ge2e and align_uniform against slow references written out from their papers (prototypes and
/// centroids as explicit lists of rows, every pair enumerated) — value, the rows' shares adding up to it, and the
/// gradient by central differences of the reference — and the identities their cards claim, extreme inputs, batches
/// with nothing to compare, and bad parameters.
/// </summary>
public class WholeBatchLossTests
{
    /// <summary>n rows of d values in [−1, 1]; labels i mod classes, and the last row alone in a class of its own.</summary>
    private static (double[] X, int[] Y) Batch(int seed, int n = 11, int d = 4, int classes = 3)
    {
        var random = new Random(seed);
        var x = new double[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = 2 * random.NextDouble() - 1;
        var y = new int[n];
        for (int i = 0; i < n; i++) y[i] = i % classes;
        y[n - 1] = 7;
        return (x, y);
    }

    private static double[] Row(double[] x, int d, int i) => x.Skip(i * d).Take(d).ToArray();

    private static double[] Mean(IEnumerable<double[]> rows)
    {
        var list = rows.ToList();
        return Enumerable.Range(0, list[0].Length).Select(j => list.Average(r => r[j])).ToArray();
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (p, q) => p * q).Sum();

    private static double Squared(double[] a, double[] b) => a.Zip(b, (p, q) => (p - q) * (p - q)).Sum();

    private static double[] Unit(double[] a)
    {
        double norm = Math.Sqrt(Dot(a, a));
        return a.Select(v => v / Math.Max(norm, 1e-12)).ToArray();
    }

    /// <summary>The papers' formulas, one list at a time.</summary>
    private static double Reference(EmbeddingLoss loss, double[] x, int d, int[] y)
    {
        int n = y.Length;
        var rows = Enumerable.Range(0, n).Select(i => Row(x, d, i)).ToArray();
        var classes = y.Distinct().ToArray();
        switch (loss)
        {
            case ProtoTripletLoss pt:
            {
                // SuSana's proto_triplet_loss: own prototype (without the query) against the nearest other prototype.
                double D(double[] a, double[] b) => Math.Sqrt(Squared(a, b) + 1e-6);
                var losses = new List<double>();
                for (int q = 0; q < n; q++)
                {
                    var support = Enumerable.Range(0, n).Where(j => j != q && y[j] == y[q]).Select(j => rows[j]).ToList();
                    if (support.Count == 0 || classes.Length < 2) continue;
                    double nearest = classes.Where(k => k != y[q]).Min(k => D(rows[q], Mean(Enumerable.Range(0, n).Where(j => y[j] == k).Select(j => rows[j]))));
                    losses.Add(Math.Max(D(rows[q], Mean(support)) - nearest + pt.MarginValue, 0));
                }
                return losses.Count == 0 ? 0 : losses.Average();
            }
            case Ge2eLoss ge:
            {
                var e = rows.Select(Unit).ToArray();
                var losses = new List<double>();
                for (int i = 0; i < n; i++)
                {
                    if (y.Count(v => v == y[i]) < 2) continue;
                    double Similarity(int k)
                    {
                        double[] c = Mean(Enumerable.Range(0, n).Where(j => y[j] == k && !(k == y[i] && j == i)).Select(j => e[j]));
                        return ge.WValue * Dot(e[i], c) / Math.Sqrt(Dot(e[i], e[i]) * Dot(c, c)) + ge.BValue;
                    }
                    if (ge.MethodValue == "contrast")
                    {
                        // Eq. 7: 1 − σ(own) + the largest σ over the other speakers (none: 0).
                        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
                        var others = classes.Where(k => k != y[i]).Select(k => Sigmoid(Similarity(k))).ToList();
                        losses.Add(1 - Sigmoid(Similarity(y[i])) + (others.Count == 0 ? 0 : others.Max()));
                    }
                    else losses.Add(-Similarity(y[i]) + Math.Log(classes.Sum(k => Math.Exp(Similarity(k)))));
                }
                return losses.Count == 0 ? 0 : losses.Average();
            }
            case AlignUniformLoss au:
            {
                var e = rows.Select(Unit).ToArray();
                var pairs = Enumerable.Range(0, n).SelectMany(i => Enumerable.Range(i + 1, n - i - 1).Select(j => (i, j))).ToList();
                var positive = pairs.Where(p => y[p.i] == y[p.j]).ToList();
                double alignment = positive.Count == 0 ? 0 : positive.Average(p => Math.Pow(Math.Sqrt(Squared(e[p.i], e[p.j])), au.AlphaValue));
                double uniformity = pairs.Count == 0 ? 0 : Math.Log(pairs.Average(p => Math.Exp(-au.TValue * Squared(e[p.i], e[p.j]))));
                return au.WeightsValue[0] * alignment + au.WeightsValue[1] * uniformity;
            }
            default:
                throw new ArgumentException(loss.Spec);
        }
    }

    public static TheoryData<string> Specs => new(
    [
        "proto_triplet", "proto_triplet(margin=0.3)", "proto_triplet(margin=5)",
        "ge2e", "ge2e(w=3, b=1)", "ge2e(w=0.5)", "ge2e(method=contrast)", "ge2e(w=3, b=1, method=contrast)",
        "align_uniform", "align_uniform(alpha=1, t=1)", "align_uniform(alpha=3, t=0.5, weights=[0.5, 2])",
    ]);

    [Theory]
    [MemberData(nameof(Specs))]
    public void Value_shares_and_gradient_are_the_reference(string spec)
    {
        var loss = Assert.IsAssignableFrom<WholeBatchLoss>(LossRegistry.Create(spec));
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var (x, y) = Batch(seed);
            const int d = 4;
            double[] unreduced = new double[y.Length], gradient = new double[x.Length];
            double value = loss.Compute<double>(x, d, y, unreduced, gradient);
            double expected = Reference(loss, x, d, y);
            Assert.True(Math.Abs(value - expected) <= 1e-10 * Math.Max(1, Math.Abs(expected)), $"{spec}, seed {seed}: {value} vs reference {expected}");
            Assert.Equal(value, unreduced.Sum(), 1e-12);
            double[] numeric = EmbeddingReference.CentralDifferences(v => Reference(loss, v, d, y), x);
            Assert.True(TestChecks.NormError(gradient, numeric) <= 1e-6, $"{spec}, seed {seed}: gradient off by {TestChecks.NormError(gradient, numeric)}");
        }
    }

    [Fact]
    public void Proto_triplet_is_translation_invariant_and_leaves_the_query_out_of_its_prototype()
    {
        var loss = new ProtoTripletLoss(margin: 0.5);
        var (x, y) = Batch(4);
        double value = loss.Compute<double>(x, 4, y);
        double[] shifted = x.Select((v, i) => v + (i % 4 + 1) * 10.0).ToArray();
        Assert.Equal(value, loss.Compute<double>(shifted, 4, y), 9);
        // On a line: class 0 at 0 and 1, class 1 at 3 and 4, class 2 at 10. Query 0's prototype without it is 1 (not
        // 0.5); the nearest other prototype is class 1's, 3.5 (class 2's is 10). Row 4 is alone in its class: no query.
        static double D(double v) => Math.Sqrt(v * v + 1e-6);
        double[] line = [0, 1, 3, 4, 10];
        double[] shares = new double[5];
        double l = new ProtoTripletLoss(margin: 20).Compute<double>(line, 1, [0, 0, 1, 1, 2], shares);
        Assert.Equal((D(1) - D(3.5) + 20) / 4, shares[0], 12);
        Assert.Equal((D(1) - D(2.5) + 20) / 4, shares[1], 12);
        Assert.Equal((D(1) - D(2.5) + 20) / 4, shares[2], 12);                 // row 2 is at 3: its nearest other prototype is 0.5, not 10
        Assert.Equal((D(1) - D(3.5) + 20) / 4, shares[3], 12);
        Assert.Equal(0, shares[4]);
        Assert.Equal(shares.Sum(), l, 12);
    }

    [Fact]
    public void Ge2e_ignores_b_and_the_rows_norms()
    {
        var (x, y) = Batch(5);
        double[] g1 = new double[x.Length], g2 = new double[x.Length];
        double a = new Ge2eLoss(w: 4, b: -5).Compute<double>(x, 4, y, default, g1);
        Assert.Equal(a, new Ge2eLoss(w: 4, b: 3).Compute<double>(x, 4, y, default, g2), 12);
        Assert.True(TestChecks.NormError(g1, g2) <= 1e-12);
        double[] scaled = x.Select((v, i) => v * (1 + i / 4)).ToArray();   // row i times i + 1
        Assert.Equal(a, new Ge2eLoss(w: 4).Compute<double>(scaled, 4, y), 12);
    }

    [Fact]
    public void Align_uniform_on_two_views_is_the_reference_codes_alignment_and_its_uniformity_is_a_log_mean()
    {
        var (x, _) = Batch(6, n: 8);
        int[] views = [0, 0, 1, 1, 2, 2, 3, 3];   // rows 2i and 2i + 1: two views of sample i
        double alignment = new AlignUniformLoss(weights: [1, 0]).Compute<double>(x, 4, views);
        // ssnl/align_uniform: (x − y).norm(p=2, dim=1).pow(2).mean() on the normalised views.
        double expected = Enumerable.Range(0, 4).Average(i => Squared(Unit(Row(x, 4, 2 * i)), Unit(Row(x, 4, 2 * i + 1))));
        Assert.Equal(expected, alignment, 12);
        double uniformity = new AlignUniformLoss(t: 2, weights: [0, 1]).Compute<double>(x, 4, views);
        Assert.True(uniformity <= 0);
        double[] two = [1, 0, 0, 1];   // two orthogonal unit rows: d² = 2, log mean e^{−t·2} = −2t
        Assert.Equal(-4, new AlignUniformLoss(t: 2, weights: [0, 1]).Compute<double>(two, 2, [0, 1]), 12);
        Assert.Equal(Math.Pow(2, 1.5) - 4, new AlignUniformLoss(alpha: 3).Compute<double>(two, 2, [0, 0]), 12);
    }

    [Theory]
    [InlineData("proto_triplet")]
    [InlineData("ge2e")]
    [InlineData("align_uniform")]
    public void A_batch_of_singletons_gives_zero_or_the_uniformity_alone_and_no_NaN(string spec)
    {
        var loss = (EmbeddingLoss)LossRegistry.Create(spec);
        var (x, _) = Batch(7, n: 4);
        double[] gradient = new double[x.Length];
        double value = loss.Compute<double>(x, 4, [0, 1, 2, 3], gradient: gradient);
        Assert.All(gradient, g => Assert.True(double.IsFinite(g)));
        if (spec == "align_uniform") Assert.Equal(Reference(loss, x, 4, [0, 1, 2, 3]), value, 12);
        else
        {
            Assert.Equal(0, value);
            Assert.All(gradient, g => Assert.Equal(0, g));
        }
    }

    [Theory]
    [InlineData("proto_triplet", 1e6)]
    [InlineData("ge2e", 1e30)]
    [InlineData("align_uniform", 1e30)]
    [InlineData("ge2e", 1e-30)]
    [InlineData("align_uniform", 0)]
    [InlineData("ge2e", 0)]
    [InlineData("ge2e(method=contrast)", 1e30)]
    [InlineData("ge2e(method=contrast)", 0)]
    public void Extreme_and_zero_rows_give_finite_results(string spec, double scale)
    {
        var loss = (EmbeddingLoss)LossRegistry.Create(spec);
        var (x, y) = Batch(8);
        double[] big = x.Select(v => v * scale).ToArray(), unreduced = new double[y.Length], gradient = new double[x.Length];
        double value = loss.Compute<double>(big, 4, y, unreduced, gradient);
        Assert.True(double.IsFinite(value), $"{spec} at {scale}: {value}");
        Assert.All(unreduced.Concat(gradient), v => Assert.True(double.IsFinite(v), $"{spec} at {scale}: {v}"));
    }

    [Fact]
    public void Ge2e_contrast_with_one_speaker_is_one_minus_the_own_sigmoid()
    {
        // Three utterances of one speaker, unit rows along x: each one's centroid without it is along x too, cos = 1,
        // S = w + b; no other speaker, so the max term counts 0.
        double[] x = [1, 0, 2, 0, 3, 0];
        double value = new Ge2eLoss(w: 2, b: -1, method: "contrast").Compute<double>(x, 2, [4, 4, 4]);
        Assert.Equal(1 - 1 / (1 + Math.Exp(-1.0)), value, 14);
    }

    [Theory]
    [InlineData("proto_triplet(margin=-1)", "margin")]
    [InlineData("ge2e(w=0)", "w")]
    [InlineData("ge2e(method=sigmoid)", "method")]
    [InlineData("align_uniform(alpha=0)", "alpha")]
    [InlineData("align_uniform(weights=[1, 2, 3])", "weights")]
    [InlineData("align_uniform(weights=[-1, 1])", "weights")]
    public void Bad_parameters_are_errors_naming_them(string spec, string parameter)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(parameter, e.Message);
    }

    [Fact]
    public void Bad_labels_are_errors_naming_the_row()
    {
        var e = Assert.Throws<RowException>(() => new Ge2eLoss().Compute<double>([1, 0, 0, 1, 1, 1], 2, [0, -3, 0]));
        Assert.Equal(("labels", 1), (e.ParamName, e.Row));
        Assert.Contains("labels[1] = -3", e.Message);
        Assert.Throws<ArgumentException>(() => new AlignUniformLoss().Compute<double>([1, 0, 0, 1], 2, [0, 0, 1]));
    }

    [Theory]
    [InlineData("proto_triplet(margin=0.1)")]
    [InlineData("ge2e(w=2, b=0)")]
    [InlineData("ge2e(w=2, b=1, method=contrast)")]
    [InlineData("align_uniform(alpha=1, t=4, weights=[2, 0.5])")]
    public void Option_variants_conform(string spec) => TestChecks.AssertConforms(LossRegistry.Create(spec));
}
