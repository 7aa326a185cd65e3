using LossKit.Core;

namespace LossKit.Preference;

/// <summary>
/// Direct preference optimisation and its pairwise variants, spec
/// <c>dpo(beta=0.1, loss_type=sigmoid, label_smoothing=0, reference_free=false, discopop_tau=0.05)</c>, with TRL's
/// <c>DPOTrainer</c> formulas (reverse-KL scores). With s_c = log π(chosen) − log π_ref(chosen), s_r likewise for the rejected
/// sequence (π_ref = 1 with <c>reference_free</c>) and Δ = s_c − s_r, per pair:
/// <list type="bullet">
/// <item><c>sigmoid</c>: −(1 − ε)·log σ(βΔ) − ε·log σ(−βΔ) (DPO, Rafailov et al. 2023; ε &gt; 0 is conservative DPO, Mitchell 2023)</item>
/// <item><c>hinge</c>: max(0, 1 − βΔ) (SLiC, Zhao et al. 2023)</item>
/// <item><c>ipo</c>: (Δ − 1/(2β))², with s_c, s_r divided by the sequences' lengths when they are given (Azar et al. 2023; TRL's length normalisation)</item>
/// <item><c>exo_pair</c>: Σ over {chosen, rejected} of q·(log q − log p_ε), q = σ(±βΔ), p_ε = (1 − ε, ε), 0 &lt; ε &lt; 1 (Ji et al. 2024)</item>
/// <item><c>nca_pair</c>: −log σ(βs_c) − ½·log σ(−βs_c) − ½·log σ(−βs_r) (Chen et al. 2024)</item>
/// <item><c>robust</c>: (−(1 − ε)·log σ(βΔ) + ε·log σ(−βΔ))/(1 − 2ε), ε &lt; ½ (Chowdhury et al. 2024)</item>
/// <item><c>bco_pair</c>: −log σ(βs_c) − log σ(−βs_r) (Jung et al. 2024, without the running reward shift)</item>
/// <item><c>sppo_hard</c>: (s_c − 1/(2β))² + (s_r + 1/(2β))² (Wu et al. 2024, hard probabilities)</item>
/// <item><c>aot</c>: the sigmoid loss on sort(log π_c − log π_r) − sort(log π_ref,c − log π_ref,r) over the batch;
/// <c>aot_pair</c> on sort(s_c) − sort(s_r) (TRL's <c>aot_unpaired</c>) (Melnyk et al. 2024). Batch-level: pair i of the
/// unreduced values is the i-th smallest.</item>
/// <item><c>apo_zero</c>: 1 − σ(βs_c) + σ(βs_r); <c>apo_down</c>: σ(βs_c) + 1 − σ(βΔ) (D'Oosterlinck et al. 2024)</item>
/// <item><c>discopop</c>: u = βΔ, m = σ(u/τ): −log σ(u)·(1 − m) + e^{−u}·m (Chris Lu et al. 2024)</item>
/// </list>
/// Reference: TRL <c>trl/trainer/dpo_trainer.py</c> and the papers above.
/// </summary>
public sealed class DpoLoss : PreferenceLoss
{
    /// <summary>The loss types, TRL's names.</summary>
    public static readonly IReadOnlyList<string> LossTypes =
        ["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot", "aot_pair", "apo_zero", "apo_down", "discopop"];

    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "β: the strength of the KL regularisation (TRL beta)") { Default = 0.1, Min = 0, MinExclusive = true };
    public static readonly LossParameter LossType = new("loss_type", ParameterKind.Choice, "TRL's loss_type") { Choices = LossTypes };
    public static readonly LossParameter LabelSmoothing = new("label_smoothing", ParameterKind.Number,
        "ε: the probability that a preference is flipped (sigmoid, robust, aot, aot_pair; exo_pair's target (1 − ε, ε))") { Default = 0, Min = 0, Max = 0.5 };
    public static readonly LossParameter ReferenceFree = new("reference_free", ParameterKind.Choice, "true: no reference model (π_ref = 1)") { Choices = ["false", "true"] };
    public static readonly LossParameter DiscopopTau = new("discopop_tau", ParameterKind.Number, "τ of discopop's mixing σ(βΔ/τ)") { Default = 0.05, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = PreferenceCard("dpo", "Direct preference optimisation and its pairwise variants (TRL loss_type)",
        "sigmoid: ℓ = −(1 − ε)·log σ(βΔ) − ε·log σ(−βΔ), Δ = (log π_c − log π_ref,c) − (log π_r − log π_ref,r); other loss_type values as TRL",
        "sigmoid: ∂ℓ/∂log π_c = −∂ℓ/∂log π_r = β·(−(1 − ε)·σ(−βΔ) + ε·σ(βΔ))",
        "Rafailov et al. 2023, Direct preference optimization; TRL DPOTrainer (loss_type values and their papers in the doc comment)",
        "ipo divides the log-ratios by the sequences' lengths when chosen_lengths/rejected_lengths are given (TRL), else uses them as they are (the paper). " +
        "exo_pair needs 0 < label_smoothing; robust needs label_smoothing < ½. aot and aot_pair sort over the batch: unreduced value i belongs to the " +
        "i-th smallest log-ratio difference. TRL's current sigmoid has no label smoothing; this one keeps conservative DPO's (TRL ≤ 0.11).",
        Beta, LossType, LabelSmoothing, ReferenceFree, DiscopopTau);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new DpoLoss(a.Number(Beta), a.Choice(LossType), a.Number(LabelSmoothing),
        a.Flag(ReferenceFree), a.Number(DiscopopTau), a.Reduction()));

    /// <param name="beta">β &gt; 0 (null: 0.1).</param>
    /// <param name="lossType">One of <see cref="LossTypes"/> (null: sigmoid).</param>
    /// <param name="labelSmoothing">ε in [0, ½] (null: 0).</param>
    /// <param name="referenceFree">No reference model.</param>
    /// <param name="discopopTau">discopop's τ &gt; 0 (null: 0.05).</param>
    /// <param name="reduction">mean over pairs, sum or none.</param>
    public DpoLoss(double? beta = null, string? lossType = null, double? labelSmoothing = null, bool referenceFree = false,
        double? discopopTau = null, Reduction reduction = Reduction.Mean) : base(Beta.Resolve(beta), reduction)
    {
        Type = lossType ?? LossTypes[0];
        if (!LossTypes.Contains(Type))
            throw new ArgumentException($"loss_type = {Type} is not one of {string.Join(", ", LossTypes)}.", nameof(lossType));
        Smoothing = LabelSmoothing.Resolve(labelSmoothing);
        if (Type == "exo_pair" && Smoothing == 0)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), Smoothing, "exo_pair needs label_smoothing > 0 (its target distribution is (1 − ε, ε); TRL's docs suggest 1e-3).");
        if (Type == "robust" && Smoothing >= 0.5)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), Smoothing, "robust needs label_smoothing < 0.5 (it divides by 1 − 2ε).");
        IsReferenceFree = referenceFree;
        Tau = DiscopopTau.Resolve(discopopTau);
    }

    /// <summary>TRL's loss_type.</summary>
    public string Type { get; }

    /// <summary>ε.</summary>
    public double Smoothing { get; }

    /// <summary>True without a reference model.</summary>
    public bool IsReferenceFree { get; }

    /// <summary>discopop's τ.</summary>
    public double Tau { get; }

    /// <inheritdoc/>
    public override bool UsesReference => !IsReferenceFree;

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [Beta.Of(BetaValue), LossType.Of(Type), LabelSmoothing.Of(Smoothing), ReferenceFree.Of(IsReferenceFree), DiscopopTau.Of(Tau), ReductionParameter.Of(Reduction)];

    private protected override void Evaluate(PreferencePairs p, Span<double> loss, Span<double> dChosen, Span<double> dRejected)
    {
        if (Type is "aot" or "aot_pair") { Aligned(p, loss, dChosen, dRejected); return; }
        bool perToken = Type == "ipo";
        for (int i = 0; i < p.Count; i++)
        {
            double lc = perToken ? p.ChosenLength[i] : 1, lr = perToken ? p.RejectedLength[i] : 1;
            double sc = (p.Chosen[i] - p.ReferenceChosen[i]) / lc, sr = (p.Rejected[i] - p.ReferenceRejected[i]) / lr;
            (loss[i], double dc, double dr) = Pair(sc, sr);
            (dChosen[i], dRejected[i]) = (dc / lc, dr / lr);
        }
    }

    /// <summary>The loss of one pair from its two scores, and its derivatives by them.</summary>
    private (double Loss, double DChosen, double DRejected) Pair(double sc, double sr)
    {
        double b = BetaValue, e = Smoothing, u = b * (sc - sr);
        switch (Type)
        {
            case "sigmoid":
            {
                var (l, d) = Sigmoid(u);
                return (l, b * d, -b * d);
            }
            case "hinge":
            {
                double d = 1 - u > 0 ? -b : 0;
                return (Math.Max(0, 1 - u), d, -d);
            }
            case "ipo":
            {
                double r = sc - sr - 1 / (2 * b);
                return (r * r, 2 * r, -2 * r);
            }
            case "exo_pair":
            {
                double qw = Logistic.Sigmoid(u), ql = Logistic.Sigmoid(-u);
                double l = qw * (Logistic.LogSigmoid(u) - Math.Log(1 - e)) + ql * (Logistic.LogSigmoid(-u) - Math.Log(e));
                double d = b * qw * ql * (u + Math.Log(e / (1 - e)));
                return (l, d, -d);
            }
            case "nca_pair":
            {
                double uc = b * sc, ur = b * sr;
                double l = -Logistic.LogSigmoid(uc) - 0.5 * Logistic.LogSigmoid(-uc) - 0.5 * Logistic.LogSigmoid(-ur);
                return (l, b * (-Logistic.Sigmoid(-uc) + 0.5 * Logistic.Sigmoid(uc)), 0.5 * b * Logistic.Sigmoid(ur));
            }
            case "robust":
            {
                double l = (-(1 - e) * Logistic.LogSigmoid(u) + e * Logistic.LogSigmoid(-u)) / (1 - 2 * e);
                double d = b * (-(1 - e) * Logistic.Sigmoid(-u) - e * Logistic.Sigmoid(u)) / (1 - 2 * e);
                return (l, d, -d);
            }
            case "bco_pair":
            {
                double uc = b * sc, ur = b * sr;
                return (-Logistic.LogSigmoid(uc) - Logistic.LogSigmoid(-ur), -b * Logistic.Sigmoid(-uc), b * Logistic.Sigmoid(ur));
            }
            case "sppo_hard":
            {
                double wc = sc - 0.5 / b, wr = sr + 0.5 / b;
                return (wc * wc + wr * wr, 2 * wc, 2 * wr);
            }
            case "apo_zero":
            {
                double uc = b * sc, ur = b * sr;
                return (1 - Logistic.Sigmoid(uc) + Logistic.Sigmoid(ur), -b * SigmoidSlope(uc), b * SigmoidSlope(ur));
            }
            case "apo_down":
            {
                double uc = b * sc;
                double l = Logistic.Sigmoid(uc) + 1 - Logistic.Sigmoid(u);
                return (l, b * SigmoidSlope(uc) - b * SigmoidSlope(u), b * SigmoidSlope(u));
            }
            default:   // discopop
            {
                // m·e^{−u} and m(1 − m)·e^{−u} in log space: e^{−u} alone overflows where m underflows (u ≪ 0).
                double m = Logistic.Sigmoid(u / Tau), logistic = -Logistic.LogSigmoid(u);
                double logM = Logistic.LogSigmoid(u / Tau), logRest = Logistic.LogSigmoid(-u / Tau);
                double mExp = Math.Exp(logM - u), mRestExp = Math.Exp(logM + logRest - u);
                double l = logistic * (1 - m) + mExp;
                double du = -Logistic.Sigmoid(-u) * (1 - m) - mExp + (mRestExp - m * (1 - m) * logistic) / Tau;
                return (l, b * du, -b * du);
            }
        }
    }

    /// <summary>Conservative DPO's −(1 − ε)·log σ(u) − ε·log σ(−u) and its derivative by u.</summary>
    private (double Loss, double Slope) Sigmoid(double u) =>
        (-(1 - Smoothing) * Logistic.LogSigmoid(u) - Smoothing * Logistic.LogSigmoid(-u),
         -(1 - Smoothing) * Logistic.Sigmoid(-u) + Smoothing * Logistic.Sigmoid(u));

    private static double SigmoidSlope(double u) => Logistic.Sigmoid(u) * Logistic.Sigmoid(-u);

    /// <summary>aot and aot_pair: the sigmoid loss on differences of sorted batch quantities; each gradient goes back to
    /// the pair that sits at that place of the sort (ties keep the pairs' order).</summary>
    private void Aligned(PreferencePairs p, Span<double> loss, Span<double> dChosen, Span<double> dRejected)
    {
        int n = p.Count;
        double[] a = new double[n], c = new double[n];
        for (int i = 0; i < n; i++)
        {
            if (Type == "aot")
                (a[i], c[i]) = (p.Chosen[i] - p.Rejected[i], p.ReferenceChosen[i] - p.ReferenceRejected[i]);
            else
                (a[i], c[i]) = (p.Chosen[i] - p.ReferenceChosen[i], p.Rejected[i] - p.ReferenceRejected[i]);
        }
        int[] byA = Order(a), byC = Order(c);
        dChosen.Clear();
        dRejected.Clear();
        for (int k = 0; k < n; k++)
        {
            var (l, d) = Sigmoid(BetaValue * (a[byA[k]] - c[byC[k]]));
            loss[k] = l;
            double g = BetaValue * d;
            // aot: a = log π_c − log π_r of pair byA[k]; c (reference) carries no gradient.
            // aot_pair: a = s_c of pair byA[k], c = s_r of pair byC[k].
            dChosen[byA[k]] += g;
            if (Type == "aot") dRejected[byA[k]] -= g;
            else dRejected[byC[k]] -= g;
        }
    }

    private static int[] Order(double[] values)
    {
        int[] order = [.. Enumerable.Range(0, values.Length)];
        Array.Sort(order, (x, y) => values[x] != values[y] ? values[x].CompareTo(values[y]) : x.CompareTo(y));
        return order;
    }
}
