using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;

namespace LossKit.Tests.Checking;

/// <summary>The thread check flips the process-wide <c>Parallelism.MaxThreads</c>: run these tests alone so that no other
/// test changes it between the 1-thread and the 2-thread call.</summary>
[CollectionDefinition(nameof(ThreadCountCollection), DisableParallelization = true)]
public sealed class ThreadCountCollection;

/// <summary>
/// The conformance checks can fail: each deliberately wrong loss (<see cref="WrongLosses"/>: built on a registered loss,
/// seen through the same interfaces, never registered) fails the check that targets its fault, and the loss it is built
/// on passes that very check.
/// </summary>
[Collection(nameof(ThreadCountCollection))]
public sealed class WrongLossTests
{
    private static List<ConformanceResult> Run(ILoss loss, string check, Func<string, ILoss>? rebuild = null) =>
        [.. Conformance.Run(loss, seed: 0, rebuild, checks: [check])];

    private static void AssertFails(IEnumerable<ConformanceResult> results, string what)
    {
        var list = results.ToList();
        Assert.NotEmpty(list);
        Assert.True(list.Any(r => !r.Passed && !r.Skipped), $"{what}: no check failed:\n" + string.Join("\n", list));
    }

    private static void AssertPasses(IEnumerable<ConformanceResult> results, string what)
    {
        var list = results.ToList();
        Assert.NotEmpty(list);
        Assert.True(list.All(r => r.Passed && !r.Skipped), $"{what}: a check failed or was skipped:\n" + string.Join("\n", list));
    }

    [Theory]
    [InlineData("ce", 1.5)]
    [InlineData("focal(gamma=2)", 0.9)]
    [InlineData("hinge_cs", 1.01)]
    public void AGradientOffByAFactorFailsTheGradientCheck(string spec, double factor)
    {
        var wrong = Run(new ScaledGradientLoss(spec, factor), ConformanceChecks.Gradient);
        AssertFails(wrong, $"{spec} with its gradient × {factor}");
        Assert.All(wrong.Where(r => r.Name.Contains("at scale 1 ", StringComparison.Ordinal) || r.Name.EndsWith("at scale 1", StringComparison.Ordinal)),
            r => Assert.False(r.Passed, r.ToString()));
        AssertPasses(Run(LossRegistry.Create(spec), ConformanceChecks.Gradient), spec);
    }

    [Fact]
    public void ABinaryGradientOffByAFactorFailsTheGradientCheck()
    {
        AssertFails(Run(new WrappedBinaryLoss("bce", gradientFactor: 1.02), ConformanceChecks.Gradient), "bce with its gradient × 1.02");
        AssertPasses(Run(new WrappedBinaryLoss("bce"), ConformanceChecks.Gradient), "bce wrapped");
    }

    /// <summary>(loss, property it claims falsely, a registered loss whose same claim is true).</summary>
    public static TheoryData<string, LossProperties, string> FalseClaims => new()
    {
        { "ce", LossProperties.Bounded, "mae" },
        { "taylor", LossProperties.ShiftInvariant, "ce" },
        { "ce", LossProperties.Symmetric, "mae" },
        { "mae", LossProperties.ConvexInLogits, "ce" },
        { "hinge_ww", LossProperties.ScaleInvariant, "zloss" },
        { "hinge_cs", LossProperties.ScaleInvariant, "zloss(a=3, b=-1)" },
    };

    [Theory, MemberData(nameof(FalseClaims))]
    public void AFalselyClaimedPropertyFailsItsCheck(string spec, LossProperties property, string honest)
    {
        var claimed = Run(new ClaimingLoss(spec, property, bound: (_, _) => 1), ConformanceChecks.Property).Where(r => r.Property == property);
        AssertFails(claimed, $"{spec} claiming {property}");
        var genuine = LossRegistry.Create(honest);
        Assert.True(((IClassificationLoss)genuine).Properties.HasFlag(property), $"{honest} does not claim {property}");
        AssertPasses(Run(genuine, ConformanceChecks.Property).Where(r => r.Property == property), $"{honest}'s {property}");
    }

    [Fact]
    public void ANegativeLossClaimingNonNegativeFails()
    {
        AssertFails(Run(new ShiftedDownLoss("ce"), ConformanceChecks.Property).Where(r => r.Property == LossProperties.NonNegative), "ce − 1");
        AssertPasses(Run(new ClaimingLoss("ce", LossProperties.None), ConformanceChecks.Property).Where(r => r.Property == LossProperties.NonNegative), "ce");
    }

