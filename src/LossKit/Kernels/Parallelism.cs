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

    /// <summary>True on a thread while it runs a task of <see cref="ForTasks{TBody}"/> beside others: the kernels inside
    /// the task (its GEMMs) then run on that thread alone. A thread flag, not the async-local setting, because changing
    /// an async-local allocates a new execution context.</summary>
    [ThreadStatic] private static bool t_inTask;

    /// <summary>Threads a kernel call may use (default: <see cref="Environment.ProcessorCount"/>; 1 inside a task of
    /// <see cref="ForTasks{TBody}"/> that runs beside others). The setting flows with the current async context, so
    /// tests and callers can scope it.</summary>
    public static int MaxThreads
    {
        get => t_inTask ? 1 : s_maxThreads.Value > 0 ? s_maxThreads.Value : Environment.ProcessorCount;
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

    /// <summary>A block of work for the drivers as a struct (<see cref="SumBlocks{TBody}"/>, <see cref="SumElements{TBody}"/>,
    /// <see cref="ForElements{TBody}"/>): the driver is compiled for it, so a call allocates nothing (a lambda would
    /// allocate its closure and delegate on every call). Returns the block's partial sum (0 where nothing is summed).</summary>
    internal interface IBlockBody
    {
        double Run(int block, int start, int end);
    }

    /// <summary>The rows driver: runs <paramref name="body"/>(block, firstRow, endRow) for each block of
    /// <see cref="RowsPerBlock"/>(columns) rows, in parallel when there is more than one block and more than one thread.</summary>
    internal static void ForBlocks(int rows, int columns, Action<int, int, int> body) => Ranges(rows, RowsPerBlock(columns), new ActionBody(body), sum: false);

    /// <summary><see cref="ForBlocks(int, int, Action{int, int, int})"/> for a struct body: no allocation.</summary>
    internal static void ForBlocks<TBody>(int rows, int columns, TBody body) where TBody : struct, IBlockBody =>
        Ranges(rows, RowsPerBlock(columns), body, sum: false);

    /// <summary>The rows driver for a sum: <paramref name="block"/>(block, firstRow, endRow) returns a block's partial sum;
    /// returns the partial sums added in block order.</summary>
    internal static double SumBlocks(int rows, int columns, Func<int, int, int, double> block) => Ranges(rows, RowsPerBlock(columns), new FuncBody(block), sum: true);

    /// <summary><see cref="SumBlocks(int, int, Func{int, int, int, double})"/> for a struct body: no allocation.</summary>
    internal static double SumBlocks<TBody>(int rows, int columns, TBody body) where TBody : struct, IBlockBody =>
        Ranges(rows, RowsPerBlock(columns), body, sum: true);

    /// <summary>The elements driver: runs <paramref name="body"/>(block, start, end) for each block of
    /// <paramref name="blockLength"/> elements of [0, n), each block its own parallel item.</summary>
    internal static void ForElements(int n, int blockLength, Action<int, int, int> body) => Ranges(n, blockLength, new ActionBody(body), sum: false);

    /// <summary><see cref="ForElements(int, int, Action{int, int, int})"/> for a struct body: no allocation.</summary>
    internal static void ForElements<TBody>(int n, int blockLength, TBody body) where TBody : struct, IBlockBody => Ranges(n, blockLength, body, sum: false);

    /// <summary>The elements driver for a sum: the blocks' partial sums added in block order.</summary>
    internal static double SumElements(int n, int blockLength, Func<int, int, int, double> block) => Ranges(n, blockLength, new FuncBody(block), sum: true);

    /// <summary><see cref="SumElements(int, int, Func{int, int, int, double})"/> for a struct body: no allocation.</summary>
    internal static double SumElements<TBody>(int n, int blockLength, TBody body) where TBody : struct, IBlockBody =>
        Ranges(n, blockLength, body, sum: true);

    private readonly struct ActionBody(Action<int, int, int> body) : IBlockBody
    {
        public double Run(int block, int start, int end)
        {
            body(block, start, end);
            return 0;
        }
    }

    private readonly struct FuncBody(Func<int, int, int, double> body) : IBlockBody
    {
        public double Run(int block, int start, int end) => body(block, start, end);
    }

    /// <summary>The blocks of [0, count) of <paramref name="perBlock"/> each; with <paramref name="sum"/>, their partial
    /// sums added in block order. On one thread the blocks run here in order; on several, on the worker team through a
    /// pooled <see cref="RangeItems{TBody}"/> and pooled partial sums (nothing allocated once warm).</summary>
    private static double Ranges<TBody>(int count, int perBlock, TBody body, bool sum) where TBody : struct, IBlockBody
    {
        int blocks = Blocks(count, perBlock);
        int threads = Math.Min(MaxThreads, blocks);
        double total = 0;
        if (threads <= 1)
        {
            for (int b = 0; b < blocks; b++) total += body.Run(b, b * perBlock, Math.Min(count, (b + 1) * perBlock));
            return sum ? total : 0;
        }
        double[]? partial = sum ? ArrayPool<double>.Shared.Rent(blocks) : null;
        RangeItems<TBody> items = RangeItems<TBody>.Rent(body, partial, count, perBlock);
        try
        {
            try
            {
                WorkerTeam.For(blocks, threads, items);
            }
            catch (AggregateException e) { throw FirstError(e); }
            if (partial is not null)
                for (int b = 0; b < blocks; b++) total += partial[b];
            return total;
        }
        finally
        {
            items.Return();
            if (partial is not null) ArrayPool<double>.Shared.Return(partial);
        }
    }

    /// <summary>The items of one parallel run of the blocks driver: block b runs the body and stores its partial sum.
    /// One instance per thread and body type is kept for the next run (a run nested in a block takes a new one).</summary>
    private sealed class RangeItems<TBody> : WorkerTeam.IItems where TBody : struct, IBlockBody
    {
        [ThreadStatic] private static RangeItems<TBody>? t_free;
        private TBody _body;
        private double[]? _partial;
        private int _count, _perBlock;

        public static RangeItems<TBody> Rent(TBody body, double[]? partial, int count, int perBlock)
        {
            RangeItems<TBody> items = t_free ?? new RangeItems<TBody>();
            t_free = null;
            (items._body, items._partial, items._count, items._perBlock) = (body, partial, count, perBlock);
            return items;
        }

        /// <summary>Drops the body and the partial sums (so nothing is kept alive) and keeps the instance for this thread.</summary>
        public void Return()
        {
            (_body, _partial) = (default, null);
            t_free = this;
        }

        public void Run(int b)
        {
            double value = _body.Run(b, b * _perBlock, Math.Min(_count, (b + 1) * _perBlock));
            if (_partial is not null) _partial[b] = value;
        }
    }

    /// <summary>The argument error of the lowest block, the same one a single thread would raise.</summary>
    private static Exception FirstError(AggregateException e) =>
        e.Flatten().InnerExceptions.OrderBy(x => x is RowException r ? r.Row : int.MaxValue).First();

    /// <summary>The tasks driver: runs <paramref name="count"/> independent tasks over <see cref="MaxThreads"/> threads,
    /// handing them out in index order (list the largest first); kernels inside a task (its GEMMs) then run on one
    /// thread. With one task or one thread the tasks run in order on this thread, and a lone GEMM may use every thread
    /// itself. Each task writes its own outputs, so the results do not depend on the threads.</summary>
    internal static void ForTasks(int count, Action<int> body) => ForTasks(count, new TaskAction(body));

    /// <summary><see cref="ForTasks(int, Action{int})"/> for a struct body: task i runs <paramref name="body"/>.Run(i, i,
    /// i + 1) (its return value unused). Nothing allocated once warm: the items are pooled as the blocks drivers' are.</summary>
    internal static void ForTasks<TBody>(int count, TBody body) where TBody : struct, IBlockBody
    {
        int threads = MaxThreads;
        if (count == 0) return;
        if (threads <= 1 || count == 1)
        {
            for (int i = 0; i < count; i++) body.Run(i, i, i + 1);
            return;
        }
        // Each thread takes the next task in order (the caller lists the largest first), so the threads finish
        // within about one small task of each other.
        RangeItems<OneThreadTask<TBody>> items = RangeItems<OneThreadTask<TBody>>.Rent(new OneThreadTask<TBody>(body), null, count, 1);
        try
        {
            WorkerTeam.For(count, threads, items);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        finally { items.Return(); }
    }

    /// <summary>A task of <see cref="ForTasks{TBody}"/> run beside others: <see cref="MaxThreads"/> is 1 on the thread
    /// that runs it, until it ends.</summary>
    private readonly struct OneThreadTask<TBody>(TBody body) : IBlockBody where TBody : struct, IBlockBody
    {
        public double Run(int task, int start, int end)
        {
            bool outer = t_inTask;
            t_inTask = true;
            try { return body.Run(task, start, end); }
            finally { t_inTask = outer; }
        }
    }

    /// <summary>A task body given as a delegate: task i runs <paramref name="body"/>(i).</summary>
    private readonly struct TaskAction(Action<int> body) : IBlockBody
    {
        public double Run(int task, int start, int end)
        {
            body(task);
            return 0;
        }
    }
}
