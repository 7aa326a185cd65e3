using LossKit.Core;









namespace LossKit.Kernels;

/// <summary>
/// How many threads LossKit's kernels may use. Work is split into row blocks whose size depends only on the
/// number of columns, and block results are combined in block order, so results are bit-identical for any
/// thread count.
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

    /// <summary>Runs <paramref name="body"/>(block, firstRow, endRow) for each block, in parallel when there
    /// is more than one block and more than one thread.</summary>
    internal static void ForBlocks(int rows, int columns, Action<int, int, int> body)
    {
        int perBlock = RowsPerBlock(columns);
        int blocks = BlockCount(rows, columns);
        int threads = Math.Min(MaxThreads, blocks);
        if (threads <= 1)
        {
            for (int b = 0; b < blocks; b++) body(b, b * perBlock, Math.Min(rows, (b + 1) * perBlock));
            return;
        }
        try
        {
            WorkerTeam.For(blocks, threads, b => body(b, b * perBlock, Math.Min(rows, (b + 1) * perBlock)));
        }
        catch (AggregateException e)
        {
            // Surface the argument error of the lowest block, the same one a single thread would raise.
            throw e.Flatten().InnerExceptions.OrderBy(x => x is RowException r ? r.Row : int.MaxValue).First();
        }
    }

    internal static int BlockCount(int rows, int columns)
    {
        int perBlock = RowsPerBlock(columns);
        return (rows + perBlock - 1) / perBlock;
    }
}
