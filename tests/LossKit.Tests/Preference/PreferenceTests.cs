using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Preference;
using LossKit.Tests.Checking;

namespace LossKit.Tests.Preference;

public class PreferenceTests
{
    private sealed record Case(string name, string spec, string dtype, double[] policy_chosen_logps, double[] policy_rejected_logps,
        double[] reference_chosen_logps, double[] reference_rejected_logps, double[] chosen_lengths, double[] rejected_lengths,
        double loss, double[] unreduced, double[] grad_policy_chosen_logps, double[] grad_policy_rejected_logps);

    private sealed record FixtureFile(string torch_version, Case[] cases);

    private static readonly Lazy<Case[]> s_cases = new(() =>
        JsonSerializer.Deserialize<FixtureFile>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "preference.json")))!.cases);

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in s_cases.Value) data.Add(c.name);
        return data;
    }

    [Fact]
    public void FixturesCoverEveryLossType()
    {
        foreach (string type in DpoLoss.LossTypes)
            Assert.Contains(s_cases.Value, c => c.spec.Contains($"loss_type={type}", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.spec.StartsWith("simpo", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.spec.StartsWith("cpo", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.spec.Contains("reference_free=true", StringComparison.Ordinal));
        Assert.Contains(s_cases.Value, c => c.dtype == "float32");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesTheTrlFormulasInTorch(string name)
    {
        Case c = s_cases.Value.Single(x => x.name == name);
        var loss = Assert.IsAssignableFrom<PreferenceLoss>(LossRegistry.Create(c.spec));
        int n = c.policy_chosen_logps.Length;
        double value;
        double[] unreduced = new double[n], gc = new double[n], gr = new double[n];
        double tolerance;
        if (c.dtype == "float64")
        {
            value = loss.Compute<double>(c.policy_chosen_logps, c.policy_rejected_logps, c.reference_chosen_logps, c.reference_rejected_logps,
                c.chosen_lengths, c.rejected_lengths, unreduced, gc, gr);
            tolerance = 1e-12;
        }
        else
        {
            static float[] F(double[] v) => [.. v.Select(x => (float)x)];
            float[] u = new float[n], g1 = new float[n], g2 = new float[n];
            value = loss.Compute<float>(F(c.policy_chosen_logps), F(c.policy_rejected_logps), F(c.reference_chosen_logps), F(c.reference_rejected_logps),
                F(c.chosen_lengths), F(c.rejected_lengths), u, g1, g2);
            (unreduced, gc, gr) = ([.. u.Select(x => (double)x)], [.. g1.Select(x => (double)x)], [.. g2.Select(x => (double)x)]);
            tolerance = 1e-5;
        }
        Assert.True(Math.Abs(value - c.loss) <= tolerance * Math.Max(1, Math.Abs(c.loss)), $"{c.spec}: loss {value} vs {c.loss}");
        Assert.True(TestChecks.NormError(unreduced, c.unreduced) <= tolerance, $"{c.spec}: unreduced off by {TestChecks.NormError(unreduced, c.unreduced)}");
        Assert.True(TestChecks.NormError(gc, c.grad_policy_chosen_logps) <= tolerance, $"{c.spec}: grad chosen off by {TestChecks.NormError(gc, c.grad_policy_chosen_logps)}");
        Assert.True(TestChecks.NormError(gr, c.grad_policy_rejected_logps) <= tolerance, $"{c.spec}: grad rejected off by {TestChecks.NormError(gr, c.grad_policy_rejected_logps)}");
    }

    [Fact]
    public void SigmoidWithoutSmoothingIsTheDpoPaperFormula()
    {
        double c = -12, r = -15, cr = -13, rr = -14, beta = 0.1;
        double delta = (c - cr) - (r - rr), expected = Math.Log(1 + Math.Exp(-beta * delta));
        Assert.Equal(expected, new DpoLoss().Compute<double>([c], [r], [cr], [rr], [], []), 14);
    }

    [Fact]
    public void RewardsAreWhatTrlLogs()
    {
        var dpo = new DpoLoss(beta: 0.5);
        PreferenceRewards rewards = dpo.Rewards([-10, -20], [-12, -18], [-11, -19], [-11, -19]);
        Assert.Equal(0.5 * ((1 + -1) / 2.0), rewards.ChosenReward, 14);
        Assert.Equal(0.5 * ((-1 + 1) / 2.0), rewards.RejectedReward, 14);
        Assert.Equal(0.5, rewards.Accuracy);
        Assert.Equal(2.0 * (-10.0 / 5), new SimPoLoss().Rewards([-10], [-12], chosenLengths: [5], rejectedLengths: [4]).ChosenReward, 14);
    }

    [Fact]
    public void BadInputsNameTheInputAndThePair()
    {
        var dpo = new DpoLoss();
        var positive = Assert.Throws<RowException>(() => dpo.Compute<double>([-1, 0.5], [-1, -2], [-1, -1], [-1, -1], [], []));
        Assert.Equal("policy_chosen_logps", positive.ParamName);
        Assert.Equal(1, positive.Row);
        Assert.Contains("policy_chosen_logps[1] = 0.5", positive.Message);
        var missing = Assert.Throws<ArgumentException>(() => dpo.Compute<double>([-1], [-2], [], [], [], []));
        Assert.Equal("reference_chosen_logps", missing.ParamName);
        var shorter = Assert.Throws<ArgumentException>(() => dpo.Compute<double>([-1, -2], [-2], [-1, -1], [-1, -1], [], []));
        Assert.Equal("policy_rejected_logps", shorter.ParamName);
        var length = Assert.Throws<RowException>(() => new SimPoLoss().Compute<double>([-1], [-2], [], [], [0], [3]));
        Assert.Equal("chosen_lengths", length.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DpoLoss(lossType: "exo_pair"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DpoLoss(lossType: "robust", labelSmoothing: 0.5));
        Assert.Throws<ArgumentException>(() => LossRegistry.Create("dpo(loss_type=kto)"));
    }

    [Fact]
    public void ReferenceFreeNeedsNoReference()
    {
        var free = new DpoLoss(referenceFree: true);
        Assert.Equal(new DpoLoss().Compute<double>([-3], [-4], [0], [0], [], []), free.Compute<double>([-3], [-4], [], [], [], []), 15);
        Assert.False(free.UsesReference);
    }

    [Fact]
    public void TheKindTakesTrlNamesAndGivesBothGradients()
    {
        var inputs = new LossInputs
        {
            ["policy_chosen_logps"] = LossTensor.Vector([-10.0, -11]), ["policy_rejected_logps"] = LossTensor.Vector([-12.0, -9]),
            ["reference_chosen_logps"] = LossTensor.Vector([-10.5, -10]), ["reference_rejected_logps"] = LossTensor.Vector([-11.0, -10]),
        };
        LossOutputs o = PreferenceKind.Instance.Evaluate<double>(new DpoLoss(), inputs);
        Assert.Equal([2], o.Unreduced.Shape);
        Assert.Equal(["policy_chosen_logps", "policy_rejected_logps"], o.Gradients.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(-o.Gradients["policy_chosen_logps"].Values[0], o.Gradients["policy_rejected_logps"].Values[0], 15);
    }
}
