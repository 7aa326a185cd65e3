using System.Diagnostics;

namespace LossKit.Kernels;

/// <summary>
/// A fixed team of <see cref="Environment.ProcessorCount"/> − 1 background threads for LossKit's short parallel loops
/// (GEMM blocks, loss row blocks, linear_ce tasks). After a loop its workers keep watching for the next one for
/// <see cref="SpinMicroseconds"/> before they sleep, as OpenMP and OpenBLAS threads do, so that the many sub-millisecond
/// loops of a training step do not each wait for a thread-pool thread to wake up (on this project's 2-core machine that
/// wait cost a 128×784×256 GEMM its whole second core). Items are handed out in index order from a shared counter; the
/// calling thread works too. One loop runs on the team at a time: a loop started while the team is busy (another
/// thread's loop, or one nested in an item) runs the same way on thread-pool threads.
/// </summary>
internal static class WorkerTeam
{
    /// <summary>How long an idle worker watches for the next loop before it sleeps.</summary>
    public const int SpinMicroseconds = 200;

    private static readonly long s_spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
    private static readonly int s_workers = Math.Max(0, Environment.ProcessorCount - 1);
    /// <summary>Per worker: its wake-up signal, and 1 while it sleeps (or is about to).</summary>
    private static readonly SemaphoreSlim[] s_wake = [.. Enumerable.Range(0, s_workers).Select(_ => new SemaphoreSlim(0))];
    private static readonly int[] s_asleep = new int[s_workers];
    private static Job? s_job;
    /// <summary>The team's one job, reset for each loop (a loop on the team holds <see cref="s_busy"/>).</summary>
    private static readonly Job s_teamJob = new();
    private static int s_generation, s_busy, s_started;
    /// <summary>Workers between reading <see cref="s_job"/> and leaving its loop.</summary>
    private static int s_holding;
    private static readonly ContextCallback s_work = state => ((Job)state!).Work();

    /// <summary>The items of a loop: <see cref="Run"/>(i) does item i.</summary>
    public interface IItems
    {
        void Run(int item);
    }

    private sealed class ActionItems(Action<int> body) : IItems
    {
        public void Run(int item) => body(item);
    }

    /// <summary>Runs <paramref name="body"/>(i) for i in [0, count) on up to <paramref name="threads"/> threads (this one
    /// included) and returns when all are done. Exceptions are thrown as one <see cref="AggregateException"/>.</summary>
    public static void For(int count, int threads, Action<int> body) => For(count, threads, new ActionItems(body));

