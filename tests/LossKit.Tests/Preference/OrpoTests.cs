using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Preference;

namespace LossKit.Tests.Preference;

/// <summary>ORPO's odds-ratio term against TRL's <c>odds_ratio_loss</c> written out, its gradient by finite differences,
/// the rewards TRL logs, the cap at ā = 0 and bad inputs.</summary>
public class OrpoTests
{
    /// <summary>TRL's formula in double, term by term: log odds = (ā_c − ā_r) − (log(1 − e^{ā_c}) − log(1 − e^{ā_r})),
    /// loss = −β·logsigmoid(log odds) (TRL returns β·logsigmoid and subtracts it).</summary>
    private static double Reference(double chosen, double rejected, double beta)
    {
        double logOdds = (chosen - rejected) - (Math.Log(1 - Math.Exp(chosen)) - Math.Log(1 - Math.Exp(rejected)));
        return -beta * -Math.Log(1 + Math.Exp(-logOdds));
    }

    private static readonly double[] Chosen = [-12, -30, -4.5, -80], Rejected = [-15, -20, -9, -60];
    private static readonly double[] ChosenLengths = [10, 12, 3, 40], RejectedLengths = [8, 15, 6, 25];

    [Fact]
    public void MatchesTrlsOddsRatioLossOnTokenAverages()
    {
        var loss = new OrpoLoss(beta: 0.25, reduction: Reduction.None);
        var u = new double[4];
        double sum = loss.Compute<double>(Chosen, Rejected, [], [], ChosenLengths, RejectedLengths, u);
        for (int i = 0; i < 4; i++)
            Assert.Equal(Reference(Chosen[i] / ChosenLengths[i], Rejected[i] / RejectedLengths[i], 0.25), u[i], 13);
        Assert.Equal(u.Sum(), sum, 14);
        // Without lengths the inputs are the averages themselves.
        Assert.Equal(Reference(-0.7, -1.9, 0.1), new OrpoLoss().Compute<double>([-0.7], [-1.9], [], [], [], []), 14);
    }

    [Fact]
    public void GradientIsExactForBothPolicyInputs()
    {
        var inputs = new LossInputs
        {
            ["policy_chosen_logps"] = LossTensor.Vector(Chosen), ["policy_rejected_logps"] = LossTensor.Vector(Rejected),
            ["chosen_lengths"] = LossTensor.Vector(ChosenLengths), ["rejected_lengths"] = LossTensor.Vector(RejectedLengths),
        };
        foreach (string spec in new[] { "orpo", "orpo(beta=2, reduction=sum)" })
        {
            var results = GradientCheck.Check(LossRegistry.Create(spec), inputs);
            Assert.Equal(2, results.Count);
            Assert.All(results, r => Assert.True(r.Passed, r.ToString()));
        }
        // Near the cap, where 1/(1 − e^ā) is large, and far from it.
        var near = new OrpoLoss();
        Assert.True(GradientCheck.Check((x, g) => near.Compute<double>([x[0]], [x[1]], [], [], [], [], default,
            g is null ? default : g.AsSpan(0, 1), g is null ? default : g.AsSpan(1, 1)), [-1e-3, -2e-3]).Passed);
    }

    [Fact]
    public void AccurateCloseToProbabilityOne()
    {
        // ā = −1e-6: log(1 − e^ā) = log(1e-6·(1 − 5e-7 + ...)); the naive log(1 − exp(ā)) loses ten digits here.
        double a = -1e-6, logOneMinus = Math.Log(1e-6) + Math.Log(1 - 0.5e-6 + 1e-12 / 6);
        double logOdds = (a - logOneMinus) - (-2 - Math.Log(1 - Math.Exp(-2)));
        double expected = 0.1 * Math.Log(1 + Math.Exp(-logOdds));
        Assert.Equal(expected, new OrpoLoss().Compute<double>([a], [-2], [], [], [], []), 15);
    }

    [Fact]
    public void AverageLogProbabilitiesAreCappedBelowZero()
    {
        var loss = new OrpoLoss(reduction: Reduction.None);
        double cap = OrpoLoss.MaxAverageLogProbability;
        var atCap = new double[1];
        loss.Compute<double>([cap], [-1], [], [], [], [], atCap);
        foreach (double a in new[] { 0.0, -0.0, -1e-9, -5e-324 })
        {
            double[] u = new double[1], gc = new double[1], gr = new double[1];
            loss.Compute<double>([a], [-1], [], [], [], [], u, gc, gr);
            Assert.Equal(atCap[0], u[0]);
            Assert.Equal(0, gc[0]);   // no gradient through the cap
            Assert.True(double.IsFinite(gr[0]) && gr[0] != 0);
            loss.Compute<double>([-1], [a], [], [], [], [], u, gc, gr);
            Assert.True(double.IsFinite(u[0]) && u[0] > 1);   // the rejected sequence is certain: a large, finite loss
            Assert.Equal(0, gr[0]);
        }
    }

