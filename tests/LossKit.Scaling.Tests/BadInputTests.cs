using LossKit.Scaling;

namespace LossKit.Scaling.Tests;

/// <summary>Inputs no law can be fitted to: one clear <see cref="ArgumentException"/> each, naming what is wrong.</summary>
public class BadInputTests
{
    private static ScalingTable Table(string csv) => ScalingTable.ReadCsv(new StringReader(csv), "test.csv");

    private static string Csv(Func<int, string> row, int rows = 10, string header = "params,tokens,loss") =>
        header + "\n" + string.Join("\n", Enumerable.Range(0, rows).Select(row));

    private static readonly string Good = Csv(i => $"{1e7 * (i + 1)},{1e9 * (10 - i)},{2 + 0.1 * i}");

    [Fact]
    public void GoodTableIsAccepted()
    {
        LawData data = LawData.From(Table(Good), new ChinchillaLaw(), ["params", "tokens"], "loss");
        Assert.Equal(10, data.Rows);
    }

    [Theory]
    [InlineData("0", "row 4: 0 is not a positive")]
    [InlineData("-5", "row 4: -5 is not a positive")]
    public void NonPositiveValueNamesColumnAndRow(string bad, string expected)
    {
        string csv = Csv(i => i == 3 ? $"{bad},1e9,2" : $"{1e7 * (i + 1)},{1e9 * (10 - i)},{2 + 0.1 * i}");
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(csv), new ChinchillaLaw(), ["params", "tokens"], "loss"));
        Assert.Contains("Column 'params'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void NonPositiveLossIsRejected()
    {
        string csv = Csv(i => $"{1e7 * (i + 1)},{1e9 * (10 - i)},{(i == 2 ? 0 : 2)}");
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(csv), new ChinchillaLaw(), ["params", "tokens"], "loss"));
        Assert.Contains("Column 'loss'", e.Message);
    }

    [Fact]
    public void TooFewPointsForTheParameters()
    {
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(Csv(i => $"{1e7 * (i + 1)},{1e9 * (10 - i)},2", rows: 5)), new ChinchillaLaw(), ["params", "tokens"], "loss"));
        Assert.Equal("chinchilla has 5 parameters: it needs at least 6 points, test.csv has 5.", e.Message);
    }

    [Fact]
    public void MissingColumnListsTheColumns()
    {
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(Good), new ChinchillaLaw(), ["params", "data"], "loss"));
        Assert.Equal("test.csv has no column 'data'. Its columns: params, tokens, loss.", e.Message);
    }

    [Fact]
    public void ConstantColumnIsRejected()
    {
        string csv = Csv(i => $"1e9,{1e9 * (10 - i)},{2 + 0.1 * i}");
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(csv), new ChinchillaLaw(), ["params", "tokens"], "loss"));
        Assert.Equal("Column 'params' of test.csv is constant (every value 1000000000): chinchilla cannot be fitted against it.", e.Message);
    }

    [Fact]
    public void WrongNumberOfXColumns()
    {
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(Good), new ChinchillaLaw(), ["params"], "loss"));
        Assert.Contains("chinchilla takes 2 variable(s) (N, D)", e.Message);
    }

    [Fact]
    public void CurveStepsMustIncrease()
    {
        string csv = Csv(i => $"{(i == 5 ? 10 : 100 * (i + 1))},0.001,{3 - 0.1 * i}", header: "step,lr,loss");
        var e = Assert.Throws<ArgumentException>(() => LawData.From(Table(csv), new LrAnnealingLaw(), ["step", "lr"], "loss"));
        Assert.Contains("must increase row by row; row 6 has 10 after 500", e.Message);
    }

    [Fact]
    public void ConstantLearningRateIsAValidCurve()
    {
        string csv = Csv(i => $"{100 * (i + 1)},0.001,{3 - 0.1 * i}", header: "step,lr,loss");
        Assert.Equal(10, LawData.From(Table(csv), new LrAnnealingLaw(), ["step", "lr"], "loss").Rows);
    }

    [Fact]
    public void MalformedCsvSaysWhere()
    {
        var e = Assert.Throws<InvalidDataException>(() => Table("params,loss\n1e9,2\n2e9,abc\n"));
        Assert.Equal("test.csv, line 3, column 'loss': 'abc' is not a number.", e.Message);
        var f = Assert.Throws<InvalidDataException>(() => Table("params,loss\n1e9\n"));
        Assert.Equal("test.csv, line 2: 1 values for 2 columns.", f.Message);
    }

    [Theory]
    [InlineData("nope", "Unknown law 'nope'. Valid laws: power, chinchilla, kaplan, loss_to_loss, broken_power, lr_annealing, multi_power.")]
    [InlineData("power(x=Q)", "power: x = Q is not valid: expected an identifier (one of N, D, C).")]
    [InlineData("chinchilla(x=N)", "chinchilla has no options (got 'x').")]
    [InlineData("lr_annealing(lambda=1)", "lambda = 1 is out of range: expected 0 ≤ value < 1.")]
    [InlineData("power(", "Malformed law spec 'power(' at position 7")]
    public void BadSpecs(string spec, string expected)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LawRegistry.Create(spec));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void BadFitOptions()
    {
        var law = new ChinchillaLaw();
        LawData data = LawData.From(Table(Good), law, ["params", "tokens"], "loss");
        Assert.Equal("drop-highest-loss = 10 leaves no points of 10.", Assert.Throws<ArgumentException>(() => Fitter.Fit(law, data, new FitOptions { DropHighestLoss = 10 })).Message);
        Assert.Equal("chinchilla has 5 parameters: it needs at least 6 points to fit, 5 are left.",
            Assert.Throws<ArgumentException>(() => Fitter.Fit(law, data, new FitOptions { DropHighestLoss = 5 })).Message);
        Assert.Contains("delta", Assert.Throws<ArgumentException>(() => Fitter.Fit(law, data, new FitOptions { Delta = 0 })).Message);
        Assert.Contains("bootstrap", Assert.Throws<ArgumentException>(() => Fitter.Fit(law, data, new FitOptions { Bootstrap = -1 })).Message);
    }

    [Fact]
    public void ParametersOutOfTheCardsRangeAreRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ChinchillaLaw().ToTheta([-1, 400, 400, 0.3, 0.3]));
        Assert.Contains("E = -1 is out of range", e.Message);
    }
}
