using LossKit.Kernels;

namespace LossKit.Tests.Kernels;

/// <summary>
/// The struct-body drivers that the large-vocabulary losses run on (<see cref="Parallelism.ForTasks{TBody}"/> and
/// <see cref="Parallelism.ForBlocks{TBody}"/>): each task or row runs once, a task beside others sees one thread, and
/// once warm a call allocates nothing on any thread (<see cref="GC.GetTotalAllocatedBytes(bool)"/> around 100 calls, the
/// least of up to ten tries, as <see cref="LossAllocationTests"/> measures).
/// </summary>
[Collection(nameof(AllocationTests))]
public class AllocationHelpersTests
{
    [Fact]
    public void Struct_tasks_run_once_each_on_one_thread_each_and_allocate_nothing_once_warm()
    {
        var hits = new int[9];
        var inner = new int[9];
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 2;
            Parallelism.ForTasks(9, new RecordTask(hits, inner));
            Assert.All(hits, h => Assert.Equal(1, h));
            Assert.All(inner, t => Assert.Equal(1, t));
            Assert.Equal(2, Parallelism.MaxThreads);
            Assert.Equal(0, LeastBytes(() => Parallelism.ForTasks(9, new RecordTask(hits, inner))));
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void Struct_row_blocks_cover_every_row_once_and_allocate_nothing_once_warm()
    {
        const int rows = 5000, columns = 100;
        var hits = new int[rows];
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 2;
            Parallelism.ForBlocks(rows, columns, new RecordRows(hits));
            Assert.All(hits, h => Assert.Equal(1, h));
            Assert.True(Parallelism.BlockCount(rows, columns) > 1);
            Assert.Equal(0, LeastBytes(() => Parallelism.ForBlocks(rows, columns, new RecordRows(hits))));
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    /// <summary>The least bytes allocated on every thread by 100 calls of <paramref name="call"/> after a warm-up, over
    /// up to ten tries (stopping at the first with none).</summary>
    private static long LeastBytes(Action call)
    {
        for (int i = 0; i < 3; i++) call();
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 10 && least > 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 100; i++) call();
            least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        return least;
    }

    /// <summary>Task i counts itself and records the threads a kernel inside it may use.</summary>
    private readonly struct RecordTask(int[] hits, int[] inner) : Parallelism.IBlockBody
    {
        public double Run(int task, int start, int end)
        {
            Interlocked.Increment(ref hits[task]);
            inner[task] = Parallelism.MaxThreads;
            return 0;
        }
    }

    /// <summary>Counts each row of its block.</summary>
    private readonly struct RecordRows(int[] hits) : Parallelism.IBlockBody
    {
        public double Run(int block, int start, int end)
        {
            for (int r = start; r < end; r++) Interlocked.Increment(ref hits[r]);
            return 0;
        }
    }
}
