using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// Squentropy, spec <c>squentropy</c> (Hui, Belkin &amp; Wright 2023, Cut your losses with squentropy):
/// <c>ℓ = w_y·(−log p_y + (1/(K−1)) Σ_{j≠y} z_j²)</c>, <c>∇_k = w_y·(p_k − δ_ky + (2/(K−1))·z_k·[k≠y])</c>.
/// <para>The cross-entropy part runs on the fused kernel; the square term is the kernel's row-extra hook (one more
/// pass over the row). Masked classes (z_j = −∞) are absent, so they are left out of the square term (which would
/// otherwise be +∞) and get a zero gradient. K = 1: the average over no classes is taken as 0, so ℓ = CE = 0.</para>
/// </summary>
public sealed class SquentropyLoss : SoftmaxLoss
{
    public static LossCard Definition { get; } = new()
    {
        Name = "squentropy",
        Family = "softmax cross-entropy (fused softmax kernel)",
        Title = "Squentropy: cross-entropy plus the mean square of the non-target logits",
        Formula = "ℓ = w_y·(lse − z_y + (1/(K−1)) Σ_{j≠y} z_j²)",
        Gradient = "∇_k = w_y·(p_k − δ_ky + (2/(K−1))·z_k·[k≠y])",
        Reference = "Hui, Belkin & Wright 2023, Cut your losses with squentropy (ICML)",
        Parameters = [.. CommonParameters.ClassIndex],
        Properties = LossProperties.ConvexInLogits | LossProperties.NonNegative,
        Notes = "Not shift-invariant (the square term pins the non-target logits to 0). Masked (−∞) non-target classes are "
              + "left out of the square term. K = 1: the square term is 0 (ℓ = CE = 0). The square term is computed in double; "
              + "in float a logit beyond ~1.8e19 makes the row's loss overflow to +∞ (the gradient stays finite).",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SquentropyLoss(a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public SquentropyLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
        Reduction reduction = Reduction.Mean) : base(weight, ignoreIndex, reduction) { }

    public override LossCard Card => Definition;
    protected override bool HasRowExtra => true;

    /// <summary>The extra only adds the square term's loss: its gradient is the linear term of the fused pass.</summary>
    protected override bool RowExtraWritesGradient => false;

    /// <summary>Cross-entropy's terms, and the square term's gradient (2w/(K − 1))·z_k (k ≠ y, finite z_k) as the row's
    /// linear term, which the fused gradient pass adds (K = 1 or w = 0: none).</summary>
    protected override RowTerms EvaluateRow(in RowStats s)
    {
        double w = s.TargetWeight;
        double linear = s.Classes < 2 || w == 0 ? 0 : 2 * (w / (s.Classes - 1));
        return new RowTerms(w != 0 ? w * (s.Lse - s.TargetLogit) : 0, w, w, Linear: linear);
    }

    /// <summary>The square term's loss (w/(K−1))·Σ_{j≠y} z_j² over the unmasked classes (its gradient is
    /// <see cref="EvaluateRow"/>'s linear term). The sum is in double: float rows square and add their values in double
    /// lanes (<see cref="FloatRow.SquareSum"/>), double rows add them in index order.</summary>
    protected override double RowExtra<TC>(ReadOnlySpan<TC> z, in RowStats s, Span<TC> gradient, double scale)
    {
        int k = z.Length, y = s.Target;
        double w = s.TargetWeight;
        if (k < 2 || w == 0) return 0;
        double c = w / (k - 1);
        double sum = 0;
        if (typeof(TC) == typeof(float))
        {
            ReadOnlySpan<float> zf = System.Runtime.InteropServices.MemoryMarshal.Cast<TC, float>(z);
            sum = y < 0 ? FloatRow.SquareSum(zf) : FloatRow.SquareSum(zf[..y]) + FloatRow.SquareSum(zf[(y + 1)..]);
        }
        else
            for (int j = 0; j < k; j++)
            {
                double v = double.CreateTruncating(z[j]);
                if (j != y && double.IsFinite(v)) sum += v * v;
            }
        return c * sum;   // its gradient came with the fused pass (EvaluateRow's linear term)
    }
}
