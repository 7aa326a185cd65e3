using LossKit.Catalog;
using LossKit.Core;
using LossKit.Regression;

namespace LossKit.Tests.Regression;

/// <summary><c>bag(rho)</c> against the formula written out bag by bag, its two ends (bag-level, instance-level) and the
/// identity instance = bag + variance, and its bad inputs.</summary>
public class BagTests
{
    /// <summary>ρ(ȳ_b − mean ŷ)² + (1 − ρ)·mean (ȳ_b − ŷ_i)² per bag, by LINQ over the instances of each bag.</summary>
    private static double[] Reference(double[] input, double[] target, int[] bags, double rho) =>
        Enumerable.Range(0, target.Length).Select(b =>
        {
            double[] members = Enumerable.Range(0, input.Length).Where(i => bags[i] == b).Select(i => input[i]).ToArray();
            if (members.Length == 0) return 0.0;
            return rho * Math.Pow(target[b] - members.Average(), 2) + (1 - rho) * members.Average(v => Math.Pow(target[b] - v, 2));
        }).ToArray();

    [Theory]
    [InlineData(1.0, "mean")]
    [InlineData(0.0, "sum")]
    [InlineData(0.3, "none")]
    public void Values_and_gradients_match_the_formula(double rho, string reduction)
    {
        ILoss loss = LossRegistry.Create($"bag(rho={rho}, reduction={reduction})");
        LossInputs x = loss.Kind.Sample(loss, new SampleSize(5, 4), new Random(3), 2);
        double[] input = x["input"].Values, target = (double[])x["target"].Values.Clone();
        int[] bags = x["bags"].AsIntegers("bags");
        double[] expected = Reference(input, target, bags, rho);
        LossOutputs o = loss.Kind.Evaluate<double>(loss, x);
        double scale = reduction == "mean" ? 1.0 / target.Length : 1;
        ReferenceTests.Close(expected, o.Unreduced.Values, 1e-12, "unreduced");
        ReferenceTests.Close([expected.Sum() * scale], [o.Loss], 1e-12, "loss");
        double[] numeric = Enumerable.Range(0, input.Length).Select(i => RegressionReference.Derivative(v =>
        {
            var moved = (double[])input.Clone();
            moved[i] = v;
            return Reference(moved, target, bags, rho).Sum() * scale;
        }, input[i])).ToArray();
        ReferenceTests.Close(numeric, o.Gradients["input"].Values, 1e-8, "grad_input");
    }

    [Fact]
    public void The_instance_level_loss_is_the_bag_level_loss_plus_the_bags_variance_and_an_empty_bag_costs_nothing()
    {
        double[] input = [1, 3, -2, 0.5, 4];
        double[] target = [2, 0, 7];                 // bag 2 has no instances
        int[] bags = [0, 0, 1, 1, 0];
        var bag = new double[3];
        var instance = new double[3];
        new BagLoss(rho: 1, reduction: Reduction.None).Compute<double>(input, target, bags, bag);
        new BagLoss(rho: 0, reduction: Reduction.None).Compute<double>(input, target, bags, instance);
        double Variance(params double[] v) => v.Average(a => Math.Pow(a - v.Average(), 2));
        Assert.Equal(bag[0] + Variance(1, 3, 4), instance[0], 1e-12);
        Assert.Equal(bag[1] + Variance(-2, 0.5), instance[1], 1e-12);
        Assert.Equal(0, bag[2]);
        Assert.Equal(0, instance[2]);
    }

    [Theory]
    [InlineData("input=3:1,2,3; target=2:1,2; bags=3:0,2,1", "bags", "bags[1] = 2 is not a bag: expected an id in [0, 2) (one per target).")]
    [InlineData("input=3:1,2,3; target=2:1,2; bags=2:0,1", "bags", "bags has shape [2] but input has [3]; give the bag of each instance, [3].")]
    [InlineData("input=3:1,2,3; target=2:1,2; bags=3:0,0.5,1", "bags", "bags[1] = 0.5 is not an integer.")]
    [InlineData("input=3x1:1,2,3; target=2:1,2; bags=3:0,0,1", "input", "input has shape [3, 1]: expected one prediction per instance, [N].")]
    [InlineData("input=3:1,2,3; target=2:1,NaN; bags=3:0,0,1", "target", "target[1] is NaN: inputs must be numbers")]
    public void Bad_inputs_name_the_input_and_the_element(string inputs, string parameter, string message)
    {
        ILoss loss = LossRegistry.Create("bag");
        var parsed = new LossInputs();
        foreach (string part in inputs.Split(';', StringSplitOptions.TrimEntries))
        {
            string[] nameRest = part.Split('='), shapeValues = nameRest[1].Split(':');
            parsed[nameRest[0]] = new LossTensor(shapeValues[1].Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
                shapeValues[0].Split('x').Select(int.Parse).ToArray());
        }
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Kind.Prepare<double>(loss, parsed).Run());
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(message, e.Message);
    }
}
