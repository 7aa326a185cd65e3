namespace LossKit.Core;

/// <summary>Properties a loss card may claim; <c>losskit check</c> and the tests verify each claimed one. Some are
/// statements about a row of K logits (multi-class only, <see cref="LossCard.MultiClassOnly"/>), one is about a single
/// logit and its target (binary only, <see cref="LossCard.BinaryOnly"/>); the rest apply to both.</summary>
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

/// <summary>The card of a loss: everything a user needs to choose and configure it.</summary>
public sealed record LossCard
{
    /// <summary>The card of a loss in a family: the family's name, the loss's own parameters followed by the ones the family
    /// shares (composed by the caller), and the rest as given.</summary>
    public static LossCard ForFamily(string family, string name, string title, string formula, string gradient, string reference,
        LossProperties properties, IEnumerable<LossParameter> parameters, string notes = "") => new()
    {
        Name = name, Family = family, Title = title, Formula = formula, Gradient = gradient, Reference = reference,
        Parameters = [.. parameters], Properties = properties, Notes = notes,
    };

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
    public string PropertyText => PropertiesText(Properties);

    /// <summary>Properties that are statements about a row of K logits: they mean nothing for a binary loss.</summary>
    public const LossProperties MultiClassOnly = LossProperties.ShiftInvariant | LossProperties.ScaleInvariant | LossProperties.Symmetric;

    /// <summary>Properties that are statements about one logit s and its target t: they mean nothing for a multi-class loss.</summary>
    public const LossProperties BinaryOnly = LossProperties.MarginBased;

    /// <summary>The single properties set in <paramref name="properties"/>, in declaration order.</summary>
    public static IEnumerable<LossProperties> Each(LossProperties properties) =>
        Enum.GetValues<LossProperties>().Where(p => p != LossProperties.None && properties.HasFlag(p));

    /// <summary>Properties as words, e.g. "shift-invariant, bounded" ("none claimed" for none).</summary>
    public static string PropertiesText(LossProperties properties) =>
        properties == LossProperties.None ? "none claimed" : string.Join(", ", Each(properties).Select(PropertyName));

    /// <summary>A property's short name, e.g. <c>shift-invariant</c>.</summary>
    public static string PropertyName(LossProperties p) => p switch
    {
        LossProperties.ShiftInvariant => "shift-invariant",
        LossProperties.Bounded => "bounded",
        LossProperties.Symmetric => "symmetric",
        LossProperties.ConvexInLogits => "convex",
        LossProperties.ClassificationCalibrated => "classification-calibrated",
        LossProperties.NonNegative => "non-negative",
        LossProperties.MarginBased => "margin-based",
        LossProperties.ScaleInvariant => "scale-invariant",
        _ => p.ToString(),
    };

    /// <summary>What a property says, in the words of the loss's inputs: one logit s against a target t ∈ [0, 1]
    /// (<paramref name="binary"/>) or a row of K logits z against a class y. A property that does not apply to that
    /// kind says so.</summary>
    public static string PropertyMeaning(LossProperties p, bool binary)
    {
        if (binary && MultiClassOnly.HasFlag(p)) return "multi-class only: not defined for a binary loss";
        if (!binary && BinaryOnly.HasFlag(p)) return "binary only: not defined for a multi-class loss";
        return p switch
        {
            LossProperties.ShiftInvariant => "multi-class: ℓ(z + c·1, y) = ℓ(z, y) for every c (only differences of logits matter)",
            LossProperties.ScaleInvariant => "multi-class: ℓ(αz + β·1, y) = ℓ(z, y) for every α > 0 and β",
            LossProperties.Symmetric => "multi-class: Σ_k ℓ(z, k) is the same for every z (robust to symmetric label noise)",
            LossProperties.MarginBased => "binary: ℓ(s, t) = ℓ(−s, 1 − t), a function of the margin y·s alone (y = 2t − 1)",
            LossProperties.Bounded => binary ? "binary: 0 ≤ ℓ(s, t) ≤ a bound for every s" : "multi-class: 0 ≤ ℓ(z, y) ≤ a bound for every z",
            LossProperties.ConvexInLogits => binary ? "binary: ℓ(s, t) is convex in the logit s" : "multi-class: ℓ(z, y) is convex in the logit row z",
            LossProperties.ClassificationCalibrated => binary
                ? "binary: minimising E[ℓ] gives sign(s) = sign(η − ½), the Bayes rule (η = P(t = 1))"
                : "multi-class: minimising E[ℓ] gives argmax_k z_k = argmax_k η_k, the Bayes rule",
            LossProperties.NonNegative => binary ? "binary: ℓ(s, t) ≥ 0" : "multi-class: ℓ(z, y) ≥ 0",
            _ => p.ToString(),
        };
    }
}
