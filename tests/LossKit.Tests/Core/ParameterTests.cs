using System.Reflection;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Margin;
using LossKit.Softmax;

namespace LossKit.Tests.Core;

/// <summary>
/// One declaration per parameter: the spec strings, defaults, ranges and errors of every registered loss come from its
/// card's <see cref="LossParameter"/>s, so these tests run over the registry rather than over a list of losses.
/// </summary>
public class ParameterTests
{
    /// <summary>Values the generic variants cannot invent: class indices (with their values) and a metric that takes beta.</summary>
    private static readonly Dictionary<string, string> Special = new()
    {
        ["classes"] = "[1,3]",
        ["values"] = "[0.5,2]",
        ["metric"] = "fbeta",
        ["power"] = "1.2",
    };

    /// <summary>Parameters that only make sense together with another (tested in <see cref="EveryOptionAtOnce"/>).</summary>
    private static readonly HashSet<(string Loss, string Parameter)> NotAlone =
        [("ntl_mse", "classes"), ("ntl_mse", "values"), ("ntl_was", "classes"), ("ntl_was", "values"), ("anyloss", "beta")];

    /// <summary>Parameters that exclude another one (barron's limit replaces alpha), left out of <see cref="EveryOptionAtOnce"/>
    /// and tested alone.</summary>
    private static readonly HashSet<(string Loss, string Parameter)> Exclusive = [("barron", "limit")];

    /// <summary>A valid value other than the default, as canonical spec text.</summary>
    private static string NonDefault(LossParameter p)
    {
        if (Special.TryGetValue(p.Name, out string? special)) return special;
        if (p.Kind == ParameterKind.Choice) return p.Choices[1];
        double d = p.Default ?? 1;
        double[] candidates = p.Kind == ParameterKind.Integer ? [d + 1, d - 1] : [d + 0.5, d - 0.5, 2 * d, 0.5, 0.25, 2];
        double v = candidates.First(c => c != d && Valid(p, c));
        if (p.Kind != ParameterKind.NumberList) return LossParameter.FormatNumber(v);
        double w = new[] { 2.0, 0.25, 3 }.First(c => Valid(p, c));
        return $"[{LossParameter.FormatNumber(v)},{LossParameter.FormatNumber(w)}]";
    }

    private static bool Valid(LossParameter p, double v)
    {
        try { p.Check(v); return true; }
        catch (ArgumentOutOfRangeException) { return false; }
    }

    /// <summary>One spec per (loss, parameter) with that parameter alone at a non-default value.</summary>
    private static IEnumerable<string> SingleOptions(string? loss = null) =>
        from d in LossRegistry.All
        where loss is null || d.Card.Name == loss
        from p in d.Card.Parameters
        where !NotAlone.Contains((d.Card.Name, p.Name))
        select $"{d.Card.Name}({p.Name}={NonDefault(p)})";

    public static TheoryData<string> SingleOptionSpecs() => new(SingleOptions());

    /// <summary>Every registered loss with every parameter at a non-default value, in card order.</summary>
    public static TheoryData<string> AllOptionSpecs() =>
        new(LossRegistry.All.Where(d => d.Card.Parameters.Count > 0)
            .Select(d => $"{d.Card.Name}({string.Join(", ", d.Card.Parameters.Where(p => !Exclusive.Contains((d.Card.Name, p.Name))).Select(p => $"{p.Name}={NonDefault(p)}"))})"));

    public static TheoryData<string> Names() => new(LossRegistry.All.Select(d => d.Card.Name));

    private static Dictionary<string, string?> Values(ILoss loss) => loss.ParameterValues.ToDictionary(v => v.Parameter.Name, v => v.Text);

    /// <summary>The spec of a loss built from a canonical spec is that spec, and it builds an equal loss.</summary>
    private static void AssertRoundTrip(string spec)
    {
        ILoss a = LossRegistry.Create(spec);
        Assert.Equal(spec, a.Spec);
        ILoss b = LossRegistry.Create(a.Spec);
        Assert.Equal(a.GetType(), b.GetType());
        Assert.Equal(a.Spec, b.Spec);
        Assert.Equal(Values(a), Values(b));
        foreach (var (name, value) in SpecParser.Parse(spec).Arguments)
            Assert.Equal(LossParameter.Format(value), Values(a)[name]);
    }

    [Theory, MemberData(nameof(Names))]
    public void DefaultSpecIsTheBareName(string name) => AssertRoundTrip(name);

