using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Kernels;

namespace LossKit.Tests.Embedding;

/// <summary>The embedding losses against the slow references of <see cref="EmbeddingReference"/> — value, and gradient
/// by central differences of the reference in double (the miners re-run at each step: at these random points the
/// mined set does not change within a step, so this is the gradient at fixed mining) — for every distance, miner and
/// reducer; and the edge cases of the issue: no positive pair, zero-norm rows, bad labels.</summary>
public class EmbeddingLossTests
{
    public static TheoryData<string> Specs => new(
    [
        "contrastive", "contrastive(distance=squared, pos_margin=0.1, neg_margin=1.5)", "contrastive(distance=cosine, pos_margin=0.9, neg_margin=0.3)",
        "contrastive(distance=dot, normalize=false, pos_margin=1, neg_margin=-0.5, reducer=mean)", "contrastive(miner=batch_hard)",
        "contrastive(miner=semihard, miner_margin=0.5)", "contrastive(miner=multi_similarity, miner_epsilon=0.3)",
        "contrastive(miner=pair_margin, miner_pos_margin=0.5, miner_neg_margin=1.2, reducer=sum)",
        "contrastive(normalize=false, reducer=threshold, reducer_low=0.1, reducer_high=0.9)",
        "triplet", "triplet(margin=0.1, distance=cosine, miner=semihard, reducer=nonzero_mean)", "triplet(miner=batch_hard, normalize=false)",
        "triplet(miner=hard, distance=squared)", "triplet(miner=multi_similarity, reducer=mean)", "triplet(miner=pair_margin, distance=dot)",
        "triplet(margin=0.5, miner=semihard, miner_margin=0.6, reducer=threshold, reducer_high=0.4)", "triplet(reducer=sum, distance=euclidean, normalize=false)",
        "multi_similarity", "multi_similarity(miner=multi_similarity)", "multi_similarity(alpha=1, beta=5, base=0.2, distance=euclidean)",
        "multi_similarity(distance=dot, normalize=false, beta=3)", "multi_similarity(miner=batch_hard, reducer=nonzero_mean)",
        "circle", "circle(m=0.25, gamma=16)", "circle(miner=multi_similarity)", "circle(distance=euclidean, gamma=4)",
        "ntxent", "ntxent(tau=0.5, distance=dot)", "ntxent(miner=pair_margin, miner_pos_margin=0.9, miner_neg_margin=0.1)", "ntxent(distance=squared, tau=2)",
        "supcon", "supcon(tau=0.5, reducer=mean)", "supcon(miner=semihard, miner_margin=0.3)", "supcon(distance=euclidean, tau=1)",
        "lifted", "lifted(distance=cosine, pos_margin=0.8, neg_margin=0.2, miner=multi_similarity)", "lifted(distance=squared, reducer=nonzero_mean)",
        "npair", "npair(normalize=false)", "npair(distance=euclidean, miner=batch_hard)", "npair(distance=cosine, reducer=sum)",
    ]);

