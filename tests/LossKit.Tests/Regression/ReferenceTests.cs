using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.Regression;

/// <summary>The losses PyTorch does not have against <see cref="RegressionReference"/>: the unreduced values, the
/// reduced value for every reduction, and every gradient (input and predicted parameters) in double.</summary>
public class ReferenceTests
{
    public static TheoryData<string> Specs => new(
    [
        "log_cosh", "quantile", "quantile(tau=[0.1])", "quantile(tau=[0.9])", "eps_insensitive", "eps_insensitive(eps=0.5)", "mape", "mape(eps=0.5)",
        "smape", "msle", "cauchy", "cauchy(c=0.3)", "welsch", "welsch(c=2)", "tukey", "tukey(c=1.5)",
        "barron", "barron(alpha=2)", "barron(alpha=0)", "barron(alpha=-2, c=0.7)", "barron(alpha=4)", "barron(alpha=0.5)",
        "barron(limit=minus_inf)", "barron(c=2, limit=plus_inf)",
        "laplace_nll", "laplace_nll(full=true)", "gg_nll", "gg_nll(alpha=0.5, beta=1.3)", "gg_nll(predict=alpha)", "gg_nll(predict=beta)",
        "gg_nll(predict=both)", "gg_nll(beta=0.8, predict=alpha)",
        "tweedie", "tweedie(power=1.1)", "tweedie(power=1.9)", "gamma_dev", "itakura_saito", "itakura_saito(form=exp_utility)",
        "itakura_saito(form=exp_utility, beta=0.3)", "madl", "madl_smooth", "madl_smooth(k=2)",
    ]);

    /// <summary>Values away from every kink and domain edge: residuals |r| ∈ [0.05, 3], positive quantities in [0.2, 3].</summary>
    private static LossInputs Inputs(ILoss loss, int seed)
    {
        LossInputs x = loss.Kind.Sample(loss, new SampleSize(6, 4), new Random(seed), 1.5);
        double[] input = x["input"].Values, target = x["target"].Values;
        bool positiveInput = loss.Kind.Inputs[0].NonNegative;
        for (int i = 0; i < input.Length; i++)
        {
            if (positiveInput) input[i] = Math.Max(input[i], 0.2);
            double r = input[i] - target[i];
            if (Math.Abs(r) < 0.05) target[i] -= 0.1;        // away from the kinks at r = 0 (l1-like losses)
            if (loss.Card.Name == "msle" || loss.Card.Name == "tweedie") target[i] = Math.Abs(target[i]);
            if (loss.Card.Name == "madl" && Math.Abs(input[i]) < 0.05) input[i] += 0.1;
        }
        return x;
    }

    [Theory, MemberData(nameof(Specs))]
    public void Values_and_gradients_match_the_reference(string spec)
    {
        var f = RegressionReference.Of(spec);
        foreach (int seed in new[] { 1, 2, 3 })
        {
            ILoss loss = LossRegistry.Create(spec);
            LossInputs x = Inputs(loss, seed);
            string[] predicted = loss.Kind.Inputs.Skip(2).Select(i => i.Name).ToArray();
            double[] input = x["input"].Values, target = x["target"].Values;
            double[] p = predicted.Length > 0 ? x[predicted[0]].Values : new double[input.Length];
            double[] q = predicted.Length > 1 ? x[predicted[1]].Values : new double[input.Length];
            int n = input.Length;
            double[] expected = Enumerable.Range(0, n).Select(i => f(input[i], target[i], p[i], q[i])).ToArray();
            foreach (string reduction in new[] { "mean", "sum", "none" })
            {
                ILoss reduced = LossRegistry.Create(With(spec, reduction));
                LossOutputs o = reduced.Kind.Evaluate<double>(reduced, x);
                double scale = reduction == "mean" ? 1.0 / n : 1;
                Close(expected, o.Unreduced.Values, 1e-10, $"{spec} {reduction} unreduced (seed {seed})");
                Close([expected.Sum() * scale], [o.Loss], 1e-10, $"{spec} {reduction} loss");
                Close(Enumerable.Range(0, n).Select(i => scale * RegressionReference.Derivative(v => f(v, target[i], p[i], q[i]), input[i])).ToArray(),
                    o.Gradients["input"].Values, 1e-7, $"{spec} {reduction} grad_input");
                if (predicted.Length > 0)
                    Close(Enumerable.Range(0, n).Select(i => scale * RegressionReference.Derivative(v => f(input[i], target[i], v, q[i]), p[i])).ToArray(),
                        o.Gradients[predicted[0]].Values, 1e-7, $"{spec} {reduction} grad_{predicted[0]}");
                if (predicted.Length > 1)
                    Close(Enumerable.Range(0, n).Select(i => scale * RegressionReference.Derivative(v => f(input[i], target[i], p[i], v), q[i])).ToArray(),
                        o.Gradients[predicted[1]].Values, 1e-7, $"{spec} {reduction} grad_{predicted[1]}");
            }
        }
    }

    [Fact]
    public void The_reference_log_gamma_is_right_where_gamma_is_known()
    {
        Assert.Equal(0, RegressionReference.LogGamma(1), 1e-14);
        Assert.Equal(0, RegressionReference.LogGamma(2), 1e-14);
        Assert.Equal(Math.Log(24), RegressionReference.LogGamma(5), 1e-13);
        Assert.Equal(0.5 * Math.Log(Math.PI), RegressionReference.LogGamma(0.5), 1e-14);
    }

    /// <summary>The spec with reduction=<paramref name="reduction"/> added (mean is the default and stays implicit).</summary>
    internal static string With(string spec, string reduction)
    {
        if (reduction == "mean") return spec;
        return spec.EndsWith(')') ? spec[..^1] + $", reduction={reduction})" : $"{spec}(reduction={reduction})";
    }

    /// <summary>Norm-wise: |got − ref| ≤ tol·max(1, max|ref|) (the binary fixtures' comparison).</summary>
    internal static void Close(double[] expected, double[] actual, double tol, string what) =>
        LossKit.Tests.Binary.FixtureTests.AssertClose(expected, actual, tol, what);
}
