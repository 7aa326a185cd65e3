using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Regression;

namespace LossKit.Tests.Regression;

/// <summary>Bad input to a regression loss is one clear <see cref="ArgumentException"/> naming the argument, the element,
/// the value and what was expected (shapes: both shapes), whichever thread finds it.</summary>
[Collection(nameof(LossKit.Tests.Checking.ThreadCountCollection))]
public class BadInputTests
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        // spec, inputs (name=shape:values; ...), the parameter the error names, words of its message
        { "mse", "input=2x2:1,2,3,4; target=4:1,2,3,4", "target", "target has shape [4] but input has [2, 2]; they must have the same shape." },
        { "mse", "input=2:1,2; target=2:1,nan", "target", "target[1] is NaN: inputs must be numbers" },
        { "l1", "input=2:1,2; target=2:inf,1", "target", "target[0] = Infinity is out of range for l1: expected a finite number." },
        { "msle", "input=3:1,2,3; target=3:1,-1,2", "target", "target[1] = -1 is out of range for msle: expected a finite number ≥ 0." },
        { "msle", "input=3:1,-0.5,3; target=3:1,1,2", "input", "input[1] = -0.5 is out of range for msle: expected a number ≥ 0." },
        { "poisson_nll", "input=2:1,2; target=2:3,-2", "target", "target[1] = -2 is out of range for poisson_nll: expected a finite number ≥ 0." },
        { "poisson_nll(log_input=false)", "input=2:-1,2; target=2:3,2", "input", "input[0] = -1 is out of range for poisson_nll: expected a number ≥ 0." },
        { "gamma_dev", "input=2:1,2; target=2:3,0", "target", "target[1] = 0 is out of range for gamma_dev: expected a finite number > 0." },
        { "itakura_saito", "input=2:1,2; target=2:0,1", "target", "target[0] = 0 is out of range for itakura_saito: expected a finite number > 0." },
        { "tweedie", "input=2:1,2; target=2:1,-3", "target", "target[1] = -3 is out of range for tweedie: expected a finite number ≥ 0." },
        { "gaussian_nll", "input=2:1,2; target=2:1,2", "var", "the input has no \"var\": regression losses take \"input\" (any shape), \"target\" (same as input), \"var\"" },
        { "gaussian_nll", "input=2:1,2; target=2:1,2; var=2:0.5,-0.1", "var", "var[1] = -0.1 is out of range for gaussian_nll: expected a number ≥ 0." },
        { "gaussian_nll", "input=2x3:1,2,3,4,5,6; target=2x3:1,2,3,4,5,6; var=2:1,-2", "var", "var[1] = -2 is out of range for gaussian_nll: expected a number ≥ 0." },
        { "gaussian_nll", "input=2x3:1,2,3,4,5,6; target=2x3:1,2,3,4,5,6; var=3:1,2,3", "var", "var has shape [3] but input has [2, 3]; expected the input's shape, or the input's shape with the last dimension 1 or dropped" },
        { "gaussian_nll", "input=2x3:1,2,3,4,5,6; target=2x3:1,2,3,4,5,6; var=2x2:1,2,3,4", "var", "var has shape [2, 2] but input has [2, 3]" },
        { "laplace_nll", "input=2:1,2; target=2:1,2; scale=2:1,-1", "scale", "scale[1] = -1 is out of range for laplace_nll: expected a number ≥ 0." },
        { "laplace_nll", "input=2:1,2; target=2:1,2; scale=1:1", "scale", "scale has shape [1] but input has [2]; they must have the same shape." },
        { "gg_nll(predict=beta)", "input=2:1,2; target=2:1,2; beta=2:1,-1", "beta", "beta[1] = -1 is out of range for gg_nll: expected a number ≥ 0." },
        { "gg_nll", "input=2:1,2; target=2:1,2; alpha=2:1,1", "alpha", "\"alpha\" is not an input of regression losses: they take \"input\" (any shape), \"target\" (same as input)." },
        { "quantile(tau=[0.1,0.9])", "input=2x3:1,2,3,4,5,6; target=2x3:1,2,3,4,5,6", "input", "input has shape [2, 3]: quantile(tau=[0.1,0.9]) has 2 columns, so the last dimension must be 2." },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Bad_inputs_give_one_clear_message(string spec, string inputs, string parameter, string message)
    {
        ILoss loss = LossRegistry.Create(spec);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Kind.Prepare<double>(loss, Parse(inputs)).Run());
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("barron(alpha=0.5, limit=minus_inf)", "limit", "give alpha = 0.5 or limit = minus_inf, not both")]
    [InlineData("huber(delta=0)", "delta", "delta = 0 is out of range: expected 0 < value")]
    [InlineData("quantile(tau=[0.5,1])", "tau", "tau[1] = 1 is out of range: expected 0 < each value < 1")]
    [InlineData("tweedie(power=2)", "power", "power = 2 is out of range: expected 1 < value < 2")]
    public void Bad_parameters_name_the_parameter_value_and_range(string spec, string parameter, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create(spec));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_first_bad_target_is_reported_whatever_the_thread_count()
    {
        var loss = new MsleLoss();
        int n = 5 * ElementwiseKernel.TargetBlockElements;
        var input = new float[n];
        var target = new float[n];
        target[4 * ElementwiseKernel.TargetBlockElements + 3] = -1;
        target[ElementwiseKernel.TargetBlockElements + 7] = -2;
        foreach (int threads in new[] { 1, 2 })
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var e = Assert.Throws<RowException>(() => loss.Compute<float>(input, target));
                Assert.Equal(ElementwiseKernel.TargetBlockElements + 7, e.Row);
                Assert.Contains($"target[{ElementwiseKernel.TargetBlockElements + 7}] = -2", e.Message);
            }
            finally { Parallelism.MaxThreads = saved; }
        }
    }

    [Fact]
    public void Library_call_lengths_are_checked()
    {
        var mse = new MseLoss();
        Assert.Contains("target has 2 values but input has 3", Assert.Throws<ArgumentException>(() => mse.Compute<double>([1, 2, 3], [1, 2])).Message);
        Assert.Contains("gradInput has 1 values but input has 2", Assert.Throws<ArgumentException>(() => mse.Compute<double>([1, 2], [1, 2], default, new double[1])).Message);
        Assert.Contains("mse takes no predicted parameters", Assert.Throws<ArgumentException>(() =>
            mse.Compute(new RegressionBatch<double>([1, 2], [1, 2], first: new double[] { 1, 1 }))).Message);
        Assert.Contains("input is empty", Assert.Throws<ArgumentException>(() => mse.Compute<double>([], [])).Message);
    }

    /// <summary>"input=2x3:1,2,3,4,5,6; target=..." as named tensors (nan and inf allowed).</summary>
    private static LossInputs Parse(string text)
    {
        var inputs = new LossInputs();
        foreach (string part in text.Split(';', StringSplitOptions.TrimEntries))
        {
            string[] nameRest = part.Split('='), shapeValues = nameRest[1].Split(':');
            int[] shape = shapeValues[0].Split('x').Select(int.Parse).ToArray();
            double[] values = shapeValues[1].Split(',').Select(v => v switch
            {
                "nan" => double.NaN,
                "inf" => double.PositiveInfinity,
                _ => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture),
            }).ToArray();
            inputs[nameRest[0]] = new LossTensor(values, shape);
        }
        return inputs;
    }
}
