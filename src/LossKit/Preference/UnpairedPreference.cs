using System.Globalization;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Preference;

/// <summary>
/// Unpaired preference examples (<see cref="UnpairedPreferenceLoss"/>): <c>policy_logps</c> and <c>reference_logps</c>
/// (N per-sequence log-probabilities), <c>labels</c> (N, 1 = desirable, 0 = undesirable; NPO's forget examples need
/// none) and <c>kl</c> (one value: KTO's reference point, an estimate of KL(π ‖ π_ref); 0 when left out). Outputs
/// <c>unreduced</c> (N) and <c>grad_policy_logps</c>.
/// </summary>
public sealed class UnpairedPreferenceKind : LossKind
{
    /// <summary>The one instance, shared by every unpaired preference loss.</summary>
    public static UnpairedPreferenceKind Instance { get; } = new();

    private UnpairedPreferenceKind() : base("unpaired-preference",
    [
        new("policy_logps", "N", true, "the policy's log-probability of each sequence (≤ 0)") { NonPositive = true },
        new("reference_logps", "N", false, "the reference model's log-probability of each sequence (≤ 0)") { NonPositive = true },
        new("labels", "N", false, "1 for a desirable sequence, 0 for an undesirable one (NPO: not needed)") { Optional = true },
        new("kl", "1", false, "KTO's reference point z₀, an estimate of KL(π ‖ π_ref) (clamped at 0; 0 when left out)") { Optional = true },
    ]) { }

    protected override LossCall PrepareCall<T>(ILoss loss, LossInputs inputs)
    {
        var unpaired = Expect<UnpairedPreferenceLoss>(loss);
        LossTensor policy = inputs.Required("policy_logps", this), reference = inputs.Required("reference_logps", this);
        if (policy.Rank != 1) throw new ArgumentException($"policy_logps has shape {policy.ShapeText}: expected one value per sequence, [N].", "policy_logps");
        SameShape(reference, "reference_logps", policy, "policy_logps");
        LossTensor? labels = inputs.Optional("labels"), kl = inputs.Optional("kl");
        if (labels is not null) SameShape(labels, "labels", policy, "policy_logps");
        if (kl is not null && kl.Length != 1) throw new ArgumentException($"kl has shape {kl.ShapeText}: expected one value, [1].", "kl");
        T[] p = ValuesAs<T>(policy), r = ValuesAs<T>(reference), y = labels is null ? [] : ValuesAs<T>(labels);
        double z0 = kl is null ? 0 : kl.Values[0];
        return new LogitsCall<T>(policy.Shape, policy.Shape, BytesOf(p, r, y),
            (unreduced, gradient) => unpaired.Compute<T>(p, r, y, z0, unreduced, gradient), "policy_logps");
    }

    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        var unpaired = Expect<UnpairedPreferenceLoss>(loss);
        double[] Logps()
        {
            var v = new double[size.Rows];
            for (int n = 0; n < v.Length; n++) v[n] = -scale * (0.05 + random.NextDouble());
            return v;
        }
        var inputs = new LossInputs { ["policy_logps"] = LossTensor.Vector(Logps()), ["reference_logps"] = LossTensor.Vector(Logps()) };
        if (unpaired.UsesLabels)
        {
            var labels = new double[size.Rows];
            for (int n = 0; n < labels.Length; n++) labels[n] = n % 2 == 0 ? 1 : random.Next(2);
            inputs["labels"] = LossTensor.Vector(labels);
            inputs["kl"] = LossTensor.Vector([0.25 * random.NextDouble()]);
        }
        return inputs;
    }
}

/// <summary>
/// The unpaired preference losses (KTO, NPO): each example's loss is a function of its log-ratio
/// s = log π − log π_ref and its label; the base checks the inputs and reduces over the N examples.
/// </summary>
public abstract class UnpairedPreferenceLoss : BetaPreferenceLoss
{
    private protected UnpairedPreferenceLoss(double beta, Reduction reduction) : base(beta, reduction) { }

    /// <summary>True when the loss needs <c>labels</c> (desirable or not).</summary>
    public virtual bool UsesLabels => true;

    /// <inheritdoc/>
    public override LossKind Kind => UnpairedPreferenceKind.Instance;

