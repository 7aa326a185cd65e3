using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// Softmax cross-entropy with PyTorch <c>F.cross_entropy</c> semantics, spec <c>ce</c>.
/// <para><c>ℓ = (1−ε)·w_y·(lse − z_y) + (ε/K)·Σ_k w_k·(lse − z_k) + λ·lse²</c>,
/// <c>∇ = [(1−ε)w_y + (ε/K)W + 2λ·lse]·p − (1−ε)w_y·e_y − (ε/K)·w</c>, W = Σ_k w_k.</para>
/// <para>Soft targets q: <c>q ← (1−ε)q + ε/K</c>, <c>ℓ = −Σ_k w_k q_k log p_k + λ·lse²</c>, <c>∇ = (Σ_k w_k q_k)·p − w⊙q (+2λ·lse·p)</c>;
/// the mean divides by N. Terms with q_k = 0 count as 0 even when z_k = −∞ (PyTorch gives NaN there).</para>
/// <para>Options applied to the logits first: <c>softcap</c> c (Gemma 2): z ← c·tanh(z/c); then <c>temperature</c> T: z ← z/T.</para>
/// <para>With smoothing, a masked class (z_k = −∞) gets target mass ε/K, so the loss is +∞, as in PyTorch.</para>
/// </summary>
/// <example><code>
/// var ce = new CrossEntropyLoss(smoothing: 0.1);
/// float loss = ce.Compute(logits, classes: 10, targets, rowLosses: default, gradient);
/// </code></example>
public sealed class CrossEntropyLoss : SoftmaxLoss, ISoftTargetLoss
{
    public static readonly LossParameter SmoothingParameter = new("smoothing", ParameterKind.Number,
        "label smoothing ε: the target becomes (1−ε)·e_y + ε/K") { Default = 0, Min = 0, Max = 1 };
    public static readonly LossParameter LseSquaredParameter = new("lse_sq", ParameterKind.Number,
        "λ of PaLM's auxiliary z-loss λ·lse²") { Default = 0, Min = 0 };
    public static readonly LossParameter SoftcapParameter = new("softcap", ParameterKind.Number,
        "c of Gemma 2's logit soft-capping z ← c·tanh(z/c); 0 = off") { Default = 0, Min = 0 };
    public static readonly LossParameter TemperatureParameter = new("temperature", ParameterKind.Number,
        "T: z ← z/T (after softcap)") { Default = 1, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = new()
    {
        Name = "ce",
        Family = "softmax cross-entropy",
        Title = "Softmax cross-entropy (PyTorch F.cross_entropy semantics)",
        Formula = "ℓ = (1−ε)·w_y·(lse − z_y) + (ε/K)·Σ_k w_k (lse − z_k) + λ·lse²; soft targets: −Σ_k w_k q_k log p_k",
        Gradient = "∇ = [(1−ε)w_y + (ε/K)W + 2λ·lse]·p − (1−ε)w_y·e_y − (ε/K)·w",
        Reference = "PyTorch F.cross_entropy; Szegedy et al. 2016 (label smoothing); Chowdhery et al. 2022, PaLM (lse_sq); Gemma Team 2024, Gemma 2 (softcap)",
        Parameters = [SmoothingParameter, LseSquaredParameter, SoftcapParameter, TemperatureParameter, .. CommonParameters.Softmax],
        Properties = LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.NonNegative,
        Notes = "A mean over zero kept rows is 0 with a zero gradient (PyTorch: NaN). lse_sq and softcap break shift invariance; softcap and lse_sq also break convexity.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CrossEntropyLoss(a.Number(SmoothingParameter),
        a.Number(LseSquaredParameter), a.Number(SoftcapParameter), a.Number(TemperatureParameter), a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public CrossEntropyLoss(double smoothing = 0, double lseSquared = 0, double softcap = 0, double temperature = 1,
        IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean)
        : base(weight, ignoreIndex, reduction)
    {
        Smoothing = SmoothingParameter.Check(smoothing);
        LseSquared = LseSquaredParameter.Check(lseSquared);
        SoftcapValue = SoftcapParameter.Check(softcap);
        TemperatureValue = TemperatureParameter.Check(temperature);
    }

    public double Smoothing { get; }
    public double LseSquared { get; }
    public double SoftcapValue { get; }
    public double TemperatureValue { get; }

    public override LossCard Card => Definition;

    /// <summary>The card's properties, less shift invariance and convexity under softcap or lse_sq, and less
    /// calibration at smoothing = 1 (the target is then uniform whatever y is).</summary>
    public override LossProperties Properties => Definition.Properties
        & ~(SoftcapValue > 0 || LseSquared > 0 ? LossProperties.ShiftInvariant | LossProperties.ConvexInLogits : 0)
        & ~(Smoothing >= 1 ? LossProperties.ClassificationCalibrated : 0);

    protected override double Softcap => SoftcapValue;
    protected override double Temperature => TemperatureValue;
    protected override bool NeedsWeightedLogitSum => Smoothing > 0;

    protected override IEnumerable<string> SpecParts()
    {
        if (Smoothing != 0) yield return "smoothing=" + LossParameter.Fmt(Smoothing);
        if (LseSquared != 0) yield return "lse_sq=" + LossParameter.Fmt(LseSquared);
        if (SoftcapValue != 0) yield return "softcap=" + LossParameter.Fmt(SoftcapValue);
        if (TemperatureValue != 1) yield return "temperature=" + LossParameter.Fmt(TemperatureValue);
    }

    /// <inheritdoc/>
    public T ComputeSoft<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> => ComputeSoftCore(logits, classes, softTargets, rowLosses, gradient);

    protected override RowTerms EvaluateRow(in RowStats s) => CrossEntropyRow.Terms(s, Smoothing, LseSquared);
}
