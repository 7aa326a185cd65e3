using System.Numerics;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Distillation;
using LossKit.LargeVocabulary;
using LossKit.Regression;
using LossKit.Softmax;

namespace LossKit.Tests.Core;

/// <summary>
/// The kinds (<see cref="ILoss.Kind"/>): for every registered loss, the kind's sample inputs evaluated through
/// <see cref="LossKind.Evaluate{T}"/> give exactly what the typed library call gives on the same values (the oracle
/// below calls each family's own interface, so it knows the types the kinds hide); what each <see cref="RunOutputs"/>
/// writes; the baseline, bytes and flops a benchmark reads; and the errors of bad inputs.
/// </summary>
public class LossKindTests
{
    private static readonly string[] Variants =
    [
        "ce(weight=[1,2,0.5,1,3])", "ce(reduction=none, smoothing=0.1)", "focal(reduction=sum)", "bce(pos_weight=[2,0.5,1], weight=[1,2,3])",
        "kd(temperature=2, alpha=0.3)", "decoupled_softmax(tau=0.5, reduction=sum)", "linear_ce(shift=true)", "linear_ce(vocab_block=2)",
        "linear_ce(reduction=none, softcap=3)", "linear_preference(loss=simpo, reduction=sum)", "ensloss(period=2, seed=3)", "gaussian_nll(full=true, reduction=sum)", "poisson_nll(log_input=false)", "bag(rho=0.3, reduction=none)",
    ];

    public static TheoryData<string> Specs => new(LossRegistry.All.Select(d => d.Card.Name).Concat(Variants));

