using System.Runtime.CompilerServices;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>
/// Poisson negative log-likelihood, spec <c>poisson_nll(log_input=true, full=false, eps=1e-8)</c>: PyTorch
/// <c>PoissonNLLLoss</c> exactly. With <c>log_input</c> the input is log λ: <c>ℓ = e^ŷ − y·ŷ</c>; without it the input is
/// λ ≥ 0: <c>ℓ = ŷ − y·log(ŷ + eps)</c> (eps only here). <c>full</c> adds Stirling's approximation of log y!,
/// <c>y·log y − y + ½·log(2πy)</c>, only where y &gt; 1 (PyTorch's <c>masked_fill(target &lt;= 1, 0)</c>). Targets must be
/// finite and ≥ 0.
/// </summary>
/// <param name="logInput">True (default): the input is log λ.</param>
/// <param name="full">True: add the Stirling term where y &gt; 1.</param>
/// <param name="eps">≥ 0, added to λ inside the log when <paramref name="logInput"/> is false.</param>
/// <param name="reduction">none, sum or mean.</param>
public sealed class PoissonNllLoss(bool logInput = true, bool full = false, double? eps = null, Reduction reduction = Reduction.Mean)
    : RegressionLoss(Definition, reduction)
{
    public static readonly LossParameter LogInput = new("log_input", ParameterKind.Choice,
        "true: the input is log λ (ℓ = e^ŷ − y·ŷ); false: the input is λ ≥ 0 (ℓ = ŷ − y·log(ŷ + eps))") { Choices = ["true", "false"] };
    public static readonly LossParameter Full = RegressionParameters.Full("y·log y − y + ½·log(2πy) (Stirling) where y > 1");
    public static readonly LossParameter Eps = new("eps", ParameterKind.Number, "added to λ inside the log when log_input=false") { Default = 1e-8, Min = 0 };

    public static LossCard Definition { get; } = RegressionCard("poisson_nll", "Poisson negative log-likelihood",
        "ℓ = e^ŷ − y·ŷ (log_input) or ŷ − y·log(ŷ + eps); full: + y·log y − y + ½·log(2πy) where y > 1",
        "∂ℓ/∂ŷ = e^ŷ − y (log_input) or 1 − y/(ŷ + eps)",
        "PyTorch torch.nn.PoissonNLLLoss (same semantics: eps only without log_input, Stirling term only where target > 1)",
        LossProperties.ConvexInLogits, "Predicts the Poisson rate λ (or log λ). Targets: finite counts or rates ≥ 0.", LogInput, Full, Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new PoissonNllLoss(a.Flag(LogInput), a.Flag(Full), a.Number(Eps), a.Reduction()));

    public bool IsLogInput { get; } = logInput;
    public bool IsFull { get; } = full;
    public double EpsValue { get; } = Eps.Resolve(eps);

    public override IEnumerable<ParameterValue> ParameterValues => [LogInput.Of(IsLogInput), Full.Of(IsFull), Eps.Of(EpsValue), .. base.ParameterValues];

    /// <summary>e^ŷ overflows float above 88.</summary>
    public override double FiniteInputScale => IsLogInput ? 80 : 1e30;

    public override RegressionDomain InputDomain => IsLogInput ? RegressionDomain.Any : RegressionDomain.NonNegative;

    public override RegressionDomain TargetDomain => RegressionDomain.FiniteNonNegative;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunPoint(new Op(IsLogInput, IsFull, EpsValue), batch);

    private readonly struct Op(bool logInput, bool full, double eps) : IPointFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IPointFunction.Point<TV, T, TOps>(TV x, TV y, out TV loss, out TV dx)
        {
            if (logInput)
            {
                TV e = RegressionMath<TV, T, TOps>.Exp(x);
                loss = TOps.Subtract(e, TOps.Multiply(y, x));
                dx = TOps.Subtract(e, y);
            }
            else
            {
                TV lambda = TOps.Add(x, RegressionMath<TV, T, TOps>.C(eps));
                loss = TOps.Subtract(x, TOps.Multiply(y, RegressionMath<TV, T, TOps>.Log(lambda)));
                dx = TOps.Subtract(TOps.Broadcast(T.One), TOps.Divide(y, lambda));
            }
            if (full)
            {
                TV stirling = TOps.Add(TOps.Subtract(TOps.Multiply(y, RegressionMath<TV, T, TOps>.Log(y)), y),
                    TOps.Multiply(RegressionMath<TV, T, TOps>.C(0.5), RegressionMath<TV, T, TOps>.Log(TOps.Multiply(RegressionMath<TV, T, TOps>.C(2 * Math.PI), y))));
                loss = TOps.Add(loss, TOps.Select(TOps.GreaterThan(y, TOps.Broadcast(T.One)), stirling, TOps.Broadcast(T.Zero)));
            }
        }
    }
}
