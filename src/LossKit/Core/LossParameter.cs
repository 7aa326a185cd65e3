using System.Globalization;
using System.Text;

namespace LossKit.Core;

/// <summary>What a parameter's value is.</summary>
public enum ParameterKind { Number, Integer, NumberList, Choice }

/// <summary>
/// One parameter of a loss, declared once: name, kind, doc line, default and valid range. Everything else about the
/// parameter comes from this object: the loss's card, the spec parser's checks (<see cref="SpecArguments"/>), the
/// constructor's checks (<see cref="Check(double)"/>, <see cref="Resolve(double?)"/>), the spec string a configured
/// loss prints (<see cref="Of(double)"/>, <see cref="LossSpec"/>), <c>losskit list/describe</c>, the generated
/// docs/losses.md and the range error messages, which name the parameter, the value and the range.
/// </summary>
public sealed record LossParameter(string Name, ParameterKind Kind, string Description)
{
    /// <summary>The default of a number or integer, or the one-element default of a list (null: absent by default).
    /// A choice's default is its first choice.</summary>
    public double? Default { get; init; }
    public double Min { get; init; } = double.NegativeInfinity;
    public double Max { get; init; } = double.PositiveInfinity;
    public bool MinExclusive { get; init; }
    public bool MaxExclusive { get; init; }
    /// <summary>For a <see cref="ParameterKind.Choice"/> of loss names: the chosen name may carry its own arguments, as a
    /// nested spec (<c>divergence=jsd(beta=0.5)</c>); the name before the parenthesis must be one of <see cref="Choices"/>.</summary>
    public bool NestedSpec { get; init; }

    /// <summary>Valid identifiers for <see cref="ParameterKind.Choice"/>; the first is the default.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>The type in words: <c>number</c>, <c>integer</c>, <c>number list</c> or <c>choice</c>.</summary>
    public string TypeName => Kind switch
    {
        ParameterKind.Integer => "integer",
        ParameterKind.NumberList => "number list",
        ParameterKind.Choice => "choice",
        _ => "number",
    };

    /// <summary>The lowest valid value (for integers, no lower than <see cref="int.MinValue"/>).</summary>
    public double LowerBound => Kind == ParameterKind.Integer ? Math.Max(Min, int.MinValue) : Min;

    /// <summary>The highest valid value (for integers, no higher than <see cref="int.MaxValue"/>).</summary>
    public double UpperBound => Kind == ParameterKind.Integer ? Math.Min(Max, int.MaxValue) : Max;

    /// <summary>The default as spec text: <c>0.7</c>, <c>-100</c>, <c>[1]</c>, <c>mean</c>, or <c>none</c> when absent by default.</summary>
    public string DefaultText => DefaultValue is { } v ? Format(v) : "none";

    /// <summary>The default as a value (null when the parameter is absent by default).</summary>
    public SpecValue? DefaultValue => Kind switch
    {
        ParameterKind.Choice => Choices.Count > 0 ? new SpecValue(null, Choices[0], null) : null,
        ParameterKind.NumberList => Default is { } d ? new SpecValue(null, null, [d]) : null,
        _ => Default is { } d ? new SpecValue(d, null, null) : null,
    };

    /// <summary>The valid range in words, e.g. <c>0 &lt; value ≤ 1</c>, <c>1 ≤ integer ≤ 2147483647</c>,
    /// <c>0 ≤ each value</c> or <c>one of mean, sum, none</c>.</summary>
    public string RangeText
    {
        get
        {
            if (Kind == ParameterKind.Choice) return "one of " + string.Join(", ", Choices) + (NestedSpec ? " (with arguments, e.g. name(key=value))" : "");
            double lo = LowerBound, hi = UpperBound;
            bool hasLo = !double.IsNegativeInfinity(lo), hasHi = !double.IsPositiveInfinity(hi);
            if (Kind == ParameterKind.Integer && lo == int.MinValue && hi == int.MaxValue) return "any 32-bit integer";
            if (!hasLo && !hasHi) return Kind == ParameterKind.NumberList ? "any finite numbers" : "any finite number";
            var sb = new StringBuilder();
            if (hasLo) sb.Append(FormatNumber(lo)).Append(MinExclusive ? " < " : " ≤ ");
            sb.Append(Kind switch { ParameterKind.NumberList => "each value", ParameterKind.Integer => "integer", _ => "value" });
            if (hasHi) sb.Append(MaxExclusive ? " < " : " ≤ ").Append(FormatNumber(hi));
            return sb.ToString();
        }
    }

    private bool InRange(double v) =>
        double.IsFinite(v)
        && (MinExclusive ? v > LowerBound : v >= LowerBound)
        && (MaxExclusive ? v < UpperBound : v <= UpperBound)
        && (Kind != ParameterKind.Integer || v == Math.Floor(v));

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the parameter, the value and the
    /// valid range when <paramref name="value"/> is not valid; returns it otherwise.</summary>
    public double Check(double value)
    {
        if (!InRange(value)) throw new ArgumentOutOfRangeException(Name, value, $"{Name} = {FormatNumber(value)} is out of range: expected {RangeText}.");
        return value;
    }

    /// <summary>Checks every element of a list parameter; the message names the element's index.</summary>
    public double[] Check(IReadOnlyList<double> values)
    {
        for (int i = 0; i < values.Count; i++)
            if (!InRange(values[i]))
                throw new ArgumentOutOfRangeException(Name, values[i], $"{Name}[{i}] = {FormatNumber(values[i])} is out of range: expected {RangeText}.");
        return values.ToArray();
    }

