namespace LossKit.Core;

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

    /// <summary>An integer argument (checked against the parameter's range, which never exceeds 32 bits).</summary>
    public int Integer(LossParameter p) => (int)Number(p);

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
        if (v.Identifier is not { } id) throw WrongKind(p, v, "an identifier");
        int open = id.IndexOf('(');
        if (open >= 0 && !p.NestedSpec) throw WrongKind(p, v, "an identifier without arguments");
        if (!p.Choices.Contains(open >= 0 ? id[..open] : id)) throw WrongKind(p, v, "an identifier");
        return id;
    }

    /// <summary>A yes/no choice (<c>false</c> or <c>true</c>).</summary>
    public bool Flag(LossParameter p) => Choice(p) == "true";

    public Reduction Reduction() => CommonParameters.ReductionOf(Choice(CommonParameters.Reduction));

    public double[]? Weight() => List(CommonParameters.Weight);
    public int IgnoreIndex() => Integer(CommonParameters.IgnoreIndex);

    public override string ToString() => spec;
}
