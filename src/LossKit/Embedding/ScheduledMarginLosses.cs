using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Embedding;

/// <summary>
/// A margin-softmax loss whose label logit also depends on values set per call — SphereFace's annealed λ, ElasticFace's
/// margins drawn per sample — rather than on the inputs alone. The loss counts its calls (<see cref="Calls"/>); call c
/// uses <see cref="ValuesOf"/>(c, rows), which depends only on the parameters, c and the number of rows, so the same
/// spec and the same sequence of calls give the same values. The values are constants of the call: the gradient is the
/// derivative of the loss with them held fixed (they depend on no input). Not for concurrent calls on one instance.
/// </summary>
public abstract class ScheduledProxyLoss : ProxyLoss, IOwnStateLoss
{
    private long _calls;
    private readonly double[]? _held;

    private protected ScheduledProxyLoss(double scale, Reduction reduction, double[]? held) : base(scale, reduction) => _held = held;

    /// <summary>The number of calls so far: the next call uses <see cref="ValuesOf"/>(Calls, rows).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Sets the call counter (0: start over; the same counter gives the same values again).</summary>
    public void Reset(long calls = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(calls);
        Interlocked.Exchange(ref _calls, calls);
    }

    /// <summary>The values call number <paramref name="call"/> (from 0) uses on a batch of <paramref name="rows"/> rows.</summary>
    public double[] ValuesOf(long call, int rows)
    {
        var values = new double[ValueCount(rows)];
        WriteValues(call, values);
        return values;
    }

    /// <summary>How many values a call on <paramref name="rows"/> rows uses.</summary>
    private protected abstract int ValueCount(int rows);

    /// <summary>Writes the values of call number <paramref name="call"/> into <paramref name="values"/> (<see cref="ValueCount"/> of them).</summary>
    private protected abstract void WriteValues(long call, Span<double> values);

    /// <summary>The label column's φ(c) and φ'(c) for row <paramref name="row"/>, given the call's values.</summary>
    private protected abstract (double Phi, double Slope) Label(double c, int row, double[] values);

    /// <summary>A copy with the same parameters at call counter <paramref name="calls"/>, or with <paramref name="held"/>
    /// used for every call (and no counting) when not null.</summary>
    private protected abstract ScheduledProxyLoss Copy(long calls, double[]? held);

    /// <summary>Unused: <see cref="Label"/> gives the label column per row.</summary>
    private protected override double Target(double c) => c;

    /// <summary>Unused: <see cref="Label"/> gives the label column per row.</summary>
    private protected override double TargetSlope(double c) => 1;

    /// <summary>The call's values (counting the call unless held), in a pooled array.</summary>
    private protected override double[] CallValues(int rows, ref Pooled<double> scratch)
    {
        if (_held is not null) return _held;
        scratch = Pooled<double>.Of(ValueCount(rows));
        WriteValues(Interlocked.Increment(ref _calls) - 1, scratch.Values);
        return scratch.Values;
    }

    /// <summary>Each row's label column from the call's values.</summary>
    private protected override (double Phi, double Slope) LabelColumn(int row, double cy, double[] values) => Label(Math.Clamp(cy, -1, 1), row, values);

    /// <summary>For the conformance suite: a copy at the same call counter (it uses what this loss would use next).</summary>
    ILoss IOwnStateLoss.CheckCopy() => Copy(Calls, _held);

    /// <summary>This loss with the values of its next call on these inputs held fixed: calls change nothing, and its
    /// gradient is the derivative of its value.</summary>
    ILoss IOwnStateLoss.HeldFixed(LossInputs inputs) =>
        Copy(Calls, _held ?? ValuesOf(Calls, inputs.Required("embeddings", EmbeddingKind.Instance).Shape[0]));
}

