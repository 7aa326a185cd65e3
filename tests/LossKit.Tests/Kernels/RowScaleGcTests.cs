using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

/// <summary>
/// The row kernels write through raw pointers only into pinned memory: a garbage collection that moves the destination
/// array mid-call must not lose a write (a regression test: <c>Row.Scale</c> once took an unpinned pointer for its
/// scalar tail, so a collection between the vector loop and the tail left the tail unscaled and wrote into freed
/// memory; it showed as a rare 1-vs-2-thread difference of <c>kd</c>'s gradient when other tests allocated).
/// </summary>
public class RowScaleGcTests
{
    [Fact]
    public void Scale_writes_every_value_while_collections_move_the_destination()
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = new byte[1000];
                GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            const int n = 4097;   // 512 vectors of 8 doubles, then a scalar tail of one
            var deadline = DateTime.UtcNow.AddSeconds(4);
            long calls = 0;
            while (DateTime.UtcNow < deadline)
            {
                var fresh = new double[n];   // young, so a gen-0 collection moves it
                fresh.AsSpan().Fill(1);
                Row.ScaleInPlace<double>(fresh, 2, streaming: false);
                calls++;
                int wrong = Array.FindIndex(fresh, v => v != 2);
                if (wrong >= 0) Assert.Fail($"call {calls}: value {wrong} is {fresh[wrong]} after scaling 1 by 2");
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
