using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Preference;

/// <summary>
/// SimPO, spec <c>simpo(beta=2, gamma=0.5, label_smoothing=0)</c>: without a reference model, on the per-token average
/// log-probabilities ā = log π/|y|: <c>ℓ = −(1 − ε)·log σ(u) − ε·log σ(−u)</c>, u = β(ā_c − ā_r) − γ.
/// Defaults are the SimPO repository's (β = 2, γ/β = 0.25). Reference: Meng, Xia &amp; Chen 2024, SimPO: simple preference
/// optimization with a reference-free reward; TRL <c>CPOTrainer(loss_type="simpo")</c>.
/// </summary>
public sealed class SimPoLoss : PreferenceLoss
{
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "β: the reward scale") { Default = 2, Min = 0, MinExclusive = true };
    public static readonly LossParameter Gamma = new("gamma", ParameterKind.Number, "γ: the target reward margin") { Default = 0.5, Min = 0 };

    public static LossCard Definition { get; } = PreferenceCard("simpo", "SimPO: reference-free, length-normalised preference loss",
        "ℓ = −(1 − ε)·log σ(u) − ε·log σ(−u), u = β·(log π_c/|y_c| − log π_r/|y_r|) − γ",
        "∂ℓ/∂log π_c = β·s/|y_c|, ∂ℓ/∂log π_r = −β·s/|y_r|, s = −(1 − ε)·σ(−u) + ε·σ(u)",
        "Meng, Xia & Chen 2024, SimPO: simple preference optimization with a reference-free reward; TRL CPOTrainer(loss_type='simpo')",
        "Give chosen_lengths and rejected_lengths (token counts) for the per-token averages; without them the log-probabilities are taken as averages already. " +
        "Rewards are β·log π/|y|.", Beta, Gamma, DpoLoss.LabelSmoothing);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SimPoLoss(a.Number(Beta), a.Number(Gamma), a.Number(DpoLoss.LabelSmoothing), a.Reduction()));

    /// <param name="beta">β &gt; 0 (null: 2).</param>
    /// <param name="gamma">γ ≥ 0 (null: 0.5).</param>
    /// <param name="labelSmoothing">ε in [0, ½] (null: 0).</param>
    /// <param name="reduction">mean over pairs, sum or none.</param>
    public SimPoLoss(double? beta = null, double? gamma = null, double? labelSmoothing = null, Reduction reduction = Reduction.Mean)
        : base(Beta.Resolve(beta), reduction) => (GammaValue, Smoothing) = (Gamma.Resolve(gamma), DpoLoss.LabelSmoothing.Resolve(labelSmoothing));

    /// <summary>γ.</summary>
    public double GammaValue { get; }

    /// <summary>ε.</summary>
    public double Smoothing { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [Beta.Of(BetaValue), Gamma.Of(GammaValue), DpoLoss.LabelSmoothing.Of(Smoothing), ReductionParameter.Of(Reduction)];

    private protected override double Reward(double policy, double reference, double length) => BetaValue * policy / length;

    private protected override void Evaluate(PreferencePairs p, Span<double> loss, Span<double> dChosen, Span<double> dRejected)
    {
        double b = BetaValue, e = Smoothing;
        for (int i = 0; i < p.Count; i++)
        {
            double u = b * (p.Chosen[i] / p.ChosenLength[i] - p.Rejected[i] / p.RejectedLength[i]) - GammaValue;
            loss[i] = -(1 - e) * Logistic.LogSigmoid(u) - e * Logistic.LogSigmoid(-u);
            double slope = -(1 - e) * Logistic.Sigmoid(-u) + e * Logistic.Sigmoid(u);
            (dChosen[i], dRejected[i]) = (b * slope / p.ChosenLength[i], -b * slope / p.RejectedLength[i]);
        }
    }
}