/// <summary>
/// SphereFace (A-Softmax), spec <c>sphereface(s=64, m=4, lambda_base=1000, lambda_gamma=0.12, lambda_power=1,
/// lambda_min=5)</c>: the label's logit is s·(λ·cos θ + ψ(θ))/(1 + λ) with the multiplicative angular margin
/// ψ(θ) = (−1)^k·cos(mθ) − 2k for θ ∈ [kπ/m, (k + 1)π/m], k ∈ {0, …, m − 1} — cos(mθ) made monotone in θ — and the other
/// columns s·cos θ_j.
/// <para><b>Computed without arccos.</b> cos(mθ) = T_m(c), the Chebyshev polynomial of c = cos θ, and
/// dψ/dc = (−1)^k·m·U_{m−1}(c) (U the Chebyshev polynomial of the second kind); k is the number of j ∈ {1, …, m − 1}
/// with c ≤ cos(jπ/m). Both are polynomials in c, finite at c = ±1 exactly (slope m² there), so loss and gradient are
/// finite for every input; ψ is continuous with slope 0 at the piece boundaries (U_{m−1}(cos(jπ/m)) = 0), so the pieces
/// join smoothly. c is clamped to [−1, 1] against rounding.</para>
/// <para><b>Annealing.</b> The paper trains with λ decreasing from a large value (the plain softmax) to λ_min; the
/// authors' Caffe layer (github.com/wy1iu/sphereface, <c>margin_inner_product_layer.cpp</c>, with <c>base 1000,
/// gamma 0.12, power 1, lambda_min 5</c> in its prototxt) sets, at iteration t = 1, 2, …,
/// λ = max(λ_min, base·(1 + γ·t)^(−power)). This loss counts its calls and uses t = calls + 1, so a training loop that
/// calls it once per batch anneals exactly like the Caffe layer (<see cref="LambdaAt"/>); <c>lambda_gamma=0</c> keeps
/// λ = max(λ_min, base) fixed, and <c>lambda_base=0, lambda_min=0</c> is plain A-Softmax (ψ alone).</para>
/// <para><b>Normalised features.</b> Embeddings and proxies are normalised and the scale is s, as in the frame's other
/// margin losses; the paper (and pytorch-metric-learning's <c>SphereFaceLoss</c>) scale the logits by the feature norm
/// ‖x‖ instead, which this loss does not offer.</para>
/// Reference: Liu et al. 2017, SphereFace: deep hypersphere embedding for face recognition; github.com/wy1iu/sphereface;
/// pytorch-metric-learning <c>SphereFaceLoss</c> (its ψ, without λ).
/// </summary>
public sealed class SphereFaceLoss : ScheduledProxyLoss
{
    public static readonly LossParameter Margin = new("m", ParameterKind.Integer, "m: the multiplicative angular margin (θ → mθ)") { Default = 4, Min = 1, Max = 8 };
    public static readonly LossParameter LambdaBase = new("lambda_base", ParameterKind.Number, "λ's starting value: λ = max(λ_min, base·(1 + γt)^(−power)) at call t = 1, 2, …") { Default = 1000, Min = 0 };
    public static readonly LossParameter LambdaGamma = new("lambda_gamma", ParameterKind.Number, "γ of λ's schedule (0: no annealing)") { Default = 0.12, Min = 0 };
    public static readonly LossParameter LambdaPower = new("lambda_power", ParameterKind.Number, "power of λ's schedule") { Default = 1, Min = 0 };
    public static readonly LossParameter LambdaMin = new("lambda_min", ParameterKind.Number, "λ_min: the value λ anneals to (0 with lambda_base=0: plain A-Softmax)") { Default = 5, Min = 0 };

    public static LossCard Definition { get; } = ProxyCard("sphereface", "SphereFace (A-Softmax): multiplicative angular margin",
        "ℓ = −log softmax_y(s·z), z_y = (λ·cos θ_y + ψ(θ_y))/(1 + λ), z_j = cos θ_j; ψ(θ) = (−1)^k·cos(mθ) − 2k on [kπ/m, (k+1)π/m]; " +
        "λ = max(λ_min, base·(1 + γt)^(−power)) at call t",
        "∂ℓ/∂cos θ_y = s·(p_y − 1)·(λ + ψ')/(1 + λ), ψ' = (−1)^k·m·U_{m−1}(cos θ) (a polynomial: finite at cos θ = ±1)",
        "Liu et al. 2017 (CVPR); github.com/wy1iu/sphereface (Caffe margin_inner_product, its λ schedule); pytorch-metric-learning SphereFaceLoss",
        "Stateful: λ anneals with the call count as the authors' Caffe layer (t = calls + 1); lambda_gamma=0 fixes λ. Normalised features with scale s " +
        "(the paper scales by ‖x‖). No arccos: cos(mθ) = T_m(cos θ), finite value and gradient at cos θ = ±1.",
        Scale, Margin, LambdaBase, LambdaGamma, LambdaPower, LambdaMin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new SphereFaceLoss(a.Number(Scale), a.Integer(Margin),
        a.Number(LambdaBase), a.Number(LambdaGamma), a.Number(LambdaPower), a.Number(LambdaMin), a.Reduction()));

