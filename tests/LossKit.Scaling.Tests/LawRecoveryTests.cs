using LossKit.Scaling;

namespace LossKit.Scaling.Tests;

/// <summary>Every law, fitted with its own start grid and the Chinchilla objective to data generated from known
/// parameters, recovers them.</summary>
public class LawRecoveryTests
{
    public static TheoryData<string> Laws() => [.. Generated.Cases().Select(c => c.Spec)];

    [Theory]
    [MemberData(nameof(Laws))]
    public void RecoversKnownParametersFromNoiselessData(string spec)
    {
        var (_, truth, x) = Generated.Cases().Single(c => c.Spec == spec);
        ScalingLaw law = LawRegistry.Create(spec);
        LawData data = Generated.Make(law, truth, x);
        FitResult fit = Fitter.Fit(law, data);
        for (int i = 0; i < truth.Length; i++)
            Assert.True(Math.Abs(fit.Values[i] - truth[i]) <= 1e-3 * Math.Abs(truth[i]),
                $"{spec}: {law.Card.Parameters[i].Name} = {fit.Values[i]:G8}, expected {truth[i]:G8} (objective {fit.Objective:E2})");
        double[] fitted = fit.Fitted();
        for (int r = 0; r < data.Rows; r++) Assert.Equal(data.Y[r], fitted[r], 1e-6 * data.Y[r]);
    }

    [Theory]
    [MemberData(nameof(Laws))]
    public void LeastSquaresRecoversThemToo(string spec)
    {
        var (_, truth, x) = Generated.Cases().Single(c => c.Spec == spec);
        ScalingLaw law = LawRegistry.Create(spec);
        FitResult fit = Fitter.Fit(law, Generated.Make(law, truth, x), new FitOptions { Objective = FitObjective.LeastSquares });
        for (int i = 0; i < truth.Length; i++)
            Assert.True(Math.Abs(fit.Values[i] - truth[i]) <= 1e-3 * Math.Abs(truth[i]),
                $"{spec}: {law.Card.Parameters[i].Name} = {fit.Values[i]:G8}, expected {truth[i]:G8}");
    }

    [Fact]
    public void ChinchillaWithNoiseHasIntervalsThatCoverTheTruth()
    {
        var (_, truth, x) = Generated.Cases().Single(c => c.Spec == "chinchilla");
        var law = new ChinchillaLaw();
        LawData data = Generated.Make(law, truth, x, noise: 0.003, seed: 7);
        FitResult fit = Fitter.Fit(law, data, new FitOptions { Bootstrap = 200, Seed = 3 });
        Assert.Equal(200, fit.BootstrapParameters.Count);
        for (int i = 0; i < truth.Length; i++)
        {
            var iv = fit.Intervals[law.Card.Parameters[i].Name];
            Assert.True(iv.Low <= fit.Values[i] && fit.Values[i] <= iv.High, $"{law.Card.Parameters[i].Name}: fit {fit.Values[i]} outside [{iv.Low}, {iv.High}]");
            Assert.True(iv.Low <= truth[i] && truth[i] <= iv.High, $"{law.Card.Parameters[i].Name}: truth {truth[i]} outside [{iv.Low}, {iv.High}]");
        }
    }
}
