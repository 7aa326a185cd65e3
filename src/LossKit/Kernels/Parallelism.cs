using System.Buffers;
using LossKit.Core;

namespace LossKit.Kernels;

/// <summary>
/// How many threads LossKit's kernels may use, and the deterministic drivers every kernel runs on: work is split into
/// fixed blocks whose boundaries depend only on the shape (never on the thread count), each block writes its own
/// outputs and partial sums, and partial sums are added in block order, so results are bit-identical for any thread
/// count. Rows: blocks of about 32 Ki elements of whole rows (<see cref="ForBlocks"/>, <see cref="SumBlocks"/>).
/// Elements: blocks of a fixed length (<see cref="ForElements"/>, <see cref="SumElements"/>). Tasks: independent
/// pieces of work that write disjoint outputs, such as GEMM slices (<see cref="ForTasks"/>).
/// </summary>
public static class Parallelism
{
    private static readonly AsyncLocal<int> s_maxThreads = new();

    /// <summary>Threads a kernel call may use (default: <see cref="Environment.ProcessorCount"/>). The setting
    /// flows with the current async context, so tests and callers can scope it.</summary>
    public static int MaxThreads
    {
        get => s_maxThreads.Value > 0 ? s_maxThreads.Value : Environment.ProcessorCount;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "MaxThreads must be at least 1.");
            s_maxThreads.Value = value;
        }
    }

    /// <summary>Rows per block for a row length: about 32 Ki elements a block, at least one row.</summary>
    internal static int RowsPerBlock(int columns) => Math.Clamp(32_768 / Math.Max(columns, 1), 1, 1024);

    internal static int BlockCount(int rows, int columns) => Blocks(rows, RowsPerBlock(columns));

    private static int Blocks(int count, int perBlock) => (count + perBlock - 1) / perBlock;

    /// <summary>The rows driver: runs <paramref name="body"/>(block, firstRow, endRow) for each block of
    /// <see cref="RowsPerBlock"/>(columns) rows, in parallel when there is more than one block and more than one thread.</summary>
    internal static void ForBlocks(int rows, int columns, Action<int, int, int> body) => ForRanges(rows, RowsPerBlock(columns), body);

    /// <summary>The rows driver for a sum: <paramref name="block"/>(block, firstRow, endRow) returns a block's partial sum;
    /// returns the partial sums added in block order.</summary>
    internal static double SumBlocks(int rows, int columns, Func<int, int, int, double> block) => SumRanges(rows, RowsPerBlock(columns), block);

    /// <summary>The elements driver: runs <paramref name="body"/>(block, start, end) for each block of
    /// <paramref name="blockLength"/> elements of [0, n), each block its own parallel item.</summary>
    internal static void ForElements(int n, int blockLength, Action<int, int, int> body) => ForRanges(n, blockLength, body);

    /// <summary>The elements driver for a sum: the blocks' partial sums added in block order.</summary>
    internal static double SumElements(int n, int blockLength, Func<int, int, int, double> block) => SumRanges(n, blockLength, block);

    private static void ForRanges(int count, int perBlock, Action<int, int, int> body)
    {
        int blocks = Blocks(count, perBlock);
        int threads = Math.Min(MaxThreads, blocks);
        if (threads <= 1)
        {
            for (int b = 0; b < blocks; b++) body(b, b * perBlock, Math.Min(count, (b + 1) * perBlock));
            return;
        }
        try
        {
            WorkerTeam.For(blocks, threads, b => body(b, b * perBlock, Math.Min(count, (b + 1) * perBlock)));
        }
        catch (AggregateException e) { throw FirstError(e); }
    }

    private static double SumRanges(int count, int perBlock, Func<int, int, int, double> block)
    {
        int blocks = Blocks(count, perBlock);
        int threads = Math.Min(MaxThreads, blocks);
        double total = 0;
        if (threads <= 1)
        {
            for (int b = 0; b < blocks; b++) total += block(b, b * perBlock, Math.Min(count, (b + 1) * perBlock));
            return total;
        }
        double[] partial = ArrayPool<double>.Shared.Rent(blocks);
        try
        {
            try
            {
                WorkerTeam.For(blocks, threads, b => partial[b] = block(b, b * perBlock, Math.Min(count, (b + 1) * perBlock)));
            }
            catch (AggregateException e) { throw FirstError(e); }
            for (int b = 0; b < blocks; b++) total += partial[b];
            return total;
        }
        finally { ArrayPool<double>.Shared.Return(partial); }
    }

    /// <summary>The argument error of the lowest block, the same one a single thread would raise.</summary>
    private static Exception FirstError(AggregateException e) =>
        e.Flatten().InnerExceptions.OrderBy(x => x is RowException r ? r.Row : int.MaxValue).First();

    /// <summary>The tasks driver: runs <paramref name="count"/> independent tasks over <see cref="MaxThreads"/> threads,
    /// handing them out in index order (list the largest first); kernels inside a task (its GEMMs) then run on one
    /// thread. With one task or one thread the tasks run in order on this thread, and a lone GEMM may use every thread
    /// itself. Each task writes its own outputs, so the results do not depend on the threads.</summary>
    internal static void ForTasks(int count, Action<int> body)
    {
        int threads = MaxThreads;
        if (count == 0) return;
        if (threads <= 1 || count == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        MaxThreads = 1;
        try
        {
            // Each thread takes the next task in order (the caller lists the largest first), so the threads finish
            // within about one small task of each other.
            WorkerTeam.For(count, threads, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        finally { MaxThreads = threads; }
    }
}