    private readonly double[] _thresholds;

    /// <param name="s">null: 64.</param>
    /// <param name="m">The integer margin, 1 to 8; null: 4.</param>
    /// <param name="lambdaBase">null: 1000.</param>
    /// <param name="lambdaGamma">null: 0.12.</param>
    /// <param name="lambdaPower">null: 1.</param>
    /// <param name="lambdaMin">null: 5.</param>
    /// <param name="reduction">mean (over rows), sum or none.</param>
    public SphereFaceLoss(double? s = null, int? m = null, double? lambdaBase = null, double? lambdaGamma = null, double? lambdaPower = null,
        double? lambdaMin = null, Reduction reduction = Reduction.Mean) : this(Scale.Resolve(s), Margin.Resolve(m), LambdaBase.Resolve(lambdaBase),
        LambdaGamma.Resolve(lambdaGamma), LambdaPower.Resolve(lambdaPower), LambdaMin.Resolve(lambdaMin), reduction, null) { }

    private SphereFaceLoss(double s, int m, double lambdaBase, double lambdaGamma, double lambdaPower, double lambdaMin, Reduction reduction, double[]? held)
        : base(s, reduction, held)
    {
        (MarginValue, LambdaBaseValue, LambdaGammaValue, LambdaPowerValue, LambdaMinValue) = (m, lambdaBase, lambdaGamma, lambdaPower, lambdaMin);
        _thresholds = new double[m - 1];
        for (int j = 1; j < m; j++) _thresholds[j - 1] = Math.Cos(j * Math.PI / m);
    }

    public int MarginValue { get; }
    public double LambdaBaseValue { get; }
    public double LambdaGammaValue { get; }
    public double LambdaPowerValue { get; }
    public double LambdaMinValue { get; }
    public override LossCard Card => Definition;

    public override IEnumerable<ParameterValue> ParameterValues =>
    [
        Scale.Of(ScaleValue), Margin.Of(MarginValue), LambdaBase.Of(LambdaBaseValue), LambdaGamma.Of(LambdaGammaValue),
        LambdaPower.Of(LambdaPowerValue), LambdaMin.Of(LambdaMinValue), ReductionParameter.Of(Reduction),
    ];

    /// <summary>λ at iteration t (the Caffe layer's: max(λ_min, base·(1 + γ·t)^(−power))); call c uses t = c + 1.</summary>
    public double LambdaAt(long iteration) =>
        Math.Max(LambdaMinValue, LambdaBaseValue * Math.Pow(1 + LambdaGammaValue * iteration, -LambdaPowerValue));

    /// <summary>One value: λ.</summary>
    private protected override int ValueCount(int rows) => 1;

    /// <summary>[λ] of call number <paramref name="call"/>.</summary>
    private protected override void WriteValues(long call, Span<double> values) => values[0] = LambdaAt(call + 1);

    /// <summary>ψ(c) = (−1)^k·T_m(c) − 2k and ψ'(c) = (−1)^k·m·U_{m−1}(c), c = cos θ ∈ [−1, 1].</summary>
    public (double Psi, double Slope) Psi(double c)
    {
        int m = MarginValue, k = 0;
        foreach (double t in _thresholds) if (c <= t) k++;
        // Chebyshev recurrences: T_{j+1} = 2c·T_j − T_{j−1}, U likewise, from T_0 = U_0 = 1, T_1 = c, U_1 = 2c.
        double t0 = 1, t1 = c, u0 = 1, u1 = 2 * c;
        for (int j = 1; j < m; j++)
        {
            (t0, t1) = (t1, 2 * c * t1 - t0);
            (u0, u1) = (u1, 2 * c * u1 - u0);
        }
        double sign = k % 2 == 0 ? 1 : -1;
        return (sign * t1 - 2 * k, sign * m * u0);
    }