    [Fact]
    public void AnUncalibratedLossClaimingCalibrationFails()
    {
        AssertFails(Run(new FlippedLoss("ce"), ConformanceChecks.Property).Where(r => r.Property == LossProperties.ClassificationCalibrated), "ce(−z)");
        AssertPasses(Run(new ClaimingLoss("ce", LossProperties.None), ConformanceChecks.Property), "ce wrapped");
        // ℓ(−z) has the exact gradient (at finite logits: a masked −∞ becomes +∞).
        AssertPasses(Run(new FlippedLoss("ce"), ConformanceChecks.Gradient).Where(r => r.Name.Contains("at scale", StringComparison.Ordinal)), "ce(−z)");
    }

    [Fact]
    public void ABinaryLossClaimingMarginSymmetryFails()
    {
        // pos_weight weighs the positive class: ℓ(s, 1) ≠ ℓ(−s, 0).
        AssertFails(Run(new WrappedBinaryLoss("bce(pos_weight=[2])", LossProperties.MarginBased), ConformanceChecks.Property)
            .Where(r => r.Property == LossProperties.MarginBased), "bce(pos_weight=[2]) claiming margin-based");
        AssertPasses(Run(new WrappedBinaryLoss("bce"), ConformanceChecks.Property), "bce wrapped");
    }

    [Fact]
    public void AClaimNotDefinedForTheKindFails()
    {
        // Symmetry is a claim about rows of K logits: a binary loss cannot have it.
        var r = Run(new WrappedBinaryLoss("bce", LossProperties.Symmetric), ConformanceChecks.Property).Single(c => c.Property == LossProperties.Symmetric);
        Assert.False(r.Passed);
        Assert.Contains("not defined for binary losses", r.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void ThreadDependentSummationFailsTheThreadCheck()
    {
        AssertFails(Run(new ThreadDependentLoss("ce"), ConformanceChecks.Threads), "per-thread partial sums");
        AssertPasses(Run(new ClaimingLoss("ce", LossProperties.None), ConformanceChecks.Threads), "ce wrapped");
        // The wrong loss is otherwise right: its gradient passes.
        AssertPasses(Run(new ThreadDependentLoss("ce"), ConformanceChecks.Gradient), "per-thread partial sums");
    }

    [Fact]
    public void ReductionsThatDisagreeFailTheReductionCheck()
    {
        AssertFails(Run(new DisagreeingReductionLoss("ce"), ConformanceChecks.Reductions, DisagreeingReductionLoss.Rebuild), "none returning the mean");
        AssertPasses(Run(LossRegistry.Create("ce"), ConformanceChecks.Reductions), "ce");
        // Without a way to rebuild it, an unregistered loss's variants are skipped, with the reason; its configured
        // reduction is still checked, and fails for none.
        var results = Run(new DisagreeingReductionLoss("ce(reduction=none)"), ConformanceChecks.Reductions);
        Assert.Contains(results, r => r.Skipped && r.Detail.Contains("not registered", StringComparison.Ordinal));
        AssertFails(results, "none returning the mean, as configured");
        AssertPasses(Run(new DisagreeingReductionLoss("ce(reduction=sum)"), ConformanceChecks.Reductions).Where(r => !r.Skipped), "sum as configured");
    }

    [Fact]
    public void ALossThatAcceptsBadInputSilentlyFailsTheBadInputCheck()
    {
        var r = Run(new SilentLoss("ce"), ConformanceChecks.BadInputs).Single();
        Assert.False(r.Passed, r.ToString());
        Assert.Contains("targets[2] = 1E+06: accepted", r.Detail, StringComparison.Ordinal);
        AssertPasses(Run(new ClaimingLoss("ce", LossProperties.None), ConformanceChecks.BadInputs), "ce wrapped");
    }

    [Fact]
    public void TheCheckGroupsAreNamedAndUnknownOnesAreRejected()
    {
        Assert.Equal(6, ConformanceChecks.All.Count);
        var e = Assert.Throws<ArgumentException>(() => Conformance.Run(LossRegistry.Create("ce"), checks: ["gradients"]));
        Assert.Equal("checks", e.ParamName);
    }
}
