using System.Text.Json;
using LossKit.Core;
using LossKit.LargeVocabulary;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>linear_ce against PyTorch 1.13: F.cross_entropy(H @ W.T + b, y, ...) and autograd's ∂H, ∂W, ∂b
/// (tools/make_fixtures_linear_ce.py).</summary>
public class LinearCeFixtureTests
{
    public sealed record Case(string name, string dtype, int rows, int dim, int vocab, double[] hidden, double[] weight, double[]? bias,
        int[] targets, double[]? class_weight, int ignore_index, double smoothing, string reduction, double lse_sq, double softcap,
        double temperature, bool shift, double loss, double[] per_row, double[] grad_hidden, double[] grad_weight, double[]? grad_bias);

    private sealed record File(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<File>(System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "linear_ce.json")))!.cases);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_cases.Value) data.Add(c.name);
        return data;
    }

    [Fact]
    public void FixturesCoverTheOptions()
    {
        var cases = s_cases.Value;
        Assert.True(cases.Length >= 40);
        foreach (string dtype in new[] { "float32", "float64" })
        {
            var d = cases.Where(c => c.dtype == dtype).ToArray();
            Assert.Contains(d, c => c.shift);
            Assert.Contains(d, c => c.class_weight is not null && c.smoothing > 0 && c.targets.Contains(c.ignore_index));
            Assert.Contains(d, c => c.softcap > 0 && c.temperature != 1 && c.lse_sq > 0);
            Assert.Contains(d, c => c.bias is null);
            Assert.Contains(d, c => c.vocab == 1);
            Assert.Contains(d, c => c.rows == 1);
            Assert.All(new[] { "mean", "sum", "none" }, r => Assert.Contains(d, c => c.reduction == r));
        }
    }

    private static LinearCrossEntropyLoss Loss(Case c, int chunkRows, int vocabBlock) =>
        new(c.smoothing, c.lse_sq, c.softcap, c.temperature, c.class_weight, c.ignore_index,
            c.reduction switch { "sum" => Reduction.Sum, "none" => Reduction.None, _ => Reduction.Mean }, c.shift, chunkRows, vocabBlock);

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        // Whole rows (automatic and 4-row chunks) and vocabulary blocks of 3 classes (online log-sum-exp, recomputed logits).
        foreach (var (chunk, block) in new[] { (0, 0), (4, 0), (4, 3) })
        {
            var loss = Loss(c, chunk, block);
            var lc = new LinearCase { Rows = c.rows, Dim = c.dim, Vocab = c.vocab, Hidden = c.hidden, Weight = c.weight, Bias = c.bias ?? [], Targets = c.targets };
            LinearResult<double> r;
            double tolerance;
            if (c.dtype == "float64")
            {
                r = LinearRun.Double(loss, lc, bias: c.bias is not null);
                tolerance = 1e-10;
            }
            else
            {
                var f = LinearRun.Float(loss, lc, bias: c.bias is not null);
                r = new LinearResult<double>(f.Loss, D(f.PerRow), D(f.GradHidden), D(f.GradWeight), D(f.GradBias));
                tolerance = 1e-5;
            }
            // Errors are relative to the largest magnitude in each array (PyTorch rounds values far below it).
            string what = $"{name} (chunk_rows={chunk}, vocab_block={block})";
            Assert.True(LinearRun.MaxRelative([r.Loss], [c.loss]) <= tolerance, $"{what}: loss {r.Loss:R} vs {c.loss:R}");
            Assert.True(LinearRun.MaxRelative(r.PerRow, c.per_row) <= tolerance, $"{what}: per-row {LinearRun.MaxRelative(r.PerRow, c.per_row):E2}");
            Assert.True(LinearRun.MaxRelative(r.GradHidden, c.grad_hidden) <= tolerance, $"{what}: ∂H {LinearRun.MaxRelative(r.GradHidden, c.grad_hidden):E2}");
            Assert.True(LinearRun.MaxRelative(r.GradWeight, c.grad_weight) <= tolerance, $"{what}: ∂W {LinearRun.MaxRelative(r.GradWeight, c.grad_weight):E2}");
            if (c.grad_bias is not null)
                Assert.True(LinearRun.MaxRelative(r.GradBias, c.grad_bias) <= tolerance, $"{what}: ∂b {LinearRun.MaxRelative(r.GradBias, c.grad_bias):E2}");
        }
    }

    private static double[] D(float[] x) => x.Select(v => (double)v).ToArray();
}
