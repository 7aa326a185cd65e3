using System.Numerics.Tensors;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Margin;

/// <summary>Which multi-class margin loss a <see cref="MulticlassMarginLoss"/> computes.</summary>
public enum MarginKind
{
    /// <summary>Crammer–Singer: max(0, max_{j≠y}(m + z_j − z_y)).</summary>
    CrammerSinger,
    /// <summary>Weston–Watkins: Σ_{j≠y} max(0, m + z_j − z_y).</summary>
    WestonWatkins,
    /// <summary>PyTorch MultiMarginLoss: Σ_{j≠y} max(0, m − z_y + z_j)^p / K.</summary>
    MultiMargin,
    /// <summary>One-vs-rest squared hinge: Σ_k max(0, 1 − t_k z_k)², t_y = 1, t_k = −1 otherwise.</summary>
    OneVsRestSquared,
    /// <summary>Perceptron: max_j z_j − z_y.</summary>
    Perceptron,
}

/// <summary>
/// The multi-class margin losses: one row kernel for Crammer–Singer, Weston–Watkins,
/// PyTorch's MultiMarginLoss, one-vs-rest squared hinge and the perceptron loss.
/// </summary>
/// <remarks>
/// Subgradients at kinks: a hinge term max(0, u) contributes derivative 0 at u = 0 exactly (the kink counts as
/// inactive); a max over classes (Crammer–Singer's worst rival, the perceptron's prediction) picks the lowest
/// class index among ties. Masking: a −∞ non-target logit gives an inactive term (contributes 0 and gets
/// gradient 0); a −∞ target logit gives loss +∞ and a zero gradient. Float and Half compute in float, where the
/// squared variants (multimargin p = 2, ovr_sq_hinge) overflow for |z| ≳ 1e19; in double they are finite for
/// |z| ≤ 1e30.
/// </remarks>
public abstract class MulticlassMarginLoss : RowLoss
{
    private protected MulticlassMarginLoss(MarginKind kind, double margin, int power, IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction)
        : base(weight, ignoreIndex, reduction)
    {
        Kind = kind;
        Margin = margin;
        Power = power;
    }

    /// <summary>Which margin loss this is.</summary>
    public MarginKind Kind { get; }
    /// <summary>The margin m (1 for the one-vs-rest hinge; unused by the perceptron).</summary>
    public double Margin { get; }
    /// <summary>The power p of each hinge term (1, or 2 for multimargin p = 2 and the one-vs-rest squared hinge).</summary>
    public int Power { get; }

    protected override bool MeanOverAllRows => Kind == MarginKind.MultiMargin;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => Kind switch
    {
        MarginKind.MultiMargin => [MultiMarginLoss.PParameter.Of(Power), MarginParameter.Of(Margin), .. base.ParameterValues],
        MarginKind.CrammerSinger or MarginKind.WestonWatkins => [MarginParameter.Of(Margin), .. base.ParameterValues],
        _ => base.ParameterValues,
    };

    protected sealed override double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
    {
        int K = z.Length, y = target;
        TC zy = z[y];
        if (TC.IsNegativeInfinity(zy))
        {
            gradient.Clear();
            return double.PositiveInfinity;
        }
        bool hasGradient = !gradient.IsEmpty;
        ReadOnlySpan<TC> left = z[..y], right = z[(y + 1)..];
        Span<TC> gLeft = hasGradient ? gradient[..y] : default, gRight = hasGradient ? gradient[(y + 1)..] : default;
        switch (Kind)
        {
            case MarginKind.WestonWatkins:
            case MarginKind.MultiMargin:
            {
                TC c = TC.CreateTruncating(Margin) - zy;
                TC inv = Kind == MarginKind.MultiMargin ? TC.One / TC.CreateTruncating(K) : TC.One;
                TC s = gradientScale * inv;
                bool squared = Power == 2;
                var (s1, d1) = Row.Hinge(left, c, squared, gLeft, s);
                var (s2, d2) = Row.Hinge(right, c, squared, gRight, s);
                if (hasGradient) gradient[y] = -(s * (d1 + d2));
                return double.CreateTruncating((s1 + s2) * inv);
            }
            case MarginKind.OneVsRestSquared:
            {
                var (s1, d1) = Row.Hinge(left, TC.One, true, gLeft, gradientScale);
                var (s2, d2) = Row.Hinge(right, TC.One, true, gRight, gradientScale);
                TC a = TC.Max(TC.One - zy, TC.Zero);
                if (hasGradient) gradient[y] = -(TC.CreateTruncating(2) * a * gradientScale);
                return double.CreateTruncating(s1 + s2 + a * a);
            }
            case MarginKind.CrammerSinger:
            {
                gradient.Clear();
                if (K == 1) return 0;
                int j = ArgMax(left, 0);
                int j2 = ArgMax(right, y + 1);
                if (j < 0 || (j2 >= 0 && z[j2] > z[j])) j = j2;
                TC v = TC.CreateTruncating(Margin) + z[j] - zy;
                if (!(v > TC.Zero)) return 0;
                if (hasGradient) { gradient[j] = gradientScale; gradient[y] = -gradientScale; }
                return double.CreateTruncating(v);
            }
            default: // Perceptron
            {
                gradient.Clear();
                int j = ArgMax(z, 0);
                if (j == y || z[j] == zy) return 0;            // the target among the largest: subgradient 0
                if (hasGradient) { gradient[j] = gradientScale; gradient[y] = -gradientScale; }
                return double.CreateTruncating(z[j] - zy);
            }
        }
    }

