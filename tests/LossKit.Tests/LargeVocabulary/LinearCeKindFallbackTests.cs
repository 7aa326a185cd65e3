using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.LargeVocabulary;

/// <summary>linear_ce through its kind: a problem smaller than one fused chunk runs the materialised path (issue 12).</summary>
public class LinearCeKindFallbackTests
{
    private static LossCall Call(string spec, int rows, int vocab, int dim)
    {
        ILoss loss = LossRegistry.Create(spec);
        var inputs = loss.Kind.Sample(loss, new SampleSize(rows, vocab, dim), new Random(3));
        return loss.Kind.Prepare<float>(loss, inputs);
    }

    [Fact]
    public void A_problem_smaller_than_its_fused_scratch_runs_materialised_with_the_baselines_results()
    {
        // 4 rows × 10 classes, d = 1024: the fused chunk (4 × (10 + 3·1024) values) is far more than 2·4·10 logits.
        var call = Call("linear_ce", 4, 10, 1024);
        Assert.StartsWith("materialised", call.Method);
        var baseline = call.Baseline!;
        call.Run(RunOutputs.All);
        baseline.Run(RunOutputs.All);
        var a = call.Outputs();
        var b = baseline.Outputs();
        Assert.Equal(b.Loss, a.Loss);
        foreach (var (name, g) in b.Gradients) Assert.Equal(g.Values, a.Gradients[name].Values);
    }

    [Fact]
    public void Large_problems_and_explicit_chunk_sizes_stay_fused()
    {
        Assert.Equal("fused", Call("linear_ce", 256, 4000, 64).Method);
        Assert.Equal("fused", Call("linear_ce(chunk_rows=4)", 4, 10, 1024).Method);
        Assert.Equal("fused", Call("linear_ce(vocab_block=2)", 4, 10, 1024).Method);
    }
}