    private static (double[] X, int[] Y) Batch(int seed, int n = 12, int d = 4, int classes = 3)
    {
        var random = new Random(seed);
        var x = new double[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = 2 * random.NextDouble() - 1;
        var y = new int[n];
        for (int i = 0; i < n; i++) y[i] = i % classes;
        return (x, y);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Value_and_gradient_are_the_references(string spec)
    {
        var loss = Assert.IsAssignableFrom<EmbeddingLoss>(LossRegistry.Create(spec));
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var (x, y) = Batch(seed);
            const int d = 4;
            double[] unreduced = new double[y.Length], gradient = new double[x.Length];
            double value = loss.Compute<double>(x, d, y, unreduced, gradient);
            double expected = EmbeddingReference.Loss(loss, x, d, y);
            Assert.True(Math.Abs(value - expected) <= 1e-10 * Math.Max(1, Math.Abs(expected)), $"{spec}, seed {seed}: {value} vs reference {expected}");
            Assert.Equal(value, unreduced.Sum(), 1e-12);
            double worst = 0, scale = Math.Max(1, gradient.Max(Math.Abs));
            for (int i = 0; i < x.Length; i++)
            {
                const double h = 1e-6;
                double[] plus = (double[])x.Clone(), minus = (double[])x.Clone();
                plus[i] += h;
                minus[i] -= h;
                double numeric = (EmbeddingReference.Loss(loss, plus, d, y) - EmbeddingReference.Loss(loss, minus, d, y)) / (2 * h);
                worst = Math.Max(worst, Math.Abs(numeric - gradient[i]) / scale);
            }
            Assert.True(worst <= 1e-6, $"{spec}, seed {seed}: gradient off by {worst}");
        }
    }

    /// <summary>Float inputs take the float path (float GEMMs, one pass, vector exp): the same loss as the double
    /// reference to 1e-5 relative and gradient to 1e-4 of its largest entry — the tolerances bench/compare_torch_embedding.py
    /// holds LossKit's float output to against PyTorch in float64.</summary>
    [Theory]
    [MemberData(nameof(Specs))]
    public void Float_inputs_match_the_double_reference(string spec)
    {
        var loss = Assert.IsAssignableFrom<EmbeddingLoss>(LossRegistry.Create(spec));
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var (x, y) = Batch(seed, n: 24, d: 8, classes: 4);
            const int d = 8;
            float[] xf = [.. x.Select(v => (float)v)];
            double[] xd = [.. xf.Select(v => (double)v)];
            float[] unreduced = new float[y.Length], gradient = new float[x.Length];
            double[] expectedGradient = new double[x.Length];
            float value = loss.Compute<float>(xf, d, y, unreduced, gradient);
            double expected = loss.Compute<double>(xd, d, y, gradient: expectedGradient);
            AssertFloatClose(value, expected, $"{spec}, seed {seed}", (gradient, expectedGradient, "embeddings"));
            Assert.Equal(value, unreduced.Sum(), 1e-5 * Math.Max(1, Math.Abs(expected)));
        }
    }

    /// <summary>The row path of the anchor losses (float inputs, miner=all, a similarity: the float Gram rows in 16-lane
    /// kernels, G in float, the backward as G·U + Gᵀ·U) at a size where the vector loops, their tails and several anchor
    /// blocks all run (N = 203, 7 classes of uneven size, one single-row class): against the double path to the float
    /// tolerances, and the same bits with 1 and 2 threads.</summary>
    [Theory]
    [InlineData("supcon")]
    [InlineData("ntxent")]
    [InlineData("multi_similarity")]
    [InlineData("ntxent(tau=0.5, distance=dot, normalize=false)")]
    [InlineData("supcon(tau=0.5, reducer=mean)")]
    public void The_float_row_path_matches_the_double_path_for_any_thread_count(string spec)
    {
        var loss = Assert.IsAssignableFrom<EmbeddingLoss>(LossRegistry.Create(spec));
        const int n = 203, d = 24;
        var (x, _) = Batch(5, n, d);
        int[] y = [.. Enumerable.Range(0, n).Select(i => i == n - 1 ? 99 : i * i % 7)];
        float[] xf = [.. x.Select(v => (float)(0.5 * v))];
        double[] xd = [.. xf.Select(v => (double)v)], expectedGradient = new double[x.Length];
        double expected = loss.Compute<double>(xd, d, y, gradient: expectedGradient);
        var results = new List<(float Value, float[] Gradient)>();
        foreach (int threads in new[] { 1, 2 })
        {
            int saved = Parallelism.MaxThreads;
            try
            {
                Parallelism.MaxThreads = threads;
                float[] gradient = new float[x.Length];
                results.Add((loss.Compute<float>(xf, d, y, gradient: gradient), gradient));
            }
            finally { Parallelism.MaxThreads = saved; }
        }
        AssertFloatClose(results[0].Value, expected, spec, (results[0].Gradient, expectedGradient, "embeddings"));
        Assert.Equal(BitConverter.SingleToInt32Bits(results[0].Value), BitConverter.SingleToInt32Bits(results[1].Value));
        Assert.Equal(results[0].Gradient, results[1].Gradient);
    }

