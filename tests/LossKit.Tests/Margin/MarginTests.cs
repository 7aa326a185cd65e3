using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Margin;
using LossKit.Tests.RowLosses;

namespace LossKit.Tests.Margin;

/// <summary>The margin family: multimargin against PyTorch 1.13 (tools/make_fixtures_multimargin.py), kinks and edge cases.</summary>
public class MarginTests
{
    public sealed record Case(string name, string spec, string dtype, int rows, int classes, double[] logits, int[] targets,
        double loss, double[] per_row, double[] gradient);

    private sealed record File(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<File>(System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "multimargin.json")))!.cases);

    public static TheoryData<string> FixtureNames() => RowLossSpecs.Data(s_cases.Value.Select(c => c.name));

    [Fact]
    public void FixturesCoverTheOptions()
    {
        var cases = s_cases.Value;
        Assert.True(cases.Length >= 70);
        Assert.Contains(cases, c => c.spec.Contains("p=2") && c.spec.Contains("weight=") && c.spec.Contains("reduction=sum"));
        Assert.Contains(cases, c => c.spec.Contains("weight=") && !c.spec.Contains("reduction="));
        Assert.Contains(cases, c => c.classes == 1);
        Assert.Contains(cases, c => c.classes == 300);
    }

    [Theory, MemberData(nameof(FixtureNames))]
    public void MultiMarginMatchesPyTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        var loss = (MultiMarginLoss)LossRegistry.Create(c.spec);
        double value;
        double[] perRow, gradient;
        double tolerance;
        if (c.dtype == "float64")
        {
            perRow = new double[c.rows]; gradient = new double[c.logits.Length];
            value = loss.Compute<double>(c.logits, c.classes, c.targets, perRow, gradient);
            tolerance = 1e-12;
        }
        else
        {
            var rf = new float[c.rows]; var gf = new float[c.logits.Length];
            value = loss.Compute<float>(c.logits.Select(v => (float)v).ToArray(), c.classes, c.targets, rf, gf);
            perRow = rf.Select(v => (double)v).ToArray(); gradient = gf.Select(v => (double)v).ToArray();
            tolerance = 1e-5;
        }
        Assert.InRange(RowLossReference.MaxError([value], [c.loss]), 0, tolerance);
        Assert.InRange(RowLossReference.MaxError(perRow, c.per_row), 0, tolerance);
        Assert.InRange(RowLossReference.MaxError(gradient, c.gradient), 0, tolerance);
    }

    [Fact]
    public void MultiMarginMeanWithWeightsDividesByRowsNotWeightSum()
    {
        var loss = new MultiMarginLoss(weight: [1, 3]);
        var perRow = new double[2];
        double v = loss.Compute<double>([0, 0, 0, 0], 2, [1, 1], perRow);
        Assert.Equal(3.0 / 2, perRow[0], 15);
        Assert.Equal(1.5, v, 15);      // (1.5 + 1.5) / 2 rows, not / (3 + 3)
    }

    [Fact]
    public void KinksUseTheDocumentedSubgradients()
    {
        // hinge_ww and multimargin: a term exactly at the kink (m + z_j − z_y = 0) counts as inactive.
        var g = new double[3];
        Assert.Equal(0.0, new WestonWatkinsHingeLoss(reduction: Reduction.Sum).Compute<double>([0, 1, -1], 3, [1], default, g));
        Assert.Equal([0.0, 0.0, 0.0], g);
        // hinge_cs: ties among rivals go to the lowest index.
        new CrammerSingerHingeLoss(reduction: Reduction.Sum).Compute<double>([2, 0, 2], 3, [1], default, g);
        Assert.Equal([1.0, -1.0, 0.0], g);
        // perceptron: the target among the largest gives 0 and a zero gradient; otherwise the lowest-index winner.
        Assert.Equal(0.0, new PerceptronLoss(reduction: Reduction.Sum).Compute<double>([3, 1, 3], 3, [2], default, g));
        Assert.Equal([0.0, 0.0, 0.0], g);
        Assert.Equal(2.0, new PerceptronLoss(reduction: Reduction.Sum).Compute<double>([3, 1, 3], 3, [1], default, g));
        Assert.Equal([1.0, -1.0, 0.0], g);
    }

    [Fact]
    public void ZeroWhenTheMarginIsMet()
    {
        double[] z = [5, 3.5, 1, -2];
        foreach (RowLoss loss in new RowLoss[] { new CrammerSingerHingeLoss(), new WestonWatkinsHingeLoss(), new MultiMarginLoss(), new MultiMarginLoss(p: 2), new PerceptronLoss() })
        {
            var g = new double[4];
            Assert.Equal(0.0, loss.Compute<double>(z, 4, [0], default, g));
            Assert.All(g, v => Assert.Equal(0.0, v));
        }
        Assert.True(new CrammerSingerHingeLoss(margin: 2).Compute<double>(z, 4, [0]) > 0);
        Assert.Equal(0.0, new OneVsRestSquaredHingeLoss().Compute<double>([1, -1, -3], 3, [0]));
    }

    [Fact]
    public void SingleClassRowsCostNothingExceptOneVsRest()
    {
        double[] z = [0.3, -2, 7];
        int[] y = [0, 0, 0];
        foreach (RowLoss loss in new RowLoss[] { new CrammerSingerHingeLoss(), new WestonWatkinsHingeLoss(), new MultiMarginLoss(), new PerceptronLoss() })
            Assert.Equal(0.0, loss.Compute<double>(z, 1, y));
        Assert.Equal((0.49 + 9 + 0) / 3, new OneVsRestSquaredHingeLoss().Compute<double>(z, 1, y), 12);
    }

    [Fact]
    public void MaskedClassesAreInactiveAndAMaskedTargetIsInfinite()
    {
        double ninf = double.NegativeInfinity;
        var g = new double[4];
        foreach (RowLoss loss in new RowLoss[] { new CrammerSingerHingeLoss(), new WestonWatkinsHingeLoss(), new MultiMarginLoss(p: 2), new OneVsRestSquaredHingeLoss(), new PerceptronLoss() })
        {
            double[] z = [0.5, ninf, -0.2, 0.1];
            double v = loss.Compute<double>(z, 4, [0], default, g);
            Assert.Equal(RowLossReference.Row(loss, z, 0), v, 12);
            Assert.Equal(0.0, g[1]);
            var rows = new double[1];
            loss.Compute<double>(z, 4, [1], rows, g);
            Assert.Equal(double.PositiveInfinity, rows[0]);
            Assert.All(g, x => Assert.Equal(0.0, x));
        }
    }

    [Theory]
    [InlineData("hinge_cs(margin=-1)", "margin")]
    [InlineData("multimargin(p=3)", "p")]
    [InlineData("multimargin(p=1.5)", "p")]
    [InlineData("hinge_ww(weight=[1,-2])", "weight")]
    [InlineData("perceptron(margin=1)", "spec")]
    public void BadParametersAreRejected(string spec, string param)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec));
        Assert.Equal(param, e.ParamName);
    }

    [Fact]
    public void ConstructorsCheckRanges()
    {
        Assert.Equal("margin", Assert.ThrowsAny<ArgumentException>(() => new WestonWatkinsHingeLoss(margin: double.NaN)).ParamName);
        Assert.Equal("p", Assert.ThrowsAny<ArgumentException>(() => new MultiMarginLoss(p: 0)).ParamName);
        Assert.Equal("weight", Assert.ThrowsAny<ArgumentException>(() => new PerceptronLoss(weight: [])).ParamName);
    }
}
