using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Preference;

namespace LossKit.Tests.Preference;

/// <summary>
/// <c>linear_preference</c>: fused = unfused (the logits materialised with the GEMM, log-softmax, gather, sum per sequence,
/// the per-sequence preference loss through its own public call, and the backward pass written out in double) for every
/// DPO loss type, SimPO, CPO and ORPO; finite differences; ignored positions; chunking and split-batch invariance; errors.
/// </summary>
public class LinearPreferenceTests
{
    /// <summary>The wrapped specs: every DPO loss_type (exo_pair and robust with the smoothing they need), conservative and
    /// reference-free DPO, SimPO, CPO, ORPO.</summary>
    public static TheoryData<string> Inner => new(
        DpoLoss.LossTypes.Select(t => t switch
        {
            "exo_pair" => "dpo(loss_type=exo_pair, label_smoothing=0.1)",
            "robust" => "dpo(loss_type=robust, label_smoothing=0.2)",
            _ => $"dpo(beta=0.5, loss_type={t})",
        }).Concat(["dpo(label_smoothing=0.1)", "dpo(reference_free=true, beta=0.3)", "simpo", "simpo(beta=1.5, gamma=0.2, label_smoothing=0.1)",
            "cpo(alpha=0.5)", "orpo(beta=0.4)"]));

    private sealed record Batch(double[] Hidden, double[] Weight, double[] Bias, int[] Targets, double[] RefChosen, double[] RefRejected,
        int Pairs, int Tokens, int Dim, int Vocab);

    /// <summary>Hidden states ±1, weight ±2/√d, bias ±0.5, random tokens with a prompt of 1–2 ignored positions and
    /// right padding of 0–2 positions per sequence (at least one counted token); reference log-probabilities near the policy's.</summary>
    private static Batch MakeBatch(int seed, int pairs = 3, int tokens = 6, int dim = 5, int vocab = 11, bool bias = true)
    {
        var rng = new Random(seed);
        int sequences = 2 * pairs;
        double[] Uniform(int n, double s) => [.. Enumerable.Range(0, n).Select(_ => s * (2 * rng.NextDouble() - 1))];
        var y = new int[sequences * tokens];
        for (int s = 0; s < sequences; s++)
        {
            int prompt = 1 + rng.Next(2), padding = Math.Min(rng.Next(3), tokens - prompt - 1);
            for (int t = 0; t < tokens; t++) y[s * tokens + t] = t < prompt || t >= tokens - padding ? -100 : rng.Next(vocab);
        }
        double typical = -tokens * Math.Log(vocab) * 0.6;
        return new Batch(Uniform(sequences * tokens * dim, 1), Uniform(vocab * dim, 2 / Math.Sqrt(dim)), bias ? Uniform(vocab, 0.5) : [], y,
            [.. Enumerable.Range(0, pairs).Select(_ => typical * (0.7 + 0.6 * rng.NextDouble()))],
            [.. Enumerable.Range(0, pairs).Select(_ => typical * (0.7 + 0.6 * rng.NextDouble()))], pairs, tokens, dim, vocab);
    }

    private sealed record Result(double Loss, double[] Pairs, double[] GradHidden, double[] GradWeight, double[] GradBias);