    /// <summary>The row path's edge cases against the double path, finite throughout: no positive pair, no negative
    /// pair (one class), a single row, and zero-norm rows under cosine.</summary>
    [Theory]
    [InlineData("supcon")]
    [InlineData("ntxent")]
    [InlineData("multi_similarity")]
    public void The_float_row_path_handles_the_edge_cases(string spec)
    {
        var loss = Assert.IsAssignableFrom<EmbeddingLoss>(LossRegistry.Create(spec));
        float[] zeroRows = [0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0];
        var (x, _) = Batch(7, n: 4, d: 3);
        float[] rows = [.. x.Select(v => (float)v)];
        foreach (var (name, xf, y) in new (string, float[], int[])[]
        {
            ("no positive pair", rows, [0, 1, 2, 3]), ("one class", rows, [2, 2, 2, 2]), ("one row", rows[..3], [4]),
            ("zero-norm rows", zeroRows, [0, 0, 1, 1]),
        })
        {
            float[] gradient = new float[xf.Length];
            double[] expectedGradient = new double[xf.Length];
            float value = loss.Compute<float>(xf, 3, y, gradient: gradient);
            double expected = loss.Compute<double>([.. xf.Select(v => (double)v)], 3, y, gradient: expectedGradient);
            Assert.True(float.IsFinite(value) && gradient.All(float.IsFinite), $"{spec}, {name}: not finite");
            AssertFloatClose(value, expected, $"{spec}, {name}", (gradient, expectedGradient, "embeddings"));
        }
    }

