using System.Text.Json;
using LossKit.Core;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

/// <summary>ce against PyTorch 1.13's F.cross_entropy forward and backward (tools/make_fixtures_cross_entropy.py).</summary>
public class FixtureTests
{
    public sealed record Case(string name, string dtype, int rows, int classes, double[] logits, int[]? targets, double[]? soft_targets,
        double[]? weight, int ignore_index, double smoothing, string reduction, double loss, double[] per_row, double[] gradient);

    private sealed record File(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<File>(System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "cross_entropy.json")))!.cases);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_cases.Value) data.Add(c.name);
        return data;
    }

    [Fact]
    public void FixturesCoverTheOptionCombinations()
    {
        var cases = s_cases.Value;
        Assert.True(cases.Length >= 100);
        Assert.Contains(cases, c => c.weight is not null && c.smoothing > 0 && c.targets!.Contains(c.ignore_index));
        Assert.Contains(cases, c => c.soft_targets is not null && c.smoothing > 0 && c.weight is not null);
        Assert.Contains(cases, c => c.classes == 1);
        Assert.Contains(cases, c => c.rows == 7 && c.classes == 1000);
        Assert.All(new[] { "mean", "sum", "none" }, r => Assert.Contains(cases, c => c.reduction == r));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        var loss = new CrossEntropyLoss(smoothing: c.smoothing, weight: c.weight, ignoreIndex: c.ignore_index,
            reduction: c.reduction switch { "sum" => Reduction.Sum, "none" => Reduction.None, _ => Reduction.Mean });
        double[] perRow, gradient;
        double value;
        double tolerance;
        if (c.dtype == "float64")
        {
            perRow = new double[c.rows];
            gradient = new double[c.logits.Length];
            value = c.soft_targets is null
                ? loss.Compute<double>(c.logits, c.classes, c.targets!, perRow, gradient)
                : loss.ComputeSoft<double>(c.logits, c.classes, c.soft_targets, perRow, gradient);
            tolerance = 1e-10;
        }
        else
        {
            float[] z = c.logits.Select(v => (float)v).ToArray();
            var rowsF = new float[c.rows];
            var gradF = new float[z.Length];
            value = c.soft_targets is null
                ? loss.Compute<float>(z, c.classes, c.targets!, rowsF, gradF)
                : loss.ComputeSoft<float>(z, c.classes, c.soft_targets.Select(v => (float)v).ToArray(), rowsF, gradF);
            perRow = rowsF.Select(v => (double)v).ToArray();
            gradient = gradF.Select(v => (double)v).ToArray();
            tolerance = 1e-5;
        }
        // Errors are relative to the largest magnitude in each array: PyTorch itself rounds values far below it to 0.
        Assert.InRange(Reference.MaxRelative([value], [c.loss]), 0, tolerance);
        Assert.InRange(Reference.MaxRelative(perRow, c.per_row), 0, tolerance);
        Assert.InRange(Reference.MaxRelative(gradient, c.gradient), 0, tolerance);
    }
}
