using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Tests.Checking;

namespace LossKit.Tests.Binary;

/// <summary>Finite-difference gradient checks and the card's property checks for every loss and option.</summary>
public class GradientAndPropertyTests
{
    public static TheoryData<string> All => BinarySpecs.AllData;

    [Theory, MemberData(nameof(All))]
    public void GradientMatchesFiniteDifferencesAtEveryScale(string spec)
    {
        var results = TestChecks.AssertConforms(LossRegistry.Create(spec), 11, ConformanceChecks.Gradient);
        Assert.True(results.Count >= 3, $"only {results.Count} gradient checks ran");
    }

    /// <summary>The conformance suite samples 0/1 targets; binary losses also take soft targets in [0, 1].</summary>
    [Theory, MemberData(nameof(All))]
    public void GradientMatchesWithSoftTargets(string spec)
    {
        var loss = (BinaryLoss)LossRegistry.Create(spec);
        int columns = loss.FixedColumnCount ?? 2;
        var rng = new Random(4);
        foreach (double scale in new[] { 0.3, 2, 8 })
        {
            double[] z = GradientCheck.RandomLogits(rng, 9, columns, scale);
            double[] t = GradientCheck.RandomBinaryTargets(rng, z.Length, soft: true);
            var inputs = new LossInputs { ["logits"] = LossTensor.Matrix(z, 9, columns), ["targets"] = LossTensor.Matrix(t, 9, columns) };
            foreach (var r in GradientCheck.Check(TestChecks.Held(loss, inputs), inputs)) Assert.True(r.Passed, r.ToString());
        }
    }

    [Theory, MemberData(nameof(All))]
    public void EveryClaimedPropertyIsCheckedAndHolds(string spec)
    {
        var loss = (BinaryLoss)LossRegistry.Create(spec);
        var results = TestChecks.AssertConforms(loss, 5, ConformanceChecks.Property, ConformanceChecks.ExtremeInputs, ConformanceChecks.Threads,
            ConformanceChecks.Reductions, ConformanceChecks.BadInputs);
        foreach (string check in new[] { ConformanceChecks.ExtremeInputs, ConformanceChecks.Threads, ConformanceChecks.Reductions, ConformanceChecks.BadInputs })
            Assert.Contains(results, r => r.Check == check);
        foreach (LossProperties flag in Enum.GetValues<LossProperties>().Where(p => p != LossProperties.None))
            Assert.Equal(loss.Properties.HasFlag(flag), results.Any(r => r.Property == flag));
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
        var results = Conformance.Run(liar);
        Assert.Contains(results, r => r.Check == ConformanceChecks.Gradient && !r.Passed);
        var failed = results.Where(r => !r.Passed).Select(r => r.Name).ToList();
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
