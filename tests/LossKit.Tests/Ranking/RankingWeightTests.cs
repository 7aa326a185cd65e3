using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Ranking;

namespace LossKit.Tests.Ranking;

/// <summary>Per-list weights (the optional <c>weights</c> input, one per list) for every ranking loss: each list's loss
/// and gradient are multiplied by its weight, a whole-number weight is the list repeated, weight 0 removes the list.
/// Pair weights (<c>item_weights</c>, Rax's item weights) for the pairwise losses: pair (i, j) with y_i &gt; y_j is
/// weighted by w_i.</summary>
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

    public static TheoryData<string> PairwiseSpecs => new("ranknet", "pair_hinge", "bpr", "lambdarank");

    private static double[] ItemWeights() => [.. Enumerable.Range(0, 15).Select(i => 0.25 + (i * 7 % 5) * 0.5)];

    [Fact]
    public void PairWeightsAreThePreferredItemsWeight()
    {
        // One list, written out: ranknet Σ_{y_i > y_j} w_i·log(1 + e^{−(s_i − s_j)}); bpr the mean over (y_i > 0 = y_j) of w_i·(−log σ).
        double[] s = [0.3, -1.2, 2, 0.7], y = [2, 0, 1, 0], w = [1.5, 0.2, 3, 0.7];
        double ranknet = 0, bpr = 0;
        int bprPairs = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                if (y[i] > y[j]) ranknet += w[i] * Math.Log(1 + Math.Exp(-(s[i] - s[j])));
                if (y[i] > 0 && y[j] == 0) { bpr += w[i] * Math.Log(1 + Math.Exp(-(s[i] - s[j]))); bprPairs++; }
            }
        Assert.Equal(ranknet, new RankNetLoss().Compute<double>(s, 4, y, [], default, default, default, w), 14);
        Assert.Equal(bpr / bprPairs, new BprLoss().Compute<double>(s, 4, y, [], default, default, default, w), 14);
        // LambdaRank: zero weight on every relevant item leaves no pair; a constant weight scales the loss.
        var lambda = new LambdaRankLoss();
        Assert.Equal(0, lambda.Compute<double>(s, 4, y, [], default, default, default, [0.0, 5, 0, 5]));
        Assert.Equal(2.5 * lambda.Compute<double>(s, 4, y, []), lambda.Compute<double>(s, 4, y, [], default, default, default, [2.5, 2.5, 2.5, 2.5]), 14);
    }

    [Theory]
    [MemberData(nameof(PairwiseSpecs))]
    public void PairWeightsOfOneChangeNoBitAndTheGradientStaysExact(string spec)
    {
        var (s, y, mask) = Batch();
        var loss = Assert.IsAssignableFrom<RankingLoss>(LossRegistry.Create(spec));
        double[] g = new double[15], g1 = new double[15];
        double[] ones = [.. Enumerable.Repeat(1.0, 15)];
        Assert.Equal(loss.Compute<double>(s, 5, y, mask, default, g), loss.Compute<double>(s, 5, y, mask, default, g1, default, ones));
        Assert.Equal(g, g1);
        var inputs = new LossInputs
        {
            ["scores"] = LossTensor.Matrix(s, 3, 5), ["labels"] = LossTensor.Matrix(y, 3, 5), ["mask"] = LossTensor.Matrix(mask, 3, 5),
            ["weights"] = LossTensor.Vector([0.5, 1, 2]), ["item_weights"] = LossTensor.Matrix(ItemWeights(), 3, 5),
        };
        Assert.All(GradientCheck.Check(loss, inputs), r => Assert.True(r.Passed, r.ToString()));
    }

    [Fact]
    public void ItemWeightsAreRefusedWhereTheyMeanNothingAndCheckedWhereTheyDo()
    {
        var (s, y, mask) = Batch();
        var listwise = Assert.Throws<ArgumentException>(() => new ListNetLoss().Compute<double>(s, 5, y, mask, default, default, default, ItemWeights()));
        Assert.Equal("item_weights", listwise.ParamName);
        Assert.Contains("pairwise losses", listwise.Message);
        double[] bad = ItemWeights();
        bad[7] = -1;
        var negative = Assert.Throws<RowException>(() => new RankNetLoss().Compute<double>(s, 5, y, mask, default, default, default, bad));
        Assert.Equal("item_weights", negative.ParamName);
        Assert.Contains("item_weights[1][2] = -1", negative.Message);
        Assert.Equal("item_weights", Assert.Throws<ArgumentException>(() => new RankNetLoss().Compute<double>(s, 5, y, mask, default, default, default, [1.0, 2])).ParamName);
    }
}
