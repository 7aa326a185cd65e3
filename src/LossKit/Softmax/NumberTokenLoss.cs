using System.Buffers;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>Which number-token loss: squared error of the expected value, or the Wasserstein-1 distance.</summary>
public enum NumberTokenVariant { Mse, Wasserstein }

/// <summary>
/// Number-token losses, specs <c>ntl_mse(lambda=0.3, classes=[...], values=[...])</c> and <c>ntl_was(...)</c>
/// (Zausinger et al. 2025, Regress, don't guess): the classes listed in <c>classes</c> stand for the numbers in
/// <c>values</c>. For a row whose target y is a number class, <c>p̃ = softmax</c> over the number classes only and
/// <c>ℓ = CE + λ·NTL</c> with <c>NTL_mse = (Σ_k p̃_k v_k − v_y)²</c> or <c>NTL_was = Σ_k p̃_k |v_k − v_y|</c>;
/// other rows are plain CE. Exact gradients through p̃: with μ = Σ p̃ v,
/// <c>∂NTL_mse/∂z_k = 2(μ − v_y)·p̃_k(v_k − μ)</c> and <c>∂NTL_was/∂z_k = p̃_k(|v_k − v_y| − NTL_was)</c> for number
/// classes k (0 elsewhere). CE runs on the fused kernel, the NTL term on its row-extra hook; class weights multiply
/// the whole row (ce's semantics).
/// </summary>
public sealed class NumberTokenLoss : SoftmaxLoss
{
    public static readonly LossParameter LambdaParameter = new("lambda", ParameterKind.Number,
        "λ: weight of the number-token term (0 = ce)") { Default = 0.3, Min = 0 };
    public static readonly LossParameter ClassesParameter = new("classes", ParameterKind.NumberList,
        "the class indices that stand for numbers (distinct integers; absent = none, i.e. plain ce)") { Min = 0 };
    public static readonly LossParameter ValuesParameter = new("values", ParameterKind.NumberList,
        "the number v_k of each listed class (same length as classes)");

    public static LossCard MseDefinition { get; } = MakeCard("ntl_mse", "Number-token loss, squared-error variant",
        "ℓ = w_y·(lse − z_y + λ·[y ∈ N]·(Σ_{k∈N} p̃_k v_k − v_y)²), p̃ = softmax(z_N)",
        "∇ = w_y·(p − e_y + λ·[y ∈ N]·2(μ − v_y)·p̃_k(v_k − μ)·[k ∈ N]), μ = Σ p̃ v");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition MseRegistration { get; } = Registration(MseDefinition, NumberTokenVariant.Mse);

    public static LossCard WassersteinDefinition { get; } = MakeCard("ntl_was", "Number-token loss, Wasserstein variant",
        "ℓ = w_y·(lse − z_y + λ·[y ∈ N]·Σ_{k∈N} p̃_k |v_k − v_y|), p̃ = softmax(z_N)",
        "∇ = w_y·(p − e_y + λ·[y ∈ N]·p̃_k(|v_k − v_y| − NTL)·[k ∈ N])");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition WassersteinRegistration { get; } = Registration(WassersteinDefinition, NumberTokenVariant.Wasserstein);

    /// <summary>The card of either variant: the shared reference, properties, notes and parameters.</summary>
    private static LossCard MakeCard(string name, string title, string formula, string gradient) =>
        LossCard.ForFamily("softmax cross-entropy (fused softmax kernel)", name, title, formula, gradient,
            "Zausinger et al. 2025, Regress, don't guess: a regression-like loss on number tokens for language models (ICML)",
            LossProperties.ShiftInvariant | LossProperties.NonNegative, [LambdaParameter, ClassesParameter, ValuesParameter, .. CommonParameters.ClassIndex],
            "classes and values go together (same length; classes distinct, each < K). Without them no class is a number "
            + "and the loss is ce. Rows whose target is not a number class are plain ce. If every number class of a row is "
            + "−∞ (masked) the NTL term is left out (the row's CE is then +∞ anyway). λ = 0 is ce.");

    /// <summary>How the registry builds the given variant from a spec string (both variants take the same arguments).</summary>
    private static LossDefinition Registration(LossCard card, NumberTokenVariant variant) => new(card, a => new NumberTokenLoss(variant,
        a.Number(LambdaParameter), a.List(ClassesParameter), a.List(ValuesParameter), a.Weight(), a.IgnoreIndex(), a.Reduction()));

    private readonly int[] _classes;
    private readonly double[] _values;
    private readonly Dictionary<int, int> _index = [];

