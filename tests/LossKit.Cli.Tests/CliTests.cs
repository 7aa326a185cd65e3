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

    [Fact]
    public void EvalPrintsLossPerRowAndGradient()
    {
        string input = Path.GetTempFileName();
        File.WriteAllText(input, """{"logits": [[1, 2, 3], [0, 0, 0]], "targets": [2, 0]}""");
        var (code, output, err) = Run("eval", "--loss", "ce(reduction=sum)", "--input", input);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        double lse = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        double row0 = lse - 3, row1 = Math.Log(3);
        Assert.Equal(row0 + row1, doc.RootElement.GetProperty("loss").GetDouble(), 12);
        Assert.Equal(row1, doc.RootElement.GetProperty("per_row")[1].GetDouble(), 12);
        var g = doc.RootElement.GetProperty("gradient");
        Assert.Equal(2, g.GetArrayLength());
        Assert.Equal(Math.Exp(1 - lse), g[0][0].GetDouble(), 12);
        Assert.Equal(Math.Exp(3 - lse) - 1, g[0][2].GetDouble(), 12);
        Assert.Equal(-2.0 / 3, g[1][0].GetDouble(), 12);
    }

    [Fact]
    public void EvalTakesSoftTargetsAndMaskedLogits()
    {
        string input = Path.GetTempFileName();
        File.WriteAllText(input, """{"logits": [[1, "-inf", 3]], "soft_targets": [[0.5, 0, 0.5]]}""");
        var (code, output, err) = Run("eval", "--loss", "ce", "--input", input);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(0, doc.RootElement.GetProperty("gradient")[0][1].GetDouble());
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
