using LossKit.Checking;
using LossKit.Scaling;

namespace LossKit.Scaling.Tests;

/// <summary>The exact gradient of every objective of every law (through the law's log-Jacobian) against the project's
/// finite-difference checker, at points away from the optimum (so residuals are of every size) and on bootstrap-like
/// weights.</summary>
public class GradientTests
{
    public static TheoryData<string, FitObjective> Cases()
    {
        var data = new TheoryData<string, FitObjective>();
        foreach (var c in Generated.Cases())
            foreach (var o in new[] { FitObjective.Huber, FitObjective.LeastSquares })
                data.Add(c.Spec, o);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ObjectiveGradientMatchesFiniteDifferences(string spec, FitObjective objective)
    {
        var (_, truth, x) = Generated.Cases().Single(c => c.Spec == spec);
        ScalingLaw law = LawRegistry.Create(spec);
        LawData data = Generated.Make(law, truth, x, noise: 0.01, seed: 5);
        var rng = new Random(11);
        double[] weights = [.. Enumerable.Range(0, data.Rows).Select(_ => (double)rng.Next(3))];
        // Huber's δ is raised so that some residuals are inside (quadratic) and some outside (linear) at the checked point.
        var options = new FitOptions { Objective = objective, Delta = 0.02 };
        double[] theta = law.ToTheta(truth);
        for (int j = 0; j < theta.Length; j++) theta[j] += 0.02 * (rng.NextDouble() - 0.5) * Math.Max(1, Math.Abs(theta[j]));
        double value = Fitter.Objective(law, data, weights, options, theta, default);
        Assert.True(double.IsFinite(value) && value > 0, $"{spec}: objective {value} at the checked point");
        var result = GradientCheck.Check((t, g) => Fitter.Objective(law, data, weights, options, t, g ?? default), theta, $"{spec} {objective}");
        Assert.True(result.Passed, result.ToString());
    }

    [Theory]
    [MemberData(nameof(LawRecoveryTests.Laws), MemberType = typeof(LawRecoveryTests))]
    public void LogPredictionJacobianMatchesFiniteDifferences(string spec)
    {
        var (_, truth, x) = Generated.Cases().Single(c => c.Spec == spec);
        ScalingLaw law = LawRegistry.Create(spec);
        LawData data = Generated.Make(law, truth, x);
        double[] theta = law.ToTheta(truth);
        int p = theta.Length;
        var jac = new double[data.Rows * p];
        law.LogPredict(data, theta, new double[data.Rows], jac);
        foreach (int row in new[] { 0, data.Rows / 2, data.Rows - 1 })
        {
            double LogL(double[] t)
            {
                var l = new double[data.Rows];
                law.LogPredict(data, t, l, default);
                return l[row];
            }
            var result = GradientCheck.Check((t, g) =>
            {
                if (g is not null) Array.Copy(jac, row * p, g, 0, p);
                return LogL(t);
            }, theta, $"{spec} row {row}");
            Assert.True(result.Passed, result.ToString());
        }
    }
}