    /// <summary>The unfused path in double: Z = H·Wᵀ (the project's GEMM) + b, log-softmax per position, the target's
    /// log-probability summed per sequence over counted positions, the wrapped loss's own public call (with the token counts
    /// as lengths, its configured reduction), then G = g_s·(e_y − softmax(z)) per counted position and ∂H = G·W, ∂W = Gᵀ·H,
    /// ∂b = Σ G by plain loops.</summary>
    private static Result Unfused(string inner, Reduction reduction, Batch b)
    {
        int rows = 2 * b.Pairs * b.Tokens, v = b.Vocab, d = b.Dim;
        var z = new double[rows * v];
        Gemm.Multiply<double>(b.Hidden, b.Weight, z, rows, v, d, transposeB: true);
        var p = new double[rows * v];
        var logp = new double[2 * b.Pairs];
        var counts = new double[2 * b.Pairs];
        for (int r = 0; r < rows; r++)
        {
            int y = b.Targets[r];
            if (y == -100) continue;
            double max = double.NegativeInfinity;
            for (int k = 0; k < v; k++)
            {
                if (b.Bias.Length > 0) z[r * v + k] += b.Bias[k];
                max = Math.Max(max, z[r * v + k]);
            }
            double sum = 0;
            for (int k = 0; k < v; k++) sum += Math.Exp(z[r * v + k] - max);
            double lse = max + Math.Log(sum);
            for (int k = 0; k < v; k++) p[r * v + k] = Math.Exp(z[r * v + k] - lse);
            logp[r / b.Tokens] += z[r * v + y] - lse;
            counts[r / b.Tokens]++;
        }
        string spec = reduction == Reduction.Mean ? inner : inner.Contains('(') ? inner[..^1] + $", reduction={(reduction == Reduction.Sum ? "sum" : "none")})" : inner + $"(reduction={(reduction == Reduction.Sum ? "sum" : "none")})";
        var loss = (PreferenceLoss)LossRegistry.Create(spec);
        int n = b.Pairs;
        double[] unreduced = new double[n], gc = new double[n], gr = new double[n];
        double value = loss.Compute<double>(logp.AsSpan(0, n), logp.AsSpan(n), b.RefChosen, b.RefRejected, counts.AsSpan(0, n), counts.AsSpan(n), unreduced, gc, gr);
        var g = new double[rows * v];
        for (int r = 0; r < rows; r++)
        {
            int y = b.Targets[r], s = r / b.Tokens;
            if (y == -100) continue;
            double gs = s < n ? gc[s] : gr[s - n];
            for (int k = 0; k < v; k++) g[r * v + k] = gs * ((k == y ? 1 : 0) - p[r * v + k]);
        }
        double[] gh = new double[rows * d], gw = new double[v * d], gb = new double[v];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < v; k++)
            {
                double gk = g[r * v + k];
                gb[k] += gk;
                for (int j = 0; j < d; j++)
                {
                    gh[r * d + j] += gk * b.Weight[k * d + j];
                    gw[k * d + j] += gk * b.Hidden[r * d + j];
                }
            }
        return new Result(value, unreduced, gh, gw, gb);
    }

    private static Result Fused<T>(LinearPreferenceLoss loss, Batch b, int totalPairs = 0) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        T[] Of(double[] x) => [.. x.Select(T.CreateTruncating)];
        int n = b.Pairs;
        T[] pairs = new T[n], gh = new T[b.Hidden.Length], gw = new T[b.Weight.Length], gb = new T[b.Vocab];
        T value = loss.Compute<T>(Of(b.Hidden), Of(b.Weight), Of(b.Bias), n, b.Tokens, b.Dim, b.Vocab, b.Targets, Of(b.RefChosen), Of(b.RefRejected),
            pairs, gh, gw, gb, totalPairs: totalPairs);
        double[] D(T[] x) => [.. x.Select(double.CreateTruncating)];
        return new Result(double.CreateTruncating(value), D(pairs), D(gh), D(gw), D(gb));
    }

    /// <summary>max |a − b| / max(1, max |b|): the norm-wise error the linear_ce tests use.</summary>
    private static double Error(double[] a, double[] b)
    {
        Assert.Equal(b.Length, a.Length);
        double norm = Math.Max(1e-300, b.Length == 0 ? 1 : b.Max(Math.Abs)), worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst / Math.Max(norm, 1e-3);
    }

    private static void AssertClose(Result expected, Result actual, double tolerance, string what)
    {
        Assert.True(Math.Abs(actual.Loss - expected.Loss) <= tolerance * Math.Max(1, Math.Abs(expected.Loss)), $"{what}: loss {actual.Loss} vs {expected.Loss}");
        foreach (var (name, a, e) in new[] { ("pairs", actual.Pairs, expected.Pairs), ("∂H", actual.GradHidden, expected.GradHidden),
                     ("∂W", actual.GradWeight, expected.GradWeight), ("∂b", actual.GradBias, expected.GradBias) })
        {
            double err = Error(a, e);
            Assert.True(err <= tolerance, $"{what}: {name} off by {err:G3} (tolerance {tolerance:G3})");
        }
    }

    [Theory]
    [MemberData(nameof(Inner))]
    public void Fused_equals_unfused_for_every_loss(string inner)
    {
        foreach (var (reduction, name) in new[] { (Reduction.Mean, "mean"), (Reduction.Sum, "sum"), (Reduction.None, "none") })
        {
            Batch b = MakeBatch(inner.Length + (int)reduction);
            var fused = (LinearPreferenceLoss)LossRegistry.Create($"linear_preference(loss={inner}, reduction={name})");
            Result expected = Unfused(inner, reduction, b);
            AssertClose(expected, Fused<double>(fused, b), 1e-12, $"{inner}, {name}, double");
            AssertClose(expected, Fused<float>(fused, b), 2e-5, $"{inner}, {name}, float");
        }
    }

    [Theory]
    [InlineData("dpo(beta=0.5)")]
    [InlineData("simpo")]
    [InlineData("dpo(loss_type=aot)")]
    public void The_materialised_baseline_equals_the_unfused_reference(string inner)
    {
        Batch b = MakeBatch(71);
        var loss = new LinearPreferenceLoss(inner);
        int n = b.Pairs;
        double[] pairs = new double[n], gh = new double[b.Hidden.Length], gw = new double[b.Weight.Length], gb = new double[b.Vocab];
        double value = loss.ComputeMaterialized<double>(b.Hidden, b.Weight, b.Bias, n, b.Tokens, b.Dim, b.Vocab, b.Targets, b.RefChosen, b.RefRejected,
            pairs, gh, gw, gb);
        AssertClose(Unfused(inner, Reduction.Mean, b), new Result(value, pairs, gh, gw, gb), 1e-12, inner);
        // Through the kind: the call's baseline is the materialised path, and agrees with the fused call.
        LossInputs inputs = loss.Kind.Sample(loss, new SampleSize(3, 9, 4), new Random(2));
        LossCall call = loss.Kind.Prepare<double>(loss, inputs);
        call.Run(RunOutputs.All);
        LossOutputs fused = call.Outputs();
        Assert.NotNull(call.Baseline);
        call.Baseline!.Run(RunOutputs.All);
        LossOutputs materialised = call.Baseline.Outputs();
        Assert.Equal(fused.Loss, materialised.Loss, 12);
        foreach (string g in new[] { "hidden", "weight", "bias" })
            Assert.True(Error(fused.Gradients[g].Values, materialised.Gradients[g].Values) < 1e-12, g);
    }

    [Fact]
    public void Fused_equals_unfused_without_bias_and_with_several_slices_and_chunks()
    {
        // V = 2600: several vocabulary slices and ∂H groups of linear_ce; 7-row chunks; vocabulary blocks.
        Batch b = MakeBatch(5, pairs: 2, tokens: 9, dim: 7, vocab: 2600, bias: false);
        Result expected = Unfused("dpo", Reduction.Mean, b);
        foreach (string options in new[] { "", ", chunk_rows=7", ", vocab_block=512", ", chunk_rows=5, vocab_block=1000" })
            AssertClose(expected, Fused<double>((LinearPreferenceLoss)LossRegistry.Create($"linear_preference(loss=dpo{options})"), b), 1e-12, options);
    }

    [Theory]
    [InlineData("dpo(beta=0.5)")]
    [InlineData("dpo(loss_type=ipo)")]
    [InlineData("simpo")]
    [InlineData("orpo")]
    [InlineData("cpo")]
    public void Gradients_match_finite_differences_in_double(string inner)
    {
        Batch b = MakeBatch(11, pairs: 2, tokens: 4, dim: 3, vocab: 5);
        var loss = new LinearPreferenceLoss(inner);
        int nh = b.Hidden.Length, nw = b.Weight.Length, nb = b.Bias.Length;
        double[] point = [.. b.Hidden, .. b.Weight, .. b.Bias];
        double F(double[] x, double[]? g)
        {
            double[] gh = new double[nh], gw = new double[nw], gb = new double[nb];
            double value = loss.Compute<double>(x.AsSpan(0, nh), x.AsSpan(nh, nw), x.AsSpan(nh + nw), b.Pairs, b.Tokens, b.Dim, b.Vocab, b.Targets,
                b.RefChosen, b.RefRejected, default, g is null ? default : gh, g is null ? default : gw, g is null ? default : gb);
            if (g is not null) { gh.CopyTo(g, 0); gw.CopyTo(g, nh); gb.CopyTo(g, nh + nw); }
            return value;
        }
        GradientCheckResult r = GradientCheck.Check(F, point, inner);
        Assert.True(r.Passed, $"{inner}: worst at [{r.WorstIndex}] analytic {r.Analytic} numeric {r.Numeric} (error {r.MaxError})");
    }

    [Fact]
    public void Ignored_positions_contribute_nothing()
    {
        Batch b = MakeBatch(21);
        var loss = new LinearPreferenceLoss("dpo(beta=0.5)");
        Result a = Fused<double>(loss, b);
        // Other hidden states at the ignored positions: the same results, and their rows of ∂H are 0.
        var hidden = (double[])b.Hidden.Clone();
        var rng = new Random(3);
        for (int r = 0; r < b.Targets.Length; r++)
            if (b.Targets[r] == -100)
                for (int j = 0; j < b.Dim; j++) hidden[r * b.Dim + j] = 50 * rng.NextDouble();
        Result c = Fused<double>(loss, b with { Hidden = hidden });
        AssertClose(a, c, 1e-14, "other hidden states at ignored positions");
        for (int r = 0; r < b.Targets.Length; r++)
            if (b.Targets[r] == -100)
                for (int j = 0; j < b.Dim; j++) Assert.Equal(0, c.GradHidden[r * b.Dim + j]);

        // Removing the padding columns altogether (here: the last position when every sequence ignores it) changes nothing.
        int[] targets = (int[])b.Targets.Clone();
        for (int s = 0; s < 2 * b.Pairs; s++) targets[s * b.Tokens + b.Tokens - 1] = -100;
        Batch padded = b with { Targets = targets };
        int t1 = b.Tokens - 1;
        var shortHidden = new double[2 * b.Pairs * t1 * b.Dim];
        var shortTargets = new int[2 * b.Pairs * t1];
        for (int s = 0; s < 2 * b.Pairs; s++)
        {
            Array.Copy(b.Hidden, s * b.Tokens * b.Dim, shortHidden, s * t1 * b.Dim, t1 * b.Dim);
            Array.Copy(targets, s * b.Tokens, shortTargets, s * t1, t1);
        }
        if (Enumerable.Range(0, 2 * b.Pairs).All(s => Enumerable.Range(0, t1).Any(t => shortTargets[s * t1 + t] != -100)))
        {
            Result full = Fused<double>(loss, padded), cut = Fused<double>(loss, padded with { Hidden = shortHidden, Targets = shortTargets, Tokens = t1 });
            Assert.Equal(full.Loss, cut.Loss, 12);
            Assert.True(Error(cut.GradWeight, full.GradWeight) < 1e-13);
        }
    }

    [Theory]
    [InlineData("dpo(beta=0.5)")]
    [InlineData("simpo")]
    [InlineData("dpo(loss_type=ipo)")]
    public void A_batch_split_over_calls_gives_the_whole_batchs_gradient(string inner)
    {
        Batch b = MakeBatch(31, pairs: 4);
        var loss = new LinearPreferenceLoss(inner);
        Result whole = Fused<double>(loss, b);
        // Pairs {0, 1} and {2, 3}: each call's sequences are its chosen then its rejected ones.
        Batch Part(int first)
        {
            int seqLen = b.Tokens * b.Dim;
            var h = new List<double>();
            var y = new List<int>();
            foreach (int s in new[] { first, first + 1, b.Pairs + first, b.Pairs + first + 1 })
            {
                h.AddRange(b.Hidden.AsSpan(s * seqLen, seqLen).ToArray());
                y.AddRange(b.Targets.AsSpan(s * b.Tokens, b.Tokens).ToArray());
            }
            return b with { Hidden = [.. h], Targets = [.. y], RefChosen = b.RefChosen[first..(first + 2)], RefRejected = b.RefRejected[first..(first + 2)], Pairs = 2 };
        }
        Result p0 = Fused<double>(loss, Part(0), totalPairs: 4), p1 = Fused<double>(loss, Part(2), totalPairs: 4);
        Assert.Equal(whole.Loss, p0.Loss + p1.Loss, 13);
        Assert.True(Error([.. p0.GradWeight.Zip(p1.GradWeight, (x, y) => x + y)], whole.GradWeight) < 1e-13);
        Assert.True(Error([.. p0.GradBias.Zip(p1.GradBias, (x, y) => x + y)], whole.GradBias) < 1e-13);
    }

    [Fact]
    public void Chunk_sizes_do_not_change_the_results_beyond_rounding()
    {
        Batch b = MakeBatch(41, pairs: 3, tokens: 7, vocab: 300);
        Result auto = Fused<double>(new LinearPreferenceLoss("dpo"), b);
        foreach (var (rows, block) in new[] { (1, 0), (3, 0), (40, 0), (0, 64), (5, 100) })
            AssertClose(auto, Fused<double>(new LinearPreferenceLoss("dpo", chunkRows: rows, vocabBlock: block), b), 1e-13, $"chunk_rows={rows}, vocab_block={block}");
    }

    [Fact]
    public void Extra_allocation_is_far_below_the_logits()
    {
        // 8 pairs × 256 positions = 4096 positions, V = 8192: the logits alone are 128 MiB. The two passes share one chunk
        // buffer (the forward pass takes it at the size the gradient pass needs): about 17 MiB, plus the GEMM's packing pool.
        const int pairs = 8, tokens = 256, dim = 64, vocab = 8192;
        var rng = new Random(1);
        float[] h = [.. Enumerable.Range(0, 2 * pairs * tokens * dim).Select(_ => (float)(rng.NextDouble() - 0.5))];
        float[] w = [.. Enumerable.Range(0, vocab * dim).Select(_ => (float)(rng.NextDouble() - 0.5))];
        int[] y = [.. Enumerable.Range(0, 2 * pairs * tokens).Select(i => i % tokens < 8 ? -100 : rng.Next(vocab))];
        float[] gh = new float[h.Length], gw = new float[w.Length], gb = new float[vocab];
        var loss = new LinearPreferenceLoss("dpo(reference_free=true)");
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            long before = GC.GetAllocatedBytesForCurrentThread();
            float value = loss.Compute<float>(h, w, default, pairs, tokens, dim, vocab, y, [], [], default, gh, gw, gb);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            long logits = 2L * pairs * tokens * vocab * sizeof(float);
            Assert.True(allocated < logits / 4, $"allocated {allocated} bytes; the logits alone are {logits}");
            Assert.True(float.IsFinite(value));
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void Sequence_log_probabilities_are_returned()
    {
        Batch b = MakeBatch(51);
        var logp = new double[2 * b.Pairs];
        new LinearPreferenceLoss().Compute<double>(b.Hidden, b.Weight, b.Bias, b.Pairs, b.Tokens, b.Dim, b.Vocab, b.Targets, b.RefChosen, b.RefRejected,
            logProbabilities: logp);
        Assert.All(logp, v => Assert.True(v < 0));
        // The rewards the wrapped loss reports for these log-probabilities, as TRL logs them.
        PreferenceRewards rewards = new DpoLoss().Rewards(logp.AsSpan(0, b.Pairs), logp.AsSpan(b.Pairs), b.RefChosen, b.RefRejected);
        Assert.True(double.IsFinite(rewards.Margin));
    }

    [Fact]
    public void Bad_inputs_name_the_argument_the_row_and_the_value()
    {
        Batch b = MakeBatch(61, pairs: 2, tokens: 3, dim: 2, vocab: 5);
        var loss = new LinearPreferenceLoss();
        double Run(Batch x) => loss.Compute<double>(x.Hidden, x.Weight, x.Bias, x.Pairs, x.Tokens, x.Dim, x.Vocab, x.Targets, x.RefChosen, x.RefRejected);

        var e = Assert.Throws<ArgumentException>(() => Run(b with { Hidden = b.Hidden[1..] }));
        Assert.Equal("hidden", e.ParamName);
        Assert.Contains("expected 2·pairs×tokens×dim = 4×3×2 = 24", e.Message);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => Run(b with { Weight = b.Weight[2..] })).ParamName);
        Assert.Equal("bias", Assert.Throws<ArgumentException>(() => Run(b with { Bias = [1, 2] })).ParamName);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => Run(b with { Targets = b.Targets[1..] })).ParamName);
        e = Assert.Throws<ArgumentException>(() => Run(b with { RefChosen = [] }));
        Assert.Equal("reference_chosen_logps", e.ParamName);
        Assert.Contains("required", e.Message);
        Assert.Equal("reference_rejected_logps", Assert.Throws<ArgumentException>(() => Run(b with { RefRejected = [-1] })).ParamName);

        int[] y = [.. b.Targets];
        y[4] = 9;   // sequence 1 (the chosen sequence of pair 1), position 1
        var row = Assert.Throws<RowException>(() => Run(b with { Targets = y }));
        Assert.Equal("targets", row.ParamName);
        Assert.Equal(4, row.Row);
        Assert.Contains("targets[1][1] = 9", row.Message);
        Assert.Contains("the chosen sequence of pair 1", row.Message);
        Assert.Contains("0 ≤ id < vocab = 5", row.Message);

        y = [.. b.Targets];
        for (int t = 0; t < 3; t++) y[3 * 3 + t] = -100;   // sequence 3: the rejected sequence of pair 1
        row = Assert.Throws<RowException>(() => Run(b with { Targets = y }));
        Assert.Contains("targets[3] (sequence 3, the rejected sequence of pair 1) has no counted token", row.Message);

        // A NaN hidden state at a counted position: an error naming hidden and the sequence (not a NaN loss, and not the
        // wrapped loss's own input names).
        y = [.. b.Targets];
        (y[9], y[10], y[11]) = (-100, 1, 2);   // sequence 3: positions 1 and 2 counted
        double[] h = [.. b.Hidden];
        h[11 * 2] = double.NaN;                 // sequence 3, position 2
        row = Assert.Throws<RowException>(() => Run(b with { Hidden = h, Targets = y }));
        Assert.Equal("hidden", row.ParamName);
        Assert.Contains("sequence 3 (the rejected sequence of pair 1) has a NaN log-probability", row.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => loss.Compute<double>(b.Hidden, b.Weight, b.Bias, b.Pairs, b.Tokens, b.Dim, b.Vocab, b.Targets,
            b.RefChosen, b.RefRejected, totalPairs: 1));
        Assert.Throws<NotSupportedException>(() => loss.Compute<Half>([], [], [], 1, 1, 1, 1, [0, 0], [], []));
    }

    [Theory]
    [InlineData("linear_preference(loss=kto)", "loss = kto is not valid")]
    [InlineData("linear_preference(loss=dpo(reduction=sum))", "the reduction is linear_preference's")]
    [InlineData("linear_preference(loss=dpo(gamma=1))", "'gamma' is not a parameter dpo takes here")]
    [InlineData("linear_preference(loss=dpo(beta=-1))", "loss=dpo(beta=-1)")]
    public void Bad_nested_specs_are_clear_errors(string spec, string expected)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("linear_preference")]
    [InlineData("linear_preference(loss=dpo(beta=0.2, loss_type=ipo), reduction=sum)")]
    [InlineData("linear_preference(loss=simpo(gamma=0.3), ignore_index=-1, chunk_rows=16)")]
    public void Spec_round_trips(string spec)
    {
        ILoss loss = LossRegistry.Create(spec);
        Assert.Equal(spec, loss.Spec);
        Assert.Equal(spec, LossRegistry.Create(loss.Spec).Spec);
    }

    [Fact]
    public void The_kind_runs_the_library_call_and_refuses_bad_shapes()
    {
        var loss = (LinearPreferenceLoss)LossRegistry.Create("linear_preference(loss=dpo(beta=0.5))");
        LossInputs inputs = loss.Kind.Sample(loss, new SampleSize(3, 7, 4), new Random(1));
        LossOutputs o = loss.Kind.Evaluate<double>(loss, inputs);
        Assert.Equal([3], o.Unreduced.Shape);
        Assert.Equal(inputs["hidden"].Shape, o.Gradients["hidden"].Shape);
        var bad = new LossInputs();
        foreach (var (k, v) in inputs) bad[k] = v;
        bad["hidden"] = new LossTensor(inputs["hidden"].Values, 3, 8, 4);
        Assert.Equal("hidden", Assert.Throws<ArgumentException>(() => loss.Kind.Prepare<double>(loss, bad)).ParamName);
        Assert.All(Conformance.Run(loss), r => Assert.True(r.Passed, r.ToString()));
    }
}
