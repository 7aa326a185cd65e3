using System.Globalization;
using System.Text;

namespace LossKit.Core;

/// <summary>Properties a loss card may claim; <c>losskit check</c> and the tests verify each claimed one.</summary>
[Flags]
public enum LossProperties
{
    None = 0,
    /// <summary>Adding the same constant to every logit of a row leaves loss and gradient unchanged.</summary>
    ShiftInvariant = 1,
    /// <summary>0 ≤ ℓ ≤ <see cref="LossCard.UpperBound"/> for every input (unit weights; class weights scale the bound by max w).</summary>
    Bounded = 2,
    /// <summary>Σ_k ℓ(z, k) is the same constant for every z (Ghosh et al. 2017): robust to symmetric label noise.</summary>
    Symmetric = 4,
    /// <summary>ℓ is convex in the logits.</summary>
    ConvexInLogits = 8,
    /// <summary>Minimising the expected loss recovers the Bayes classifier.</summary>
    ClassificationCalibrated = 16,
    /// <summary>ℓ ≥ 0.</summary>
    NonNegative = 32,
    /// <summary>Binary losses: ℓ(s, t) = ℓ(−s, 1 − t), so the loss depends on the margin y·s alone (y = 2t − 1) and
    /// the two labels are interchangeable; the gradient is odd: g(s, t) = −g(−s, 1 − t).</summary>
    MarginBased = 64,
    /// <summary>Multi-class: ℓ(αz + β) = ℓ(z) for every α &gt; 0 and β (a row's scale and offset carry no information);
    /// the gradient scales as 1/α.</summary>
    ScaleInvariant = 128,
}

/// <summary>What a parameter's value is.</summary>
public enum ParameterKind { Number, Integer, NumberList, Choice }

/// <summary>
/// One parameter of a loss: name, kind, default and valid range. The same object validates values given to a
/// loss's constructor and values parsed from a spec string, so both report the same error.
/// </summary>
public sealed record LossParameter(string Name, ParameterKind Kind, string Description)
{
    public double? Default { get; init; }
    public double Min { get; init; } = double.NegativeInfinity;
    public double Max { get; init; } = double.PositiveInfinity;
    public bool MinExclusive { get; init; }
    public bool MaxExclusive { get; init; }
    /// <summary>Valid identifiers for <see cref="ParameterKind.Choice"/>; the first is the default.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];
    /// <summary>For lists: the range each element must be in is <see cref="Min"/>..<see cref="Max"/>.</summary>
    public string DefaultText => Kind switch
    {
        ParameterKind.Choice => Choices.Count > 0 ? Choices[0] : "",
        ParameterKind.NumberList => Default is null ? "none" : Fmt(Default.Value),
        _ => Default is null ? "none" : Fmt(Default.Value),
    };

    /// <summary>The valid range in words, e.g. <c>0 ≤ gamma</c> or <c>one of none, sum, mean</c>.</summary>
    public string RangeText
    {
        get
        {
            if (Kind == ParameterKind.Choice) return "one of " + string.Join(", ", Choices);
            var sb = new StringBuilder();
            string subject = Kind == ParameterKind.NumberList ? "each value" : Kind == ParameterKind.Integer ? "integer" : "value";
            bool lo = !double.IsNegativeInfinity(Min), hi = !double.IsPositiveInfinity(Max);
            if (!lo && !hi) return Kind == ParameterKind.NumberList ? "finite numbers" : Kind == ParameterKind.Integer ? "any integer" : "any finite number";
            if (lo) sb.Append(Fmt(Min)).Append(MinExclusive ? " < " : " ≤ ");
            sb.Append(subject);
            if (hi) sb.Append(MaxExclusive ? " < " : " ≤ ").Append(Fmt(Max));
            return sb.ToString();
        }
    }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the parameter, the value and the
    /// valid range when <paramref name="value"/> is not valid; returns it otherwise.</summary>
    public double Check(double value)
    {
        bool ok = double.IsFinite(value)
                  && (MinExclusive ? value > Min : value >= Min)
                  && (MaxExclusive ? value < Max : value <= Max)
                  && (Kind != ParameterKind.Integer || value == Math.Floor(value));
        if (!ok) throw new ArgumentOutOfRangeException(Name, value, $"{Name} = {Fmt(value)} is out of range: expected {RangeText}.");
        return value;
    }

    /// <summary>Checks every element of a list parameter; the message names the element's index.</summary>
    public double[] Check(IReadOnlyList<double> values)
    {
        for (int i = 0; i < values.Count; i++)
        {
            double v = values[i];
            if (!double.IsFinite(v) || (MinExclusive ? v <= Min : v < Min) || (MaxExclusive ? v >= Max : v > Max))
                throw new ArgumentOutOfRangeException(Name, v, $"{Name}[{i}] = {Fmt(v)} is out of range: expected {RangeText}.");
        }
        return values.ToArray();
    }

    internal static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>The card of a loss: everything a user needs to choose and configure it.</summary>
public sealed record LossCard
{
    /// <summary>The spec name, e.g. <c>focal</c>.</summary>
    public required string Name { get; init; }
    /// <summary>The family, e.g. "softmax cross-entropy" or "target probability (fused)".</summary>
    public required string Family { get; init; }
    public required string Title { get; init; }
    /// <summary>The per-row loss, in the catalog's notation.</summary>
    public required string Formula { get; init; }
    public string Gradient { get; init; } = "";
    public required string Reference { get; init; }
    public IReadOnlyList<LossParameter> Parameters { get; init; } = [];
    public LossProperties Properties { get; init; }
    /// <summary>Upper bound of ℓ when <see cref="LossProperties.Bounded"/> is claimed, as a function of the
    /// constructed loss's parameters and the number of classes.</summary>
    public Func<ILoss, int, double>? UpperBound { get; init; }
    /// <summary>Σ_k ℓ(z, k) when <see cref="LossProperties.Symmetric"/> is claimed.</summary>
    public Func<ILoss, int, double>? SymmetricSum { get; init; }
    public string Notes { get; init; } = "";

    /// <summary>The parameter with this name, or null.</summary>
    public LossParameter? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    /// <summary>Claimed properties as words, e.g. "shift-invariant, bounded".</summary>
    public string PropertyText => Properties == LossProperties.None ? "none claimed" : string.Join(", ",
        Enum.GetValues<LossProperties>().Where(p => p != LossProperties.None && Properties.HasFlag(p)).Select(PropertyName));

    public static string PropertyName(LossProperties p) => p switch
    {
        LossProperties.ShiftInvariant => "shift-invariant",
        LossProperties.Bounded => "bounded",
        LossProperties.Symmetric => "symmetric",
        LossProperties.ConvexInLogits => "convex in z",
        LossProperties.ClassificationCalibrated => "classification-calibrated",
        LossProperties.NonNegative => "non-negative",
        LossProperties.MarginBased => "margin-based",
        LossProperties.ScaleInvariant => "scale-invariant",
        _ => p.ToString(),
    };
}
