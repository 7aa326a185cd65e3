using LossKit.Catalog;
using LossKit.Core;
using LossKit.Softmax;

namespace LossKit.Tests.Core;

public class SpecTests
{
    [Fact]
    public void ParsesNumbersIdentifiersAndLists()
    {
        var s = SpecParser.Parse(" ce( weight=[1, 2,0.5], smoothing=0.1 ,reduction=sum ) ");
        Assert.Equal("ce", s.Name);
        Assert.Equal([1, 2, 0.5], s.Arguments["weight"].List!);
        Assert.Equal(0.1, s.Arguments["smoothing"].Number);
        Assert.Equal("sum", s.Arguments["reduction"].Identifier);
        Assert.Empty(SpecParser.Parse("mae").Arguments);
        Assert.Empty(SpecParser.Parse("mae()").Arguments);
        Assert.Equal(-4e-3, SpecParser.Parse("sce(A=-4e-3)").Arguments["A"].Number);
    }

    [Theory]
    [InlineData("ce(", "position 4")]
    [InlineData("ce(smoothing)", "expected '='")]
    [InlineData("ce(smoothing=)", "expected a number")]
    [InlineData("ce(weight=[1,,2])", "expected a number")]
    [InlineData("ce(smoothing=0.1) x", "unexpected text")]
    [InlineData("ce(a=1, a=2)", "given twice")]
    [InlineData("(x=1)", "expected a loss name")]
    public void MalformedSpecsSayWhereAndWhat(string spec, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => SpecParser.Parse(spec));
        Assert.Equal("spec", e.ParamName);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UnknownNamesAndParametersListTheValidOnes()
    {
        var e1 = Assert.Throws<ArgumentException>(() => LossRegistry.Create("focul(gamma=2)"));
        Assert.Contains("Unknown loss 'focul'", e1.Message);
        Assert.Contains("focal", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => LossRegistry.Create("focal(gama=2)"));
        Assert.Contains("no parameter 'gama'", e2.Message);
        Assert.Contains("gamma", e2.Message);
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create("gce(q=1.5)"));
        Assert.Contains("q = 1.5 is out of range", e3.Message);
        Assert.Contains("≤ 1", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => LossRegistry.Create("ce(reduction=avg)"));
        Assert.Contains("one of mean, sum, none", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => LossRegistry.Create("ce(smoothing=mean)"));
        Assert.Contains("expected a number", e5.Message);
    }

    [Theory]
    [InlineData("ce")]
    [InlineData("ce(smoothing=0.1, weight=[1,2,0.5], reduction=sum)")]
    [InlineData("focal(gamma=3, alpha=[0.25,0.75])")]
    [InlineData("gce(q=0.5, k=0.1, ignore_index=3, reduction=none)")]
    [InlineData("sce(alpha=1, A=-6)")]
    [InlineData("polyn(eps=[1,0.5])")]
    public void SpecRoundTrips(string spec)
    {
        ILoss a = LossRegistry.Create(spec);
        ILoss b = LossRegistry.Create(a.Spec);
        Assert.Equal(a.Spec, b.Spec);
        Assert.Equal(a.GetType(), b.GetType());
    }

    [Fact]
    public void BuiltLossesCarryTheirOptions()
    {
        var ce = (CrossEntropyLoss)LossRegistry.Create("ce(weight=[1,2,0.5], smoothing=0.1, reduction=sum, ignore_index=4)");
        Assert.Equal(0.1, ce.Smoothing);
        Assert.Equal([1, 2, 0.5], ce.Weight!);
        Assert.Equal(Reduction.Sum, ce.Reduction);
        Assert.Equal(4, ce.IgnoreIndex);
        Assert.Equal(2, ((FocalLoss)LossRegistry.Create("focal")).GammaValue);
    }

    [Fact]
    public void EveryCardIsComplete()
    {
        Assert.Equal(LossRegistry.All.Count, LossRegistry.All.Select(d => d.Card.Name).Distinct().Count());
        foreach (var d in LossRegistry.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(d.Card.Formula), d.Card.Name);
            Assert.False(string.IsNullOrWhiteSpace(d.Card.Reference), d.Card.Name);
            Assert.False(string.IsNullOrWhiteSpace(d.Card.Family), d.Card.Name);
            Assert.Equal(d.Card.Name, LossRegistry.Create(d.Card.Name).Card.Name);
            if (d.Card.Properties.HasFlag(LossProperties.Symmetric)) Assert.NotNull(d.Card.SymmetricSum);
        }
    }

    [Fact]
    public void DocsLossesMdIsGeneratedFromTheRegistry()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "LossKit.slnx"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        string path = Path.Combine(dir, "docs", "losses.md");
        Assert.True(File.Exists(path), "docs/losses.md is missing: run `dotnet run -c Release --project src/LossKit.Cli -- list --markdown > docs/losses.md`");
        Assert.True(File.ReadAllText(path).Replace("\r\n", "\n") == CatalogMarkdown.Render(),
            "docs/losses.md is stale: regenerate it with `dotnet run -c Release --project src/LossKit.Cli -- list --markdown > docs/losses.md`");
    }
}
