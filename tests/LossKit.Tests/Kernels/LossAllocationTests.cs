using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Kernels;
using LossKit.Regression;

namespace LossKit.Tests.Kernels;

/// <summary>
/// Bytes allocated per call in steady state, for every registered loss: the kind's float sample with several blocks
/// per call (so the parallel drivers and the worker team run), 2 threads, <see cref="GC.GetTotalAllocatedBytes(bool)"/>
/// (every thread) around 100 calls after a warm-up (the least of up to ten tries, stopping at the first with none, so a
/// stray allocation elsewhere in the process — the test runner reporting results on its own threads, which lags on a
/// loaded machine — does not count; the other losses, reported only, 10 calls once). Every loss is reported; must
/// allocate nothing: the losses that run entirely in the shared drivers — the class-index frame (softmax family, row
/// losses) and the element-wise kernel (binary and regression losses) — and the losses of <see cref="OwnFramesAtZero"/>
/// (their own frames, with pooled per-call arrays and struct block bodies) and every embedding loss (<see cref="EmbeddingLoss"/>,
/// <see cref="ProxyLoss"/>: their batch, miner and reducer kept per thread, their arrays of exact lengths per thread, the
/// GEMM's loop on the worker team without a delegate). The others' figures are in the report and
/// in <c>losskit bench --all</c>'s bytes column.
/// </summary>
[Collection(nameof(AllocationTests))]
public class LossAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void Losses_on_the_shared_drivers_and_pooled_frames_allocate_nothing_once_warm()
    {
        int saved = Parallelism.MaxThreads;
        var failures = new List<string>();
        try
        {
            Parallelism.MaxThreads = 2;
            foreach (LossDefinition definition in LossRegistry.All)
            {
                ILoss loss = LossRegistry.Create(definition.Card.Name);
                bool asserted = (loss is ClassIndexLoss or ElementwiseBinaryLoss or RegressionLoss) && !OwnPerCallWork.Contains(definition.Card.Name)
                    || loss is EmbeddingLoss or ProxyLoss
                    || OwnFramesAtZero.Contains(definition.Card.Name);
                double perCall = BytesPerCall(loss, new SampleSize(256, 160, 8), asserted ? 100 : 10, asserted ? 10 : 1);
                output.WriteLine($"{loss.Spec}: {perCall:0.#} bytes per call");
                if (asserted && perCall != 0) failures.Add($"{loss.Spec}: {perCall:0.#} bytes per call");
            }
        }
        finally { Parallelism.MaxThreads = saved; }
        Assert.True(failures.Count == 0, "allocating in steady state: " + string.Join("; ", failures));
    }

    /// <summary>Losses on the shared drivers that do work of their own per call before the kernel: gaussian_nll and
    /// laplace_nll broadcast a per-row variance (scale) over the row's elements (about 100 bytes a call, reported, not
    /// asserted).</summary>
    private static readonly HashSet<string> OwnPerCallWork = ["gaussian_nll", "laplace_nll"];

    /// <summary>Losses with frames of their own that allocate nothing once warm (asserted like the shared drivers'): the
    /// batch-level binary losses auc_m, anyloss and ensloss (struct block bodies, pooled partial sums, a per-thread sort
    /// comparison), neural_ndcg (the ranking lists' driver), the preference losses dpo, orpo, simpo and cpo (the pairs in
    /// double and their losses in one pooled buffer) and PyTorch's pair criteria margin_ranking, cosine_embedding,
    /// hinge_embedding and triplet_margin (likewise); kd (the double rows' driver, <c>RowRunner</c>), the ranking losses
    /// (their lists' driver) and the divergences (their float kernel), each a struct body of the rows driver.</summary>
    private static readonly HashSet<string> OwnFramesAtZero =
    [
        "auc_m", "anyloss", "ensloss", "neural_ndcg",
        "kd", "ranknet", "pair_hinge", "bpr", "listnet", "listmle", "softmax_rank", "lambdarank", "approx_ndcg", "psl",
        "kl", "reverse_kl", "jsd", "tvd", "hellinger", "cauchy_schwarz", "wasserstein1",
        "dpo", "orpo", "simpo", "cpo",
        "margin_ranking", "cosine_embedding", "hinge_embedding", "triplet_margin",
    ];

    private static double BytesPerCall(ILoss loss, SampleSize size, int calls, int tries)
    {
        LossCall call = Prepare(loss, size);
        for (int i = 0; i < 3; i++) call.Run(RunOutputs.Gradients);
        long least = long.MaxValue;
        for (int attempt = 0; attempt < tries && least > 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < calls; i++) call.Run(RunOutputs.Gradients);
            least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        return (double)least / calls;
    }

    /// <summary>A float call on the kind's sample inputs (every input, optional ones included).</summary>
    private static LossCall Prepare(ILoss loss, SampleSize size) =>
        loss.Kind.Prepare<float>(loss, loss.Kind.Sample(loss, size, new Random(42), scale: 2));
}