    private static LossInputs SampleOf(string spec, int seed)
    {
        ILoss loss = LossRegistry.Create(spec);
        return loss.Kind.Sample(loss, new SampleSize(7, 5, 4), new Random(seed), scale: 2);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Sample_then_Evaluate_is_the_typed_library_call(string spec)
    {
        foreach (int seed in new[] { 1, 2 })
        {
            // Fresh losses for each side: some (ensloss) change with every call.
            LossInputs inputs = SampleOf(spec, seed);
            ILoss viaKind = LossRegistry.Create(spec), direct = LossRegistry.Create(spec);
            AssertSame(Direct<double>(direct, inputs), viaKind.Kind.Evaluate<double>(viaKind, inputs), $"{spec}, double, seed {seed}");
            viaKind = LossRegistry.Create(spec);
            direct = LossRegistry.Create(spec);
            AssertSame(Direct<float>(direct, inputs), viaKind.Kind.Evaluate<float>(viaKind, inputs), $"{spec}, float, seed {seed}");
        }
    }

    [Fact]
    public void The_registry_reaches_every_kind_and_each_names_its_outputs_by_its_inputs()
    {
        var kinds = new HashSet<string>();
        foreach (var d in LossRegistry.All)
        {
            ILoss loss = LossRegistry.Create(d.Card.Name);
            LossKind kind = loss.Kind;
            kinds.Add(kind.Name);
            LossOutputs outputs = kind.Evaluate<double>(loss, kind.Sample(loss, new SampleSize(4, 3, 2), new Random(7)));
            var given = kind.Inputs.Where(i => i.Differentiable && !i.Optional).Select(i => i.Name).ToHashSet();
            Assert.True(given.IsSubsetOf(outputs.Gradients.Keys), $"{d.Card.Name}: gradients {string.Join(", ", outputs.Gradients.Keys)}");
            Assert.All(outputs.Gradients.Keys, name => Assert.Contains(kind.Inputs, i => i.Name == name && i.Differentiable));
            var names = new[] { "unreduced" }.Concat(outputs.Gradients.Keys.Select(k => "grad_" + k)).ToHashSet();
            Assert.All(kind.OutputAliases, a => Assert.Contains(a.Value, names));
        }
        Assert.Superset(new HashSet<string> { "classification", "binary", "distillation", "multi-positive", "large-vocabulary", "regression", "bag regression", "divergence", "preference", "unpaired-preference", "linear-preference", "ranking", "pairs", "pair-distances", "triplets", "embeddings" }, kinds);
    }

    [Theory]
    [InlineData("ce")]
    [InlineData("bce")]
    [InlineData("kd")]
    [InlineData("decoupled_softmax")]
    [InlineData("linear_ce")]
    [InlineData("gaussian_nll")]
    [InlineData("gg_nll(predict=both)")]
    [InlineData("bag")]
    public void Each_RunOutputs_writes_what_it_says(string spec)
    {
        ILoss loss = LossRegistry.Create(spec);
        LossInputs inputs = SampleOf(spec, 3);
        inputs.Remove("bias");
        LossCall call = loss.Kind.Prepare<double>(loss, inputs);

        double forward = call.Run(RunOutputs.Loss);
        LossOutputs none = call.Outputs();
        Assert.All(none.Gradients.Values.Append(none.Unreduced), t => Assert.All(t.Values, v => Assert.Equal(0, v)));

        Assert.Equal(forward, call.Run(RunOutputs.Gradients));
        LossOutputs gradients = call.Outputs();
        Assert.All(gradients.Unreduced.Values, v => Assert.Equal(0, v));           // not written by a training step

        Assert.Equal(forward, call.Run(RunOutputs.All));
        LossOutputs all = call.Outputs();
        Assert.Contains(all.Unreduced.Values, v => v != 0);
        foreach (var (name, g) in gradients.Gradients)
        {
            if (name == "bias")
            {
                // No bias was given: a training step leaves its gradient alone, Outputs' run writes the gradient a bias would get.
                Assert.All(g.Values, v => Assert.Equal(0, v));
                Assert.Contains(all.Gradients[name].Values, v => v != 0);
            }
            else
            {
                Assert.Contains(g.Values, v => v != 0);
                Assert.Equal(all.Gradients[name].Values, g.Values);
            }
        }
        Assert.Equal(forward, all.Loss);
    }

    [Fact]
    public void A_call_of_the_logits_kinds_reads_the_inputs_and_writes_the_outputs_once()
    {
        ILoss loss = LossRegistry.Create("ce");
        LossCall call = loss.Kind.Prepare<float>(loss, loss.Kind.Sample(loss, new SampleSize(10, 30), new Random(1)));
        long logits = 10 * 30 * sizeof(float), targets = 10 * sizeof(int), unreduced = 10 * sizeof(float);
        Assert.Equal(logits + targets, call.Bytes(RunOutputs.Loss));
        Assert.Equal(2 * logits + targets, call.Bytes(RunOutputs.Gradients));
        Assert.Equal(2 * logits + targets + unreduced, call.Bytes(RunOutputs.All));
        Assert.Equal(call.Bytes(RunOutputs.All), call.Bytes(gradients: true));
        Assert.Equal(0, call.Flops(RunOutputs.Gradients));
        Assert.Null(call.Baseline);
        Assert.Empty(call.Settings);
    }

    [Fact]
    public void Linear_ce_offers_its_materialised_path_as_the_baseline()
    {
        ILoss loss = LossRegistry.Create("linear_ce(chunk_rows=3)");
        LossInputs inputs = loss.Kind.Sample(loss, new SampleSize(9, 40, 6), new Random(5));
        LossCall call = loss.Kind.Prepare<double>(loss, inputs);
        LossCall baseline = Assert.IsAssignableFrom<LossCall>(call.Baseline);
        Assert.Same(baseline, call.Baseline);
        Assert.Null(baseline.Baseline);
        Assert.Equal("fused", call.Method);
        Assert.Equal("materialised", baseline.Method);
        Assert.Equal(6.0 * 9 * 6 * 40, call.Flops(RunOutputs.Gradients));
        Assert.Equal(2.0 * 9 * 6 * 40, call.Flops(RunOutputs.Loss));
        Assert.Equal(new KeyValuePair<string, int>[] { new("chunk_rows", 3), new("vocab_block", 0) }, call.Settings);

        double fused = call.Run(RunOutputs.All);
        LossOutputs a = call.Outputs();
        double materialised = baseline.Run(RunOutputs.All);
        LossOutputs b = baseline.Outputs();                    // the same buffers: the baseline has overwritten them
        Assert.Equal(fused, materialised, 1e-12);
        foreach (var (name, g) in a.Gradients)
            for (int i = 0; i < g.Length; i++) Assert.Equal(g.Values[i], b.Gradients[name].Values[i], 1e-12);
        Assert.Equal(b.Gradients["weight"].Values, call.Outputs().Gradients["weight"].Values);
    }

    [Fact]
    public void A_binary_loss_takes_a_flat_target_list_for_one_logit_per_row()
    {
        ILoss loss = LossRegistry.Create("bce");
        double[] s = [0.3, -1, 2], t = [1, 0, 0.25];
        LossOutputs column = loss.Kind.Evaluate<double>(loss, new LossInputs { ["logits"] = new(s, 3, 1), ["targets"] = LossTensor.Vector(t) });
        LossOutputs nested = loss.Kind.Evaluate<double>(loss, new LossInputs { ["logits"] = new(s, 3, 1), ["targets"] = new(t, 3, 1) });
        LossOutputs flat = loss.Kind.Evaluate<double>(loss, new LossInputs { ["logits"] = LossTensor.Vector(s), ["targets"] = LossTensor.Vector(t) });
        Assert.Equal(nested.Loss, column.Loss);
        Assert.Equal(flat.Loss, column.Loss);
        Assert.Equal([3, 1], column.Gradients["logits"].Shape);       // outputs are shaped as the logits
        Assert.Equal([3], flat.Gradients["logits"].Shape);
        Assert.Equal(flat.Gradients["logits"].Values, column.Gradients["logits"].Values);
    }

    public static TheoryData<string, string, string, string> BadInputs => new()
    {
        // spec, inputs (name=shape:values; ...), the parameter the error names, words of its message
        { "ce", "logits=2x2:1,2,3,4", "targets", "the input has neither \"targets\" nor \"soft_targets\": classification losses take \"logits\" (N×K), \"targets\" (N), \"soft_targets\" (N×K, optional)." },
        { "ce", "logits=2x2:1,2,3,4; targets=2:0,1; soft_targets=2x2:1,0,0,1", "soft_targets", "both \"targets\" and \"soft_targets\"" },
        { "ce", "logits=2x2:1,2,3,4; targets=2:0,1; label=2:0,1", "label", "\"label\" is not an input of classification losses: they take \"logits\" (N×K)" },
        { "ce", "logits=4:1,2,3,4; targets=2:0,1", "logits", "logits has shape [4]: expected one row of K logits per sample, N×K (one sample of 4 values is [[...]], shape [1, 4])." },
        { "ce", "logits=2x2:1,2,3,4; targets=3:0,1,1", "targets", "targets has shape [3] but logits has shape [2, 2] (2 rows); give one class index per row, [2]." },
        { "ce", "logits=2x2:1,2,3,4; targets=2:0,0.5", "targets", "targets[1] = 0.5 is not an integer." },
        { "kd", "logits=2x2:1,2,3,4; targets=2:0,1", "teacher_logits", "the input has no \"teacher_logits\": distillation losses take \"logits\" (N×K), \"teacher_logits\" (N×K), \"targets\" (N)." },
        { "kd", "logits=2x2:1,2,3,4; teacher_logits=2x3:1,2,3,4,5,6; targets=2:0,1", "teacher_logits", "teacher_logits has shape [2, 3] but logits has [2, 2]; they must have the same shape." },
        { "bce", "logits=2x2:1,2,3,4; targets=4:0,1,1,0", "targets", "targets has shape [4] but logits has [2, 2]; they must have the same shape." },
        { "decoupled_softmax", "logits=1x2:1,2; positives=1x2:1,0.5", "positives", "positives[0][1] = 0.5 is not an integer." },
        { "linear_ce", "hidden=1x2:1,2; weight=2x3:1,2,3,4,5,6; targets=1:0", "weight", "weight has shape [2, 3] but hidden has [1, 2]: each row of weight must have dim = 2 values." },
        { "linear_ce", "hidden=1x2:1,2; weight=1x2:1,2; bias=2:0,0; targets=1:0", "bias", "bias has shape [2] but weight has 1 rows; give one bias per class, [1]." },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_inputs_give_one_clear_message(string spec, string inputs, string parameter, string message)
    {
        ILoss loss = LossRegistry.Create(spec);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Kind.Prepare<double>(loss, Parse(inputs)));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_kind_refuses_a_loss_of_another_kind()
    {
        ILoss bce = LossRegistry.Create("bce");
        var e = Assert.Throws<ArgumentException>(() => ClassificationKind.Instance.Prepare<double>(bce, Parse("logits=1x2:1,2; targets=1:0")));
        Assert.Equal("bce is a binary loss, not a classification loss. (Parameter 'loss')", e.Message);
    }

    [Fact]
    public void A_tensor_holds_as_many_values_as_its_shape()
    {
        Assert.Contains("shape [2, 3] holds 6 values but 5 were given", Assert.Throws<ArgumentException>(() => new LossTensor(new double[5], 2, 3)).Message);
        Assert.Equal([1.5, -2], LossTensor.From<float>([1.5f, -2f], 2).Values);
        Assert.Equal("[]", new LossTensor([3.0]).ShapeText);
    }

    /// <summary>"logits=2x3:1,2,3,4,5,6; targets=2:0,1" as named tensors.</summary>
    private static LossInputs Parse(string text)
    {
        var inputs = new LossInputs();
        foreach (string part in text.Split(';', StringSplitOptions.TrimEntries))
        {
            string[] nameRest = part.Split('='), shapeValues = nameRest[1].Split(':');
            int[] shape = shapeValues[0].Split('x').Select(int.Parse).ToArray();
            double[] values = shapeValues[1].Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            inputs[nameRest[0]] = new LossTensor(values, shape);
        }
        return inputs;
    }

    private static void AssertSame(LossOutputs expected, LossOutputs actual, string what)
    {
        Assert.True(expected.Loss.Equals(actual.Loss), $"{what}: loss {expected.Loss} via the kind {actual.Loss}");
        Assert.Equal(expected.Unreduced.Shape, actual.Unreduced.Shape);
        Assert.True(expected.Unreduced.Values.SequenceEqual(actual.Unreduced.Values), $"{what}: unreduced");
        Assert.Equal(expected.Gradients.Keys.Order(), actual.Gradients.Keys.Order());
        foreach (var (name, g) in expected.Gradients)
        {
            Assert.Equal(g.Shape, actual.Gradients[name].Shape);
            Assert.True(g.Values.SequenceEqual(actual.Gradients[name].Values), $"{what}: grad_{name}");
        }
    }

    private static T[] As<T>(LossTensor t) where T : unmanaged, IFloatingPointIeee754<T> => t.Values.Select(T.CreateTruncating).ToArray();

    private static LossOutputs Outputs<T>(T loss, T[] unreduced, int[] unreducedShape, params (string Name, T[] Values, int[] Shape)[] gradients)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        new(double.CreateTruncating(loss), LossTensor.From<T>(unreduced, unreducedShape),
            gradients.ToDictionary(g => g.Name, g => LossTensor.From<T>(g.Values, g.Shape)));

    /// <summary>The typed library call of each family on <paramref name="x"/>, written out here as a user would.</summary>
    private static LossOutputs Direct<T>(ILoss loss, LossInputs x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] shape = x.TryGetValue("logits", out var logitsTensor) ? logitsTensor.Shape : [];
        switch (loss)
        {
            case IClassificationLoss c:
            {
                int rows = shape[0], classes = shape[1];
                T[] z = As<T>(x["logits"]), per = new T[rows], g = new T[z.Length];
                T value = c.Compute<T>(z, classes, x["targets"].AsIntegers("targets"), per, g);
                return Outputs(value, per, [rows], ("logits", g, shape));
            }
            case IBinaryLoss b:
            {
                T[] s = As<T>(x["logits"]), per = new T[s.Length], g = new T[s.Length];
                T value = b.Compute<T>(s, As<T>(x["targets"]), per, g);
                return Outputs(value, per, shape, ("logits", g, shape));
            }
            case IDistillationLoss d:
            {
                int rows = shape[0], classes = shape[1];
                T[] z = As<T>(x["logits"]), per = new T[rows], g = new T[z.Length];
                T value = d.Compute<T>(z, classes, As<T>(x["teacher_logits"]), x["targets"].AsIntegers("targets"), per, g);
                return Outputs(value, per, [rows], ("logits", g, shape));
            }
            case IMultiPositiveLoss m:
            {
                int rows = shape[0], classes = shape[1];
                var offsets = new List<int> { 0 };
                var columns = new List<int>();
                for (int r = 0; r < rows; r++)
                {
                    for (int k = 0; k < classes; k++) if (x["positives"].Values[r * classes + k] == 1) columns.Add(k);
                    offsets.Add(columns.Count);
                }
                T[] z = As<T>(x["logits"]), per = new T[rows], g = new T[z.Length];
                T value = m.Compute<T>(z, classes, offsets.ToArray(), columns.ToArray(), per, g);
                return Outputs(value, per, [rows], ("logits", g, shape));
            }
            case LossKit.Divergence.DivergenceLoss v:
            {
                int[] inputShape = x["input"].Shape;
                T[] q = As<T>(x["input"]), g = new T[q.Length], per = new T[v.ElementwiseUnreduced ? q.Length : inputShape[0]];
                T value = v.Compute<T>(q, inputShape[1], As<T>(x["target"]), per, g);
                return Outputs(value, per, v.ElementwiseUnreduced ? inputShape : [inputShape[0]], ("input", g, inputShape));
            }
            case LossKit.Ranking.RankingLoss rank:
            {
                int[] sh = x["scores"].Shape;
                T[] sc = As<T>(x["scores"]), per = new T[sh[0]], g = new T[sc.Length];
                T value = rank.Compute<T>(sc, sh[1], As<T>(x["labels"]), x.TryGetValue("mask", out var mt) ? As<T>(mt) : [], per, g);
                return Outputs(value, per, [sh[0]], ("scores", g, sh));
            }
            case LossKit.Preference.UnpairedPreferenceLoss unpaired:
            {
                int n = x["policy_logps"].Length;
                T[] per = new T[n], g = new T[n];
                T value = unpaired.Compute<T>(As<T>(x["policy_logps"]), As<T>(x["reference_logps"]),
                    x.TryGetValue("labels", out var lt) ? As<T>(lt) : [], x.TryGetValue("kl", out var kt) ? kt.Values[0] : 0, per, g);
                return Outputs(value, per, [n], ("policy_logps", g, [n]));
            }
            case LossKit.Preference.LinearPreferenceLoss lp:
            {
                int[] hs = x["hidden"].Shape, ws = x["weight"].Shape;
                T[] Input(string name) => x.TryGetValue(name, out var t) ? As<T>(t) : [];
                int n = hs[0] / 2;
                T[] per = new T[n], gh = new T[x["hidden"].Length], gw = new T[x["weight"].Length], gb = new T[ws[0]];
                T value = lp.Compute<T>(As<T>(x["hidden"]), As<T>(x["weight"]), Input("bias"), n, hs[1], hs[2], ws[0], x["targets"].AsIntegers("targets"),
                    Input("reference_chosen_logps"), Input("reference_rejected_logps"), per, gh, gw, gb);
                return Outputs(value, per, [n], ("hidden", gh, hs), ("weight", gw, ws), ("bias", gb, [ws[0]]));
            }
            case LossKit.Preference.PreferenceLoss pref:
            {
                T[] Input(string name) => x.TryGetValue(name, out var t) ? As<T>(t) : [];
                int n = x["policy_chosen_logps"].Length;
                T[] per = new T[n], gc = new T[n], gr = new T[n];
                T value = pref.Compute<T>(Input("policy_chosen_logps"), Input("policy_rejected_logps"), Input("reference_chosen_logps"),
                    Input("reference_rejected_logps"), Input("chosen_lengths"), Input("rejected_lengths"), per, gc, gr);
                return Outputs(value, per, [n], ("policy_chosen_logps", gc, [n]), ("policy_rejected_logps", gr, [n]));
            }
            case LossKit.Embedding.MarginRankingLoss mr:
            {
                int n = x["input1"].Length;
                T[] per = new T[n], g1 = new T[n], g2 = new T[n];
                T value = mr.Compute<T>(As<T>(x["input1"]), As<T>(x["input2"]), As<T>(x["target"]), per, g1, g2);
                return Outputs(value, per, [n], ("input1", g1, [n]), ("input2", g2, [n]));
            }
            case LossKit.Embedding.CosineEmbeddingLoss ce:
            {
                int[] sh = x["input1"].Shape;
                T[] per = new T[sh[0]], g1 = new T[sh[0] * sh[1]], g2 = new T[sh[0] * sh[1]];
                T value = ce.Compute<T>(As<T>(x["input1"]), As<T>(x["input2"]), sh[1], As<T>(x["target"]), per, g1, g2);
                return Outputs(value, per, [sh[0]], ("input1", g1, sh), ("input2", g2, sh));
            }
            case LossKit.Embedding.HingeEmbeddingLoss he:
            {
                int n = x["input"].Length;
                T[] per = new T[n], g = new T[n];
                T value = he.Compute<T>(As<T>(x["input"]), As<T>(x["target"]), per, g);
                return Outputs(value, per, [n], ("input", g, [n]));
            }
            case LossKit.Embedding.TripletMarginLoss tm:
            {
                int[] sh = x["anchor"].Shape;
                T[] per = new T[sh[0]], ga = new T[sh[0] * sh[1]], gp = new T[ga.Length], gn = new T[ga.Length];
                T value = tm.Compute<T>(As<T>(x["anchor"]), As<T>(x["positive"]), As<T>(x["negative"]), sh[1], per, ga, gp, gn);
                return Outputs(value, per, [sh[0]], ("anchor", ga, sh), ("positive", gp, sh), ("negative", gn, sh));
            }
            case LossKit.Embedding.ProxyLoss px:
            {
                int[] sh = x["embeddings"].Shape, ph = x["proxies"].Shape;
                T[] per = new T[sh[0]], ge = new T[sh[0] * sh[1]], gp = new T[ph[0] * ph[1]];
                T value = px.Compute<T>(As<T>(x["embeddings"]), sh[1], x["labels"].AsIntegers("labels"), As<T>(x["proxies"]), per, ge, gp);
                return Outputs(value, per, [sh[0]], ("embeddings", ge, sh), ("proxies", gp, ph));
            }
            case LossKit.Embedding.EmbeddingLoss em:
            {
                int[] sh = x["embeddings"].Shape;
                T[] per = new T[sh[0]], g = new T[sh[0] * sh[1]];
                T value = em.Compute<T>(As<T>(x["embeddings"]), sh[1], x["labels"].AsIntegers("labels"), per, g);
                return Outputs(value, per, [sh[0]], ("embeddings", g, sh));
            }
            case LinearCrossEntropyLoss l:
            {
                int rows = x["hidden"].Shape[0], dim = x["hidden"].Shape[1], vocab = x["weight"].Shape[0];
                int[] y = x["targets"].AsIntegers("targets");
                T[] h = As<T>(x["hidden"]), w = As<T>(x["weight"]), bias = x.TryGetValue("bias", out var bt) ? As<T>(bt) : [];
                T[] per = new T[l.Shift ? rows - 1 : rows], gh = new T[h.Length], gw = new T[w.Length], gb = new T[vocab];
                T value = typeof(T) == typeof(double)
                    ? T.CreateTruncating(l.Compute((double[])(object)h, (double[])(object)w, (double[])(object)bias, rows, dim, vocab, y,
                        (double[])(object)per, (double[])(object)gh, (double[])(object)gw, (double[])(object)gb))
                    : T.CreateTruncating(l.Compute((float[])(object)h, (float[])(object)w, (float[])(object)bias, rows, dim, vocab, y,
                        (float[])(object)per, (float[])(object)gh, (float[])(object)gw, (float[])(object)gb));
                return Outputs(value, per, [per.Length], ("hidden", gh, [rows, dim]), ("weight", gw, [vocab, dim]), ("bias", gb, [vocab]));
            }
            case IBagLoss bag:
            {
                T[] input = As<T>(x["input"]), per = new T[x["target"].Length], g = new T[input.Length];
                T value = bag.Compute<T>(input, As<T>(x["target"]), x["bags"].AsIntegers("bags"), per, g);
                return Outputs(value, per, [per.Length], ("input", g, [input.Length]));
            }
            case IRegressionLoss r:
            {
                int[] inputShape = x["input"].Shape;
                T[] input = As<T>(x["input"]), per = new T[input.Length], g = new T[input.Length];
                LossTensor? first = r.Predicted.Count > 0 ? x.Optional(r.Predicted[0].Name) : null;
                LossTensor? second = r.Predicted.Count > 1 ? x.Optional(r.Predicted[1].Name) : null;
                T[] p = first is null ? [] : As<T>(first), gp = new T[p.Length], q = second is null ? [] : As<T>(second), gq = new T[q.Length];
                T value = r.Compute(new RegressionBatch<T>(input, As<T>(x["target"]), per, g, p, gp, q, gq));
                var grads = new List<(string, T[], int[])> { ("input", g, inputShape) };
                if (first is not null) grads.Add((r.Predicted[0].Name, gp, first.Shape));
                if (second is not null) grads.Add((r.Predicted[1].Name, gq, second.Shape));
                return Outputs(value, per, inputShape, [.. grads]);
            }
            default:
                throw new Xunit.Sdk.XunitException($"{loss.Spec}: this test has no typed call for a {loss.Kind.Name} loss; add one to Direct.");
        }
    }
}
