using System.Buffers;
using System.Globalization;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Preference;

/// <summary>What users of preference optimisation watch besides the loss (TRL's logged metrics), averaged over the pairs.</summary>
/// <param name="ChosenReward">Mean implicit reward of the chosen sequences (β·(log π − log π_ref) for DPO; β·log π without a reference).</param>
/// <param name="RejectedReward">Mean implicit reward of the rejected sequences.</param>
/// <param name="Margin">Mean of chosen − rejected reward.</param>
/// <param name="Accuracy">Fraction of pairs whose chosen reward exceeds the rejected one.</param>
public readonly record struct PreferenceRewards(double ChosenReward, double RejectedReward, double Margin, double Accuracy);

/// <summary>
/// The preference-optimisation losses on per-sequence log-probabilities (TRL's inputs): the base owns the inputs'
/// checks, the reduction over pairs and the rewards; a loss gives its math on the batch of pairs in double
/// (<see cref="Evaluate"/>): the loss of each pair and its derivatives by the two policy log-probabilities.
/// </summary>
/// <remarks>Log-probabilities must be ≤ 0 and lengths ≥ 1 (a clear error names the input and the pair); the reference
/// inputs are required where the loss uses them. <c>mean</c> divides by the number of pairs N, so chunks of a batch
/// reduced with <c>sum</c> and divided by the global N give the same gradient.</remarks>
public abstract class PreferenceLoss : BetaPreferenceLoss
{
    /// <summary>The shared reduction over pairs.</summary>
    public static readonly LossParameter ReductionParameter = CommonParameters.Reduction with
    {
        Description = "mean divides by the number of pairs N; none returns the loss of each pair",
    };

    private protected PreferenceLoss(double beta, Reduction reduction) : base(beta, reduction) { }

    /// <summary>True when the loss uses the reference model's log-probabilities.</summary>
    public virtual bool UsesReference => false;

    /// <inheritdoc/>
    public override LossKind Kind => PreferenceKind.Instance;

    /// <summary>The card of a preference loss, with the reduction after its own parameters.</summary>
    private protected static LossCard PreferenceCard(string name, string title, string formula, string gradient, string reference,
        string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("preference pairs (per-sequence log-probabilities)", name, title, formula, gradient, reference, LossProperties.None,
            [.. parameters, ReductionParameter], notes);

    /// <summary>
    /// The loss of N preference pairs and its gradient by the policy's log-probabilities.
    /// </summary>
    /// <param name="policyChosen">log π(chosen), N values ≤ 0.</param>
    /// <param name="policyRejected">log π(rejected), N values ≤ 0.</param>
    /// <param name="referenceChosen">log π_ref(chosen), N values, or empty for a loss without a reference.</param>
    /// <param name="referenceRejected">log π_ref(rejected), N values, or empty.</param>
    /// <param name="chosenLengths">Tokens per chosen sequence (≥ 1), or empty for 1.</param>
    /// <param name="rejectedLengths">Tokens per rejected sequence (≥ 1), or empty for 1.</param>
    /// <param name="unreduced">Empty, or N: the loss of each pair.</param>
    /// <param name="gradChosen">Empty, or N: ∂(reduced loss)/∂policyChosen.</param>
    /// <param name="gradRejected">Empty, or N: ∂(reduced loss)/∂policyRejected.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    public T Compute<T>(ReadOnlySpan<T> policyChosen, ReadOnlySpan<T> policyRejected, ReadOnlySpan<T> referenceChosen, ReadOnlySpan<T> referenceRejected,
        ReadOnlySpan<T> chosenLengths, ReadOnlySpan<T> rejectedLengths, Span<T> unreduced = default, Span<T> gradChosen = default, Span<T> gradRejected = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = policyChosen.Length;
        Output(unreduced, n, "unreduced");
        Output(gradChosen, n, "gradChosen");
        Output(gradRejected, n, "gradRejected");
        // Nine per-call arrays of n doubles (the inputs in double, each pair's loss and derivatives), rented for the call.
        double[] buffer = ArrayPool<double>.Shared.Rent(9 * n);
        try
        {
            var pairs = new PreferencePairs(
                LogProbabilities(policyChosen, n, "policy_chosen_logps", required: true, Part(buffer, 0, n)),
                LogProbabilities(policyRejected, n, "policy_rejected_logps", required: true, Part(buffer, 1, n)),
                LogProbabilities(referenceChosen, n, "reference_chosen_logps", UsesReference, Part(buffer, 2, n)),
                LogProbabilities(referenceRejected, n, "reference_rejected_logps", UsesReference, Part(buffer, 3, n)),
                Lengths(chosenLengths, n, "chosen_lengths", Part(buffer, 4, n)), Lengths(rejectedLengths, n, "rejected_lengths", Part(buffer, 5, n)));
            Span<double> losses = Part(buffer, 6, n), dChosen = Part(buffer, 7, n), dRejected = Part(buffer, 8, n);
            buffer.AsSpan(6 * n, 3 * n).Clear();   // a rented array holds old values; the losses start from zeros
            Evaluate(pairs, losses, dChosen, dRejected);
            double scale = Reduction == Reduction.Mean ? (n > 0 ? 1.0 / n : 0) : 1, total = 0;
            for (int i = 0; i < n; i++)
            {
                total += losses[i];
                if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(losses[i]);
                if (!gradChosen.IsEmpty) gradChosen[i] = T.CreateTruncating(scale * dChosen[i]);
                if (!gradRejected.IsEmpty) gradRejected[i] = T.CreateTruncating(scale * dRejected[i]);
            }
            return T.CreateTruncating(total * scale);
        }
        finally { ArrayPool<double>.Shared.Return(buffer); }
    }