    [Fact]
    public void SwappingChosenAndRejectedChangesTheLossByBetaTimesTheLogOdds()
    {
        // −log σ(L) − (−log σ(−L)) = −L.
        var loss = new OrpoLoss(beta: 0.5);
        double c = -0.3, r = -1.2, logOdds = (c - Math.Log(1 - Math.Exp(c))) - (r - Math.Log(1 - Math.Exp(r)));
        double forward = loss.Compute<double>([c], [r], [], [], [], []), backward = loss.Compute<double>([r], [c], [], [], [], []);
        Assert.Equal(-0.5 * logOdds, forward - backward, 14);
    }

    [Fact]
    public void RewardsAreBetaTimesTheTokenAverages()
    {
        var rewards = new OrpoLoss(beta: 0.2).Rewards(Chosen, Rejected, chosenLengths: ChosenLengths, rejectedLengths: RejectedLengths);
        double[] c = [.. Chosen.Select((v, i) => 0.2 * v / ChosenLengths[i])], r = [.. Rejected.Select((v, i) => 0.2 * v / RejectedLengths[i])];
        Assert.Equal(c.Average(), rewards.ChosenReward, 14);
        Assert.Equal(r.Average(), rewards.RejectedReward, 14);
        Assert.Equal(c.Average() - r.Average(), rewards.Margin, 14);
        Assert.Equal(c.Zip(r).Count(p => p.First > p.Second) / 4.0, rewards.Accuracy);
    }

    [Fact]
    public void LogOddsAreTrlsTwoFurtherMetrics()
    {
        var (ratio, odds) = new OrpoLoss(beta: 0.2).LogOdds(Chosen, Rejected, ChosenLengths, RejectedLengths);
        double[] logOdds = [.. Enumerable.Range(0, 4).Select(i =>
        {
            double c = Chosen[i] / ChosenLengths[i], r = Rejected[i] / RejectedLengths[i];
            return (c - r) - (Math.Log(1 - Math.Exp(c)) - Math.Log(1 - Math.Exp(r)));
        })];
        Assert.Equal(logOdds.Average(), odds, 13);
        Assert.Equal(logOdds.Average(l => -Math.Log(1 + Math.Exp(-l))), ratio, 13);
    }

    [Fact]
    public void TheKindTakesLengthsAndGivesBothGradients()
    {
        var inputs = new LossInputs
        {
            ["policy_chosen_logps"] = LossTensor.Vector([-10.0, -11]), ["policy_rejected_logps"] = LossTensor.Vector([-12.0, -9]),
            ["chosen_lengths"] = LossTensor.Vector([5.0, 4]), ["rejected_lengths"] = LossTensor.Vector([6.0, 3]),
        };
        LossOutputs o = PreferenceKind.Instance.Evaluate<double>(new OrpoLoss(), inputs);
        Assert.Equal([2], o.Unreduced.Shape);
        Assert.Equal(["policy_chosen_logps", "policy_rejected_logps"], o.Gradients.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Reference(-2, -2, 0.1), o.Unreduced.Values[0], 14);
    }

    [Fact]
    public void BadInputsNameTheInputAndThePair()
    {
        var loss = new OrpoLoss();
        var positive = Assert.Throws<RowException>(() => loss.Compute<double>([-1, -2], [-1, 0.1], [], [], [], []));
        Assert.Equal("policy_rejected_logps", positive.ParamName);
        Assert.Equal(1, positive.Row);
        Assert.Contains("policy_rejected_logps[1] = 0.1", positive.Message);
        var length = Assert.Throws<RowException>(() => loss.Compute<double>([-1], [-2], [], [], [2.5], [3]));
        Assert.Equal("chosen_lengths", length.ParamName);
        Assert.Equal("policy_rejected_logps", Assert.Throws<ArgumentException>(() => loss.Compute<double>([-1, -2], [-1], [], [], [], [])).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentOutOfRangeException>(() => new OrpoLoss(beta: 0)).ParamName);
        Assert.False(loss.UsesReference);
    }
}