    /// <summary>Index (plus <paramref name="offset"/>) of the first largest element, or −1 when empty.</summary>
    private static int ArgMax<TC>(ReadOnlySpan<TC> x, int offset) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        if (x.IsEmpty) return -1;
        TC max = TensorPrimitives.Max(x);
        return offset + x.IndexOf(max);
    }

    private protected static readonly string FloatNote =
        "Subgradient at kinks: a hinge term max(0, u) has derivative 0 at u = 0; a max over classes picks the lowest index among ties. " +
        "A −∞ non-target logit is an inactive term; a −∞ target logit gives loss +∞ and a zero gradient.";

    private protected static LossCard MarginCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("multi-class margin (shared hinge kernel)", name, title, formula, gradient, reference, properties,
            [.. parameters, .. CommonParameters.ClassIndex], notes.Length == 0 ? FloatNote : FloatNote + " " + notes);

    /// <summary>The registration of a hinge loss whose arguments are the margin and the class-index options.</summary>
    private protected static LossDefinition HingeRegistration(LossCard card, Func<double, IReadOnlyList<double>?, int, Reduction, MulticlassMarginLoss> create) =>
        new(card, a => create(a.Number(MarginParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    /// <summary>m, the margin of a hinge loss.</summary>
    public static readonly LossParameter MarginParameter = new("margin", ParameterKind.Number, "margin m required between the target logit and the others") { Default = 1, Min = 0 };
}

/// <summary>Crammer–Singer multi-class hinge, spec <c>hinge_cs(margin=1)</c>: <c>ℓ = max(0, max_{j≠y}(m + z_j − z_y))</c>.
/// Reference: Crammer &amp; Singer 2001, On the algorithmic implementation of multiclass kernel-based vector machines.</summary>
public sealed class CrammerSingerHingeLoss(double? margin = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : MulticlassMarginLoss(MarginKind.CrammerSinger, MarginParameter.Resolve(margin), 1, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = MarginCard("hinge_cs", "Crammer–Singer multi-class hinge",
        "ℓ = w_y·max(0, max_{j≠y}(m + z_j − z_y))",
        "with j* = argmax_{j≠y} z_j and the term active: ∇_{j*} = w_y, ∇_y = −w_y; 0 otherwise",
        "Crammer & Singer 2001, On the algorithmic implementation of multiclass kernel-based vector machines",
        LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.NonNegative,
        "K = 1: ℓ = 0. Float/Half compute in float.", MarginParameter);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = HingeRegistration(Definition, (m, w, i, r) => new CrammerSingerHingeLoss(m, w, i, r));

    public override LossCard Card => Definition;
}

/// <summary>Weston–Watkins multi-class hinge, spec <c>hinge_ww(margin=1)</c>: <c>ℓ = Σ_{j≠y} max(0, m + z_j − z_y)</c>.
/// Reference: Weston &amp; Watkins 1999, Support vector machines for multi-class pattern recognition.</summary>
public sealed class WestonWatkinsHingeLoss(double? margin = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : MulticlassMarginLoss(MarginKind.WestonWatkins, MarginParameter.Resolve(margin), 1, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = MarginCard("hinge_ww", "Weston–Watkins multi-class hinge",
        "ℓ = w_y·Σ_{j≠y} max(0, m + z_j − z_y)",
        "∇_j = w_y·[m + z_j − z_y > 0] for j ≠ y, ∇_y = −Σ_{j≠y} ∇_j",
        "Weston & Watkins 1999, Support vector machines for multi-class pattern recognition",
        LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.NonNegative,
        "Float/Half compute in float.", MarginParameter);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = HingeRegistration(Definition, (m, w, i, r) => new WestonWatkinsHingeLoss(m, w, i, r));

    public override LossCard Card => Definition;
}

/// <summary>PyTorch's <c>MultiMarginLoss</c>, spec <c>multimargin(p=1, margin=1)</c>:
/// <c>ℓ = w_y·Σ_{j≠y} max(0, m − z_y + z_j)^p / K</c>; the mean divides by the number of kept rows N (not Σ w_y), as PyTorch does.</summary>
public sealed class MultiMarginLoss : MulticlassMarginLoss
{
    public static readonly LossParameter PParameter = new("p", ParameterKind.Integer, "power of each hinge term (PyTorch allows 1 or 2)") { Default = 1, Min = 1, Max = 2 };

    /// <summary>Reduction with PyTorch MultiMarginLoss's mean (÷ N, class weights not in the denominator).</summary>
    public static readonly LossParameter ReductionParameter = CommonParameters.Reduction with
    {
        Description = "mean divides by the number of kept rows N (PyTorch MultiMarginLoss: class weights are not in the denominator); none returns per-row losses",
    };

    public static LossCard Definition { get; } = MarginCard("multimargin", "Multi-class margin loss (PyTorch MultiMarginLoss)",
        "ℓ = w_y·Σ_{j≠y} max(0, m − z_y + z_j)^p / K",
        "∇_j = w_y·p·max(0, m − z_y + z_j)^{p−1}/K for j ≠ y (0 when inactive), ∇_y = −Σ_{j≠y} ∇_j",
        "PyTorch torch.nn.MultiMarginLoss (weight multiplies after the power; mean divides by N)",
        LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.NonNegative,
        "Float/Half compute in float, where p = 2 overflows for |z| ≳ 1e19. ignore_index is a LossKit extension (PyTorch has none): ignored rows leave N.") with
    {
        Parameters = [PParameter, MarginParameter, CommonParameters.Weight, CommonParameters.IgnoreIndex, ReductionParameter],
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new MultiMarginLoss(a.Integer(PParameter),
        a.Number(MulticlassMarginLoss.MarginParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public MultiMarginLoss(int? p = null, double? margin = null, IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
        Reduction reduction = Reduction.Mean)
        : base(MarginKind.MultiMargin, MarginParameter.Resolve(margin), PParameter.Resolve(p), weight, ignoreIndex, reduction) { }

    public override LossCard Card => Definition;
}

/// <summary>One-vs-rest squared hinge, spec <c>ovr_sq_hinge</c>: <c>ℓ = Σ_k max(0, 1 − t_k z_k)²</c> with t_y = 1 and
/// t_k = −1 otherwise. Reference: Tang 2013, Deep learning using linear support vector machines.</summary>
public sealed class OneVsRestSquaredHingeLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : MulticlassMarginLoss(MarginKind.OneVsRestSquared, 1, 2, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = MarginCard("ovr_sq_hinge", "One-vs-rest squared hinge (L2-SVM)",
        "ℓ = w_y·Σ_k max(0, 1 − t_k z_k)², t_y = +1, t_k = −1 for k ≠ y",
        "∇_k = −2 w_y t_k max(0, 1 − t_k z_k)",
        "Tang 2013, Deep learning using linear support vector machines",
        LossProperties.ConvexInLogits | LossProperties.NonNegative,
        "Not shift-invariant (each class has its own binary hinge). Float/Half compute in float, where it overflows for |z| ≳ 1e19.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new OneVsRestSquaredHingeLoss(a.Weight(),
        a.IgnoreIndex(), a.Reduction()));

    public override LossCard Card => Definition;
}

/// <summary>Perceptron loss, spec <c>perceptron</c>: <c>ℓ = max_j z_j − z_y</c>.</summary>
public sealed class PerceptronLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : MulticlassMarginLoss(MarginKind.Perceptron, 0, 1, weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = MarginCard("perceptron", "Multi-class perceptron loss",
        "ℓ = w_y·(max_j z_j − z_y)",
        "with j* = argmax_j z_j (lowest index on ties): ∇_{j*} = w_y, ∇_y = −w_y; 0 when z_y is among the largest",
        "Rosenblatt 1958; multi-class form as in Collins 2002, Discriminative training methods for hidden Markov models",
        LossProperties.ShiftInvariant | LossProperties.ConvexInLogits | LossProperties.NonNegative,
        "Zero whenever the target is (one of) the largest logits.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new PerceptronLoss(a.Weight(), a.IgnoreIndex(),
        a.Reduction()));

    public override LossCard Card => Definition;
}
