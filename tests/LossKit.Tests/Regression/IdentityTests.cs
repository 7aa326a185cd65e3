using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.Regression;

/// <summary>Identities between regression losses, limits reached continuously, and the kind's float/Half paths.</summary>
public class IdentityTests
{
    private static LossOutputs Eval(string spec, LossInputs x)
    {
        ILoss loss = LossRegistry.Create(spec);
        return loss.Kind.Evaluate<double>(loss, x);
    }

    private static LossInputs Sample(string spec, int seed, int rows = 8, int width = 3, double scale = 2)
    {
        ILoss loss = LossRegistry.Create(spec);
        return loss.Kind.Sample(loss, new SampleSize(rows, width), new Random(seed), scale);
    }

    private static void Same(LossOutputs a, LossOutputs b, double tol, double factor = 1)
    {
        ReferenceTests.Close(a.Unreduced.Values.Select(v => v * factor).ToArray(), b.Unreduced.Values, tol, "unreduced");
        ReferenceTests.Close(a.Gradients["input"].Values.Select(v => v * factor).ToArray(), b.Gradients["input"].Values, tol, "grad_input");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(3)]
    public void Huber_is_delta_times_smooth_l1_with_beta_delta(double delta)
    {
        LossInputs x = Sample("huber", 1);
        Same(Eval($"smooth_l1(beta={delta})", x), Eval($"huber(delta={delta})", x), 1e-14, delta);
    }

    [Fact]
    public void Smooth_l1_with_beta_0_and_half_the_median_quantile_are_l1()
    {
        LossInputs x = Sample("l1", 2);
        Same(Eval("l1", x), Eval("smooth_l1(beta=0)", x), 0);
        Same(Eval("l1", x), Eval("quantile", x), 1e-15, 0.5);
    }

    [Fact]
    public void Barron_is_its_named_special_cases()
    {
        LossInputs x = Sample("mse", 3);
        Same(Eval("mse", x), Eval("barron(alpha=2, c=0.5)", x), 1e-14, 2);          // ½(r/c)² with c = ½ is 2r²
        double[] r = x["input"].Values.Zip(x["target"].Values, (a, b) => a - b).ToArray();
        ReferenceTests.Close(r.Select(v => Math.Sqrt(v * v + 1) - 1).ToArray(), Eval("barron(alpha=1)", x).Unreduced.Values, 1e-14, "pseudo-Huber");
        ReferenceTests.Close(r.Select(v => 2 * v * v / (v * v + 4)).ToArray(), Eval("barron(alpha=-2)", x).Unreduced.Values, 1e-14, "Geman-McClure");
    }

    [Theory]
    [InlineData("barron(alpha=1e-7)", "barron(alpha=0)")]
    [InlineData("barron(alpha=2.0000001)", "barron(alpha=2)")]
    [InlineData("barron(alpha=1.9999999)", "barron(alpha=2)")]
    [InlineData("barron(alpha=-1e7)", "barron(limit=minus_inf)")]
    [InlineData("barron(alpha=1e7)", "barron(limit=plus_inf)")]
    public void Barron_approaches_its_closed_form_limits(string near, string limit)
    {
        LossInputs x = Sample("mse", 4, scale: 1);
        Same(Eval(limit, x), Eval(near, x), 1e-5);
    }

    [Fact]
    public void Gg_nll_with_beta_2_is_the_full_gaussian_nll_and_with_beta_1_the_full_laplace_nll()
    {
        LossInputs x = Sample("gaussian_nll", 5);
        double sigma2 = 0.7, alpha = Math.Sqrt(2 * sigma2);
        x["var"] = new LossTensor(Enumerable.Repeat(sigma2, x["input"].Length).ToArray(), x["input"].Shape);
        Same(Eval("gaussian_nll(full=true)", x), Eval($"gg_nll(alpha={alpha:R})", Without(x, "var")), 1e-13);
        var laplace = Without(x, "var");
        laplace["scale"] = new LossTensor(Enumerable.Repeat(0.8, x["input"].Length).ToArray(), x["input"].Shape);
        Same(Eval("laplace_nll(full=true)", laplace), Eval("gg_nll(alpha=0.8, beta=1)", Without(x, "var")), 1e-13);
        // Predicted α and β equal to the fixed ones give the fixed loss.
        var predicted = Without(x, "var");
        predicted["alpha"] = new LossTensor(Enumerable.Repeat(0.8, x["input"].Length).ToArray(), x["input"].Shape);
        predicted["beta"] = new LossTensor(Enumerable.Repeat(1.5, x["input"].Length).ToArray(), x["input"].Shape);
        Same(Eval("gg_nll(alpha=0.8, beta=1.5)", Without(x, "var")), Eval("gg_nll(predict=both)", predicted), 1e-6);
    }

