using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// Label-distributionally-robust loss with a KL regulariser, spec <c>ldr_kl(lambda=1, margin=0.1)</c>
/// (Zhu, Ying &amp; Yang 2023): <c>ℓ = λ·log((1/K) Σ_k exp((c·[k≠y] + z_k − z_y)/λ))</c>,
/// <c>∇_k = softmax((c·[k≠y] + z)/λ)_k − δ_ky</c>.
/// <para>By shift invariance <c>ℓ = λ·CE(u, y) − λ·log K</c> with <c>u = (z − c·e_y)/λ</c>, so it runs on the fused
/// kernel at temperature λ with the target logit lowered by c (the kernel's target-margin hook); the kernel's
/// chain rule supplies the 1/λ. As λ → 0 it tends to the Crammer–Singer hinge <c>max(0, max_{j≠y}(c + z_j − z_y))</c>
/// (the gap is at most λ·log K).</para>
/// </summary>
public sealed class LdrKlLoss : SoftmaxLoss
{
    public static readonly LossParameter LambdaParameter = new("lambda", ParameterKind.Number,
        "λ: temperature of the KL-regularised worst case (λ → 0: Crammer–Singer hinge)") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter MarginParameter = new("margin", ParameterKind.Number,
        "c: margin added to every non-target logit") { Default = 0.1, Min = 0 };

    public static LossCard Definition { get; } = new()
    {
        Name = "ldr_kl",
        Family = "softmax cross-entropy (fused softmax kernel)",
        Title = "LDR-KL: label-distributionally-robust loss with KL regularisation",
        Formula = "ℓ = w_y·λ·log((1/K) Σ_k exp((c·[k≠y] + z_k − z_y)/λ)) = w_y·(λ·CE((z − c·e_y)/λ, y) − λ·log K)",
        Gradient = "∇_k = w_y·(softmax((c·[k≠y] + z)/λ)_k − δ_ky)",
        Reference = "Zhu, Ying & Yang 2023, Label distributionally robust losses for multi-class classification: consistency, robustness and adaptivity (ICML)",
        Parameters = [LambdaParameter, MarginParameter, .. CommonParameters.ClassIndex],
        Properties = LossProperties.ShiftInvariant | LossProperties.ConvexInLogits,
        Notes = "ℓ ≥ −λ·log K (not non-negative: the k = y term contributes 1/K); K = 1 gives 0. λ → 0 tends to "
              + "hinge_cs(margin=c). In float the working logits z/λ must stay below ~3e38, i.e. |z| < 3e38·λ; in double "
              + "the value is finite for |z| ≤ min(1e30, 1e300·λ). Weights multiply the row (ce's semantics).",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new LdrKlLoss(a.Number(LambdaParameter),
        a.Number(MarginParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public LdrKlLoss(double? lambda = null, double? margin = null, IReadOnlyList<double>? weight = null,
        int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean) : base(weight, ignoreIndex, reduction)
    {
        Lambda = LambdaParameter.Resolve(lambda);
        Margin = MarginParameter.Resolve(margin);
    }

    public double Lambda { get; }
    public double Margin { get; }
    public override LossCard Card => Definition;
    public override double FiniteLogitScale => Math.Min(1e30, 1e300 * Lambda);
    protected override double Temperature => Lambda;
    protected override double TargetMargin => Margin;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [LambdaParameter.Of(Lambda), MarginParameter.Of(Margin), .. base.ParameterValues];

    protected override RowTerms EvaluateRow(in RowStats s)
    {
        double w = s.TargetWeight, lambda = Lambda;
        if (w == 0) return new RowTerms(0, 0, 0);
        // Gradient with respect to u = (z − c·e_y)/λ is λ·w·(p − e_y); the kernel's chain rule divides by λ.
        return new RowTerms(w * lambda * (s.Lse - s.TargetLogit - Math.Log(s.Classes)), w * lambda, w * lambda);
    }
}
