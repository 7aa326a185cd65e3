using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Ranking;

namespace LossKit.Tests.Ranking;

/// <summary>Per-list weights (the optional <c>weights</c> input, one per list) for every ranking loss: each list's loss
/// and gradient are multiplied by its weight, a whole-number weight is the list repeated, weight 0 removes the list.</summary>
public class RankingWeightTests
{
    public static TheoryData<string> Specs => new(LossRegistry.All.Select(d => d.Card.Name).Where(name => LossRegistry.Create(name) is RankingLoss));

    private static (double[] S, double[] Y, double[] Mask) Batch()
    {
        var rng = new Random(11);
        int[] lengths = [5, 3, 5];
        double[] s = new double[15], y = new double[15], mask = new double[15];
        for (int r = 0; r < 3; r++)
            for (int j = 0; j < 5; j++)
                (s[r * 5 + j], y[r * 5 + j], mask[r * 5 + j]) = (2 * rng.NextDouble() - 1, rng.Next(4), j < lengths[r] ? 1 : 0);
        return (s, y, mask);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void EachListsLossAndGradientAreScaledByItsWeight(string spec)
    {
        var (s, y, mask) = Batch();
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec));
        double[] weights = [0.5, 0, 3];
        double[] u = new double[3], g = new double[15], uw = new double[3], gw = new double[15];
        double plain = loss.Compute<double>(s, 5, y, mask, u, g);
        double weighted = loss.Compute<double>(s, 5, y, mask, uw, gw, weights);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(weights[r] * u[r], uw[r], 14);
            for (int j = 0; j < 5; j++) Assert.Equal(weights[r] * g[r * 5 + j], gw[r * 5 + j], 14);
        }
        Assert.Equal(uw.Sum() / 3, weighted, 14);   // mean divides by N, not by Σw
        // Weights of 1 change no bit.
        var u1 = new double[3];
        Assert.Equal(plain, loss.Compute<double>(s, 5, y, mask, u1, default, [1.0, 1, 1]));
        Assert.Equal(u, u1);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void AWholeNumberWeightIsTheListRepeated(string spec)
    {
        var (s, y, mask) = Batch();
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec + "(reduction=sum)"));
        double weighted = loss.Compute<double>(s, 5, y, mask, default, default, [2.0, 1, 1]);
        double[] s2 = [.. s, .. s[..5]], y2 = [.. y, .. y[..5]], m2 = [.. mask, .. mask[..5]];
        double repeated = loss.Compute<double>(s2, 5, y2, m2);
        Assert.True(Math.Abs(repeated - weighted) <= 1e-13 * Math.Max(1, Math.Abs(repeated)), $"{spec}: {weighted} vs {repeated}");
    }

    [Fact]
    public void TheKindTakesWeightsAndTheGradientStaysExact()
    {
        var (s, y, mask) = Batch();
        var inputs = new LossInputs
        {
            ["scores"] = LossTensor.Matrix(s, 3, 5), ["labels"] = LossTensor.Matrix(y, 3, 5), ["mask"] = LossTensor.Matrix(mask, 3, 5),
            ["weights"] = LossTensor.Vector([0.25, 2, 1.5]),
        };
        foreach (string spec in new[] { "lambdarank", "listmle", "neural_ndcg(tau=0.5)", "psl" })
            Assert.All(GradientCheck.Check(LossRegistry.Create(spec), inputs), r => Assert.True(r.Passed, r.ToString()));
        inputs["weights"] = LossTensor.Matrix([1.0, 1, 1, 1, 1, 1], 3, 2);
        var shape = Assert.Throws<ArgumentException>(() => RankingKind.Instance.Evaluate<double>(new RankNetLoss(), inputs));
        Assert.Equal("weights", shape.ParamName);
    }

    [Fact]
    public void BadWeightsNameTheList()
    {
        var (s, y, mask) = Batch();
        var loss = new RankNetLoss();
        var negative = Assert.Throws<RowException>(() => loss.Compute<double>(s, 5, y, mask, default, default, [1.0, -0.5, 1]));
        Assert.Equal("weights", negative.ParamName);
        Assert.Equal(1, negative.Row);
        Assert.Contains("weights[1] = -0.5", negative.Message);
        Assert.Contains("weights[2] = NaN", Assert.Throws<RowException>(() => loss.Compute<double>(s, 5, y, mask, default, default, [1.0, 1, double.NaN])).Message);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => loss.Compute<double>(s, 5, y, mask, default, default, [1.0, 1])).ParamName);
    }
}
