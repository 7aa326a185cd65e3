using System.Text.Json;
using LossKit.Core;
using LossKit.LargeVocabulary;

namespace LossKit.Cli.Tests;

public class LinearCeCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string Input(string json)
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void BenchGemmsTimesTheThreeProductsBesideTheCall()
    {
        var (code, output, err) = Run("bench", "--loss", "linear_ce", "--rows", "16", "--classes", "300", "--dim", "8", "--runs", "1",
            "--fused-only", "--gemms", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        double call = root.GetProperty("gemms_call_seconds_median").GetDouble(), gemms = root.GetProperty("gemms_seconds_median").GetDouble();
        Assert.True(call > 0 && gemms > 0, output);
        Assert.Equal(call / gemms, root.GetProperty("call_over_gemms").GetDouble(), 12);
        var (_, text, _) = Run("bench", "--loss", "linear_ce", "--rows", "16", "--classes", "300", "--dim", "8", "--runs", "1", "--fused-only", "--gemms");
        Assert.Contains("the three GEMMs alone", text);
    }

    [Fact]
    public void EvalPrintsLossPerRowAndTheThreeGradients()
    {
        string input = Input("""{"hidden": [[1, 2], [0.5, -1], [0, 0]], "weight": [[1, 0], [0, 1], [1, 1]], "bias": [0, 0.5, "-inf"], "targets": [1, 0, -100]}""");
        var (code, output, err) = Run("eval", "--loss", "linear_ce(reduction=sum)", "--input", input, "--double");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        // Row 0: z = (1, 2.5, −∞), target 1; row 1: z = (0.5, −0.5, −∞), target 0; row 2 ignored.
        double row0 = Math.Log(1 + Math.Exp(-1.5)), row1 = Math.Log(1 + Math.Exp(-1));
        Assert.Equal(row0 + row1, root.GetProperty("loss").GetDouble(), 12);
        Assert.Equal(row1, root.GetProperty("per_row")[1].GetDouble(), 12);
        Assert.Equal(0, root.GetProperty("per_row")[2].GetDouble());
        Assert.Equal(3, root.GetProperty("grad_hidden").GetArrayLength());
        Assert.Equal(3, root.GetProperty("grad_weight").GetArrayLength());
        Assert.Equal(2, root.GetProperty("grad_weight")[0].GetArrayLength());
        Assert.Equal(0, root.GetProperty("grad_bias")[2].GetDouble());      // masked class
        // ∂b_0 = p_0(row 0) − 1 + ... : compare with the library in double.
        var loss = new LinearCrossEntropyLoss(reduction: Reduction.Sum);
        var gb = new double[3];
        var gh = new double[6];
        loss.Compute([1, 2, 0.5, -1, 0, 0], [1, 0, 0, 1, 1, 1], [0, 0.5, double.NegativeInfinity], 3, 2, 3, [1, 0, -100], default, gh, default, gb);
        Assert.Equal(gb[0], root.GetProperty("grad_bias")[0].GetDouble(), 14);
        Assert.Equal(gh[1], root.GetProperty("grad_hidden")[0][1].GetDouble(), 14);
        Assert.Equal(root.GetProperty("per_row").GetRawText(), root.GetProperty("unreduced").GetRawText());
        Assert.False(root.TryGetProperty("gradient", out _));       // linear_ce has no logits input, so no "gradient" alias
    }

    /// <summary>The JSON <c>losskit eval --loss SPEC</c> prints for <paramref name="json"/>.</summary>
    private static JsonElement Eval(string spec, string json)
    {
        var (code, output, err) = Run("eval", "--loss", spec, "--input", Input(json));
        Assert.True(code == 0, err);
        return JsonDocument.Parse(output).RootElement;
    }

    [Fact]
    public void EvalInFloatIsTheLibrarysFloatCall()
    {
        var root = Eval("linear_ce", """{"hidden": [[1, 2], [0.5, -1]], "weight": [[1, 0.1], [0.3, 1], [1, 1]], "targets": [1, 2]}""");
        var gw = new float[6];
        float expected = new LinearCrossEntropyLoss().Compute([1f, 2f, 0.5f, -1f], [1f, 0.1f, 0.3f, 1f, 1f, 1f], default, 2, 2, 3, [1, 2], default, default, gw);
        Assert.Equal(expected, (float)root.GetProperty("loss").GetDouble());
        Assert.Equal(gw[3], (float)root.GetProperty("grad_weight")[1][1].GetDouble());
    }

    [Fact]
    public void EvalWithoutBiasAndWithShift()
    {
        var root = Eval("linear_ce(shift=true)", """{"hidden": [[1, 2], [0.5, -1], [0, 3]], "weight": [[1, 0], [0, 1]], "targets": [-100, 1, 0]}""");
        Assert.Equal(2, root.GetProperty("per_row").GetArrayLength());
        Assert.Equal(0, root.GetProperty("grad_hidden")[2][0].GetDouble());
        Assert.Equal(2, root.GetProperty("grad_bias").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"hidden": [[1, 2]], "weight": [[1, 0, 3]], "targets": [0]}""", "weight has shape [1, 3] but hidden has [1, 2]: each row of weight must have dim = 2 values")]
    [InlineData("""{"hidden": [[1, 2]], "weight": [[1, 0], [1]], "targets": [0]}""", "weight[1] has 1 value but the first array at its depth has 2")]
    [InlineData("""{"hidden": [[1, 2]], "weight": [[1, 0]], "bias": [1, 2], "targets": [0]}""", "bias has shape [2] but weight has 1 rows; give one bias per class, [1]")]
    [InlineData("""{"hidden": [[1, 2]], "weight": [[1, 0]], "targets": [3]}""", "targets[0] = 3")]
    [InlineData("""{"hidden": [[1, 2]], "weight": [[1, 0]]}""", "the input has no \"targets\": large-vocabulary losses take \"hidden\" (N×d)")]
    [InlineData("""{"logits": [[1, 2]], "targets": [0]}""", "\"logits\" is not an input of large-vocabulary losses: they take \"hidden\" (N×d), \"weight\" (V×d)")]
    public void EvalErrorsSayWhatIsWrong(string json, string expected)
    {
        var (code, _, err) = Run("eval", "--loss", "linear_ce", "--input", Input(json));
        Assert.Equal(1, code);
        Assert.StartsWith("losskit: ", err);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void BenchLinearJsonHasTheExistingAndTheNewFields()
    {
        var (code, output, err) = Run("bench", "--loss", "linear_ce", "--rows", "70", "--dim", "16", "--classes", "300", "--threads", "1", "--runs", "1", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var r = doc.RootElement;
        foreach (string field in new[] { "loss", "rows", "classes", "threads", "seconds_median", "forward_seconds_median", "gbps", "copy_gbps", "fraction_of_copy",
                     "dim", "chunk_rows", "vocab_block", "gflops", "fused_seconds_median", "materialized_seconds_median", "fused_extra_bytes", "materialized_extra_bytes" })
            Assert.True(r.TryGetProperty(field, out _), field);
        Assert.Equal("linear_ce", r.GetProperty("loss").GetString());
        Assert.Equal(16, r.GetProperty("dim").GetInt32());
        Assert.True(r.GetProperty("fused_seconds_median").GetDouble() > 0);
        Assert.Equal(0, r.GetProperty("vocab_block").GetInt32());
        Assert.True(r.GetProperty("materialized_seconds_median").GetDouble() > 0);
        // The materialised path allocates at least the logits and their gradient.
        Assert.True(r.GetProperty("materialized_extra_bytes").GetInt64() >= 2L * 70 * 300 * sizeof(float));
    }

    [Fact]
    public void BenchGemmReportsGflops()
    {
        var (code, output, err) = Run("bench", "--gemm", "33,65,17", "--threads", "2", "--runs", "1", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("gflops").GetDouble() > 0);
        Assert.Equal(65, doc.RootElement.GetProperty("k").GetInt32());
        var (bad, _, badErr) = Run("bench", "--gemm", "3,x,4");
        Assert.Equal(1, bad);
        Assert.Contains("--gemm 3,x,4: expected M,K,N", badErr);
    }

    [Fact]
    public void DescribeShowsTheLinearCard()
    {
        var (code, output, _) = Run("describe", "linear_ce(shift=true)");
        Assert.Equal(0, code);
        Assert.Contains("linear_ce(shift=true)", output);
        Assert.Contains("chunk_rows", output);
        Assert.Contains("vocab_block", output);
    }
}
