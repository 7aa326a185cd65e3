using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

/// <summary>
/// Bytes allocated per call in steady state, for every registered loss (issue 13's target 6: 0 bytes, on the calling and
/// the worker threads): the kind's float sample with every input, several blocks per call (so the parallel drivers and
/// the worker team run), 2 threads, <see cref="GC.GetTotalAllocatedBytes(bool)"/> (every thread) around 100 calls after a
/// warm-up — the least of up to ten tries, stopping at the first with none, so that a stray allocation elsewhere in the
/// process (the test runner reporting results on its own threads, which lags on a loaded machine) does not count. Every
/// loss's figure is printed; every one must be 0.
/// </summary>
[Collection(nameof(AllocationTests))]
public class LossAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_registered_loss_allocates_nothing_once_warm()
    {
        int saved = Parallelism.MaxThreads;
        var failures = new List<string>();
        try
        {
            Parallelism.MaxThreads = 2;
            foreach (LossDefinition definition in LossRegistry.All)
            {
                ILoss loss = LossRegistry.Create(definition.Card.Name);
                LossCall call = Prepare(loss, new SampleSize(256, 160, 8));
                double perCall = BytesPerCall(() => call.Run(RunOutputs.Gradients), calls: 100, tries: 10);
                output.WriteLine($"{loss.Spec}: {perCall:0.#} bytes per call");
                if (perCall != 0) failures.Add($"{loss.Spec}: {perCall:0.#} bytes per call");
            }
        }
        finally { Parallelism.MaxThreads = saved; }
        Assert.True(failures.Count == 0, "allocating in steady state: " + string.Join("; ", failures));
    }

    /// <summary>The measurement can fail: a call that keeps one small array a call reads about its size.</summary>
    [Fact]
    public void The_measurement_sees_a_call_that_allocates()
    {
        var kept = new List<double[]>();
        double perCall = BytesPerCall(() => kept.Add(new double[4]), calls: 100, tries: 10);
        Assert.InRange(perCall, 4 * sizeof(double), 200);
    }

    private static double BytesPerCall(Action run, int calls, int tries)
    {
        for (int i = 0; i < 3; i++) run();
        long least = long.MaxValue;
        for (int attempt = 0; attempt < tries && least > 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < calls; i++) run();
            least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        return (double)least / calls;
    }

    /// <summary>A float call on the kind's sample inputs (every input, optional ones included).</summary>
    private static LossCall Prepare(ILoss loss, SampleSize size) =>
        loss.Kind.Prepare<float>(loss, loss.Kind.Sample(loss, size, new Random(42), scale: 2));
}
