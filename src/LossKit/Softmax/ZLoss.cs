using System.Numerics;
using System.Runtime.InteropServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// The Z-loss, spec <c>zloss(a=1, b=1)</c>: with μ and σ the mean and population standard deviation of the row,
/// <c>ẑ_y = (z_y − μ)/σ</c> and <c>ℓ = (1/a)·softplus(a(b − ẑ_y))</c>;
/// <c>∂ẑ_y/∂z_k = (δ_ky − 1/K)/σ − ẑ_y(z_k − μ)/(Kσ²)</c>. Invariant to <c>z → αz + β</c>, α &gt; 0.
/// Reference: de Brébisson &amp; Vincent 2016, The Z-loss: a shift and scale invariant classification loss belonging to the
/// spherical family. (Not PaLM's "z-loss", which is <c>ce(lse_sq=)</c>.)
/// </summary>
/// <remarks>
/// σ = 0 (an all-equal row, or K = 1): the row carries no information about the target, so ẑ_y is defined as 0,
/// ℓ = softplus(ab)/a and the gradient is 0 (ẑ_y has no limit there: it depends on the direction from which the row
/// is approached). Masked (−∞) classes are left out of the row: μ, σ and K are over the unmasked logits; a masked
/// target gives loss +∞ and a zero gradient. μ and σ are formed in double so that the loss is finite for any finite
/// logits in every precision: double rows are divided by their largest |z| first (the loss is scale-invariant); float
/// and Half rows are shifted by the target's logit (a float difference and its square are finite in double).
/// </remarks>
public sealed class ZLoss : RowLoss
{
    public static readonly LossParameter AParameter = new("a", ParameterKind.Number, "sharpness a > 0 of the softplus") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter BParameter = new("b", ParameterKind.Number, "offset b: the standardised target logit is pushed above b") { Default = 1 };

