using LossKit.Core;

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
