using LossKit.Core;

namespace LossKit.Scaling;

/// <summary>A registered law: its card and how to build it from parsed spec options.</summary>
public sealed record LawDefinition(LawCard Card, Func<SpecArguments, ScalingLaw> Create);

/// <summary>
/// Every law LossKit.Scaling offers, by spec name, built from spec strings with the loss registry's grammar
/// (<see cref="SpecParser"/>): <c>chinchilla</c>, <c>power(x=C)</c>, <c>lr_annealing(lambda=0.99)</c>. Unknown names,
/// unknown options and values out of range are errors that list what is valid.
/// </summary>
public static class LawRegistry
{
    /// <summary>Every law, in the order of the catalog (section K).</summary>
    public static IReadOnlyList<LawDefinition> All { get; } =
    [
        PowerLaw.Registration, ChinchillaLaw.Registration, KaplanLaw.Registration, LossToLossLaw.Registration,
        BrokenPowerLaw.Registration, LrAnnealingLaw.Registration, MultiPowerLaw.Registration,
    ];

    /// <summary>The definition with this spec name; an unknown name lists the valid ones.</summary>
    public static LawDefinition Find(string name) =>
        All.FirstOrDefault(d => d.Card.Name == name)
        ?? throw new ArgumentException($"Unknown law '{name}'. Valid laws: {string.Join(", ", All.Select(d => d.Card.Name))}.");

    /// <summary>Builds a law from a spec string such as <c>power(x=N)</c>.</summary>
    public static ScalingLaw Create(string spec)
    {
        ParsedSpec parsed;
        try { parsed = SpecParser.Parse(spec); }
        catch (ArgumentException e) { throw new ArgumentException(e.Message.Replace("loss spec", "law spec").Replace("a loss name", "a law name")); }
        LawDefinition def = Find(parsed.Name);
        foreach (string key in parsed.Arguments.Keys)
            if (def.Card.Options.All(o => o.Name != key))
                throw new ArgumentException(def.Card.Options.Count == 0
                    ? $"{def.Card.Name} has no options (got '{key}')."
                    : $"{def.Card.Name} has no option '{key}'. Valid options: {string.Join(", ", def.Card.Options.Select(p => p.Name))}.");
        return def.Create(new SpecArguments(spec, def.Card.OptionsCard, parsed.Arguments));
    }
}
