using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>A positive transform t(z) &gt; 0 of one logit and its derivative, for <see cref="NormalizedTransformLoss{TTransform}"/>.</summary>
public interface IPositiveTransform
{
    /// <summary>t(z) for finite z; <paramref name="epsilon"/> is the loss's parameter (unused by most).</summary>
    static abstract TC Value<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC>;
    /// <summary>t'(z) for finite z.</summary>
    static abstract TC Derivative<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC>;
    /// <summary>t(z) and t'(z) on float lanes, by the same float operations in the same order as <see cref="Value{TC}"/>
    /// and <see cref="Derivative{TC}"/> (so every lane has their bits).</summary>
    static abstract Vector<float> Value(Vector<float> z, Vector<float> epsilon, out Vector<float> derivative);
}

/// <summary>
/// Normalised positive transforms: <c>p_k = t(z_k)/Σ_j t(z_j)</c>, <c>ℓ = −log p_y</c>,
/// <c>∇_k = t'(z_k)/Σt − δ_ky·t'(z_y)/t(z_y)</c>, one row kernel for every transform t.
/// </summary>
/// <remarks>
/// A −∞ logit masks its class: it is left out of Σt (t = 0, gradient 0), whatever t(−∞) would be; a masked target
/// gives loss +∞ and a zero gradient. The sum Σt is accumulated in double, so float and Half rows lose nothing
/// there; the per-element t(z) is computed in the compute type (float for float and Half), where the quadratic
/// transforms overflow for |z| ≳ 1.8e19.
/// </remarks>
public abstract class NormalizedTransformLoss<TTransform> : RowLoss where TTransform : IPositiveTransform
{
    private protected NormalizedTransformLoss(double epsilon, IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction)
        : base(weight, ignoreIndex, reduction) => Epsilon = epsilon;

    /// <summary>The transform's parameter ε (spherical), 0 for the others.</summary>
    public double Epsilon { get; }

    /// <summary>Float rows keep t'(z) in the scratch row (it stays in cache) for the scaling pass.</summary>
    protected override int WorkLength(int classes) => classes;

    /// <summary>One pass for Σt (in double) that keeps t'(z_k) (0 for masked classes), one pass that scales t' by
    /// s/Σt into the gradient, then the target's own term. Float rows run the first pass on vector lanes
    /// (<see cref="FloatRow.MapSum{TMap}"/>, t' kept in <paramref name="work"/>); double rows add Σt in index order.</summary>
    protected sealed override double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
    {
        TC eps = TC.CreateTruncating(Epsilon);
        TC zy = z[target];
        if (TC.IsNegativeInfinity(zy))
        {
            gradient.Clear();
            return double.PositiveInfinity;
        }
        bool hasGradient = !gradient.IsEmpty;
        Span<TC> derivative = hasGradient ? work[..z.Length] : default;
        double sum = 0;
        if (typeof(TC) == typeof(float))
            sum = FloatRow.MapSum(MemoryMarshal.Cast<TC, float>(z), new TransformMap(float.CreateTruncating(Epsilon)),
                MemoryMarshal.Cast<TC, float>(derivative), default);
        else
            for (int k = 0; k < z.Length; k++)
            {
                TC v = z[k];
                if (TC.IsNegativeInfinity(v)) { if (hasGradient) derivative[k] = TC.Zero; continue; }
                sum += double.CreateTruncating(TTransform.Value(v, eps));
                if (hasGradient) derivative[k] = TTransform.Derivative(v, eps);
            }
        double ty = double.CreateTruncating(TTransform.Value(zy, eps));
        if (hasGradient)
        {
            Row.Scale<TC>(derivative, TC.CreateTruncating(double.CreateTruncating(gradientScale) / sum), TC.Zero, gradient, streaming: false);
            gradient[target] -= TC.CreateTruncating(double.CreateTruncating(gradientScale) * double.CreateTruncating(TTransform.Derivative(zy, eps)) / ty);
        }
        // −log p_y = log Σt − log t_y, clamped at 0 (p_y ≤ 1 up to rounding).
        return Math.Max(Math.Log(sum) - Math.Log(ty), 0);
    }

    /// <summary>t and t' of <typeparamref name="TTransform"/> on float lanes, for <see cref="FloatRow.MapSum{TMap}"/>.</summary>
    private readonly struct TransformMap(float epsilon) : IFloatMap
    {
        private readonly float _epsilon = epsilon;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<float> Value(Vector<float> z, out Vector<float> derivative) => TTransform.Value(z, new Vector<float>(_epsilon), out derivative);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Value(float z, out float derivative)
        {
            derivative = TTransform.Derivative(z, _epsilon);
            return TTransform.Value(z, _epsilon);
        }
    }

    /// <summary>The model's probabilities p_k = t(z_k)/Σ_j t(z_j) of each row (masked −∞ classes get 0).</summary>
    public void Probabilities<T>(ReadOnlySpan<T> logits, int classes, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = InputChecks.ProbabilityShape(logits.Length, classes, destination.Length);
        var t = new double[classes];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> z = logits.Slice(r * classes, classes);
            double sum = 0;
            for (int k = 0; k < classes; k++)
            {
                double v = double.CreateTruncating(z[k]);
                t[k] = double.IsNegativeInfinity(v) ? 0 : TTransform.Value(v, Epsilon);
                sum += t[k];
            }
            for (int k = 0; k < classes; k++) destination[r * classes + k] = T.CreateTruncating(t[k] / sum);
        }
    }

    private protected static LossCard TransformCard(string name, string title, string transform, string derivative, string reference,
        LossProperties properties, string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("normalised positive transform (shared row kernel)", name, title,
            $"p_k = t(z_k)/Σ_j t(z_j), ℓ = −w_y·log p_y, with {transform}", $"∇_k = w_y·(t'(z_k)/Σt − δ_ky·t'(z_y)/t(z_y)), {derivative}",
            reference, properties, [.. parameters, .. CommonParameters.ClassIndex],
            "A −∞ logit masks its class (left out of Σt); a masked target gives +∞ and a zero gradient. " + notes);
}