    public NumberTokenLoss(NumberTokenVariant variant, double? lambda = null, IReadOnlyList<double>? classes = null, IReadOnlyList<double>? values = null,
        IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex, Reduction reduction = Reduction.Mean)
        : base(weight, ignoreIndex, reduction)
    {
        if (!Enum.IsDefined(variant)) throw new ArgumentOutOfRangeException(nameof(variant), variant, "variant must be Mse or Wasserstein.");
        Variant = variant;
        Lambda = LambdaParameter.Resolve(lambda);
        if ((classes is null) != (values is null))
            throw new ArgumentException($"{(classes is null ? "values" : "classes")} is given without {(classes is null ? "classes" : "values")}: give both, one value per number class.", classes is null ? "classes" : "values");
        double[] c = ClassesParameter.Resolve(classes) ?? [];
        _values = ValuesParameter.Resolve(values) ?? [];
        if (c.Length != _values.Length)
            throw new ArgumentException($"classes has {c.Length} entries but values has {_values.Length}; give one value per number class.", "values");
        _classes = new int[c.Length];
        for (int i = 0; i < c.Length; i++)
        {
            if (c[i] != Math.Floor(c[i]) || c[i] > int.MaxValue)
                throw new ArgumentOutOfRangeException("classes", c[i], $"classes[{i}] = {LossParameter.FormatNumber(c[i])} is not a class index: expected an integer ≥ 0.");
            _classes[i] = (int)c[i];
            if (!_index.TryAdd(_classes[i], i))
                throw new ArgumentException($"classes[{i}] = {_classes[i]} is listed twice: number classes must be distinct.", "classes");
        }
    }

    public NumberTokenVariant Variant { get; }
    public double Lambda { get; }
    public IReadOnlyList<int> NumberClasses => _classes;
    public IReadOnlyList<double> NumberValues => _values;
    public override LossCard Card => Variant == NumberTokenVariant.Mse ? MseDefinition : WassersteinDefinition;
    protected override bool HasRowExtra => Lambda > 0 && _classes.Length > 0;

    /// <summary>Number classes need K &gt; max(classes): checks run at that smallest valid K (class weights fix K exactly).
    /// Larger K is accepted by <see cref="ClassIndexLoss.Compute{T}"/>.</summary>
    public override int? FixedClassCount => base.FixedClassCount ?? (_classes.Length > 0 ? _classes.Max() + 1 : null);

    protected override void CheckClassCount(int classes)
    {
        for (int i = 0; i < _classes.Length; i++)
            if (_classes[i] >= classes)
                throw new ArgumentException($"classes[{i}] = {_classes[i]} is not a class index for logits with {classes} classes.", "classes");
    }

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
    [
        LambdaParameter.Of(Lambda), ClassesParameter.Of(_classes.Length > 0 ? _classes : null),
        ValuesParameter.Of(_values.Length > 0 ? _values : null), .. base.ParameterValues,
    ];

    protected override RowTerms EvaluateRow(in RowStats s)
    {
        double w = s.TargetWeight;
        return new RowTerms(w != 0 ? w * (s.Lse - s.TargetLogit) : 0, w, w);
    }

    protected override double RowExtra<TC>(ReadOnlySpan<TC> z, in RowStats s, Span<TC> gradient, double scale)
    {
        double w = s.TargetWeight;
        if (w == 0 || !_index.TryGetValue(s.Target, out int yi)) return 0;
        int m = _classes.Length;
        double[] rented = ArrayPool<double>.Shared.Rent(m);
        try
        {
            Span<double> p = rented.AsSpan(0, m);
            double max = double.NegativeInfinity;
            for (int i = 0; i < m; i++) { p[i] = double.CreateTruncating(z[_classes[i]]); max = Math.Max(max, p[i]); }
            if (!double.IsFinite(max)) return 0;   // all number classes masked: the CE part is already +∞
            double sum = 0;
            for (int i = 0; i < m; i++) { p[i] = Math.Exp(p[i] - max); sum += p[i]; }
            double vy = _values[yi], mu = 0, was = 0;
            for (int i = 0; i < m; i++)
            {
                p[i] /= sum;
                mu += p[i] * _values[i];
                was += p[i] * Math.Abs(_values[i] - vy);
            }
            double ntl = Variant == NumberTokenVariant.Mse ? (mu - vy) * (mu - vy) : was;
            if (!gradient.IsEmpty)
            {
                double c = scale * w * Lambda;
                for (int i = 0; i < m; i++)
                {
                    double d = Variant == NumberTokenVariant.Mse
                        ? 2 * (mu - vy) * p[i] * (_values[i] - mu)
                        : p[i] * (Math.Abs(_values[i] - vy) - was);
                    gradient[_classes[i]] += TC.CreateTruncating(c * d);
                }
            }
            return w * Lambda * ntl;
        }
        finally { ArrayPool<double>.Shared.Return(rented); }
    }
}