/// <summary>
/// CPO, spec <c>cpo(beta=0.1, alpha=1, label_smoothing=0)</c>: the reference-free sigmoid preference loss plus a
/// behaviour-cloning term, <c>ℓ = −(1 − ε)·log σ(u) − ε·log σ(−u) − α·log π_c/|y_c|</c>, u = β(log π_c − log π_r).
/// TRL adds α times the token-mean NLL of the chosen sequences over the whole batch; here each pair carries its own
/// sequence's mean NLL (the same when the chosen sequences have equal lengths), so the loss has a value per pair.
/// Reference: Xu et al. 2024, Contrastive preference optimization; TRL <c>CPOTrainer</c> (<c>cpo_alpha</c>).
/// </summary>
public sealed class CpoLoss : PreferenceLoss
{
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number, "α: weight of the chosen sequences' NLL (TRL cpo_alpha)") { Default = 1, Min = 0 };

    public static LossCard Definition { get; } = PreferenceCard("cpo", "CPO: contrastive preference optimisation",
        "ℓ = −(1 − ε)·log σ(u) − ε·log σ(−u) − α·log π_c/|y_c|, u = β·(log π_c − log π_r)",
        "∂ℓ/∂log π_c = β·s − α/|y_c|, ∂ℓ/∂log π_r = −β·s, s = −(1 − ε)·σ(−u) + ε·σ(u)",
        "Xu et al. 2024, Contrastive preference optimization: pushing the boundaries of LLM performance in machine translation; TRL CPOTrainer",
        "The NLL term is each chosen sequence's token mean (chosen_lengths; 1 when not given) where TRL takes the token mean over the batch. Rewards are β·log π.",
        DpoLoss.Beta, Alpha, DpoLoss.LabelSmoothing);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CpoLoss(a.Number(DpoLoss.Beta), a.Number(Alpha), a.Number(DpoLoss.LabelSmoothing), a.Reduction()));

    /// <param name="beta">β &gt; 0 (null: 0.1).</param>
    /// <param name="alpha">α ≥ 0 (null: 1).</param>
    /// <param name="labelSmoothing">ε in [0, ½] (null: 0).</param>
    /// <param name="reduction">mean over pairs, sum or none.</param>
    public CpoLoss(double? beta = null, double? alpha = null, double? labelSmoothing = null, Reduction reduction = Reduction.Mean)
        : base(DpoLoss.Beta.Resolve(beta), reduction) => (AlphaValue, Smoothing) = (Alpha.Resolve(alpha), DpoLoss.LabelSmoothing.Resolve(labelSmoothing));

    /// <summary>α.</summary>
    public double AlphaValue { get; }

    /// <summary>ε.</summary>
    public double Smoothing { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [DpoLoss.Beta.Of(BetaValue), Alpha.Of(AlphaValue), DpoLoss.LabelSmoothing.Of(Smoothing), ReductionParameter.Of(Reduction)];

    private protected override double Reward(double policy, double reference, double length) => BetaValue * policy;

    private protected override void Evaluate(PreferencePairs p, Span<double> loss, Span<double> dChosen, Span<double> dRejected)
    {
        double b = BetaValue, e = Smoothing;
        for (int i = 0; i < p.Count; i++)
        {
            double u = b * (p.Chosen[i] - p.Rejected[i]);
            loss[i] = -(1 - e) * Logistic.LogSigmoid(u) - e * Logistic.LogSigmoid(-u) - AlphaValue * p.Chosen[i] / p.ChosenLength[i];
            double slope = -(1 - e) * Logistic.Sigmoid(-u) + e * Logistic.Sigmoid(u);
            (dChosen[i], dRejected[i]) = (b * slope - AlphaValue / p.ChosenLength[i], -b * slope);
        }
    }
}

