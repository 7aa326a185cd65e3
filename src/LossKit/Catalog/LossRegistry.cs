using LossKit.Classification;

namespace LossKit.Catalog;

/// <summary>A registered loss: its card and how to build it from parsed spec arguments.</summary>
public sealed record LossDefinition(LossCard Card, Func<SpecArguments, ILoss> Create);

/// <summary>
/// Typed, validated access to a spec's arguments. Each getter checks the value against the parameter's range;
/// an absent argument gives the parameter's default.
/// </summary>
public sealed class SpecArguments(string spec, LossCard card, IReadOnlyDictionary<string, SpecValue> values)
{
    private SpecValue? Get(LossParameter p) => values.TryGetValue(p.Name, out var v) ? v : null;

    private ArgumentException WrongKind(LossParameter p, SpecValue v, string expected) =>
        new($"{card.Name}: {p.Name} = {v} is not valid: expected {expected} ({p.RangeText}).", p.Name);

    public double Number(LossParameter p)
    {
        var v = Get(p);
        if (v is null) return p.Default ?? throw new ArgumentException($"{card.Name}: {p.Name} is required.", p.Name);
        if (v.Number is not { } n) throw WrongKind(p, v, "a number");
        return p.Check(n);
    }

    public int Integer(LossParameter p)
    {
        double n = Number(p);
        return (int)n;
    }

    /// <summary>A list argument (a single number is taken as a one-element list), or null when absent and without default.</summary>
    public double[]? List(LossParameter p)
    {
        var v = Get(p);
        if (v is null) return p.Default is { } d ? [d] : null;
        if (v.Number is { } n) return p.Check([n]);
        if (v.List is null) throw WrongKind(p, v, "a list like [1, 2, 0.5]");
        return p.Check(v.List);
    }

    public string Choice(LossParameter p)
    {
        var v = Get(p);
        if (v is null) return p.Choices[0];
        if (v.Identifier is not { } id || !p.Choices.Contains(id)) throw WrongKind(p, v, "an identifier");
        return id;
    }

    public Reduction Reduction() => Choice(CommonParameters.Reduction) switch
    {
        "sum" => LossKit.Reduction.Sum,
        "none" => LossKit.Reduction.None,
        _ => LossKit.Reduction.Mean,
    };

    public double[]? Weight() => List(CommonParameters.Weight);
    public int IgnoreIndex() => Integer(CommonParameters.IgnoreIndex);

    public override string ToString() => spec;
}

/// <summary>
/// Every loss LossKit offers, by spec name. <see cref="Create"/> turns a spec string such as
/// <c>focal(gamma=2)</c> into a configured loss; unknown names, unknown parameters and values out of range
/// are errors that list what is valid.
/// </summary>
public static partial class LossRegistry
{
    private static readonly List<LossDefinition> s_all = [.. SectionAB(), .. SectionC(), .. SectionC2(), .. SectionD(), .. SectionI()];

    /// <summary>Catalog sections A and B: cross-entropy and the target-probability family.</summary>
    private static IEnumerable<LossDefinition> SectionAB() =>
    [
        new(CrossEntropyLoss.Definition, a => new CrossEntropyLoss(a.Number(CrossEntropyLoss.SmoothingParameter),
            a.Number(CrossEntropyLoss.LseSquaredParameter), a.Number(CrossEntropyLoss.SoftcapParameter),
            a.Number(CrossEntropyLoss.TemperatureParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(FocalLoss.Definition, a => new FocalLoss(a.Number(FocalLoss.Gamma), a.List(FocalLoss.Alpha), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(PolyLoss.Definition, a => new PolyLoss(a.Number(PolyLoss.Epsilon), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(PolyNLoss.Definition, a => new PolyNLoss(a.List(PolyNLoss.Epsilons), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(GeneralizedCrossEntropyLoss.Definition, a => new GeneralizedCrossEntropyLoss(a.Number(GeneralizedCrossEntropyLoss.QParameter),
            a.Number(GeneralizedCrossEntropyLoss.KParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(MaeLoss.Definition, a => new MaeLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(CompSumLoss.Definition, a => new CompSumLoss(a.Number(CompSumLoss.TauParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(SymmetricCrossEntropyLoss.Definition, a => new SymmetricCrossEntropyLoss(a.Number(SymmetricCrossEntropyLoss.AlphaParameter),
            a.Number(SymmetricCrossEntropyLoss.BetaParameter), a.Number(SymmetricCrossEntropyLoss.AParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
    ];

    /// <summary>All registered losses, in catalog order.</summary>
    public static IReadOnlyList<LossDefinition> All => s_all;

    /// <summary>The definition with this spec name; an unknown name lists the valid ones.</summary>
    public static LossDefinition Find(string name) =>
        s_all.FirstOrDefault(d => d.Card.Name == name)
        ?? throw new ArgumentException($"Unknown loss '{name}'. Valid losses: {string.Join(", ", s_all.Select(d => d.Card.Name))}.", "spec");

    /// <summary>Builds a loss from a spec string such as <c>ce(weight=[1,2,0.5], smoothing=0.1, reduction=sum)</c>.</summary>
    public static ILoss Create(string spec)
    {
        ParsedSpec parsed = SpecParser.Parse(spec);
        LossDefinition def = Find(parsed.Name);
        foreach (string key in parsed.Arguments.Keys)
            if (def.Card.Parameter(key) is null)
                throw new ArgumentException($"{def.Card.Name} has no parameter '{key}'. Valid parameters: {string.Join(", ", def.Card.Parameters.Select(p => p.Name))}.", "spec");
        return def.Create(new SpecArguments(spec, def.Card, parsed.Arguments));
    }

    /// <summary>Like <see cref="Create"/>, for a multi-class loss on logits; any other kind of loss is an error that says what it is.</summary>
    public static IClassificationLoss CreateClassification(string spec) =>
        Create(spec) as IClassificationLoss
        ?? throw new ArgumentException($"'{spec}' is not a multi-class loss on logits with class-index targets.", nameof(spec));

    /// <summary>Adds a user-defined loss to the registry (its card's name must be new).</summary>
    public static void Register(LossDefinition definition)
    {
        lock (s_all)
        {
            if (s_all.Any(d => d.Card.Name == definition.Card.Name))
                throw new ArgumentException($"A loss named '{definition.Card.Name}' is already registered.", nameof(definition));
            s_all.Add(definition);
        }
    }
}