    /// <summary>A constructor argument: null gives the default, anything else is checked.</summary>
    public double Resolve(double? value) => value is { } v ? Check(v)
        : Default ?? throw new ArgumentException($"{Name} is required: it has no default.", Name);

    /// <summary>An integer constructor argument: null gives the default, anything else is checked.</summary>
    public int Resolve(int? value) => (int)Resolve(value is { } v ? v : (double?)null);

    /// <summary>A list constructor argument: null stays null (absent), an empty list is an error, anything else is checked.</summary>
    public double[]? Resolve(IReadOnlyList<double>? values)
    {
        if (values is null) return null;
        if (values.Count == 0) throw new ArgumentException($"{Name} is empty: give at least one value, or leave it out.", Name);
        return Check(values);
    }

    /// <summary>A choice constructor argument: null gives the default, anything else must be one of the choices.</summary>
    public string Resolve(string? choice)
    {
        if (choice is null) return Choices[0];
        if (!Choices.Contains(choice)) throw new ArgumentException($"{Name} = {choice} is not valid: expected {RangeText}.", Name);
        return choice;
    }

    /// <summary>This parameter's configured value, for <see cref="ILoss.ParameterValues"/>.</summary>
    public ParameterValue Of(double value) => new(this, new SpecValue(value, null, null));

    /// <summary>A list value; null means absent.</summary>
    public ParameterValue Of(IReadOnlyList<double>? values) => new(this, values is null ? null : new SpecValue(null, null, values));

    /// <summary>A list of integers (e.g. class indices); null means absent.</summary>
    public ParameterValue Of(IReadOnlyList<int>? values) => Of(values?.Select(v => (double)v).ToArray());

    /// <summary>A choice.</summary>
    public ParameterValue Of(string choice) => new(this, new SpecValue(null, choice, null));

    /// <summary>A yes/no choice (<c>false</c>, <c>true</c>).</summary>
    public ParameterValue Of(bool value) => Of(value ? "true" : "false");

    /// <summary>A reduction (<c>none</c>, <c>sum</c>, <c>mean</c>).</summary>
    public ParameterValue Of(Reduction value) => Of(value.ToString().ToLowerInvariant());

    /// <summary>A value as spec text: numbers as <see cref="FormatNumber"/> writes them, lists as <c>[1,2,0.5]</c>,
    /// choices as their identifier.</summary>
    public static string Format(SpecValue value) =>
        value.Number is { } n ? FormatNumber(n)
        : value.Identifier ?? "[" + string.Join(",", value.List!.Select(FormatNumber)) + "]";

    /// <summary>A number as LossKit writes it everywhere (spec strings, defaults, ranges, errors): integers as
    /// integers (<c>-100</c>, <c>2147483647</c>), anything else in the shortest form that reads back to the same
    /// double (<c>0.1</c>, <c>1e-6</c>, <c>1e30</c>).</summary>
    public static string FormatNumber(double v)
    {
        if (double.IsFinite(v) && v == Math.Floor(v) && Math.Abs(v) < 1e15) return ((long)v).ToString(CultureInfo.InvariantCulture);
        string s = v.ToString("R", CultureInfo.InvariantCulture);
        int e = s.IndexOf('E');
        if (e < 0) return s;
        // 1E-06 → 1e-6, 1E+30 → 1e30.
        string exponent = s[(e + 1)..];
        bool negative = exponent.StartsWith('-');
        string digits = exponent.TrimStart('+', '-').TrimStart('0');
        return s[..e] + "e" + (negative ? "-" : "") + (digits.Length == 0 ? "0" : digits);
    }
}

/// <summary>The value a configured loss has for one of its card's parameters (<see cref="Value"/> null: absent).</summary>
public sealed record ParameterValue(LossParameter Parameter, SpecValue? Value)
{
    /// <summary>The value as spec text (<c>0.1</c>, <c>[1,2,0.5]</c>, <c>sum</c>), or null when absent.</summary>
    public string? Text => Value is null ? null : LossParameter.Format(Value);

    /// <summary>True when the value is the parameter's default (or absent), so a spec string leaves it out.</summary>
    public bool IsDefault(LossParameter declared) => Value is null || (declared.DefaultValue is { } d && Text == LossParameter.Format(d));
}

/// <summary>
/// The one spec-string builder: a loss's card name and, in the card's order, every parameter whose configured value
/// (<see cref="ILoss.ParameterValues"/>, which must report every parameter of the card) differs from its default,
/// e.g. <c>focal(gamma=3, alpha=[0.25,0.75])</c>.
/// <c>LossRegistry.Create</c> of the result builds an equal loss.
/// </summary>
public static class LossSpec
{
    /// <summary>The spec string of <paramref name="loss"/>.</summary>
    public static string Of(ILoss loss)
    {
        LossCard card = loss.Card;
        var values = new Dictionary<string, ParameterValue>(StringComparer.Ordinal);
        foreach (ParameterValue v in loss.ParameterValues) values[v.Parameter.Name] = v;
        var parts = new List<string>();
        foreach (LossParameter p in card.Parameters)
        {
            if (!values.TryGetValue(p.Name, out ParameterValue? v))
                throw new InvalidOperationException($"{card.Name} does not report its value of '{p.Name}' in ParameterValues.");
            if (!v.IsDefault(p)) parts.Add(p.Name + "=" + v.Text);
        }
        return parts.Count == 0 ? card.Name : $"{card.Name}({string.Join(", ", parts)})";
    }
}
