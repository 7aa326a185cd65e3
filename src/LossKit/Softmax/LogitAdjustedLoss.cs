using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// Logit-adjusted cross-entropy, spec <c>logit_adjusted(tau=1, priors=[...])</c>: cross-entropy on
/// <c>z + τ·log π</c> with class priors π (Menon et al. 2021, Long-tail learning via logit adjustment).
/// <para>The priors need not sum to 1 (class counts are fine): they are normalised, and since the loss is
/// shift-invariant a common factor in π changes nothing anyway. The offsets τ·log π_k are added inside the fused
/// kernel's transform, so weight, ignore_index, reduction and the gradient are exactly those of <c>ce</c> on the
/// adjusted logits: <c>∇ = w_y·(softmax(z + τ log π) − e_y)</c>.</para>
/// <para>priors should be given. Without them (the bare spec <c>logit_adjusted</c>, which the registry must be able
/// to build with defaults) the priors are taken as uniform: no adjustment, exactly <c>ce</c>.</para>
/// </summary>
public sealed class LogitAdjustedLoss : SoftmaxLoss
{
    public static readonly LossParameter TauParameter = new("tau", ParameterKind.Number,
        "τ: scale of the adjustment τ·log π (0 = plain ce)") { Default = 1, Min = 0 };
    public static readonly LossParameter PriorsParameter = new("priors", ParameterKind.NumberList,
        "class priors π (length K; normalised, so class counts work too; absent = uniform, i.e. plain ce)") { Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = new()
    {
        Name = "logit_adjusted",
        Family = "softmax cross-entropy (fused softmax kernel)",
        Title = "Logit-adjusted cross-entropy for long-tailed classes",
        Formula = "ℓ = w_y·(lse(z + τ log π) − z_y − τ log π_y)",
        Gradient = "∇ = w_y·(softmax(z + τ log π) − e_y)",
        Reference = "Menon, Jayasumana, Rawat, Jain, Veit & Kumar 2021, Long-tail learning via logit adjustment (ICLR), eq. (10)",
        Parameters = [TauParameter, PriorsParameter, .. CommonParameters.ClassIndex],
        Properties = LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.NonNegative,
        Notes = "priors: one positive value per class (absent: uniform priors, which is plain ce); they are normalised to sum to 1 (only their ratios matter). "
              + "Not classification-calibrated for the plain argmax rule unless the priors are uniform: it is designed to be "
              + "calibrated for the balanced error instead. Uniform priors (or tau = 0) give ce exactly.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new LogitAdjustedLoss(a.List(PriorsParameter),
        a.Number(TauParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    private readonly double[]? _priors;
    private readonly double[]? _offsets;

    public LogitAdjustedLoss(IReadOnlyList<double>? priors, double? tau = null, IReadOnlyList<double>? weight = null,
        int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean) : base(weight, ignoreIndex, reduction)
    {
        Tau = TauParameter.Resolve(tau);
        _priors = PriorsParameter.Resolve(priors);
        if (_priors is null) return;
        if (weight is not null && weight.Count != _priors.Length)
            throw new ArgumentException($"priors has {_priors.Length} values but weight has {weight.Count}; both need one value per class.", "priors");
        double total = _priors.Sum();
        _offsets = _priors.Select(p => Tau * Math.Log(p / total)).ToArray();
    }

    public double Tau { get; }
    /// <summary>The priors as given, or null (uniform).</summary>
    public IReadOnlyList<double>? Priors => _priors;
    public override LossCard Card => Definition;
    public override int? FixedClassCount => _priors?.Length ?? base.FixedClassCount;
    protected override IReadOnlyList<double>? LogitOffsets => Tau == 0 ? null : _offsets;

    protected override void CheckClassCount(int classes)
    {
        if (_priors is not null && classes != _priors.Length)
            throw new ArgumentException($"priors has {_priors.Length} values but the logits have {classes} classes; give one prior per class.", "priors");
    }

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [TauParameter.Of(Tau), PriorsParameter.Of(_priors), .. base.ParameterValues];

    protected override RowTerms EvaluateRow(in RowStats s)
    {
        double w = s.TargetWeight;
        return new RowTerms(w != 0 ? w * (s.Lse - s.TargetLogit) : 0, w, w);
    }
}