    /// <summary>A float result against the double one: the loss to 1e-5 relative, each gradient to 1e-4 of its largest entry.</summary>
    private static void AssertFloatClose(float value, double expected, string what, params (float[] Single, double[] Double, string Name)[] gradients)
    {
        Assert.True(Math.Abs(value - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"{what}: {value} vs double {expected}");
        foreach (var (single, reference, name) in gradients)
        {
            double scale = Math.Max(1e-12, reference.Max(Math.Abs)), worst = 0;
            for (int i = 0; i < single.Length; i++) worst = Math.Max(worst, Math.Abs(single[i] - reference[i]) / scale);
            Assert.True(worst <= 1e-4, $"{what}: float gradient of the {name} off by {worst} of the largest entry");
        }
    }

    /// <summary>The margin-softmax losses' float path (float GEMMs, the cross-entropy row kernel in float) against their
    /// double path on the same float values: loss to 1e-5 relative, both gradients to 1e-4 of their largest entry.</summary>
    [Theory]
    [InlineData("arcface")]
    [InlineData("arcface(easy_margin=true, s=16)")]
    [InlineData("cosface")]
    [InlineData("normface")]
    [InlineData("proxy_nca")]
    [InlineData("sphereface")]
    [InlineData("elasticface_arc")]
    [InlineData("proxy_anchor")]
    public void Float_proxy_losses_match_their_double_path(string spec)
    {
        const int n = 40, d = 16, k = 12;
        var random = new Random(7);
        float[] x = [.. Enumerable.Range(0, n * d).Select(_ => (float)(2 * random.NextDouble() - 1))];
        float[] w = [.. Enumerable.Range(0, k * d).Select(_ => (float)(2 * random.NextDouble() - 1))];
        int[] y = [.. Enumerable.Range(0, n).Select(i => i % k)];
        float[] gx = new float[x.Length], gw = new float[w.Length];
        double[] gxd = new double[x.Length], gwd = new double[w.Length];
        var single = Assert.IsAssignableFrom<ProxyLoss>(LossRegistry.Create(spec));
        var twin = Assert.IsAssignableFrom<ProxyLoss>(LossRegistry.Create(spec));   // a scheduled margin's call counter starts alike
        float value = single.Compute<float>(x, d, y, w, default, gx, gw);
        double expected = twin.Compute<double>([.. x.Select(v => (double)v)], d, y, [.. w.Select(v => (double)v)], default, gxd, gwd);
        AssertFloatClose(value, expected, spec, (gx, gxd, "embeddings"), (gw, gwd, "proxies"));
    }

    [Theory]
    [InlineData("contrastive")]
    [InlineData("triplet")]
    [InlineData("multi_similarity")]
    [InlineData("circle")]
    [InlineData("ntxent")]
    [InlineData("supcon")]
    [InlineData("lifted")]
    [InlineData("npair")]
    public void A_batch_without_a_positive_pair_gives_zero_and_no_NaN(string spec)
    {
        var loss = (EmbeddingLoss)LossRegistry.Create(spec);
        var (x, _) = Batch(5, n: 4);
        double[] gradient = new double[x.Length];
        double value = loss.Compute<double>(x, 4, [0, 1, 2, 3], gradient: gradient);
        Assert.True(double.IsFinite(value), $"{spec}: {value}");
        Assert.All(gradient, g => Assert.True(double.IsFinite(g)));
        if (spec != "contrastive" && spec != "multi_similarity") Assert.Equal(0, value);   // those two still push negatives apart
        if (spec is "triplet" or "circle" or "ntxent" or "supcon" or "lifted" or "npair") Assert.All(gradient, g => Assert.Equal(0, g));
    }

    [Theory]
    [InlineData("contrastive(distance=cosine, pos_margin=1, neg_margin=0)")]
    [InlineData("triplet(distance=cosine)")]
    [InlineData("supcon")]
    [InlineData("circle")]
    public void Zero_norm_embeddings_under_cosine_are_finite(string spec)
    {
        var loss = (EmbeddingLoss)LossRegistry.Create(spec);
        double[] x = [0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0];
        double[] gradient = new double[x.Length];
        double value = loss.Compute<double>(x, 3, [0, 0, 1, 1], gradient: gradient);
        Assert.True(double.IsFinite(value));
        Assert.All(gradient, g => Assert.True(double.IsFinite(g)));
    }

    [Fact]
    public void Bad_labels_are_errors_naming_labels()
    {
        var loss = new TripletLoss();
        var e = Assert.Throws<RowException>(() => loss.Compute<double>([1, 0, 0, 1], 2, [0, -1]));
        Assert.Equal(("labels", 1), (e.ParamName, e.Row));
        Assert.Throws<RowException>(() => loss.Compute<double>([1, 0, 0, 1], 2, [0, EmbeddingLoss.MaxLabel + 1]));
        var viaKind = Assert.Throws<ArgumentException>(() => loss.Kind.Evaluate<double>(loss, new LossInputs
        {
            ["embeddings"] = LossTensor.Matrix([1, 0, 0, 1], 2, 2),
            ["labels"] = LossTensor.Vector([0, 0, 1]),
        }));
        Assert.Equal("labels", viaKind.ParamName);
    }

    [Fact]
    public void Options_print_back_and_the_composed_example_of_the_issue_parses()
    {
        ILoss loss = LossRegistry.Create("triplet(margin=0.1, distance=cosine, miner=semihard, reducer=nonzero_mean)");
        Assert.Equal("triplet(margin=0.1, distance=cosine, miner=semihard)", loss.Spec);
        Assert.Equal(loss.Spec, LossRegistry.Create(loss.Spec).Spec);
        Assert.Equal("multi_similarity", LossRegistry.Create("multi_similarity(reducer=mean, distance=cosine)").Spec);
        Assert.Throws<ArgumentException>(() => LossRegistry.Create("triplet(miner=random)"));
        // Nested arguments, as pytorch-metric-learning's constructors, print back flat.
        Assert.Equal("triplet(miner=semihard, miner_margin=0.3)", LossRegistry.Create("triplet(miner=semihard(margin=0.3))").Spec);
        Assert.Equal("contrastive(miner=pair_margin, miner_pos_margin=0.1, miner_neg_margin=0.9, reducer=threshold, reducer_low=0.1, reducer_high=2)",
            LossRegistry.Create("contrastive(miner=pair_margin(pos_margin=0.1, neg_margin=0.9), reducer=threshold(low=0.1, high=2))").Spec);
        Assert.Equal("multi_similarity(miner=multi_similarity, miner_epsilon=0.2)", LossRegistry.Create("multi_similarity(miner=multi_similarity(epsilon=0.2))").Spec);
        Assert.Throws<ArgumentException>(() => LossRegistry.Create("triplet(miner=semihard(margin=0.3), miner_margin=0.2)"));
        Assert.Throws<ArgumentException>(() => LossRegistry.Create("triplet(miner=semihard(eps=1))"));
        Assert.Throws<ArgumentException>(() => LossRegistry.Create("triplet(miner=batch_hard(margin=1))"));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create("triplet(miner=multi_similarity(epsilon=-1))"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SupConLoss(options: new EmbeddingOptions(ReducerHigh: -1)));
        var (x, y) = Batch(4);
        Assert.Equal(0, new SupConLoss(options: new EmbeddingOptions(Reducer: "threshold", ReducerLow: 2, ReducerHigh: 1)).Compute<double>(x, 4, y));
    }
}
