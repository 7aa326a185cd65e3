using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// The target-probability family: losses that are a function of the target probability only, <c>ℓ = w_y·f(p_y)</c>,
/// with <c>∇_k = w_y·f'(p_y)·p_y·(δ_ky − p_k)</c>. They share <see cref="SoftmaxLoss"/>'s fused kernel; a
/// member supplies only f and f'·p from log p_y (computed directly as z_y − lse, never as log(p_y)).
/// </summary>
public abstract class TargetProbabilityLoss(IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction)
    : SoftmaxLoss(weight, ignoreIndex, reduction)
{
    /// <summary>f(p) and f'(p)·p for the target probability p = exp(logP); <paramref name="oneMinusP"/> is
    /// 1 − p computed accurately as −expm1(log p).</summary>
    protected abstract (double F, double FPrimeTimesP) Evaluate(double logP, double p, double oneMinusP, int target);

    protected sealed override RowTerms EvaluateRow(in RowStats s)
    {
        double logP = Math.Min(s.TargetLogit - s.Lse, 0);
        double p = Math.Exp(logP);
        var (f, g) = Evaluate(logP, p, Kernels.Scalar.OneMinusExp(logP), s.Target);
        double w = s.TargetWeight;
        return new RowTerms(w * f, -w * g, -w * g);
    }

    /// <summary>Cards of this family share the family name, the shift invariance and the options.</summary>
    protected static LossCard FamilyCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, params LossParameter[] parameters) =>
        LossCard.ForFamily("target probability (fused softmax kernel)", name, title, formula, gradient + "; ∇_k = w_y·f'(p_y)·p_y·(δ_ky − p_k)",
            reference, properties | LossProperties.ShiftInvariant, [.. parameters, .. CommonParameters.ClassIndex]);
}