/// <summary>t(z) = 1 + z + z²/2 (≥ 1/2).</summary>
public readonly struct TaylorTransform : IPositiveTransform
{
    public static TC Value<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC> => TC.One + z + z * z / TC.CreateTruncating(2);
    public static TC Derivative<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC> => TC.One + z;
    public static Vector<float> Value(Vector<float> z, Vector<float> epsilon, out Vector<float> derivative)
    {
        derivative = Vector<float>.One + z;
        return derivative + z * z / new Vector<float>(2f);
    }
}

/// <summary>t(z) = z² + ε.</summary>
public readonly struct SphericalTransform : IPositiveTransform
{
    public static TC Value<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC> => z * z + epsilon;
    public static TC Derivative<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC> => z + z;
    public static Vector<float> Value(Vector<float> z, Vector<float> epsilon, out Vector<float> derivative)
    {
        derivative = z + z;
        return z * z + epsilon;
    }
}

/// <summary>s(x) = x + 1 for x ≥ 0, 1/(1 − x) for x &lt; 0.</summary>
public readonly struct StablemaxTransform : IPositiveTransform
{
    public static TC Value<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC> => z >= TC.Zero ? z + TC.One : TC.One / (TC.One - z);
    public static TC Derivative<TC>(TC z, TC epsilon) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        if (z >= TC.Zero) return TC.One;
        TC s = TC.One / (TC.One - z);
        return s * s;
    }
    public static Vector<float> Value(Vector<float> z, Vector<float> epsilon, out Vector<float> derivative)
    {
        Vector<int> nonNegative = Vector.GreaterThanOrEqual(z, Vector<float>.Zero);
        Vector<float> s = Vector<float>.One / (Vector<float>.One - z);
        derivative = Vector.ConditionalSelect(nonNegative, Vector<float>.One, s * s);
        return Vector.ConditionalSelect(nonNegative, z + Vector<float>.One, s);
    }
}

/// <summary>Taylor softmax, spec <c>taylor</c>: t(z) = 1 + z + z²/2, p = t/Σt, ℓ = −log p_y.
/// Reference: de Brébisson &amp; Vincent 2016, An exploration of softmax alternatives belonging to the spherical loss family.</summary>
public sealed class TaylorSoftmaxLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : NormalizedTransformLoss<TaylorTransform>(0, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = TransformCard("taylor", "Taylor softmax (second-order)",
        "t(z) = 1 + z + z²/2", "t'(z) = 1 + z",
        "de Brébisson & Vincent 2016, An exploration of softmax alternatives belonging to the spherical loss family",
        LossProperties.NonNegative,
        "Not shift-invariant, not convex (−log t is concave only for z ∉ (−2, 0)). t grows quadratically: value and gradient are finite " +
        "for |z| ≤ 1e30 in double, but float and Half compute t in float and overflow for |z| ≳ 1.8e19 (FiniteLogitScale is the double limit).");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new TaylorSoftmaxLoss(a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public override LossCard Card => Definition;
}

/// <summary>Spherical softmax, spec <c>spherical(eps=1e-6)</c>: t(z) = z² + ε, p = t/Σt, ℓ = −log p_y.
/// Reference: de Brébisson &amp; Vincent 2016, An exploration of softmax alternatives belonging to the spherical loss family.</summary>
public sealed class SphericalSoftmaxLoss(double? eps = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : NormalizedTransformLoss<SphericalTransform>(EpsParameter.Resolve(eps), weight, ignoreIndex, reduction)
{
    public static readonly LossParameter EpsParameter = new("eps", ParameterKind.Number, "ε > 0 added to z² so that t(0) > 0") { Default = 1e-6, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = TransformCard("spherical", "Spherical softmax",
        "t(z) = z² + ε", "t'(z) = 2z",
        "de Brébisson & Vincent 2016, An exploration of softmax alternatives belonging to the spherical loss family",
        LossProperties.NonNegative,
        "Not shift-invariant, not convex; t is even, so p ranks |z|, not z. ℓ ≤ log(Σt/ε) grows like log(1/ε) when z_y = 0. " +
        "t grows quadratically: finite for |z| ≤ 1e30 in double, but float and Half overflow for |z| ≳ 1.8e19.", EpsParameter);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SphericalSoftmaxLoss(a.Number(EpsParameter),
        a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [EpsParameter.Of(Epsilon), .. base.ParameterValues];
}

/// <summary>StableMax, spec <c>stablemax</c>: s(x) = x + 1 (x ≥ 0), 1/(1 − x) (x &lt; 0), p = s(z)/Σs(z), ℓ = −log p_y.
/// Reference: Prieto et al. 2025, Grokking at the edge of numerical stability.</summary>
public sealed class StablemaxLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : NormalizedTransformLoss<StablemaxTransform>(0, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = TransformCard("stablemax", "StableMax cross-entropy",
        "s(x) = x + 1 for x ≥ 0, 1/(1 − x) for x < 0", "s'(x) = 1 for x ≥ 0, 1/(1 − x)² for x < 0",
        "Prieto et al. 2025, Grokking at the edge of numerical stability",
        LossProperties.NonNegative | LossProperties.ClassificationCalibrated,
        "s is positive and increasing, so p ranks z like softmax does; s grows linearly, so value and gradient are finite for |z| ≤ 1e30 " +
        "in every precision. Not shift-invariant, not convex.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new StablemaxLoss(a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public override LossCard Card => Definition;
}