    /// <summary>The <paramref name="index"/>-th run of <paramref name="n"/> doubles of a rented buffer.</summary>
    private static Span<double> Part(double[] buffer, int index, int n) => buffer.AsSpan(index * n, n);

    /// <summary>The loss of each pair and its derivatives by the pair's policy chosen and rejected log-probabilities.</summary>
    private protected abstract void Evaluate(PreferencePairs pairs, Span<double> loss, Span<double> dChosen, Span<double> dRejected);

    /// <summary>The implicit reward of a sequence: β·(log π − log π_ref) with a reference, β·log π without.</summary>
    private protected virtual double Reward(double policy, double reference, double length) => BetaValue * (policy - reference);

    /// <summary>Mean chosen and rejected rewards, their margin and the reward accuracy over the pairs (TRL's logged metrics).</summary>
    public PreferenceRewards Rewards(ReadOnlySpan<double> policyChosen, ReadOnlySpan<double> policyRejected,
        ReadOnlySpan<double> referenceChosen = default, ReadOnlySpan<double> referenceRejected = default,
        ReadOnlySpan<double> chosenLengths = default, ReadOnlySpan<double> rejectedLengths = default)
    {
        int n = policyChosen.Length;
        PreferencePairs p = Read(policyChosen, policyRejected, referenceChosen, referenceRejected, chosenLengths, rejectedLengths);
        double chosen = 0, rejected = 0, correct = 0;
        for (int i = 0; i < n; i++)
        {
            double c = Reward(p.Chosen[i], p.ReferenceChosen[i], p.ChosenLength[i]), r = Reward(p.Rejected[i], p.ReferenceRejected[i], p.RejectedLength[i]);
            (chosen, rejected, correct) = (chosen + c, rejected + r, correct + (c > r ? 1 : 0));
        }
        return n == 0 ? default : new PreferenceRewards(chosen / n, rejected / n, (chosen - rejected) / n, correct / n);
    }

    /// <summary>A batch of pairs in double, checked as <see cref="Compute{T}"/> checks its inputs.</summary>
    private protected PreferencePairs Read(ReadOnlySpan<double> policyChosen, ReadOnlySpan<double> policyRejected, ReadOnlySpan<double> referenceChosen,
        ReadOnlySpan<double> referenceRejected, ReadOnlySpan<double> chosenLengths, ReadOnlySpan<double> rejectedLengths)
    {
        int n = policyChosen.Length;
        return new PreferencePairs(
            LogProbabilities(policyChosen, n, "policy_chosen_logps", true, new double[n]), LogProbabilities(policyRejected, n, "policy_rejected_logps", true, new double[n]),
            LogProbabilities(referenceChosen, n, "reference_chosen_logps", UsesReference, new double[n]),
            LogProbabilities(referenceRejected, n, "reference_rejected_logps", UsesReference, new double[n]),
            Lengths(chosenLengths, n, "chosen_lengths", new double[n]), Lengths(rejectedLengths, n, "rejected_lengths", new double[n]));
    }

