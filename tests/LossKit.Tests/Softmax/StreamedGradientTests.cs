using LossKit.Catalog;
using LossKit.Kernels;

namespace LossKit.Tests.Softmax;

/// <summary>A gradient of at least <see cref="ClassIndexLoss.StreamingThresholdBytes"/> is written with non-temporal
/// stores from a cached scratch row (the softmax family's and <c>RowLoss</c>'s); it must hold exactly what the cached path
/// writes for the same rows.</summary>
public class StreamedGradientTests
{
    [Theory]
    [InlineData("ce")]
    [InlineData("ce(smoothing=0.1)")]
    [InlineData("ce(smoothing=0.2,lse_sq=0.001)")]
    [InlineData("focal(gamma=2)")]
    [InlineData("poly(eps=1)")]
    [InlineData("squentropy")]
    [InlineData("zloss")]
    [InlineData("stablemax")]
    [InlineData("hinge_cs")]
    [InlineData("sparsemax")]
    public void StreamedGradientEqualsTheCachedOneRowBlockByRowBlock(string spec)
    {
        const int classes = 32_771;   // not a multiple of any vector width: unaligned rows and scalar tails
        int rows = (int)(ClassIndexLoss.StreamingThresholdBytes / (classes * sizeof(float))) + 3;
        Assert.True((long)rows * classes * sizeof(float) >= ClassIndexLoss.StreamingThresholdBytes);
        // Reduction sum on both sides, so each row's gradient does not depend on how many rows share the call.
        var loss = (ClassIndexLoss)LossRegistry.CreateClassification(spec.Contains('(') ? spec.Replace(")", ",reduction=sum)") : spec + "(reduction=sum)");
        var rng = new Random(11);
        var logits = new float[rows * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(rng.NextDouble() * 8 - 4);
        var targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = r % 7 == 3 ? -100 : rng.Next(classes);

        var streamed = new float[logits.Length];
        var streamedLosses = new float[rows];
        loss.Compute<float>(logits, classes, targets, streamedLosses, streamed);

        // The same rows in small blocks (far below the threshold, so cached stores): the same bits.
        const int block = 16;
        var cached = new float[block * classes];
        var cachedLosses = new float[block];
        for (int r0 = 0; r0 < rows; r0 += block)
        {
            int n = Math.Min(block, rows - r0);
            loss.Compute<float>(logits.AsSpan(r0 * classes, n * classes), classes, targets.AsSpan(r0, n),
                cachedLosses.AsSpan(0, n), cached.AsSpan(0, n * classes));
            for (int i = 0; i < n; i++) Assert.Equal(cachedLosses[i], streamedLosses[r0 + i]);
            for (int i = 0; i < n * classes; i++)
                if (cached[i] != streamed[r0 * classes + i])
                    Assert.Fail($"{spec}: row {r0 + i / classes}, class {i % classes}: streamed {streamed[r0 * classes + i]:R}, cached {cached[i]:R}");
        }
    }
}
