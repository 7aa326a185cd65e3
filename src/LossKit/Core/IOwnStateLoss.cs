namespace LossKit.Core;

/// <summary>
/// A loss whose value depends on values of its own besides its inputs — a trainable state (<c>auc_m</c>'s a, b, α) or
/// a random draw (<c>ensloss</c>'s derivatives) — and that says how to hold them still, so that a consumer that knows
/// only <see cref="ILoss"/> (the conformance suite, <c>losskit check</c>) can check it exactly without knowing its class.
/// </summary>
public interface IOwnStateLoss : ILoss
{
    /// <summary>An independent copy to check, in a state where every term of the loss is active (a trainable state away
    /// from zero); calls on the copy leave this loss as it is, and two copies give the same results.</summary>
    ILoss CheckCopy();

    /// <summary>The loss with what it would draw on <paramref name="inputs"/> held fixed: a loss of the same kind whose
    /// calls change nothing, whose gradient is the derivative of its value, and whose gradient on these inputs is the one
    /// this loss returns on them. A loss whose gradient already is the derivative of its value returns itself.</summary>
    ILoss HeldFixed(LossInputs inputs) => this;

    /// <summary>The state trained by gradient, as numbers (empty when there is none).</summary>
    double[] State => [];

    /// <summary>The reduced loss on <paramref name="inputs"/> at <paramref name="state"/> (same length as
    /// <see cref="State"/>), writing its gradient with respect to the state into <paramref name="gradient"/> when that is
    /// not null. Changes nothing.</summary>
    double StateLoss(LossInputs inputs, double[] state, double[]? gradient) =>
        throw new NotSupportedException($"{Spec} has no state trained by gradient.");
}