    /// <summary>
    /// The loss of N examples and its gradient by the policy's log-probabilities.
    /// </summary>
    /// <param name="policy">log π of each sequence (≤ 0).</param>
    /// <param name="reference">log π_ref of each sequence (≤ 0).</param>
    /// <param name="labels">1 (desirable) or 0 (undesirable) per sequence; empty for a loss without labels.</param>
    /// <param name="kl">KTO's reference point z₀ (clamped at 0, as TRL does).</param>
    /// <param name="unreduced">Empty, or N: each example's loss.</param>
    /// <param name="gradient">Empty, or N: ∂(reduced loss)/∂policy.</param>
    public T Compute<T>(ReadOnlySpan<T> policy, ReadOnlySpan<T> reference, ReadOnlySpan<T> labels, double kl = 0,
        Span<T> unreduced = default, Span<T> gradient = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = policy.Length;
        if (reference.Length != n) throw new ArgumentException($"reference_logps has {reference.Length} values but policy_logps has {n}; give one per sequence.", "reference_logps");
        if (UsesLabels && labels.Length != n)
            throw new ArgumentException(labels.IsEmpty ? $"labels is required: 1 (desirable) or 0 (undesirable) for each of the {n} sequences."
                : $"labels has {labels.Length} values but policy_logps has {n}; give one per sequence.", "labels");
        if (!double.IsFinite(kl)) throw new ArgumentOutOfRangeException(nameof(kl), kl, $"kl = {kl}: expected a finite estimate of KL(π ‖ π_ref).");
        if (!unreduced.IsEmpty && unreduced.Length != n) throw new ArgumentException($"unreduced has {unreduced.Length} values: expected {n} or none.", nameof(unreduced));
        if (!gradient.IsEmpty && gradient.Length != n) throw new ArgumentException($"gradient has {gradient.Length} values: expected {n} or none.", nameof(gradient));
        double z0 = Math.Max(kl, 0), scale = Reduction == Reduction.Mean ? (n > 0 ? 1.0 / n : 0) : 1, total = 0;
        for (int i = 0; i < n; i++)
        {
            double p = LogProbability(policy[i], "policy_logps", i), r = LogProbability(reference[i], "reference_logps", i);
            bool desirable = false;
            if (UsesLabels)
            {
                double y = double.CreateTruncating(labels[i]);
                if (y != 0 && y != 1)
                    throw new RowException("labels", i, string.Create(CultureInfo.InvariantCulture, $"labels[{i}] = {y}: expected 1 (desirable) or 0 (undesirable)."));
                desirable = y == 1;
            }
            var (loss, slope) = Example(p - r, desirable, z0);
            total += loss;
            if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(loss);
            if (!gradient.IsEmpty) gradient[i] = T.CreateTruncating(scale * slope);
        }
        return T.CreateTruncating(total * scale);
    }

    /// <summary>One example's loss from its log-ratio s and its derivative by s (= by log π).</summary>
    private protected abstract (double Loss, double Slope) Example(double logRatio, bool desirable, double kl);

    private static double LogProbability<T>(T value, string name, int i) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double v = double.CreateTruncating(value);
        if (!(v <= 0))
            throw new RowException(name, i, string.Create(CultureInfo.InvariantCulture, $"{name}[{i}] = {v}: expected a log-probability ≤ 0."));
        return v;
    }

    private protected static double SigmoidSlope(double u) => Logistic.Sigmoid(u) * Logistic.Sigmoid(-u);
}

/// <summary>
/// KTO, spec <c>kto(beta=0.1, desirable_weight=1, undesirable_weight=1, loss_type=kto)</c>, with TRL's
/// <c>KTOTrainer</c> formulas: with s = log π − log π_ref and the reference point z₀ = max(kl, 0), a desirable example
/// has <c>λ_D·(1 − σ(β(s − z₀)))</c> and an undesirable one <c>λ_U·(1 − σ(β(z₀ − s)))</c>; <c>loss_type=apo_zero_unpaired</c>
/// gives <c>λ_D·(1 − σ(βs))</c> and <c>λ_U·σ(βs)</c> (no reference point). z₀ is an input (TRL estimates it from
/// mismatched pairs and detaches it: it carries no gradient). Reference: Ethayarajh et al. 2024, KTO: model alignment as
/// prospect theoretic optimization; TRL <c>KTOTrainer</c>.
/// </summary>
public sealed class KtoLoss : UnpairedPreferenceLoss
{
    public static readonly LossParameter DesirableWeight = new("desirable_weight", ParameterKind.Number, "λ_D: weight of desirable examples") { Default = 1, Min = 0 };
    public static readonly LossParameter UndesirableWeight = new("undesirable_weight", ParameterKind.Number, "λ_U: weight of undesirable examples") { Default = 1, Min = 0 };
    public static readonly LossParameter LossType = new("loss_type", ParameterKind.Choice, "TRL's KTO loss_type") { Choices = ["kto", "apo_zero_unpaired"] };

