using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Softmax;

namespace LossKit.Tests.Checking;

// The worked example of docs/architecture.md, compiled: a new row loss and a new element-wise loss, each written as
// card + math + registration and nothing else. The test below registers them and runs the conformance suite, the same
// one every built-in loss passes. Keep this file and the document in step.

/// <summary>Squared error on the target probability, spec <c>example_sq_target</c>: <c>f(p) = (1 − p)²/2</c>,
/// <c>f'(p)·p = −p(1 − p)</c> — a row loss of the target-probability family (one fused softmax kernel).</summary>
public sealed class ExampleSquaredTargetLoss(IReadOnlyList<double>? weight = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
    Reduction reduction = Reduction.Mean) : TargetProbabilityLoss(weight, ignoreIndex, reduction)
{
    public static LossCard Definition { get; } = FamilyCard("example_sq_target", "Squared error on the target probability",
        "f(p) = (1 − p)²/2", "f'(p)·p = −p(1 − p)", "worked example of docs/architecture.md",
        LossProperties.NonNegative | LossProperties.Bounded | LossProperties.ClassificationCalibrated) with { UpperBound = (_, _) => 0.5 };

    public static LossDefinition Registration { get; } = new(Definition, a => new ExampleSquaredTargetLoss(a.Weight(), a.IgnoreIndex(), a.Reduction()));

    public override LossCard Card => Definition;

    protected override (double, double) Evaluate(double logP, double p, double oneMinusP, int target) =>
        (0.5 * oneMinusP * oneMinusP, -p * oneMinusP);
}

/// <summary>Squared error of the sigmoid, spec <c>example_sigmoid_sq</c>: <c>ℓ(s, t) = (σ(s) − t)²</c>,
/// <c>∂ℓ/∂s = 2(σ(s) − t)·σ(s)·σ(−s)</c> — an element-wise loss on the shared binary kernel.</summary>
public sealed class ExampleSigmoidSquaredLoss(Reduction reduction = Reduction.Mean) : ElementwiseBinaryLoss(reduction)
{
    public static LossCard Definition { get; } = ElementCard("example_sigmoid_sq", "Squared error of the sigmoid",
        "ℓ = (σ(s) − t)²", "∂ℓ/∂s = 2(σ(s) − t)·σ(s)·σ(−s)", "worked example of docs/architecture.md",
        LossProperties.NonNegative | LossProperties.Bounded | LossProperties.ClassificationCalibrated | LossProperties.MarginBased, "")
        with { UpperBound = (_, _) => 1 };

    public static LossDefinition Registration { get; } = new(Definition, a => new ExampleSigmoidSquaredLoss(a.Reduction()));

    public override LossCard Card => Definition;

    protected override T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient) =>
        Run(new Op(), logits, targets, elementLosses, gradient);

    private readonly struct Op : IBinaryElementOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Evaluate<TV, T, TOps>(TV s, TV t, TV posWeight, out TV loss, out TV grad)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            VectorMath<TV, T, TOps>.Logistic(s, out _, out _, out TV sigmoid, out TV sigmoidNeg);
            TV r = TOps.Subtract(sigmoid, t);
            loss = TOps.Multiply(r, r);
            grad = TOps.Multiply(TOps.Add(r, r), TOps.Multiply(sigmoid, sigmoidNeg));
        }
    }
}

/// <summary>Registers the examples for the length of each test; in a collection that runs alone, so that no test that
/// lists the registry sees them.</summary>
[Collection(nameof(ThreadCountCollection))]
public sealed class WorkedExampleTests
{
    [Theory]
    [InlineData("example_sq_target")]
    [InlineData("example_sq_target(weight=[1,2,0.5,1,3], reduction=sum)")]
    [InlineData("example_sigmoid_sq")]
    [InlineData("example_sigmoid_sq(reduction=none)")]
    public void RegisteredExamplesPassTheConformanceSuite(string spec)
    {
        using var row = LossRegistry.Register(ExampleSquaredTargetLoss.Registration);
        using var element = LossRegistry.Register(ExampleSigmoidSquaredLoss.Registration);
        ILoss loss = LossRegistry.Create(spec);
        Assert.Equal(spec, loss.Spec);
        var results = Conformance.Run(loss, seed: 3);
        Assert.Contains(results, r => r.Check == ConformanceChecks.Gradient);
        Assert.Contains(results, r => r.Property == LossProperties.Bounded);
        foreach (var r in results) Assert.True(r.Passed, r.ToString());
    }

    [Fact]
    public void ARegistrationEndsWhenDisposed()
    {
        using (LossRegistry.Register(ExampleSquaredTargetLoss.Registration))
            Assert.Contains(LossRegistry.All, d => d.Card.Name == "example_sq_target");
        Assert.DoesNotContain(LossRegistry.All, d => d.Card.Name == "example_sq_target");
        Assert.Throws<ArgumentException>(() => LossRegistry.Create("example_sq_target"));
    }

    [Fact]
    public void ExampleRowLossMatchesItsFormula()
    {
        double[] z = [0.3, -1.2, 2.0, 0.0, 0.7];
        double p = Math.Exp(z[2]) / z.Sum(Math.Exp);
        var loss = new ExampleSquaredTargetLoss();
        Assert.Equal(0.5 * (1 - p) * (1 - p), loss.Compute<double>(z, 5, [2]), 1e-15);
    }

    [Fact]
    public void ExampleElementLossMatchesItsFormula()
    {
        double[] s = [-3, -0.5, 0, 0.5, 3];
        double[] t = [0, 1, 0.5, 0, 1];
        var losses = new double[5];
        new ExampleSigmoidSquaredLoss(Reduction.None).Compute<double>(s, t, losses);
        for (int i = 0; i < 5; i++) Assert.Equal(Math.Pow(1 / (1 + Math.Exp(-s[i])) - t[i], 2), losses[i], 1e-15);
    }
}
