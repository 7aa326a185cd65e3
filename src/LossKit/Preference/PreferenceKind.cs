namespace LossKit.Preference;

/// <summary>
/// Preference pairs (<see cref="PreferenceLoss"/>), with TRL's argument names: <c>policy_chosen_logps</c> and
/// <c>policy_rejected_logps</c> (N, the policy's log-probability of each chosen and rejected sequence), the reference
/// model's <c>reference_chosen_logps</c> and <c>reference_rejected_logps</c> (N; losses without a reference, or with
/// <c>reference_free=true</c>, do not take them), and <c>chosen_lengths</c>, <c>rejected_lengths</c> (N token counts, for
/// the losses that average per token; 1 when left out). Outputs <c>unreduced</c> (N) and the gradients of the two
/// policy inputs.
/// </summary>
public sealed class PreferenceKind : LossKind<PreferenceKind, PreferenceLoss>
{
    /// <summary>The input names, in the order <see cref="PreferenceLoss.Compute{T}"/> takes them.</summary>
    internal static readonly string[] Names =
        ["policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps", "reference_rejected_logps", "chosen_lengths", "rejected_lengths"];

    private PreferenceKind() : base("preference",
    [
        new("policy_chosen_logps", "N", true, "the policy's log-probability of each chosen sequence (≤ 0)") { NonPositive = true },
        new("policy_rejected_logps", "N", true, "the policy's log-probability of each rejected sequence (≤ 0)") { NonPositive = true },
        new("reference_chosen_logps", "N", false, "the reference model's log-probability of each chosen sequence (losses with a reference)") { Optional = true, NonPositive = true },
        new("reference_rejected_logps", "N", false, "the reference model's log-probability of each rejected sequence (losses with a reference)") { Optional = true, NonPositive = true },
        new("chosen_lengths", "N", false, "tokens in each chosen sequence, for per-token averages (1 when left out)") { Optional = true },
        new("rejected_lengths", "N", false, "tokens in each rejected sequence, for per-token averages (1 when left out)") { Optional = true },
    ]) { }

    protected override LossCall Call<T>(PreferenceLoss preference, LossInputs inputs)
    {
        LossTensor chosen = inputs.Required(Names[0], this);
        if (chosen.Rank != 1) throw new ArgumentException($"{Names[0]} has shape {chosen.ShapeText}: expected one value per pair, [N].", Names[0]);
        var values = new T[Names.Length][];
        for (int i = 0; i < Names.Length; i++)
        {
            LossTensor? tensor = i < 2 ? inputs.Required(Names[i], this) : inputs.Optional(Names[i]);
            if (tensor is not null && i > 0) SameShape(tensor, Names[i], chosen, Names[0]);
            values[i] = ValuesAs<T>(tensor);
        }
        int[] shape = chosen.Shape;
        return new GradientsCall<T>([(Names[0], shape), (Names[1], shape)], shape, BytesOf(values),
            (unreduced, g) => preference.Compute<T>(values[0], values[1], values[2], values[3], values[4], values[5], unreduced, g[0].Span, g[1].Span));
    }

    /// <summary>Log-probabilities in [−1.05·scale, −0.05·scale] for the policy and, for losses with a reference, the reference.</summary>
    protected override LossInputs SampleFor(PreferenceLoss preference, SampleSize size, Random random, double scale)
    {
        var inputs = new LossInputs();
        for (int i = 0; i < (preference.UsesReference ? 4 : 2); i++) inputs[Names[i]] = LossTensor.Vector(RandomLogProbabilities(random, size.Rows, scale));
        return inputs;
    }
}
