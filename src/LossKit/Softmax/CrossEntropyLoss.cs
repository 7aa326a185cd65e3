using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
    public static LossCard Definition { get; } = new()
    {
        Name = "ce",
        Family = "softmax cross-entropy",
        Title = "Softmax cross-entropy (PyTorch F.cross_entropy semantics)",
        Formula = "ℓ = (1−ε)·w_y·(lse − z_y) + (ε/K)·Σ_k w_k (lse − z_k) + λ·lse²; soft targets: −Σ_k w_k q_k log p_k",
        Gradient = "∇ = [(1−ε)w_y + (ε/K)W + 2λ·lse]·p − (1−ε)w_y·e_y − (ε/K)·w",
        Reference = "PyTorch F.cross_entropy; Szegedy et al. 2016 (label smoothing); Chowdhery et al. 2022, PaLM (lse_sq); Gemma Team 2024, Gemma 2 (softcap)",
        Parameters = [.. CommonParameters.SoftmaxOptions, .. CommonParameters.ClassIndex],
        Properties = LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.NonNegative,
        Notes = "A mean over zero kept rows is 0 with a zero gradient (PyTorch: NaN). lse_sq and softcap break shift invariance; softcap and lse_sq also break convexity. "
              + "Smoothing with unequal class weights is not classification-calibrated (the minimiser is p_j ∝ w_j((1−ε)η_j + ε/K)). "
              + "softcap is applied first, so a −∞ logit becomes −c (tanh's limit) and no longer masks its class: its gradient is 0 "
              + "but it keeps probability e^{−c}/Σ; mask after capping (a −∞ bias in linear_ce, or −∞ logits without softcap).",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CrossEntropyLoss(a.Number(CommonParameters.Smoothing),
        a.Number(CommonParameters.LseSquared), a.Number(CommonParameters.Softcap), a.Number(CommonParameters.Temperature), a.Weight(),
        a.IgnoreIndex(), a.Reduction()));

    /// <summary>A null option takes its default from the card (<see cref="CommonParameters"/>).</summary>
    public CrossEntropyLoss(double? smoothing = null, double? lseSquared = null, double? softcap = null, double? temperature = null,
        IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean)
        : base(weight, ignoreIndex, reduction)
    {
        Smoothing = CommonParameters.Smoothing.Resolve(smoothing);
        LseSquared = CommonParameters.LseSquared.Resolve(lseSquared);
        SoftcapValue = CommonParameters.Softcap.Resolve(softcap);
        TemperatureValue = CommonParameters.Temperature.Resolve(temperature);
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
        & ~(Smoothing >= 1 || (Smoothing > 0 && Weight is { } w && w.Distinct().Count() > 1) ? LossProperties.ClassificationCalibrated : 0);

    protected override double Softcap => SoftcapValue;
    protected override double Temperature => TemperatureValue;
    protected override bool NeedsWeightedLogitSum => Smoothing > 0;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
    [
        CommonParameters.Smoothing.Of(Smoothing), CommonParameters.LseSquared.Of(LseSquared), CommonParameters.Softcap.Of(SoftcapValue),
        CommonParameters.Temperature.Of(TemperatureValue), .. base.ParameterValues,
    ];

    /// <inheritdoc/>
    public T ComputeSoft<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> => ComputeSoftCore(logits, classes, softTargets, rowLosses, gradient);

    protected override RowTerms EvaluateRow(in RowStats s) => CrossEntropyRow.Terms(s, Smoothing, LseSquared);

    /// <summary>Float rows of at most <see cref="ShortRowCrossEntropy.MaxClasses"/> classes with class-index targets and
    /// no softcap or temperature: side by side, one row per vector lane (<see cref="ShortRowCrossEntropy"/>, the same bits
    /// as the row kernel); everything else row by row (<see cref="SoftmaxLoss"/>).</summary>
    private protected override unsafe double Block<T, TC>(RowJob<T> job, int start, int end)
    {
        if (typeof(T) != typeof(float) || job.IsSoft || job.Classes > ShortRowCrossEntropy.MaxClasses || SoftcapValue > 0 || TemperatureValue != 1)
            return base.Block<T, TC>(job, start, end);
        ref RowJob<float> floats = ref Unsafe.As<RowJob<T>, RowJob<float>>(ref job);
        var setup = new RowSetup<float> { Weights = WeightsAs<float>(), WeightSum = WeightSum(job.Classes), Scale = job.Scale };
        var rowByRow = new RowByRow(this, floats);
        ReadOnlySpan<double> targetWeights = Weight is null ? default : _weights ??= [.. Weight];
        if (Vector512.IsHardwareAccelerated)
            return ShortRowCrossEntropy.Block<Vector512<float>, Simd512<float>, RowByRow>(floats, start, end, setup, targetWeights, Smoothing, LseSquared, IgnoreIndex, ref rowByRow);
        if (Vector256.IsHardwareAccelerated)
            return ShortRowCrossEntropy.Block<Vector256<float>, Simd256<float>, RowByRow>(floats, start, end, setup, targetWeights, Smoothing, LseSquared, IgnoreIndex, ref rowByRow);
        return ShortRowCrossEntropy.Block<Vector128<float>, Simd128<float>, RowByRow>(floats, start, end, setup, targetWeights, Smoothing, LseSquared, IgnoreIndex, ref rowByRow);
    }

    private double[]? _weights;

    /// <summary>One row through the row kernel (a short row whose max is not finite).</summary>
    private double BlockOfOneRow(RowJob<float> job, int row) => base.Block<float, float>(job, row, row + 1);

    private readonly struct RowByRow(CrossEntropyLoss loss, RowJob<float> job) : ShortRowCrossEntropy.IRowFallback
    {
        public double Row(int row) => loss.BlockOfOneRow(job, row);
    }
}
