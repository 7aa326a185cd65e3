using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

/// <summary>The spinning worker team runs every item exactly once, surfaces errors, and copes with concurrent and
/// nested loops (which fall back to the thread pool).</summary>
public class WorkerTeamTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 2)]
    [InlineData(1000, 2)]
    [InlineData(37, 8)]
    public void EveryItemRunsExactlyOnce(int count, int threads)
    {
        for (int repeat = 0; repeat < 200; repeat++)
        {
            var hits = new int[count];
            WorkerTeam.For(count, threads, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void ErrorsComeBackAsOneAggregateAfterEveryOtherItemRan()
    {
        int ran = 0;
        var e = Assert.Throws<AggregateException>(() => WorkerTeam.For(50, 2, i =>
        {
            Interlocked.Increment(ref ran);
            if (i % 10 == 3) throw new InvalidOperationException($"item {i}");
        }));
        Assert.Equal(50, ran);
        Assert.Equal(5, e.InnerExceptions.Count);
        // The team is free again afterwards.
        int after = 0;
        WorkerTeam.For(10, 2, _ => Interlocked.Increment(ref after));
        Assert.Equal(10, after);
    }

    [Fact]
    public void OnOneThreadErrorsAlsoComeBackAsOneAggregateAfterEveryItemRan()
    {
        int ran = 0;
        var e = Assert.Throws<AggregateException>(() => WorkerTeam.For(50, 1, i =>
        {
            ran++;
            if (i % 10 == 3) throw new InvalidOperationException($"item {i}");
        }));
        Assert.Equal(50, ran);
        Assert.Equal(["item 3", "item 13", "item 23", "item 33", "item 43"], e.InnerExceptions.Select(x => x.Message));
    }

    [Fact]
    public void ConcurrentAndNestedLoopsAllComplete()
    {
        long total = 0;
        Parallel.For(0, 8, _ =>
        {
            for (int r = 0; r < 50; r++)
                WorkerTeam.For(6, 2, i => WorkerTeam.For(4, 2, j => Interlocked.Add(ref total, i * 4 + j + 1)));
        });
        // Σ over 6×4 items of (index + 1) = 300 per outer loop, 8 × 50 outer loops.
        Assert.Equal(300L * 8 * 50, total);
    }

    [Fact]
    public void LoopsAfterTheWorkersFellAsleepStillRunOnEveryThread()
    {
        Assert.SkipWhen(Environment.ProcessorCount < 2, $"needs at least 2 cores to see a second thread; this machine has {Environment.ProcessorCount}");
        // Other test classes may hold the team or the cores for a moment, so a few attempts are allowed.
        int most = 0;
        for (int attempt = 0; attempt < 5 && most < 2; attempt++)
        {
            var threadsSeen = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
            Thread.Sleep(WorkerTeam.SpinMicroseconds / 1000 + 20);   // the workers are asleep now
            WorkerTeam.For(64, 2, _ =>
            {
                threadsSeen[Environment.CurrentManagedThreadId] = true;
                Thread.SpinWait(20_000);
            });
            most = Math.Max(most, threadsSeen.Count);
        }
        Assert.True(most >= 2, $"at most {most} thread ran the items");
    }

    [Fact]
    public void ItemsSeeTheCallersMaxThreads()
    {
        Assert.SkipWhen(Environment.ProcessorCount < 2, $"needs at least 2 cores to see a second thread; this machine has {Environment.ProcessorCount}");
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            int caller = Environment.CurrentManagedThreadId;
            bool onOtherThread = false;
            // Whether a second thread takes an item depends on the scheduler: on a loaded machine (or while other tests hold
            // the team, when the loop runs on thread-pool threads) the caller can finish all 64 items first. So the loop is
            // repeated, for up to 20 s, until one item ran elsewhere; every run checks every item's setting.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int attempt = 0; !onOtherThread && (attempt < 5 || clock.Elapsed < TimeSpan.FromSeconds(20)); attempt++)
            {
                var seen = new System.Collections.Concurrent.ConcurrentBag<(int Thread, int MaxThreads)>();
                // Called with 2 threads while the caller's own setting says 1 (as linear_ce's task loop does).
                WorkerTeam.For(64, 2, _ => { seen.Add((Environment.CurrentManagedThreadId, Parallelism.MaxThreads)); Thread.SpinWait(20_000); });
                Assert.All(seen, v => Assert.Equal(1, v.MaxThreads));
                onOtherThread = seen.Any(v => v.Thread != caller);
            }
            Assert.True(onOtherThread, "no item ran on a second thread");
        }
        finally { Parallelism.MaxThreads = saved; }
    }
}
