using LossKit.Scaling;

namespace LossKit.Scaling.Tests;

/// <summary>The θ coordinates each law declares: one per card parameter, a log coordinate is the log of its parameter,
/// and ToTheta and ToParameters are inverse.</summary>
public class ThetaCoordinateTests
{
    public static TheoryData<string> Specs()
    {
        var data = new TheoryData<string>();
        foreach (var c in Generated.Cases()) data.Add(c.Spec);
        return data;
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Theta_has_one_coordinate_per_card_parameter_and_round_trips(string spec)
    {
        var (_, truth, _) = Generated.Cases().Single(c => c.Spec == spec);
        ScalingLaw law = LawRegistry.Create(spec);
        Assert.Equal(law.ParameterCount, law.ThetaNames.Count);
        double[] theta = law.ToTheta(truth);
        Assert.Equal(law.ParameterCount, theta.Length);
        double[] back = law.ToParameters(theta);
        for (int j = 0; j < truth.Length; j++) Assert.True(Math.Abs(back[j] - truth[j]) <= 1e-12 * Math.Abs(truth[j]), $"parameter {j}: {back[j]} ≠ {truth[j]}");
    }

    [Fact]
    public void A_log_coordinate_is_the_log_of_its_parameter_in_the_cards_order()
    {
        // power: parameters (E, A, alpha), θ = (log A, log E, alpha).
        var law = LawRegistry.Create("power");
        Assert.Equal(["a = log A", "e = log E", "alpha"], law.ThetaNames);
        Assert.Equal([Math.Log(3.0), Math.Log(2.0), 0.5], law.ToTheta([2, 3, 0.5]));
        Assert.Equal([Math.Exp(0.7), Math.Exp(1.1), 0.5], law.ToParameters([1.1, 0.7, 0.5]));
    }
}