    [Theory, MemberData(nameof(SingleOptionSpecs))]
    public void EachOptionRoundTrips(string spec) => AssertRoundTrip(spec);

    [Theory, MemberData(nameof(AllOptionSpecs))]
    public void EveryOptionAtOnce(string spec) => AssertRoundTrip(spec);

    [Theory, MemberData(nameof(Names))]
    public void EveryLossReportsExactlyItsCardsParameters(string name)
    {
        ILoss loss = LossRegistry.Create(name);
        Assert.Equal(loss.Card.Parameters.Select(p => p.Name).Order(), loss.ParameterValues.Select(v => v.Parameter.Name).Order());
        foreach (var v in loss.ParameterValues)
            Assert.True(v.IsDefault(loss.Card.Parameter(v.Parameter.Name)!), $"{name}: {v.Parameter.Name} = {v.Text} is not the card's default {loss.Card.Parameter(v.Parameter.Name)!.DefaultText}");
    }

    /// <summary>The constructor's defaults are the card's: a loss built with no arguments prints its bare name, as the
    /// registry's default instance does. (Each constructor takes null for "the card's default"; this catches a literal.)</summary>
    [Theory, MemberData(nameof(Names))]
    public void ConstructorDefaultsAreTheCardDefaults(string name)
    {
        Type type = LossRegistry.Create(name).GetType();
        ConstructorInfo ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        object?[] args = ctor.GetParameters().Select(p => p.HasDefaultValue ? p.DefaultValue
            : p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
        var loss = (ILoss)ctor.Invoke(args);
        Assert.Equal(loss.Card.Name, loss.Spec);
        Assert.Equal(Values(LossRegistry.Create(loss.Card.Name)), Values(loss));
    }

    /// <summary>A card claims what holds at its defaults; options may take claims away or add them.</summary>
    [Theory, MemberData(nameof(Names))]
    public void CardPropertiesAreTheDefaultLosss(string name)
    {
        ILoss loss = LossRegistry.Create(name);
        Assert.Equal(loss.Card.Properties, loss.Properties);
    }

    /// <summary>Binary losses claim no property of a row of logits, multi-class losses none of a single logit, whatever the options.</summary>
    [Theory, MemberData(nameof(Names))]
    public void PropertiesFitTheKind(string name)
    {
        foreach (string spec in SingleOptions(name).Prepend(name))
        {
            ILoss loss = LossRegistry.Create(spec);
            LossProperties wrong = loss is IBinaryLoss ? LossCard.MultiClassOnly : LossCard.BinaryOnly;
            Assert.True((loss.Properties & wrong) == 0, $"{spec} claims {LossCard.PropertiesText(loss.Properties & wrong)}");
            Assert.True((loss.Card.Properties & wrong) == 0, $"{name}'s card claims {LossCard.PropertiesText(loss.Card.Properties & wrong)}");
        }
    }

    [Theory]
    [InlineData(2147483647.0, "2147483647")]
    [InlineData(-2147483648.0, "-2147483648")]
    [InlineData(-100.0, "-100")]
    [InlineData(0.0, "0")]
    [InlineData(16777216.0, "16777216")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.7 - 0.5, "0.19999999999999996")]
    [InlineData(1e-6, "1e-6")]
    [InlineData(1e30, "1e30")]
    [InlineData(-2.5e-300, "-2.5e-300")]
    [InlineData(1e300, "1e300")]
    public void NumbersPrintAsIntegersOrShortestRoundTrip(double value, string text)
    {
        Assert.Equal(text, LossParameter.FormatNumber(value));
        Assert.Equal(value, SpecParser.Parse($"x(v={text})").Arguments["v"].Number);
    }