    /// <summary>Checks <paramref name="values"/> (n log-probabilities ≤ 0) and widens them into <paramref name="result"/>;
    /// zeros where the loss does not use them (a loss without a reference ignores reference inputs it is given).</summary>
    private static ReadOnlySpan<double> LogProbabilities<T>(ReadOnlySpan<T> values, int n, string name, bool required, Span<double> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!required) { result.Clear(); return result; }
        if (values.Length != n)
            throw new ArgumentException(values.IsEmpty ? $"{name} is required by this loss: give one log-probability per pair ({n})."
                : $"{name} has {values.Length} values but policy_chosen_logps has {n}; give one value per pair.", name);
        for (int i = 0; i < n; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
            if (!(result[i] <= 0))
                throw new RowException(name, i, string.Create(CultureInfo.InvariantCulture,
                    $"{name}[{i}] = {result[i]}: expected a log-probability ≤ 0 (the sum of the sequence's token log-probabilities)."));
        }
        return result;
    }

    /// <summary>Checks <paramref name="values"/> (n whole token counts ≥ 1) and widens them into <paramref name="result"/>;
    /// 1 for every pair when not given.</summary>
    private static ReadOnlySpan<double> Lengths<T>(ReadOnlySpan<T> values, int n, string name, Span<double> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (values.IsEmpty) { result.Fill(1.0); return result; }
        if (values.Length != n) throw new ArgumentException($"{name} has {values.Length} values but there are {n} pairs; give one token count per pair.", name);
        for (int i = 0; i < n; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
            if (!(result[i] >= 1 && result[i] == Math.Floor(result[i])))
                throw new RowException(name, i, string.Create(CultureInfo.InvariantCulture, $"{name}[{i}] = {result[i]}: expected a whole number of tokens ≥ 1."));
        }
        return result;
    }

    private static void Output<T>(Span<T> span, int n, string name)
    {
        if (!span.IsEmpty && span.Length != n) throw new ArgumentException($"{name} has {span.Length} values: expected {n} (one per pair) or none.", name);
    }
}

/// <summary>A batch of preference pairs in double (references 0 and lengths 1 where not given): views of n values each,
/// over arrays that <see cref="PreferenceLoss.Compute{T}"/> rents for the call (a ref struct, so none outlives it).</summary>
internal readonly ref struct PreferencePairs(ReadOnlySpan<double> chosen, ReadOnlySpan<double> rejected, ReadOnlySpan<double> referenceChosen,
    ReadOnlySpan<double> referenceRejected, ReadOnlySpan<double> chosenLength, ReadOnlySpan<double> rejectedLength)
{
    public ReadOnlySpan<double> Chosen { get; } = chosen;
    public ReadOnlySpan<double> Rejected { get; } = rejected;
    public ReadOnlySpan<double> ReferenceChosen { get; } = referenceChosen;
    public ReadOnlySpan<double> ReferenceRejected { get; } = referenceRejected;
    public ReadOnlySpan<double> ChosenLength { get; } = chosenLength;
    public ReadOnlySpan<double> RejectedLength { get; } = rejectedLength;

    public int Count => Chosen.Length;
}

/// <summary>Scalar helpers: log σ, σ without overflow.</summary>
internal static class Logistic
{
    /// <summary>σ(u) = 1/(1 + e^−u).</summary>
    public static double Sigmoid(double u) => u >= 0 ? 1 / (1 + Math.Exp(-u)) : Math.Exp(u) / (1 + Math.Exp(u));

    /// <summary>log σ(u) = −softplus(−u), exact for large |u|.</summary>
    public static double LogSigmoid(double u) => u >= 0 ? -Math.Log(1 + Math.Exp(-u)) : u - Math.Log(1 + Math.Exp(u));
}
