using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// Generalized-Gaussian negative log-likelihood, spec <c>gg_nll(alpha=1, beta=2, predict=none, eps=1e-6)</c>:
/// <c>ℓ = (|r|/α)^β − log β + log 2α + log Γ(1/β)</c>, r = ŷ − y — the negative log of the density
/// β/(2αΓ(1/β))·exp(−(|r|/α)^β) (β = 2: Gaussian with σ = α/√2, β = 1: Laplace with scale α). α (scale) and β (shape)
/// are fixed by the spec or predicted per element (<c>predict=alpha|beta|both</c>: inputs <c>alpha</c>, <c>beta</c> of the
/// input's shape, clamped at eps as <c>gaussian_nll</c> clamps var, a negative value an error naming the element).
/// Gradients: ∂ℓ/∂ŷ = β·u^{β−1}·sign(r)/α (0 at r = 0), ∂ℓ/∂α = (1 − β·u^β)/α, ∂ℓ/∂β = u^β·log u − 1/β − ψ(1/β)/β²,
/// u = |r|/α.
/// </summary>
/// <param name="alpha">α &gt; 0 when not predicted.</param>
/// <param name="beta">β &gt; 0 when not predicted.</param>
/// <param name="predict"><c>none</c>, <c>alpha</c>, <c>beta</c> or <c>both</c>.</param>
/// <param name="eps">&gt; 0: the floor of predicted α and β.</param>
/// <param name="reduction">none, sum or mean.</param>
public sealed class GeneralizedGaussianNllLoss(double? alpha = null, double? beta = null, string? predict = null, double? eps = null, Reduction reduction = Reduction.Mean)
    : RegressionLoss(Definition, reduction)
{
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number, "α: the scale, when not predicted") { Default = 1, Min = 0, MinExclusive = true };
    public static readonly LossParameter Beta = new("beta", ParameterKind.Number, "β: the shape, when not predicted (2 Gaussian, 1 Laplace)") { Default = 2, Min = 0, MinExclusive = true };
    public static readonly LossParameter Predict = new("predict", ParameterKind.Choice, "which of α, β are inputs (predicted per element) rather than fixed")
    { Choices = ["none", "alpha", "beta", "both"] };
    public static readonly LossParameter Eps = GaussianNllLoss.Eps with { Description = "predicted α and β are clamped at eps (the gradient passes through the clamp)" };

    private static readonly LossInput AlphaInput = new("alpha", "same as input", true, "the predicted scale α ≥ 0") { NonNegative = true };
    private static readonly LossInput BetaInput = new("beta", "same as input", true, "the predicted shape β ≥ 0") { NonNegative = true };

    public static LossCard Definition { get; } = RegressionCard("gg_nll", "Generalized-Gaussian negative log-likelihood",
        "ℓ = (|r|/α)^β − log β + log 2α + log Γ(1/β), r = ŷ − y",
        "∂ℓ/∂ŷ = β·u^{β−1}·sign(r)/α; ∂ℓ/∂α = (1 − β·u^β)/α; ∂ℓ/∂β = u^β·log u − 1/β − ψ(1/β)/β², u = |r|/α",
        "Kim et al. 2024, Generalized Gaussian temporal difference error for uncertainty-aware reinforcement learning; Nadarajah 2005, A generalized normal distribution",
        LossProperties.None, "Predicts the location (input) and, with predict, the scale α and the shape β.", Alpha, Beta, Predict, Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new GeneralizedGaussianNllLoss(a.Number(Alpha), a.Number(Beta), a.Choice(Predict), a.Number(Eps), a.Reduction()));

    public double AlphaValue { get; } = Alpha.Resolve(alpha);
    public double BetaValue { get; } = Beta.Resolve(beta);
    public string PredictValue { get; } = Predict.Resolve(predict);
    public double EpsValue { get; } = Eps.Resolve(eps);

    private bool PredictsAlpha => PredictValue is "alpha" or "both";
    private bool PredictsBeta => PredictValue is "beta" or "both";

    public override IEnumerable<ParameterValue> ParameterValues =>
        [Alpha.Of(AlphaValue), Beta.Of(BetaValue), Predict.Of(PredictValue), Eps.Of(EpsValue), .. base.ParameterValues];

    public override IReadOnlyList<LossInput> Predicted => PredictValue switch
    {
        "alpha" => s_alpha,
        "beta" => s_beta,
        "both" => s_both,
        _ => [],
    };

    private static readonly LossInput[] s_alpha = [AlphaInput], s_beta = [BetaInput], s_both = [AlphaInput, BetaInput];

    /// <summary>(|r|/α)^β stays finite in float: for fixed parameters up to 0.25·α·1e36^{1/β}; with a predicted shape the
    /// shape itself is an input, so 20.</summary>
    public override double FiniteInputScale => PredictsBeta ? 20 : Math.Min(1e30, 0.25 * (PredictsAlpha ? 1 : AlphaValue) * Math.Pow(1e36, 1 / BetaValue));

    protected override T Evaluate<T>(in RegressionBatch<T> batch)
    {
        // The terms free of r when both parameters are fixed: −log β + log 2α + log Γ(1/β).
        double constant = -Math.Log(BetaValue) + Math.Log(2 * AlphaValue) + SpecialFunctions.LogGamma(1 / BetaValue);
        return Run(new Op(AlphaValue, BetaValue, PredictsAlpha, PredictsBeta, EpsValue, constant), batch);
    }

    private readonly struct Op(double alpha, double beta, bool predictAlpha, bool predictBeta, double eps, double constant) : IElementFunction
    {
        // The fixed parameters' terms, computed once here: in the element function, each was a scalar call per vector
        // (Math.Log, LogGamma) inside the kernel's loop, where a call keeps every live vector in memory across it.
        private readonly double _logTwoAlpha = Math.Log(2 * alpha);
        private readonly double _fixedShapeTerm = -Math.Log(beta) + SpecialFunctions.LogGamma(1 / beta);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IElementFunction.Evaluate<TV, T, TOps>(TV x, TV y, TV p, TV q, out TV loss, out TV dx, out TV dp, out TV dq)
        {
            TV zero = TOps.Broadcast(T.Zero), one = TOps.Broadcast(T.One), floor = RegressionMath<TV, T, TOps>.C(eps);
            TV a = predictAlpha ? TOps.MaxPropagateNaN(p, floor) : RegressionMath<TV, T, TOps>.C(alpha);
            TV b = predictBeta ? TOps.MaxPropagateNaN(predictAlpha ? q : p, floor) : RegressionMath<TV, T, TOps>.C(beta);
            TV r = TOps.Subtract(x, y);
            TV u = TOps.Divide(TOps.Abs(r), a), logU = RegressionMath<TV, T, TOps>.Log(u);
            TV ub = RegressionMath<TV, T, TOps>.Exp(TOps.Multiply(b, logU));                       // u^β (0 at u = 0)
            TV atZero = TOps.EqualTo(u, zero);
            loss = ub;
            if (predictAlpha || predictBeta)
            {
                TV inverse = TOps.Divide(one, b);
                TV logAlpha = predictAlpha ? RegressionMath<TV, T, TOps>.Log(TOps.Multiply(RegressionMath<TV, T, TOps>.C(2), a)) : RegressionMath<TV, T, TOps>.C(_logTwoAlpha);
                TV shape = predictBeta
                    ? TOps.Subtract(RegressionMath<TV, T, TOps>.LogGamma(inverse), RegressionMath<TV, T, TOps>.Log(b))
                    : RegressionMath<TV, T, TOps>.C(_fixedShapeTerm);
                loss = TOps.Add(loss, TOps.Add(logAlpha, shape));
            }
            else loss = TOps.Add(loss, RegressionMath<TV, T, TOps>.C(constant));
            // β·u^{β−1}/α = β·u^β/|r|, 0 at r = 0.
            TV safe = TOps.Select(atZero, one, TOps.Abs(r));
            dx = TOps.Select(atZero, zero, TOps.Multiply(TOps.Divide(TOps.Multiply(b, ub), safe), RegressionMath<TV, T, TOps>.Sign(r)));
            TV dBeta = zero;
            if (predictBeta)
            {
                TV inverse = TOps.Divide(one, b);
                TV ulogu = TOps.Select(atZero, zero, TOps.Multiply(ub, logU));
                dBeta = TOps.Subtract(TOps.Subtract(ulogu, inverse), TOps.Multiply(RegressionMath<TV, T, TOps>.Digamma(inverse), TOps.Multiply(inverse, inverse)));
            }
            // ∂ℓ/∂α only where α is predicted (a division per vector otherwise thrown away).
            dp = predictAlpha ? TOps.Divide(TOps.Subtract(one, TOps.Multiply(b, ub)), a) : dBeta;
            dq = dBeta;
        }
    }
}