    /// <summary><see cref="For(int, int, Action{int})"/> for items given as an object: a loop on the team allocates
    /// nothing (its <see cref="Job"/> is reused; only one loop runs on the team at a time).</summary>
    public static void For(int count, int threads, IItems body)
    {
        int helpers = Math.Min(Math.Min(threads, count) - 1, s_workers);
        if (helpers <= 0)
        {
            // One thread: every item still runs, and errors come back as one AggregateException, as on the team.
            List<Exception>? serialErrors = null;
            for (int i = 0; i < count; i++)
            {
                try { body.Run(i); }
                catch (Exception e) { (serialErrors ??= []).Add(e); }
            }
            if (serialErrors is not null) throw new AggregateException(serialErrors);
            return;
        }
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            // The team is taken: the same loop on thread-pool threads (same item order, same error handling).
            var job = new Job();
            job.Reset(body, count, helpers);
            Parallel.For(0, helpers + 1, new ParallelOptions { MaxDegreeOfParallelism = helpers + 1 }, _ => job.Work());
            if (job.Errors is { } poolErrors) throw new AggregateException(poolErrors);
            return;
        }
        Job teamJob = s_teamJob;
        List<Exception>? errors = null;
        try
        {
            // A worker that read the previous loop's job may still be on its way out of it (it finds nothing left to
            // claim): wait until none holds it before it is reset. Almost always none does by now.
            var leaving = new SpinWait();
            while (Volatile.Read(ref s_holding) != 0) leaving.SpinOnce(sleep1Threshold: -1);
            teamJob.Reset(body, count, helpers);
            Start();
            Volatile.Write(ref s_job, teamJob);
            Interlocked.Increment(ref s_generation);
            // Wake only the workers this loop uses (worker w helps when w < helpers).
            for (int w = 0; w < helpers; w++)
                if (Interlocked.Exchange(ref s_asleep[w], 0) == 1) s_wake[w].Release();
            teamJob.Work();
            var spin = new SpinWait();
            while (Volatile.Read(ref teamJob.Completed) < count) spin.SpinOnce(sleep1Threshold: -1);
        }
        finally
        {
            // Unpublish the job (the next loop resets it once no worker holds it) and free the team.
            Volatile.Write(ref s_job, null);
            errors = teamJob.Errors;
            Volatile.Write(ref s_busy, 0);
        }
        if (errors is not null) throw new AggregateException(errors);
    }

    private static void Start()
    {
        if (Volatile.Read(ref s_started) != 0 || Interlocked.Exchange(ref s_started, 1) != 0) return;
        for (int w = 0; w < s_workers; w++)
            new Thread(Worker) { IsBackground = true, Name = $"LossKit worker {w + 1}" }.UnsafeStart(w);   // no inherited context: each loop brings its own
    }

    private static void Worker(object? state)
    {
        int id = (int)state!;
        int seen = Volatile.Read(ref s_generation);
        while (true)
        {
            // Watch for a new loop for a while, then sleep until one is published.
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref s_generation) == seen)
            {
                if (Stopwatch.GetTimestamp() - start > s_spinTicks)
                {
                    // Announce the sleep, then look once more: a loop published after the announcement wakes us.
                    Interlocked.Exchange(ref s_asleep[id], 1);
                    if (Volatile.Read(ref s_generation) == seen) s_wake[id].Wait();
                    else if (Interlocked.Exchange(ref s_asleep[id], 0) == 0) s_wake[id].Wait();   // a wake-up is on its way: take it
                    start = Stopwatch.GetTimestamp();
                }
                else Thread.SpinWait(30);
            }
            seen = Volatile.Read(ref s_generation);
            // Announced before the job is read: the caller waits for s_holding = 0 before it reuses the job.
            Interlocked.Increment(ref s_holding);
            try
            {
                Job? job = Volatile.Read(ref s_job);
                if (job is not null && id < job.Helpers)
                {
                    // In the caller's execution context, so that its async-locals (Parallelism.MaxThreads) hold in the items.
                    if (job.Context is { } context) ExecutionContext.Run(context, s_work, job);
                    else job.Work();
                }
            }
            finally { Interlocked.Decrement(ref s_holding); }
        }
    }

    /// <summary>One loop: its items are claimed from <see cref="_next"/>; <see cref="Completed"/> counts finished ones.
    /// A worker that arrives late finds nothing left to claim. The team's job is reset for the next loop only once no
    /// worker holds it (<see cref="s_holding"/>); it keeps the last loop's body until then.</summary>
    private sealed class Job
    {
        private int _next = -1, _count;
        private IItems? _body;
        public int Completed;
        public int Helpers;
        public ExecutionContext? Context;
        public List<Exception>? Errors;

        /// <summary>Sets the job up for a loop (the caller's execution context captured).</summary>
        public void Reset(IItems body, int count, int helpers)
        {
            (_body, _count, Helpers, Errors) = (body, count, helpers, null);
            Context = ExecutionContext.Capture();
            Volatile.Write(ref Completed, 0);
            Volatile.Write(ref _next, -1);
        }

        public void Work()
        {
            IItems? body = _body;
            int count = _count;
            if (body is null) return;
            for (int i = Interlocked.Increment(ref _next); i < count; i = Interlocked.Increment(ref _next))
            {
                try { body.Run(i); }
                catch (Exception e) { lock (this) (Errors ??= []).Add(e); }
                finally { Interlocked.Increment(ref Completed); }
            }
        }
    }
}
