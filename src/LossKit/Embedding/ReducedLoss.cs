using LossKit.Core;

namespace LossKit.Embedding;

/// <summary>
/// The frame shared by this folder's losses that reduce over rows with PyTorch's <c>reduction</c> option (the pair
/// criteria, <see cref="PairCriterion"/>, and the proxy losses, <see cref="ProxyLoss"/>): the resolved reduction, the
/// spec string from the declarations, and the card with the reduction — described for the family — after the loss's
/// own parameters.
/// </summary>
public abstract class ReducedLoss : ILoss
{
    private protected ReducedLoss(Reduction reduction) => Reduction = CommonParameters.Resolve(reduction);

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <inheritdoc/>
    public abstract LossKind Kind { get; }

    /// <inheritdoc/>
    public abstract IEnumerable<ParameterValue> ParameterValues { get; }

    /// <summary>The shared <c>reduction</c> parameter with the family's own description of what it divides by.</summary>
    private protected static LossParameter ReductionOf(string description) => CommonParameters.Reduction with { Description = description };

    /// <summary>A card of the family <paramref name="family"/>: its own parameters, then <paramref name="reduction"/>.</summary>
    private protected static LossCard ReducedCard(string family, LossParameter reduction, string name, string title, string formula,
        string gradient, string reference, LossProperties properties, string notes, LossParameter[] parameters) =>
        LossCard.ForFamily(family, name, title, formula, gradient, reference, properties, [.. parameters, reduction], notes);
}