    [Fact]
    public void Gamma_deviance_is_twice_itakura_saito_of_the_mean_and_exp_utility_is_itakura_saito_in_log_space()
    {
        LossInputs x = Sample("gamma_dev", 6);
        var ratio = Subject(x, x["input"].Values.Select(Math.Exp).ToArray());
        ReferenceTests.Close(Eval("itakura_saito", ratio).Unreduced.Values.Select(v => 2 * v).ToArray(), Eval("gamma_dev", x).Unreduced.Values, 1e-12, "2·IS");
        // exp_utility with β: e^δ − 1 − δ, δ = β(V − G) = log(u/v) for u = e^{−βG}, v = e^{−βV}.
        LossInputs values = Sample("itakura_saito(form=exp_utility)", 7, scale: 1);
        const double beta = 0.5;
        var asRatio = new LossInputs
        {
            ["input"] = new(values["input"].Values.Select(v => Math.Exp(-beta * v)).ToArray(), values["input"].Shape),
            ["target"] = new(values["target"].Values.Select(v => Math.Exp(-beta * v)).ToArray(), values["input"].Shape),
        };
        ReferenceTests.Close(Eval("itakura_saito", asRatio).Unreduced.Values, Eval($"itakura_saito(form=exp_utility, beta={beta})", values).Unreduced.Values, 1e-12, "exp_utility");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(2)]
    public void Exp_utility_is_minimised_by_the_risk_averse_certainty_equivalent(double beta)
    {
        double[] returns = [-1.5, 0.2, 0.7, 2.5, -0.3];
        double ce = -Math.Log(returns.Average(g => Math.Exp(-beta * g))) / beta;      // below the mean for β > 0
        Assert.True(ce < returns.Average());
        ILoss loss = LossRegistry.Create($"itakura_saito(form=exp_utility, beta={beta})");
        var x = new LossInputs { ["input"] = LossTensor.Vector(Enumerable.Repeat(ce, returns.Length).ToArray()), ["target"] = LossTensor.Vector(returns) };
        Assert.Equal(0, loss.Kind.Evaluate<double>(loss, x).Gradients["input"].Values.Sum(), 1e-12);
    }

    [Fact]
    public void Madl_smooth_tends_to_madl()
    {
        LossInputs x = Sample("madl", 8);
        double[] input = x["input"].Values;
        for (int i = 0; i < input.Length; i++) if (Math.Abs(input[i]) < 0.1) input[i] += 0.2;
        ReferenceTests.Close(Eval("madl", x).Unreduced.Values, Eval("madl_smooth(k=1000)", x).Unreduced.Values, 1e-12, "k → ∞");
        Assert.All(Eval("madl", x).Gradients["input"].Values, g => Assert.Equal(0, g));
    }

    [Fact]
    public void A_list_of_tau_is_one_quantile_loss_per_column()
    {
        LossInputs x = Sample("quantile(tau=[0.1,0.5,0.9])", 9, rows: 5);
        double[] taus = [0.1, 0.5, 0.9];
        LossOutputs all = Eval("quantile(tau=[0.1,0.5,0.9], reduction=none)", x);
        for (int c = 0; c < 3; c++)
        {
            var column = new LossInputs
            {
                ["input"] = LossTensor.Vector(Enumerable.Range(0, 5).Select(r => x["input"].Values[r * 3 + c]).ToArray()),
                ["target"] = LossTensor.Vector(Enumerable.Range(0, 5).Select(r => x["target"].Values[r * 3 + c]).ToArray()),
            };
            LossOutputs one = Eval($"quantile(tau={taus[c]}, reduction=none)", column);
            for (int r = 0; r < 5; r++)
            {
                Assert.Equal(one.Unreduced.Values[r], all.Unreduced.Values[r * 3 + c]);
                Assert.Equal(one.Gradients["input"].Values[r], all.Gradients["input"].Values[r * 3 + c]);
            }
        }
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("huber")]
    [InlineData("gaussian_nll")]
    [InlineData("gg_nll(predict=both)")]
    [InlineData("barron(alpha=-2)")]
    [InlineData("quantile(tau=[0.2,0.8])")]
    public void Float_and_half_agree_with_double(string spec)
    {
        ILoss loss = LossRegistry.Create(spec);
        LossInputs x = loss.Kind.Sample(loss, new SampleSize(70, 2), new Random(10), 1);
        LossOutputs d = loss.Kind.Evaluate<double>(loss, x), f = loss.Kind.Evaluate<float>(loss, x), h = loss.Kind.Evaluate<Half>(loss, RoundToHalf(x));
        LossOutputs dh = loss.Kind.Evaluate<double>(loss, RoundToHalf(x));
        foreach (var (name, g) in d.Gradients)
        {
            ReferenceTests.Close(g.Values, f.Gradients[name].Values, 1e-5, $"float grad_{name}");
            ReferenceTests.Close(dh.Gradients[name].Values, h.Gradients[name].Values, 2e-2, $"half grad_{name}");
        }
        ReferenceTests.Close(d.Unreduced.Values, f.Unreduced.Values, 1e-5, "float unreduced");
        ReferenceTests.Close(dh.Unreduced.Values, h.Unreduced.Values, 2e-2, "half unreduced");
    }

    private static LossInputs RoundToHalf(LossInputs x)
    {
        var result = new LossInputs();
        foreach (var (k, t) in x) result[k] = new LossTensor(t.Values.Select(v => (double)(Half)v).ToArray(), t.Shape);
        return result;
    }

    private static LossInputs Subject(LossInputs x, double[] input) => new() { ["input"] = new(input, x["input"].Shape), ["target"] = x["target"] };

    private static LossInputs Without(LossInputs x, string name)
    {
        var result = new LossInputs();
        foreach (var (k, t) in x) if (k != name) result[k] = t;
        return result;
    }
}

/// <summary>What a regression call reads and writes, for the bandwidth figures of <c>losskit bench</c>.</summary>
public class RegressionCallTests
{
    [Fact]
    public void A_call_counts_every_input_once_and_every_output_it_writes()
    {
        ILoss loss = LossRegistry.Create("gaussian_nll");
        LossCall call = loss.Kind.Prepare<float>(loss, loss.Kind.Sample(loss, new SampleSize(10, 30), new Random(1)));
        long n = 10 * 30 * sizeof(float);
        Assert.Equal(3 * n, call.Bytes(RunOutputs.Loss));                 // input, target, var
        Assert.Equal(5 * n, call.Bytes(RunOutputs.Gradients));            // + grad_input, grad_var
        Assert.Equal(6 * n, call.Bytes(RunOutputs.All));                  // + unreduced
        Assert.Equal(0, call.Flops(RunOutputs.Gradients));
        Assert.Null(call.Baseline);
    }
}
