using LossKit.Core;
using LossKit.Kernels;
using LossKit.LargeVocabulary;
using LossKit.Softmax;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>With one chunk, linear_ce's rows are ce's rows bit for bit: the same row kernel arithmetic in the same order,
/// the same products (what the workbench's fused head relies on).</summary>
public class LinearCeMatchesCeBitForBitTests
{
    [Theory]
    [InlineData("", 10)]
    [InlineData("smoothing=0.1", 10)]
    [InlineData("smoothing=0.2, weight=W", 37)]
    [InlineData("lse_sq=0.01, softcap=5, temperature=1.5", 37)]
    public void OneChunkEqualsGemmThenCe(string options, int vocab)
    {
        const int rows = 45, dim = 19;
        var ce = (CrossEntropyLoss)Catalog.LossRegistry.CreateClassification(LinearCeTests.Create($"linear_ce({options})", vocab).Spec.Replace("linear_ce", "ce"));
        var head = new LinearCrossEntropyLoss(ce.Smoothing, ce.LseSquared, ce.SoftcapValue, ce.TemperatureValue, ce.Weight, ce.IgnoreIndex,
            ce.Reduction, chunkRows: rows);
        var c = LinearCase.Random(21, rows, dim, vocab, scale: 2, ignoreEvery: 6);
        float[] h = LinearCase.F(c.Hidden), w = LinearCase.F(c.Weight), b = LinearCase.F(c.Bias);

        // Unfused: Z = H·Wᵀ + b, ce, then ∂W = Gᵀ·H, ∂H = G·W, ∂b = Σ rows G.
        var z = new float[rows * vocab];
        LossKit.Kernels.Gemm.Multiply(h, w, z, rows, vocab, dim, transposeB: true);
        for (int r = 0; r < rows; r++) System.Numerics.Tensors.TensorPrimitives.Add(z.AsSpan(r * vocab, vocab), b, z.AsSpan(r * vocab, vocab));
        float[] g = new float[z.Length], perRow = new float[rows];
        float value = ce.Compute<float>(z, vocab, c.Targets, perRow, g);
        float[] gw = new float[w.Length], gh = new float[h.Length], gb = new float[vocab];
        LossKit.Kernels.Gemm.Multiply(g, h, gw, vocab, dim, rows, transposeA: true);
        LossKit.Kernels.Gemm.Multiply(g, w, gh, rows, dim, vocab);
        for (int r = 0; r < rows; r++) System.Numerics.Tensors.TensorPrimitives.Add(gb, g.AsSpan(r * vocab, vocab), gb);

        float[] fh = new float[h.Length], fw = new float[w.Length], fb = new float[vocab], fRow = new float[rows];
        float fused = head.Compute(h, w, b, rows, dim, vocab, c.Targets, fRow, fh, fw, fb);
        Assert.Equal(value, fused);
        Assert.Equal(perRow, fRow);
        Assert.Equal(gb, fb);
        Assert.Equal(gw, fw);
        Assert.Equal(gh, fh);
    }
}