/// <summary>
/// ORPO's odds-ratio term, spec <c>orpo(beta=0.1)</c>: on the per-token average log-probabilities ā = log π/|y|,
/// <c>ℓ = −β·log σ(L)</c> with the log odds ratio <c>L = (ā_c − log(1 − e^{ā_c})) − (ā_r − log(1 − e^{ā_r}))</c>.
/// This is the term TRL's <c>ORPOTrainer.odds_ratio_loss</c> returns (as <c>β·log σ(L)</c>, which the trainer
/// subtracts); the full ORPO objective adds the chosen sequence's SFT negative log-likelihood, which this loss does not
/// include: TRL computes it as a separate cross-entropy over the chosen sequence's prompt and completion tokens (the
/// paper's L_SFT over the completion), which per-sequence log-probabilities cannot give — add it with <c>ce</c> or
/// <c>linear_ce</c> on the chosen tokens. Reference: Hong, Lee &amp; Thorne 2024, ORPO: monolithic preference optimization
/// without reference model, Eqs. (4) and (7), the equations TRL's comment cites (λ there is β here); TRL <c>trl/experimental/orpo/orpo_trainer.py</c>.
/// <para>Odds p/(1 − p) are infinite at a sequence probability of 1, so ā is capped at −10⁻⁷ before the odds are taken:
/// an average log-probability in [−10⁻⁷, 0] (a sequence the model is certain of, to float rounding) gets log odds
/// 10⁻⁷ − log(1 − e^{−10⁻⁷}) ≈ 16.1 and no gradient through the cap, so loss and gradient are finite for every valid
/// input (TRL caps nothing: it returns ±∞ and NaN gradients at ā = 0); ā &gt; 0 is an error, as for every preference loss.
/// log(1 − e^ā) is computed as TRL's <c>log1mexp</c> (log1p(−e^ā) below −ln 2, log(−expm1(ā)) above), so ā close to the
/// cap stays accurate. Rewards are β·ā (TRL's <c>rewards/chosen</c>, <c>rewards/rejected</c>).</para>
/// </summary>
public sealed class OrpoLoss : PreferenceLoss
{
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number,
        "β: weight of the odds-ratio term (the paper's λ; TRL ORPOConfig beta)") { Default = 0.1, Min = 0, MinExclusive = true };

    /// <summary>The cap on the average log-probability ā (odds are infinite at ā = 0).</summary>
    public const double MaxAverageLogProbability = -1e-7;

    public static LossCard Definition { get; } = PreferenceCard("orpo", "ORPO: odds-ratio preference term (without the SFT term)",
        "ℓ = −β·log σ(L), L = log(odds ā_c) − log(odds ā_r), log odds ā = ā − log(1 − e^ā), ā = log π/|y|",
        "∂ℓ/∂log π_c = −β·σ(−L)/((1 − e^{ā_c})·|y_c|), ∂ℓ/∂log π_r = β·σ(−L)/((1 − e^{ā_r})·|y_r|)",
        "Hong, Lee & Thorne 2024, ORPO: monolithic preference optimization without reference model, Eqs. (4) and (7); TRL ORPOTrainer.odds_ratio_loss",
        "Only the odds-ratio term: ORPO's SFT term (the chosen sequence's NLL, which TRL computes over prompt and completion tokens) is added by the caller. " +
        "Give chosen_lengths and rejected_lengths for the per-token averages; without them the log-probabilities are taken as averages already. " +
        "ā is capped at −1e-7 (odds ∞ at ā = 0; TRL does not cap), with no gradient through the cap. Rewards are β·log π/|y|.", Beta);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new OrpoLoss(a.Number(Beta), a.Reduction()));

    /// <param name="beta">β &gt; 0 (null: 0.1).</param>
    /// <param name="reduction">mean over pairs, sum or none.</param>
    public OrpoLoss(double? beta = null, Reduction reduction = Reduction.Mean) : base(Beta.Resolve(beta), reduction) { }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [Beta.Of(BetaValue), ReductionParameter.Of(Reduction)];

    private protected override double Reward(double policy, double reference, double length) => BetaValue * policy / length;

    /// <summary>TRL's two further ORPO metrics over the pairs: <c>log_odds_ratio</c>, the mean of log σ(L), and
    /// <c>log_odds_chosen</c>, the mean log odds ratio L (inputs as for <see cref="PreferenceLoss.Compute{T}"/>).</summary>
    public (double LogOddsRatio, double LogOddsChosen) LogOdds(ReadOnlySpan<double> policyChosen, ReadOnlySpan<double> policyRejected,
        ReadOnlySpan<double> chosenLengths = default, ReadOnlySpan<double> rejectedLengths = default)
    {
        PreferencePairs p = Read(policyChosen, policyRejected, default, default, chosenLengths, rejectedLengths);
        double ratio = 0, odds = 0;
        for (int i = 0; i < p.Count; i++)
        {
            double logOdds = LogOddsRatio(p, i);
            (ratio, odds) = (ratio + Logistic.LogSigmoid(logOdds), odds + logOdds);
        }
        return p.Count == 0 ? default : (ratio / p.Count, odds / p.Count);
    }

    /// <summary>L of pair i, on the capped averages.</summary>
    private static double LogOddsRatio(PreferencePairs p, int i)
    {
        double chosen = Math.Min(p.Chosen[i] / p.ChosenLength[i], MaxAverageLogProbability);
        double rejected = Math.Min(p.Rejected[i] / p.RejectedLength[i], MaxAverageLogProbability);
        return (chosen - Log1mExp(chosen)) - (rejected - Log1mExp(rejected));
    }

    private protected override void Evaluate(PreferencePairs p, Span<double> loss, Span<double> dChosen, Span<double> dRejected)
    {
        for (int i = 0; i < p.Count; i++)
        {
            double chosen = Math.Min(p.Chosen[i] / p.ChosenLength[i], MaxAverageLogProbability);
            double rejected = Math.Min(p.Rejected[i] / p.RejectedLength[i], MaxAverageLogProbability);
            double logOdds = LogOddsRatio(p, i);
            loss[i] = -BetaValue * Logistic.LogSigmoid(logOdds);
            // ∂L/∂ā = 1/(1 − e^ā) = −1/expm1(ā) for the chosen sequence, its negative for the rejected one; 0 through the cap.
            double slope = -BetaValue * Logistic.Sigmoid(-logOdds);
            dChosen[i] = p.Chosen[i] / p.ChosenLength[i] < MaxAverageLogProbability ? slope / -Scalar.Expm1(chosen) / p.ChosenLength[i] : 0;
            dRejected[i] = p.Rejected[i] / p.RejectedLength[i] < MaxAverageLogProbability ? -slope / -Scalar.Expm1(rejected) / p.RejectedLength[i] : 0;
        }
    }

    /// <summary>log(1 − e^x) for x &lt; 0, accurate on both sides of −ln 2 (TRL's log1mexp).</summary>
    private static double Log1mExp(double x) => x < -Math.Log(2) ? Scalar.Log1p(-Math.Exp(x)) : Math.Log(-Scalar.Expm1(x));
}
