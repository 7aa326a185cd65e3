using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.Binary;

/// <summary>The binary losses in the registry: names, cards (defaults and ranges as the catalog gives them) and spec round trips.</summary>
public class RegistryTests
{
    public static TheoryData<string> All => BinarySpecs.AllData;

    [Fact]
    public void EveryBinaryLossIsRegisteredWithACard()
    {
        string[] names = ["bce", "sigmoid_focal", "hinge", "sq_hinge", "smoothed_hinge", "modified_huber", "exponential", "logistic", "asl",
            "auc_m", "anyloss", "ensloss"];
        foreach (string name in names)
        {
            LossCard card = LossRegistry.Find(name).Card;
            Assert.Equal(name, card.Name);
            Assert.False(string.IsNullOrWhiteSpace(card.Formula), name);
            Assert.False(string.IsNullOrWhiteSpace(card.Gradient), name);
            Assert.False(string.IsNullOrWhiteSpace(card.Reference), name);
            Assert.IsAssignableFrom<IBinaryLoss>(LossRegistry.Create(name));
        }
    }

    [Theory]
    [InlineData("sigmoid_focal", "gamma", 2.0)]
    [InlineData("sigmoid_focal", "alpha", 0.25)]
    [InlineData("smoothed_hinge", "h", 1.0)]
    [InlineData("exponential", "beta", 1.0)]
    [InlineData("asl", "gamma_pos", 0.0)]
    [InlineData("asl", "gamma_neg", 4.0)]
    [InlineData("asl", "clip", 0.05)]
    [InlineData("auc_m", "margin", 1.0)]
    [InlineData("anyloss", "L", 73.0)]
    [InlineData("ensloss", "lambda", 0.0)]
    [InlineData("ensloss", "period", 1.0)]
    public void CardDefaultsAreTheCatalogs(string name, string parameter, double value) =>
        Assert.Equal(value, LossRegistry.Find(name).Card.Parameter(parameter)!.Default);

    [Theory, MemberData(nameof(All))]
    public void SpecRoundTrips(string spec)
    {
        var loss = (IBinaryLoss)LossRegistry.Create(spec);
        var again = (IBinaryLoss)LossRegistry.Create(loss.Spec);
        Assert.Equal(loss.Spec, again.Spec);
        Assert.Equal(loss.GetType(), again.GetType());
        Assert.Equal(loss.Reduction, again.Reduction);
        double[] z = [0.3, -1.2, 2.5, 0.1, -0.4, 1.7];
        double[] t = [1, 0, 1, 0.5, 0, 1];
        if (((BinaryLoss)loss).FixedColumnCount is int c && z.Length % c != 0)
        {
            // Per-column weights fix the row width: repeat the values c times, a whole number of rows of c columns.
            z = [.. Enumerable.Repeat(z, c).SelectMany(v => v)];
            t = [.. Enumerable.Repeat(t, c).SelectMany(v => v)];
        }
        Assert.Equal(loss.Compute<double>(z, t), again.Compute<double>(z, t));
    }

    [Fact]
    public void DefaultSpecsAreBareNames()
    {
        Assert.Equal("bce", new BinaryCrossEntropyLoss().Spec);
        Assert.Equal("sigmoid_focal(gamma=0.5, alpha=-1, reduction=sum)", new SigmoidFocalLoss(0.5, -1, Reduction.Sum).Spec);
        Assert.Equal("bce(pos_weight=[2,0.5], weight=[1,3])", new BinaryCrossEntropyLoss([2, 0.5], [1, 3]).Spec);
        Assert.Equal("anyloss(metric=fbeta, L=20, beta=2)", new AnyLoss(AnyLossMetric.FBeta, 20, 2).Spec);
        Assert.Equal("ensloss(lambda=0.5, period=3, seed=9, reduction=none)", new EnsLoss(0.5, 3, 9, Reduction.None).Spec);
        Assert.Equal("auc_m(margin=0.5)", new AucMarginLoss(0.5).Spec);
    }

    [Fact]
    public void BatchLevelLossesSayWhatTheyAre()
    {
        foreach (string name in new[] { "auc_m", "anyloss", "ensloss" }) Assert.True(((BinaryLoss)LossRegistry.Create(name)).IsBatchLevel);
        foreach (string name in BinarySpecs.Elementwise) Assert.False(((BinaryLoss)LossRegistry.Create(name)).IsBatchLevel);
    }
}
