using LossKit.Core;

namespace LossKit.Preference;

/// <summary>
/// What the paired (<see cref="PreferenceLoss"/>) and unpaired (<see cref="UnpairedPreferenceLoss"/>) preference losses
/// share as losses: the temperature β, the reduction over the batch (pairs or examples), the spec string from the card,
/// and the scale of their inputs (per-sequence log-probabilities, finite up to |log π| = 1e4).
/// </summary>
public abstract class BetaPreferenceLoss : ILoss
{
    private protected BetaPreferenceLoss(double beta, Reduction reduction) => (BetaValue, Reduction) = (beta, CommonParameters.Resolve(reduction));

    /// <summary>β, the loss's temperature (TRL's <c>beta</c>).</summary>
    public double BetaValue { get; }

    /// <summary>The reduction over the batch's pairs (paired losses) or examples (unpaired losses).</summary>
    public Reduction Reduction { get; }

    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <inheritdoc/>
    public abstract LossKind Kind { get; }

    /// <inheritdoc/>
    public abstract IEnumerable<ParameterValue> ParameterValues { get; }

    /// <inheritdoc/>
    public virtual double FiniteInputScale => 1e4;
}
