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
    public void DescribePrintsTheCard()
    {
        var (code, output, _) = Run("describe", "focal(gamma=3)");
        Assert.Equal(0, code);
        Assert.Contains("focal(gamma=3)", output);
        Assert.Contains("Lin et al. 2017", output);
        Assert.Contains("gamma", output);
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
    [InlineData(new[] { "describe", "gce(q=2)" }, "q = 2 is out of range")]
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