    [Fact]
    public void IntegersPrintAsIntegersInRangesDefaultsSpecsAndErrors()
    {
        Assert.Equal("1 ≤ integer ≤ 2147483647", EnsLoss.Period.RangeText);
        Assert.Equal("any 32-bit integer", EnsLoss.Seed.RangeText);
        Assert.Equal("-100", CommonParameters.IgnoreIndex.DefaultText);
        Assert.Equal("1 ≤ integer ≤ 2", MultiMarginLoss.PParameter.RangeText);
        Assert.Equal("ensloss(period=2147483647, seed=-2147483648)", LossRegistry.Create("ensloss(period=2147483647, seed=-2147483648)").Spec);
        Assert.Equal("ce(ignore_index=-1)", new CrossEntropyLoss(ignoreIndex: -1).Spec);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create("ensloss(period=0)"));
        Assert.Contains("period = 0 is out of range: expected 1 ≤ integer ≤ 2147483647.", e.Message);
        var big = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create("ce(ignore_index=3000000000)"));
        Assert.Contains("ignore_index = 3000000000 is out of range: expected any 32-bit integer.", big.Message);
        var frac = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create("multimargin(p=1.5)"));
        Assert.Contains("p = 1.5 is out of range: expected 1 ≤ integer ≤ 2.", frac.Message);
        foreach (string text in new[] { CatalogMarkdown.Render(), CatalogJson.Render() })
            Assert.DoesNotContain("E+", text);
    }

    /// <summary>Every bounded parameter of every loss, given a value just outside its range (or a fraction for an
    /// integer), fails with a message that names the parameter, the value and the range, from the spec and from the constructor.</summary>
    [Theory, MemberData(nameof(Names))]
    public void OutOfRangeValuesNameParameterValueAndRange(string name)
    {
        foreach (LossParameter p in LossRegistry.Find(name).Card.Parameters)
        {
            if (p.Kind == ParameterKind.Choice) continue;
            var bad = new List<double>();
            if (double.IsFinite(p.LowerBound)) bad.Add(p.MinExclusive ? p.LowerBound : p.LowerBound - 1);
            if (double.IsFinite(p.UpperBound)) bad.Add(p.MaxExclusive ? p.UpperBound : p.UpperBound + 1);
            if (p.Kind == ParameterKind.Integer) bad.Add((p.Default ?? 0) + 0.5);
            foreach (double v in bad)
            {
                string value = LossParameter.FormatNumber(v);
                string given = p.Kind == ParameterKind.NumberList ? $"[{value}]" : value;
                var e = Assert.Throws<ArgumentOutOfRangeException>(() => LossRegistry.Create($"{name}({p.Name}={given})"));
                Assert.Equal(p.Name, e.ParamName);
                string subject = p.Kind == ParameterKind.NumberList ? $"{p.Name}[0]" : p.Name;
                Assert.Contains($"{subject} = {value} is out of range: expected {p.RangeText}.", e.Message);
            }
        }
    }

    [Fact]
    public void SharedOptionsAreOneObject()
    {
        var ce = LossRegistry.Find("ce").Card;
        var linear = LossRegistry.Find("linear_ce").Card;
        foreach (string n in new[] { "smoothing", "lse_sq", "softcap", "temperature", "weight", "ignore_index", "reduction" })
            Assert.Same(ce.Parameter(n), linear.Parameter(n));
        Assert.Same(CommonParameters.Smoothing, ce.Parameter("smoothing"));
        Assert.Same(CommonParameters.IgnoreIndex, LossRegistry.Find("kd").Card.Parameter("ignore_index"));
        foreach (var d in LossRegistry.All)
            foreach (var p in d.Card.Parameters.Where(p => p.Name is "weight" or "ignore_index" or "reduction"))
            {
                var common = p.Name switch { "weight" => CommonParameters.Weight, "ignore_index" => CommonParameters.IgnoreIndex, _ => CommonParameters.Reduction };
                // The divergences add PyTorch KLDivLoss's batchmean to the shared reductions, after the default.
                if (d.Card.Family.StartsWith("divergence", StringComparison.Ordinal) && p.Name == "reduction")
                {
                    Assert.Equal(["mean", "batchmean", "sum", "none"], p.Choices);
                    Assert.Same(LossKit.Divergence.DivergenceLoss.ReductionParameter, p);
                    continue;
                }
                // Same name, kind, range and default; only the description may say what it means for that loss.
                Assert.Equal(common, p with { Description = common.Description });
            }
    }

    [Fact]
    public void NullConstructorArgumentsTakeTheCardDefault()
    {
        Assert.Equal(2, new FocalLoss(gamma: null).GammaValue);
        Assert.Equal(FocalLoss.Gamma.Default, new FocalLoss().GammaValue);
        Assert.Equal(0.25, new SigmoidFocalLoss().AlphaValue);
        Assert.Equal(4, new LossKit.Distillation.DistillationLoss().TemperatureValue);
        Assert.Equal("kd(temperature=1)", new LossKit.Distillation.DistillationLoss(temperature: 1).Spec);
    }
}