    public static LossCard Definition { get; } = LossCard.ForFamily("unpaired preference (per-sequence log-probabilities)", "kto",
        "KTO: Kahneman–Tversky optimisation (TRL)",
        "desirable: λ_D·(1 − σ(β(s − z₀))), undesirable: λ_U·(1 − σ(β(z₀ − s))), s = log π − log π_ref, z₀ = max(kl, 0)",
        "∂ℓ/∂log π = −λ_D·β·σ'(β(s − z₀)) (desirable), +λ_U·β·σ'(β(z₀ − s)) (undesirable)",
        "Ethayarajh, Xu, Muennighoff, Jurafsky & Kiela 2024, KTO: model alignment as prospect theoretic optimization; TRL KTOTrainer",
        LossProperties.None, [DpoLoss.Beta, DesirableWeight, UndesirableWeight, LossType, PreferenceLoss.ReductionParameter],
        "z₀ is an input (kl) and carries no gradient, as TRL detaches it; mean divides by all N examples (TRL concatenates both kinds, then averages).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new KtoLoss(a.Number(DpoLoss.Beta), a.Number(DesirableWeight),
        a.Number(UndesirableWeight), a.Choice(LossType), a.Reduction()));

    /// <param name="beta">β &gt; 0 (null: 0.1).</param>
    /// <param name="desirableWeight">λ_D ≥ 0 (null: 1).</param>
    /// <param name="undesirableWeight">λ_U ≥ 0 (null: 1).</param>
    /// <param name="lossType">kto or apo_zero_unpaired (null: kto).</param>
    /// <param name="reduction">mean over examples, sum or none.</param>
    public KtoLoss(double? beta = null, double? desirableWeight = null, double? undesirableWeight = null, string? lossType = null,
        Reduction reduction = Reduction.Mean) : base(DpoLoss.Beta.Resolve(beta), reduction)
    {
        (Desirable, Undesirable, Type) = (DesirableWeight.Resolve(desirableWeight), UndesirableWeight.Resolve(undesirableWeight), lossType ?? "kto");
        if (!LossType.Choices.Contains(Type)) throw new ArgumentException($"loss_type = {Type} is not one of {string.Join(", ", LossType.Choices)}.", nameof(lossType));
    }

    /// <summary>λ_D.</summary>
    public double Desirable { get; }

    /// <summary>λ_U.</summary>
    public double Undesirable { get; }

    /// <summary>TRL's loss_type.</summary>
    public string Type { get; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [DpoLoss.Beta.Of(BetaValue), DesirableWeight.Of(Desirable), UndesirableWeight.Of(Undesirable), LossType.Of(Type), PreferenceLoss.ReductionParameter.Of(Reduction)];

    private protected override (double Loss, double Slope) Example(double s, bool desirable, double kl)
    {
        double b = BetaValue, z = Type == "kto" ? kl : 0;
        if (desirable) return (Desirable * (1 - Logistic.Sigmoid(b * (s - z))), -Desirable * b * SigmoidSlope(b * (s - z)));
        return Type == "kto"
            ? (Undesirable * (1 - Logistic.Sigmoid(b * (z - s))), Undesirable * b * SigmoidSlope(b * (z - s)))
            : (Undesirable * Logistic.Sigmoid(b * s), Undesirable * b * SigmoidSlope(b * s));
    }
}

/// <summary>
/// Negative preference optimisation for unlearning, spec <c>npo(beta=0.1)</c>: on the forget examples,
/// <c>ℓ = −(2/β)·log σ(−β·(log π − log π_ref))</c> = (2/β)·log(1 + (π/π_ref)^β); β → 0 recovers gradient ascent's
/// direction with bounded steps. Reference: Zhang, Lin, Bai &amp; Mei 2024, Negative preference optimization: from
/// catastrophic collapse to effective unlearning.
/// </summary>
public sealed class NpoLoss(double? beta = null, Reduction reduction = Reduction.Mean) : UnpairedPreferenceLoss(DpoLoss.Beta.Resolve(beta), reduction)
{
    public static LossCard Definition { get; } = LossCard.ForFamily("unpaired preference (per-sequence log-probabilities)", "npo",
        "NPO: negative preference optimisation (unlearning)",
        "ℓ = −(2/β)·log σ(−β·(log π − log π_ref)) on each forget example", "∂ℓ/∂log π = 2·σ(β·(log π − log π_ref))",
        "Zhang, Lin, Bai & Mei 2024, Negative preference optimization: from catastrophic collapse to effective unlearning",
        LossProperties.None, [DpoLoss.Beta, PreferenceLoss.ReductionParameter], "Every example is a forget example: labels and kl are not used.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new NpoLoss(a.Number(DpoLoss.Beta), a.Reduction()));

    /// <inheritdoc/>
    public override bool UsesLabels => false;

    /// <inheritdoc/>
    public override LossCard Card => Definition;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [DpoLoss.Beta.Of(BetaValue), PreferenceLoss.ReductionParameter.Of(Reduction)];

    private protected override (double Loss, double Slope) Example(double s, bool desirable, double kl) =>
        (-2 / BetaValue * Logistic.LogSigmoid(-BetaValue * s), 2 * Logistic.Sigmoid(BetaValue * s));
}
