using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Cli.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void ListMarkdownIsTheCatalogText()
    {
        var (code, output, _) = Run("list", "--markdown");
        Assert.Equal(0, code);
        Assert.Equal(CatalogMarkdown.Render(), output);
    }

    [Fact]
    public void ListShowsEveryLoss()
    {
        var (code, output, _) = Run("list");
        Assert.Equal(0, code);
        foreach (var d in LossRegistry.All) Assert.Contains(d.Card.Name, output);
    }

    [Fact]
    public void ListJsonHasEveryLossWithItsParameters()
    {
        var (code, output, _) = Run("list", "--json");
        Assert.Equal(0, code);
        Assert.Equal(CatalogJson.Render(), output);
        using var doc = JsonDocument.Parse(output);
        var losses = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(LossRegistry.All.Select(d => d.Card.Name), losses.Select(l => l.GetProperty("spec").GetString()));
        foreach (var (d, l) in LossRegistry.All.Zip(losses))
        {
            var card = d.Card;
            Assert.Equal(LossRegistry.Create(card.Name).Kind.Name, l.GetProperty("kind").GetString());
            Assert.Equal(card.Family, l.GetProperty("family").GetString());
            Assert.Equal(card.Title, l.GetProperty("title").GetString());
            Assert.Equal(card.Reference, l.GetProperty("reference").GetString());
            Assert.Equal(LossCard.Each(card.Properties).Select(CatalogJson.PropertyKey), l.GetProperty("properties").EnumerateArray().Select(p => p.GetString()));
            var ps = l.GetProperty("parameters").EnumerateArray().ToList();
            Assert.Equal(card.Parameters.Select(p => p.Name), ps.Select(p => p.GetProperty("name").GetString()));
            foreach (var (p, j) in card.Parameters.Zip(ps))
            {
                Assert.Equal(p.TypeName, j.GetProperty("type").GetString());
                Assert.Equal(p.RangeText, j.GetProperty("range").GetString());
                Assert.Equal(p.Description, j.GetProperty("description").GetString());
                var def = j.GetProperty("default");
                switch (p.Kind)
                {
                    case ParameterKind.Choice:
                        Assert.Equal(p.Choices[0], def.GetString());
                        Assert.Equal(p.Choices, j.GetProperty("choices").EnumerateArray().Select(c => c.GetString()!));
                        break;
                    case ParameterKind.NumberList:
                        if (p.Default is { } first) Assert.Equal(first, def[0].GetDouble());
                        else Assert.Equal(JsonValueKind.Null, def.ValueKind);
                        break;
                    default:
                        Assert.Equal(p.Default!.Value, def.GetDouble());
                        if (p.Kind == ParameterKind.Integer) Assert.Equal((int)p.Default.Value, def.GetInt32());
                        break;
                }
                if (p.Kind != ParameterKind.Choice)
                    foreach (var (name, bound) in new[] { ("min", p.LowerBound), ("max", p.UpperBound) })
                    {
                        var b = j.GetProperty(name);
                        if (double.IsFinite(bound)) Assert.Equal(bound, b.GetDouble()); else Assert.Equal(JsonValueKind.Null, b.ValueKind);
                    }
            }
        }
        // Integers are written as integers.
        Assert.Contains("\"default\": -100", output);
        Assert.Contains("\"max\": 2147483647", output);
    }

    [Fact]
    public void DescribePrintsTheCard()
    {
        var (code, output, _) = Run("describe", "focal(gamma=3)");
        Assert.Equal(0, code);
        Assert.Contains("focal(gamma=3)", output);
        Assert.Contains("Lin et al. 2017", output);
        Assert.Contains("gamma", output);
        Assert.Contains("kind:       classification", output);
        Assert.Contains("shift-invariant: multi-class:", output);
    }

    /// <summary>Binary losses show the configured loss's properties in binary words: sigmoid_focal at its default
    /// α = 0.25 is not margin-based, with α disabled it is; no multi-class wording appears.</summary>
    [Theory]
    [InlineData("sigmoid_focal", false)]
    [InlineData("sigmoid_focal(alpha=-1)", true)]
    [InlineData("bce", true)]
    [InlineData("bce(pos_weight=[2])", false)]
    [InlineData("hinge", true)]
    [InlineData("asl", false)]
    public void DescribeOfABinaryLossShowsItsConfiguredProperties(string spec, bool marginBased)
    {
        var (code, output, err) = Run("describe", spec);
        Assert.True(code == 0, err);
        Assert.Contains("kind:       binary", output);
        string properties = output.Split('\n').First(l => l.StartsWith("properties:", StringComparison.Ordinal));
        Assert.Equal(LossCard.PropertiesText(LossRegistry.Create(spec).Properties), properties["properties:".Length..].Trim());
        Assert.Equal(marginBased, properties.Contains("margin-based"));
        Assert.DoesNotContain("multi-class", output);
        Assert.Contains("non-negative: binary: ℓ(s, t) ≥ 0", output);
    }

    [Fact]
    public void DescribeShowsConfiguredValuesAndIntegerRanges()
    {
        var (code, output, err) = Run("describe", "ensloss(period=3)");
        Assert.True(code == 0, err);
        Assert.Contains("ensloss(period=3)", output);
        Assert.Contains("2147483647", output);
        Assert.DoesNotContain("E+", output);
    }

    private static string Input(string json)
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, json);
        return path;
    }

    private static JsonElement Eval(string spec, string json, params string[] options)
    {
        var (code, output, err) = Run(["eval", "--loss", spec, "--input", Input(json), .. options]);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    private static double[] Flat(JsonElement e) => e.ValueKind == JsonValueKind.Array
        ? e.EnumerateArray().SelectMany(Flat).ToArray()
        : [e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : e.GetDouble()];

    [Fact]
    public void EvalPrintsLossPerRowAndGradient()
    {
        var root = Eval("ce(reduction=sum)", """{"logits": [[1, 2, 3], [0, 0, 0]], "targets": [2, 0]}""", "--double");
        double lse = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        double row0 = lse - 3, row1 = Math.Log(3);
        Assert.Equal(row0 + row1, root.GetProperty("loss").GetDouble(), 12);
        Assert.Equal(row1, root.GetProperty("per_row")[1].GetDouble(), 12);
        var g = root.GetProperty("gradient");
        Assert.Equal(2, g.GetArrayLength());
        Assert.Equal(Math.Exp(1 - lse), g[0][0].GetDouble(), 12);
        Assert.Equal(Math.Exp(3 - lse) - 1, g[0][2].GetDouble(), 12);
        Assert.Equal(-2.0 / 3, g[1][0].GetDouble(), 12);
        // The io.md names carry the same values as the older ones.
        Assert.Equal(root.GetProperty("per_row").GetRawText(), root.GetProperty("unreduced").GetRawText());
        Assert.Equal(g.GetRawText(), root.GetProperty("grad_logits").GetRawText());
    }

    [Fact]
    public void EvalComputesInFloatUnlessDoubleIsAsked()
    {
        const string json = """{"logits": [[0.1, 2, -3.7], [1e-3, 0.5, 0.25]], "targets": [2, 1]}""";
        var loss = LossRegistry.CreateClassification("focal(gamma=2)");
        float[] zf = [0.1f, 2f, -3.7f, 1e-3f, 0.5f, 0.25f];
        double[] zd = [0.1, 2, -3.7, 1e-3, 0.5, 0.25];
        var (gf, gd) = (new float[6], new double[6]);
        float lf = loss.Compute<float>(zf, 3, [2, 1], default, gf);
        double ld = loss.Compute<double>(zd, 3, [2, 1], default, gd);
        Assert.NotEqual((double)lf, ld);                                   // the two precisions differ in these digits

        var single = Eval("focal(gamma=2)", json);
        Assert.Equal(lf, (float)single.GetProperty("loss").GetDouble());
        Assert.Equal(gf.Select(v => (double)v), Flat(single.GetProperty("grad_logits")).Select(v => (double)(float)v));
        Assert.Equal(lf.ToString("R", System.Globalization.CultureInfo.InvariantCulture), single.GetProperty("loss").GetRawText());

        var dbl = Eval("focal(gamma=2)", json, "--double");
        Assert.Equal(ld, dbl.GetProperty("loss").GetDouble());
        Assert.Equal(gd, Flat(dbl.GetProperty("grad_logits")));
    }

    [Fact]
    public void EvalTakesSoftTargetsAndMaskedLogits()
    {
        var root = Eval("ce", """{"logits": [[1, "-inf", 3]], "soft_targets": [[0.5, 0, 0.5]]}""");
        Assert.Equal(0, root.GetProperty("gradient")[0][1].GetDouble());
        Assert.Equal(0, root.GetProperty("grad_logits")[0][1].GetDouble());
    }

    [Fact]
    public void EvalOfABinaryLossTakesAFlatTargetListForOneLogitPerRow()
    {
        var column = Eval("bce", """{"logits": [[0.3], [-1], [2]], "targets": [1, 0, 0.25]}""", "--double");
        var nested = Eval("bce", """{"logits": [[0.3], [-1], [2]], "targets": [[1], [0], [0.25]]}""", "--double");
        var flat = Eval("bce", """{"logits": [0.3, -1, 2], "targets": [1, 0, 0.25]}""", "--double");
        Assert.Equal(nested.GetRawText(), column.GetRawText());
        Assert.Equal(3, column.GetProperty("grad_logits").GetArrayLength());
        Assert.Equal(JsonValueKind.Array, column.GetProperty("grad_logits")[0].ValueKind);     // shaped as the logits: N×1
        Assert.Equal(JsonValueKind.Number, flat.GetProperty("grad_logits")[0].ValueKind);      // N
        double softplus(double x) => Math.Log(1 + Math.Exp(x));
        double expected = (softplus(-0.3) + softplus(-1) + (0.25 * softplus(-2) + 0.75 * softplus(2))) / 3;
        Assert.Equal(expected, flat.GetProperty("loss").GetDouble(), 12);
        Assert.Equal(Flat(flat.GetProperty("unreduced")), Flat(column.GetProperty("per_row")));
        Assert.Equal((1 / (1 + Math.Exp(-0.3)) - 1) / 3, flat.GetProperty("gradient")[0].GetDouble(), 12);
    }

    [Fact]
    public void EvalOfAMultiLabelLossKeepsTheLogitsShape()
    {
        var root = Eval("bce", """{"logits": [[0.3, 1], [-1, 2]], "targets": [[1, 0], [0.5, 0.5]]}""");
        Assert.Equal(2, root.GetProperty("unreduced")[1].GetArrayLength());
        Assert.Equal(2, root.GetProperty("grad_logits")[1].GetArrayLength());
    }

    [Fact]
    public void EvalOfAMultiPositiveLossTakesMultiHotPositives()
    {
        var root = Eval("decoupled_softmax(tau=1)", """{"logits": [[0.5, 1, -1], [2, 0, 0]], "positives": [[1, 1, 0], [0, 0, 0]]}""", "--double");
        var loss = (LossKit.Softmax.IMultiPositiveLoss)LossRegistry.Create("decoupled_softmax(tau=1)");
        var (per, g) = (new double[2], new double[6]);
        double expected = loss.Compute<double>([0.5, 1, -1, 2, 0, 0], 3, [0, 2, 2], [0, 1], per, g);
        Assert.Equal(expected, root.GetProperty("loss").GetDouble());
        Assert.Equal(per, Flat(root.GetProperty("unreduced")));
        Assert.Equal(g, Flat(root.GetProperty("grad_logits")));
        Assert.Equal(0, per[1]);                                              // a row without positives
    }

    [Fact]
    public void EvalOfADistillationLossTakesTeacherLogits()
    {
        var root = Eval("kd(temperature=2, alpha=0.5)", """{"logits": [[0.5, 1, -1], [2, 0, 0]], "teacher_logits": [[1, 0, 0], [0, 3, 1]], "targets": [1, 2]}""", "--double");
        var loss = (LossKit.Distillation.IDistillationLoss)LossRegistry.Create("kd(temperature=2, alpha=0.5)");
        var (per, g) = (new double[2], new double[6]);
        double expected = loss.Compute<double>([0.5, 1, -1, 2, 0, 0], 3, [1, 0, 0, 0, 3, 1], [1, 2], per, g);
        Assert.Equal(expected, root.GetProperty("loss").GetDouble());
        Assert.Equal(per, Flat(root.GetProperty("per_row")));
        Assert.Equal(g, Flat(root.GetProperty("gradient")));
    }

    [Theory]
    [InlineData("ce", """{"logits": [[1, 2]], "target": [0]}""", "\"target\" is not an input of classification losses: they take \"logits\" (N×K), \"targets\" (N), \"soft_targets\" (N×K, optional)")]
    [InlineData("bce", """{"logits": [1, 2], "targets": [0, 1], "weight": [1, 1]}""", "\"weight\" is not an input of binary losses")]
    [InlineData("ce", """{"logits": [[1, 2]]}""", "neither \"targets\" nor \"soft_targets\"")]
    [InlineData("kd", """{"logits": [[1, 2]], "targets": [0]}""", "the input has no \"teacher_logits\": distillation losses take")]
    [InlineData("ce", """{"logits": [1, 2], "targets": [0]}""", "logits has shape [2]: expected one row of K logits per sample, N×K")]
    [InlineData("ce", """{"logits": [[1, 2], [3]], "targets": [0, 1]}""", "logits[1] has 1 value but the first array at its depth has 2")]
    [InlineData("ce", """{"logits": [[1, 2], [3, 4]], "targets": [0, 0.5]}""", "targets[1] = 0.5 is not an integer")]
    [InlineData("ce", """{"logits": [[1, 2], [3, 4]], "targets": [0]}""", "targets has shape [1] but logits has shape [2, 2] (2 rows)")]
    [InlineData("ce", """{"logits": [[1, 2], [3, 4]], "soft_targets": [[1, 0]]}""", "soft_targets has shape [1, 2] but logits has [2, 2]")]
    [InlineData("ce", """{"logits": [[1, null]], "targets": [0]}""", "logits[0][1] = null is not a number")]
    [InlineData("bce", """{"logits": [[1, 2]], "targets": [1, 0]}""", "targets has shape [2] but logits has [1, 2]; they must have the same shape")]
    [InlineData("decoupled_softmax", """{"logits": [[1, 2]], "positives": [[1, 2]]}""", "positives[0, 1] = 2: expected 0 or 1")]
    [InlineData("ce", """[[1, 2]]""", "expected an object of named inputs")]
    public void BadEvalInputGivesOneClearLine(string spec, string json, string expected)
    {
        var (code, output, err) = Run("eval", "--loss", spec, "--input", Input(json));
        Assert.Equal(1, code);
        Assert.Equal("", output);
        string line = err.TrimEnd('\n', '\r');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("losskit: ", line);
        Assert.Contains(expected, line);
    }

    [Theory]
    [InlineData(new[] { "eval", "--loss", "focul", "--input", "x.json" }, "Unknown loss 'focul'")]
    [InlineData(new[] { "describe", "gce(q=2)" }, "q = 2 is out of range: expected 0 < value ≤ 1.")]
    [InlineData(new[] { "describe", "ensloss(period=0)" }, "period = 0 is out of range: expected 1 ≤ integer ≤ 2147483647.")]
    [InlineData(new[] { "list", "--json", "--markdown" }, "not both")]
    [InlineData(new[] { "check", "ce(smoothing=" }, "Malformed loss spec")]
    [InlineData(new[] { "bench", "--rows", "0" }, "--rows 0")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    public void ErrorsAreOneLineAndExitCodeOne(string[] args, string expected)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(1, code);
        string line = err.TrimEnd('\n', '\r');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("losskit: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", line);
    }

    [Fact]
    public void BadEvalInputSaysWhichValue()
    {
        string input = Path.GetTempFileName();
        File.WriteAllText(input, """{"logits": [[1, 2], [3, 4]], "targets": [0, 5]}""");
        var (code, _, err) = Run("eval", "--loss", "ce", "--input", input);
        Assert.Equal(1, code);
        Assert.Contains("targets[1] = 5", err);
    }

    [Fact]
    public void CheckPassesForEveryRegisteredLossOfEveryKind()
    {
        foreach (var d in LossRegistry.All)
        {
            var (code, output, err) = Run("check", d.Card.Name);
            Assert.True(code == 0, $"{d.Card.Name}: {output}{err}");
            Assert.Contains("checks passed", output);
        }
    }

    [Fact]
    public void BenchCountsDimOnlyForKindsWithOne()
    {
        // 3 000 000 × the default --dim 1024 would not fit in an array; mse has no d, so it is not a limit there.
        var (code, _, err) = Run("bench", "--loss", "mse", "--rows", "3000000", "--classes", "1", "--threads", "1", "--runs", "1", "--json");
        Assert.True(code == 0, err);
        var embed = Run("bench", "--loss", "contrastive", "--rows", "64", "--classes", "10", "--dim", "100000000", "--threads", "1", "--runs", "1");
        Assert.Equal(1, embed.Code);
        Assert.Contains("more than one array can hold", embed.Err);
    }

    [Theory]
    [InlineData("bce")]
    [InlineData("kd")]
    [InlineData("decoupled_softmax")]
    [InlineData("dpo")]          // needs the reference log-probabilities its kind calls optional
    [InlineData("lambdarank")]
    [InlineData("kl")]
    [InlineData("contrastive")]
    [InlineData("mse")]
    public void BenchRunsEveryKind(string spec)
    {
        var (code, output, err) = Run("bench", "--loss", spec, "--rows", "16", "--classes", "10", "--threads", "1", "--runs", "1", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(spec, doc.RootElement.GetProperty("loss").GetString());
        Assert.True(doc.RootElement.GetProperty("gbps").GetDouble() > 0);
        Assert.False(doc.RootElement.TryGetProperty("materialized_seconds_median", out _));   // no baseline
    }

    [Fact]
    public void CheckRunsLinearCeAndTheChosenGroups()
    {
        var (code, output, err) = Run("check", "linear_ce(shift=true)", "--only", "gradient", "reductions");
        Assert.True(code == 0, err);
        foreach (string input in new[] { "hidden", "weight", "bias" }) Assert.Contains($"gradient: {input} at scale", output);
        Assert.Contains("reductions:", output);
        Assert.DoesNotContain("threads:", output);
        (code, _, err) = Run("check", "ce", "--only", "gradients");
        Assert.Equal(1, code);
        Assert.Contains("not a conformance check", err);
    }

    [Fact]
    public void BenchJsonHasTheDocumentedFields()
    {
        var (code, output, err) = Run("bench", "--loss", "focal", "--rows", "64", "--classes", "100", "--threads", "1", "--runs", "3", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var r = doc.RootElement;
        foreach (string field in new[] { "loss", "rows", "classes", "threads", "seconds_median", "forward_seconds_median", "gbps", "copy_gbps", "fraction_of_copy" })
            Assert.True(r.TryGetProperty(field, out _), field);
        Assert.Equal("focal", r.GetProperty("loss").GetString());
        Assert.Equal(64, r.GetProperty("rows").GetInt32());
        Assert.True(r.GetProperty("seconds_median").GetDouble() > 0);
    }
}