    private protected override (double Phi, double Slope) Label(double c, int row, double[] values)
    {
        double lambda = values[0];
        var (psi, slope) = Psi(c);
        return ((lambda * c + psi) / (1 + lambda), (lambda + slope) / (1 + lambda));
    }

    private protected override ScheduledProxyLoss Copy(long calls, double[]? held)
    {
        var copy = new SphereFaceLoss(ScaleValue, MarginValue, LambdaBaseValue, LambdaGammaValue, LambdaPowerValue, LambdaMinValue, Reduction, held);
        copy.Reset(calls);
        return copy;
    }
}

/// <summary>
/// ElasticFace, specs <c>elasticface_arc(s=64, m=0.5, sigma=0.05, seed=0)</c> and <c>elasticface_cos(s=64, m=0.35,
/// sigma=0.05, seed=0)</c>: ArcFace and CosFace with a margin per sample drawn from N(m, σ²) — the label's logit is
/// s·cos(θ_y + m_i) (arc) or s·(cos θ_y − m_i) (cos).
/// <para><b>Draws.</b> As the authors' code (<c>torch.normal</c> in every forward), the margins are redrawn every call
/// (per batch), one per row in row order: call c takes m_i = m + σ·z_i with z the first N values of LossKit's seeded
/// normal stream for (seed, c) (SplitMix64 and Box–Muller, the one <c>ensloss</c> uses). The loss counts its calls, so the
/// same seed and the same sequence of calls give the same margins, on every platform; <see cref="ScheduledProxyLoss.Reset"/>
/// rewinds and <see cref="ScheduledProxyLoss.ValuesOf"/> shows them. The margins are constants of the call: the gradient
/// is that of the loss with them fixed (they depend on no input), as in torch.</para>
/// <para><b>Arc.</b> φ = cos(θ + m_i) for every θ, as the authors' <c>ElasticArcFace</c> (no threshold or linear
/// continuation past θ + m = π, unlike <c>arcface</c>'s default); at cos θ = ±1 the slope is taken as ArcFace's (the finite
/// cos m_i, where the direction it multiplies is zero), so loss and gradient are finite there.</para>
/// Reference: Boutros et al. 2022, ElasticFace: elastic margin loss for deep face recognition (CVPR workshops);
/// github.com/fdbtrs/ElasticFace (<c>utils/losses.py</c>; σ = 0.05 for both in its <c>config.py</c>). The ElasticFace+
/// variant (margins sorted by the label cosines) is not built.
/// </summary>
public sealed class ElasticFaceLoss : ScheduledProxyLoss
{
    public static readonly LossParameter ArcMargin = new("m", ParameterKind.Number, "m: the mean of the additive angular margins (radians)") { Default = 0.5, Min = 0, Max = Math.PI / 2 };
    public static readonly LossParameter CosMargin = new("m", ParameterKind.Number, "m: the mean of the additive cosine margins") { Default = 0.35, Min = 0 };
    public static readonly LossParameter Sigma = new("sigma", ParameterKind.Number, "σ: the standard deviation of the margins") { Default = 0.05, Min = 0 };
    public static readonly LossParameter Seed = new("seed", ParameterKind.Integer, "seed of the margins' draws") { Default = 0 };

    private const string Notes = "Stateful: margins redrawn every call (per batch), m_i = m + σ·z_i, z from the seeded stream of (seed, call number); " +
        "same seed and call sequence, same margins. The margins are constants of the call for the gradient.";

    public static LossCard ArcDefinition { get; } = ProxyCard("elasticface_arc", "ElasticFace-Arc: additive angular margin drawn per sample",
        "ℓ = −log softmax_y(s·z), z_y = cos(θ_y + m_i), z_j = cos θ_j, m_i ~ N(m, σ²) per row and call",
        "∂ℓ/∂cos θ_y = s·(p_y − 1)·(cos m_i + sin m_i·cos θ_y/sin θ_y) (sin θ = 0: cos m_i), margins held fixed",
        "Boutros et al. 2022 (CVPRW); github.com/fdbtrs/ElasticFace ElasticArcFace", Notes + " cos(θ + m_i) for every θ, as the authors' code.",
        Scale, ArcMargin, Sigma, Seed);

