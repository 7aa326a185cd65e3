using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Tests.Softmax;










namespace LossKit.Tests.Binary;

/// <summary>Finite-difference gradient checks and the card's property checks for every loss and option.</summary>
public class GradientAndPropertyTests
{
    public static TheoryData<string> All => BinarySpecs.AllData;

    [Theory, MemberData(nameof(All))]
    public void GradientMatchesFiniteDifferencesAtEveryScale(string spec)
    {
        var loss = (IBinaryLoss)LossRegistry.Create(spec);
        var results = GradientCheck.CheckRandom(loss, rows: 5, columns: 3, seed: 11);
        Assert.True(results.Count >= 6, $"only {results.Count} gradient checks ran");
        foreach (var r in results) Assert.True(r.Passed, r.ToString());
    }

    [Theory, MemberData(nameof(All))]
    public void GradientMatchesWithAnotherSeedAndShape(string spec)
    {
        var loss = (IBinaryLoss)LossRegistry.Create(spec);
        foreach (var r in GradientCheck.CheckRandom(loss, rows: 9, columns: 2, seed: 4, scales: [0.3, 2, 8])) Assert.True(r.Passed, r.ToString());
    }

    [Theory, MemberData(nameof(All))]
    public void EveryClaimedPropertyIsCheckedAndHolds(string spec)
    {
        var loss = (BinaryLoss)LossRegistry.Create(spec);
        var results = LossChecks.Run(loss, seed: 5);
        foreach (var r in results) Assert.True(r.Passed, $"{r.Name}: worst {r.Worst} > {r.Tolerance} ({r.Detail})");
        var names = results.Select(r => r.Name).ToList();
        Assert.Contains(names, n => n.StartsWith("finite on extreme inputs", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("bit-identical", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("per-element losses reduce", StringComparison.Ordinal));
        var expected = new (LossProperties, string)[]
        {
            (LossProperties.NonNegative, "non-negative"), (LossProperties.Bounded, "bounded"), (LossProperties.ConvexInLogits, "convex"),
            (LossProperties.ClassificationCalibrated, "classification-calibrated"), (LossProperties.MarginBased, "margin-based"),
        };
        foreach (var (flag, prefix) in expected)
            Assert.Equal(loss.Properties.HasFlag(flag), names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("bce", LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased)]
    [InlineData("bce(pos_weight=[2])", LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated)]
    [InlineData("bce(weight=[1,0])", LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.MarginBased)]
    [InlineData("sigmoid_focal", LossProperties.NonNegative | LossProperties.ClassificationCalibrated)]
    [InlineData("sigmoid_focal(gamma=0, alpha=-1)", LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased)]
    [InlineData("sigmoid_focal(alpha=0)", LossProperties.NonNegative)]
    [InlineData("hinge", LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased)]
    [InlineData("asl", LossProperties.NonNegative)]
    [InlineData("asl(gamma_neg=0, clip=0)", LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated | LossProperties.MarginBased)]
    [InlineData("anyloss", LossProperties.NonNegative | LossProperties.Bounded)]
    [InlineData("auc_m", LossProperties.None)]
    [InlineData("ensloss", LossProperties.None)]
    public void PropertiesFollowTheConfiguration(string spec, LossProperties expected) =>
        Assert.Equal(expected, ((BinaryLoss)LossRegistry.Create(spec)).Properties);

    /// <summary>The checks must be able to fail: a loss with a wrong gradient and a card that claims too much.</summary>
    [Fact]
    public void ChecksCatchAWrongGradientAndFalseClaims()
    {
        var liar = new LyingLoss();
        Assert.Contains(GradientCheck.CheckRandom(liar), r => !r.Passed);
        var failed = LossChecks.Run(liar).Where(r => !r.Passed).Select(r => r.Name).ToList();
        Assert.Contains(failed, n => n.StartsWith("non-negative", StringComparison.Ordinal));
        Assert.Contains(failed, n => n.StartsWith("convex", StringComparison.Ordinal));
        Assert.Contains(failed, n => n.StartsWith("margin-based", StringComparison.Ordinal));
        Assert.Contains(failed, n => n.StartsWith("classification-calibrated", StringComparison.Ordinal));
        Assert.Contains(failed, n => n.StartsWith("bounded", StringComparison.Ordinal));
    }

    /// <summary>ℓ = sin(s) − t·s·0.1 with gradient cos(s)·1.01 (wrong) claiming everything.</summary>
    private sealed class LyingLoss : IBinaryLoss
    {
        public LossCard Card { get; } = new()
        {
            Name = "liar", Family = "test", Title = "liar", Formula = "sin(s)", Reference = "none",
            Properties = LossProperties.NonNegative | LossProperties.ConvexInLogits | LossProperties.ClassificationCalibrated |
                         LossProperties.MarginBased | LossProperties.Bounded,
            UpperBound = (_, _) => 0.5,
        };
        public string Spec => "liar";
        public Reduction Reduction => Reduction.Sum;

        public T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            double sum = 0;
            for (int i = 0; i < logits.Length; i++)
            {
                double s = double.CreateTruncating(logits[i]), t = double.CreateTruncating(targets[i]);
                double l = Math.Sin(s) - 0.1 * t * s;
                sum += l;
                if (!elementLosses.IsEmpty) elementLosses[i] = T.CreateTruncating(l);
                if (!gradient.IsEmpty) gradient[i] = T.CreateTruncating(1.01 * Math.Cos(s) - 0.1 * t);
            }
            return T.CreateTruncating(sum);
        }
    }
}