    public static LossCard Definition { get; } = new()
    {
        Name = "zloss",
        Family = "standardised logits",
        Title = "Z-loss (shift- and scale-invariant)",
        Formula = "μ, σ = mean and population std of the row, ẑ_y = (z_y − μ)/σ, ℓ = w_y·(1/a)·softplus(a(b − ẑ_y))",
        Gradient = "∇_k = −w_y·sigmoid(a(b − ẑ_y))·((δ_ky − 1/K)/σ − ẑ_y(z_k − μ)/(Kσ²))",
        Reference = "de Brébisson & Vincent 2016, The Z-loss: a shift and scale invariant classification loss belonging to the spherical family",
        Parameters = [AParameter, BParameter, .. CommonParameters.ClassIndex],
        Properties = LossProperties.ShiftInvariant | LossProperties.ScaleInvariant | LossProperties.NonNegative | LossProperties.Bounded,
        UpperBound = (loss, k) => ((ZLoss)loss).UpperBoundFor(k),
        Notes = "|ẑ_y| ≤ √(K−1), so ℓ ≤ softplus(a(b + √(K−1)))/a. σ = 0 (all-equal row, K = 1): ẑ_y := 0, ℓ = softplus(ab)/a, gradient 0. " +
                "Masked (−∞) classes are left out of μ, σ and K; a masked target gives +∞ and a zero gradient. Not convex. " +
                "μ and σ are formed in double (double rows divided by their largest |z|, float rows shifted by z_y), so any finite logits are fine in every precision. Not PaLM's z-loss (that is ce(lse_sq=)).",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ZLoss(a.Number(AParameter),
        a.Number(BParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public ZLoss(double? a = null, double? b = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
        Reduction reduction = Reduction.Mean) : base(weight, ignoreIndex, reduction)
    {
        A = AParameter.Resolve(a);
        B = BParameter.Resolve(b);
    }

    public double A { get; }
    public double B { get; }
    public override LossCard Card => Definition;

    /// <summary>The largest loss a row of K classes can have (unit weight): softplus(a(b + √(K−1)))/a.</summary>
    public double UpperBoundFor(int classes) => Softplus(A * (B + Math.Sqrt(Math.Max(classes - 1, 0)))) / A;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [AParameter.Of(A), BParameter.Of(B), .. base.ParameterValues];

    /// <summary>
    /// After the driver's max, everything in double. Float rows take two passes on vector lanes (<see cref="FloatRow"/>):
    /// count, Σd and Σd² of d = z − z_y in one (μ = z_y + Σd/K, σ² = Σd²/K − (Σd/K)²: the shift by a logit of the row
    /// keeps every d and d² finite in double for any finite float, so no scaling is needed), then the gradient. Double
    /// rows take three sequential passes in index order: count and largest |z|, the mean of u = z/scale, the variance
    /// about it (two-pass), then the gradient.
    /// </summary>
    protected override double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work) =>
        LossAndGradient(z, target, gradient, gradientScale, streaming: false);

    /// <summary>Float rows write a gradient too large for the cache straight to the output: its one pass is
    /// <see cref="FloatRow.AffineInDouble"/>, then the target's entry.</summary>
    protected override bool StreamsItsGradient => true;

    protected override double EvaluateStreamedRow(ReadOnlySpan<float> z, int target, Span<float> gradient, float gradientScale, Span<float> work) =>
        LossAndGradient(z, target, gradient, gradientScale, streaming: true);

    /// <summary>One row's loss and, when wanted, its gradient (written with non-temporal stores when
    /// <paramref name="streaming"/>).</summary>
    private double LossAndGradient<TC>(ReadOnlySpan<TC> z, int target, Span<TC> gradient, TC gradientScale, bool streaming) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        if (TC.IsNegativeInfinity(z[target]))
        {
            gradient.Clear();
            return double.PositiveInfinity;
        }
        bool isFloat = typeof(TC) == typeof(float);
        int count;
        double inv, mean, variance;   // μ and σ² of u = z·inv
        if (isFloat)
        {
            // One pass about the target's logit (finite here): no overflow and no scaling needed in double.
            double shift = double.CreateTruncating(z[target]);
            (count, double sum, double squares) = FloatRow.CountShiftedMoments(MemoryMarshal.Cast<TC, float>(z), shift);
            double meanShifted = sum / count;
            (inv, mean) = (1, shift + meanShifted);
            variance = Math.Max(squares / count - meanShifted * meanShifted, 0);   // an all-equal row: exactly 0
        }
        else
        {
            // Count and largest magnitude of the unmasked logits; mean and population variance of u = z/scale (two-pass).
            count = 0;
            double scale = 0;
            foreach (TC v in z)
            {
                if (TC.IsNegativeInfinity(v)) continue;
                count++;
                scale = Math.Max(scale, Math.Abs(double.CreateTruncating(v)));
            }
            inv = scale > 0 ? 1 / scale : 1;
            mean = 0;
            foreach (TC v in z) if (!TC.IsNegativeInfinity(v)) mean += double.CreateTruncating(v) * inv;
            mean /= count;
            variance = 0;
            foreach (TC v in z) if (!TC.IsNegativeInfinity(v)) { double d = double.CreateTruncating(v) * inv - mean; variance += d * d; }
            variance /= count;
        }
        double sigma = Math.Sqrt(variance);
        if (!(sigma > 0))
        {
            gradient.Clear();
            return Softplus(A * B) / A;
        }
        double zHat = (double.CreateTruncating(z[target]) * inv - mean) / sigma;
        double x = A * (B - zHat);
        double loss = Softplus(x) / A;
        if (!gradient.IsEmpty)
        {
            // dℓ/dẑ = −sigmoid(x); ∂ẑ/∂z_k = [(δ_ky − 1/K)/σ − ẑ(u_k − μ)/(Kσ²)]/scale.
            double c = -Sigmoid(x) * double.CreateTruncating(gradientScale) * inv;
            double common = -1.0 / (count * sigma);
            double slope = zHat / (count * variance);
            if (isFloat) FloatRow.AffineInDouble(MemoryMarshal.Cast<TC, float>(z), MemoryMarshal.Cast<TC, float>(gradient), c, common, slope, inv, mean, streaming);
            else
                for (int k = 0; k < z.Length; k++)
                {
                    TC v = z[k];
                    gradient[k] = TC.IsNegativeInfinity(v) ? TC.Zero : TC.CreateTruncating(c * (common - slope * (double.CreateTruncating(v) * inv - mean)));
                }
            gradient[target] = TC.CreateTruncating(c * (common - slope * (double.CreateTruncating(z[target]) * inv - mean) + 1 / sigma));
        }
        return loss;
    }

    private static double Softplus(double x) => Kernels.StableMath.Softplus(x);
    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