    public static LossCard CosDefinition { get; } = ProxyCard("elasticface_cos", "ElasticFace-Cos: additive cosine margin drawn per sample",
        "ℓ = −log softmax_y(s·z), z_y = cos θ_y − m_i, z_j = cos θ_j, m_i ~ N(m, σ²) per row and call",
        "∂ℓ/∂cos θ_k = s·(p_k − [k = y]), margins held fixed",
        "Boutros et al. 2022 (CVPRW); github.com/fdbtrs/ElasticFace ElasticCosFace", Notes, Scale, CosMargin, Sigma, Seed);

    /// <summary>How the registry builds <c>elasticface_arc</c>.</summary>
    public static LossDefinition ArcRegistration { get; } = new(ArcDefinition,
        a => new ElasticFaceLoss(true, a.Number(Scale), a.Number(ArcMargin), a.Number(Sigma), a.Integer(Seed), a.Reduction()));

    /// <summary>How the registry builds <c>elasticface_cos</c>.</summary>
    public static LossDefinition CosRegistration { get; } = new(CosDefinition,
        a => new ElasticFaceLoss(false, a.Number(Scale), a.Number(CosMargin), a.Number(Sigma), a.Integer(Seed), a.Reduction()));

    /// <param name="angular">true: ElasticFace-Arc, cos(θ + m_i); false: ElasticFace-Cos, cos θ − m_i.</param>
    /// <param name="s">null: 64.</param>
    /// <param name="m">The margins' mean; null: 0.5 (arc) or 0.35 (cos).</param>
    /// <param name="sigma">The margins' standard deviation; null: 0.05.</param>
    /// <param name="seed">null: 0.</param>
    /// <param name="reduction">mean (over rows), sum or none.</param>
    public ElasticFaceLoss(bool angular, double? s = null, double? m = null, double? sigma = null, int? seed = null, Reduction reduction = Reduction.Mean)
        : this(angular, Scale.Resolve(s), (angular ? ArcMargin : CosMargin).Resolve(m), Sigma.Resolve(sigma), Seed.Resolve(seed), reduction, null) { }

    private ElasticFaceLoss(bool angular, double s, double m, double sigma, int seed, Reduction reduction, double[]? held) : base(s, reduction, held) =>
        (Angular, MarginValue, SigmaValue, SeedValue) = (angular, m, sigma, seed);

    /// <summary>True for ElasticFace-Arc.</summary>
    public bool Angular { get; }
    public double MarginValue { get; }
    public double SigmaValue { get; }
    public int SeedValue { get; }
    public override LossCard Card => Angular ? ArcDefinition : CosDefinition;

    public override IEnumerable<ParameterValue> ParameterValues =>
        [Scale.Of(ScaleValue), (Angular ? ArcMargin : CosMargin).Of(MarginValue), Sigma.Of(SigmaValue), Seed.Of(SeedValue), ReductionParameter.Of(Reduction)];

    /// <summary>One margin per row.</summary>
    private protected override int ValueCount(int rows) => rows;

    /// <summary>The margins of call number <paramref name="call"/>: m + σ·z_i for the rows in order.</summary>
    private protected override void WriteValues(long call, Span<double> margins)
    {
        var stream = new NormalStream(SeedValue, call);
        for (int i = 0; i < margins.Length; i++) margins[i] = MarginValue + SigmaValue * stream.Next();
    }

    private protected override (double Phi, double Slope) Label(double c, int row, double[] values)
    {
        double m = values[row];
        if (!Angular) return (c - m, 1);
        double cos = Math.Cos(m), sin = Math.Sin(m);
        return (AdditiveAngularMargin.Phi(c, cos, sin), AdditiveAngularMargin.Slope(c, cos, sin));
    }

    private protected override ScheduledProxyLoss Copy(long calls, double[]? held)
    {
        var copy = new ElasticFaceLoss(Angular, ScaleValue, MarginValue, SigmaValue, SeedValue, Reduction, held);
        copy.Reset(calls);
        return copy;
    }
}
