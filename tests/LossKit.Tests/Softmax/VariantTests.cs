using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Softmax;

namespace LossKit.Tests.Softmax;

/// <summary>What <c>losskit check</c> runs, for every softmax-family spec on class-index targets, plus float/Half and threads.</summary>
public class ClassificationC1Tests
{
    public static TheoryData<string> Specs() =>
    [
        "logit_adjusted(priors=[0.5,0.2,0.1,0.1,0.1])", "logit_adjusted(tau=2, priors=[50,20,10,10,10], reduction=sum)",
        "logit_adjusted(tau=0.5, priors=[5,2,1,1,1], weight=[1,2,0.5,1,3], ignore_index=1)",
        "logit_adjusted(priors=[1,1,1,1,1], reduction=none)",
        "ldr_kl", "ldr_kl(lambda=0.1, margin=1)", "ldr_kl(lambda=5, margin=0)", "ldr_kl(lambda=0.5, weight=[1,2,0.5,1,3], ignore_index=2, reduction=sum)",
        "ldr_kl(lambda=2, margin=0.5, reduction=none)",
        "squentropy", "squentropy(reduction=sum)", "squentropy(weight=[1,2,0.5,1,3], ignore_index=4, reduction=none)",
        "ntl_mse", "ntl_mse(classes=[1,2,4], values=[0,1,2.5])", "ntl_mse(lambda=2, classes=[0,1,2,3,4], values=[3,-1,0,1,2], reduction=sum)",
        "ntl_was(classes=[1,2,4], values=[0,1,2.5])", "ntl_was(lambda=1, classes=[4,0,3], values=[1,2,7], weight=[1,2,0.5,1,3], ignore_index=1, reduction=none)",
    ];

    [Theory]
    [MemberData(nameof(Specs))]
    public void GradientCheckPasses(string spec)
    {
        var loss = LossRegistry.CreateClassification(spec);
        var results = LossKit.Tests.Checking.TestChecks.AssertConforms(loss, 11, ConformanceChecks.Gradient);
        Assert.True(results.Count >= 5);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void LossChecksPass(string spec)
    {
        var loss = LossRegistry.CreateClassification(spec);
        LossKit.Tests.Checking.TestChecks.AssertConforms(loss, 3, ConformanceChecks.Reductions, ConformanceChecks.Threads,
            ConformanceChecks.ExtremeInputs, ConformanceChecks.BadInputs, ConformanceChecks.Property);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void SpecRoundTrips(string spec)
    {
        var loss = LossRegistry.CreateClassification(spec);
        Assert.Equal(loss.Spec, LossRegistry.Create(loss.Spec).Spec);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void FloatAndHalfAgreeWithDouble(string spec)
    {
        var loss = LossRegistry.CreateClassification(spec);
        int k = (loss as SoftmaxLoss)?.FixedClassCount ?? 5;
        C1.LowPrecisionAgrees(loss, C1.Logits(5, 7, k, 2), k, C1.Targets(5, 7, k));
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void OneAndTwoThreadsAreBitIdentical(string spec)
    {
        var loss = LossRegistry.CreateClassification(spec);
        int k = (loss as SoftmaxLoss)?.FixedClassCount ?? 5;
        const int n = 20000;
        float[] z = C1.Logits(6, n, k, 3).Select(v => (float)v).ToArray();
        int[] y = C1.Targets(6, n, k);
        C1.ThreadIdentity(g => loss.Compute<float>(z, k, y, default, g), z.Length);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void ExtremeLogitsGiveFiniteResults(string spec)
    {
        var loss = LossRegistry.CreateClassification(spec);
        int k = (loss as SoftmaxLoss)?.FixedClassCount ?? 5;
        double[] z = C1.Logits(8, 4, k, 1e30);
        int[] y = C1.Targets(8, 4, k);
        for (int n = 0; n < 4; n++) z[n * k + (y[n] + 1) % k] = double.NegativeInfinity;
        var (l, rows, g) = C1.Run(loss, z, k, y);
        Assert.True(double.IsFinite(l));
        Assert.All(rows, v => Assert.True(double.IsFinite(v)));
        Assert.All(g, v => Assert.True(double.IsFinite(v)));
        for (int n = 0; n < 4; n++) Assert.Equal(0, g[n * k + (y[n] + 1) % k]);
    }
}
