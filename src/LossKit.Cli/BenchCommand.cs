using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using LossKit.Catalog;
using LossKit.Kernels;
using LossKit.LargeVocabulary;

namespace LossKit.Cli;

/// <summary>
/// <c>losskit bench</c>: median wall time of loss+gradient and of forward only on random float logits, the
/// achieved bandwidth (logits read + gradient written), and a parallel in-process copy of the same bytes as the floor.
/// With <c>--loss linear_ce</c> (and <c>--dim</c>) it times the fused linear layer + cross-entropy next to the
/// materialised path and measures the extra memory of each; with <c>--gemm M,K,N</c> it times the GEMM alone.
/// </summary>
internal static class BenchCommand
{
    public sealed record Result(string loss, int rows, int classes, int threads, double seconds_median, double forward_seconds_median,
        double gbps, double copy_gbps, double fraction_of_copy);

    public static Command Create()
    {
        var loss = new Option<string>("--loss") { Description = "Loss spec.", DefaultValueFactory = _ => "ce" };
        var rows = new Option<int>("--rows") { Description = "Rows N.", DefaultValueFactory = _ => 4096 };
        var classes = new Option<int>("--classes") { Description = "Classes K.", DefaultValueFactory = _ => 32000 };
        var dim = new Option<int>("--dim") { Description = "Hidden size d (linear_ce only).", DefaultValueFactory = _ => 1024 };
        var gemm = new Option<string?>("--gemm") { Description = "Time the GEMM C = A·B alone for A M×K, B K×N: give M,K,N." };
        var fusedOnly = new Option<bool>("--fused-only") { Description = "linear_ce: skip the materialised path (its N×V logits)." };
        var threads = new Option<int>("--threads") { Description = "Threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var runs = new Option<int>("--runs") { Description = "Timed runs (median reported) after a warm-up of at least 3 runs (linear_ce: 1) and 1 second.", DefaultValueFactory = _ => 7 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("bench", "Time loss+gradient and forward-only on random float logits, next to a copy of the same bytes; " +
                                       "linear_ce against its materialised path; or the GEMM alone (--gemm M,K,N).")
            { loss, rows, classes, dim, gemm, fusedOnly, threads, runs, json };
        cmd.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            bool asJson = p.GetValue(json);
            if (p.GetValue(gemm) is { } shape)
            {
                var g = MeasureGemm(shape, p.GetValue(threads), p.GetValue(runs));
                if (asJson) output.WriteLine(JsonSerializer.Serialize(g));
                else
                {
                    var t = new Table().AddColumns("GEMM M,K,N", "threads", "seconds", "GFLOP/s");
                    t.AddRow($"{g.m},{g.k},{g.n}", $"{g.threads}", $"{g.seconds_median:F4}", $"{g.gflops:F1}");
                    CatalogCommands.Console(output).Write(t);
                }
                return 0;
            }
            string spec = p.GetValue(loss)!;
            if (LossRegistry.Create(spec) is LinearCrossEntropyLoss)
            {
                var l = MeasureLinear(spec, p.GetValue(rows), p.GetValue(dim), p.GetValue(classes), p.GetValue(threads), p.GetValue(runs), !p.GetValue(fusedOnly));
                if (asJson) output.WriteLine(JsonSerializer.Serialize(l));
                else
                {
                    var t = new Table().AddColumns("loss", "N×d, V", "threads", "path", "loss+grad s", "GFLOP/s", "extra MiB", "peak RSS +MiB");
                    t.AddRow(Markup.Escape(l.loss), $"{l.rows}×{l.dim}, {l.classes}", $"{l.threads}", "fused", $"{l.fused_seconds_median:F3}",
                        $"{l.gflops:F1}", $"{l.fused_extra_bytes / 1048576.0:F1}", $"{l.fused_peak_rss_delta_bytes / 1048576.0:F1}");
                    if (l.materialized_seconds_median > 0)
                        t.AddRow("", "", "", "materialised", $"{l.materialized_seconds_median:F3}", $"{l.materialized_gflops:F1}",
                            $"{l.materialized_extra_bytes / 1048576.0:F1}", $"{l.materialized_peak_rss_delta_bytes / 1048576.0:F1}");
                    CatalogCommands.Console(output).Write(t);
                    output.WriteLine($"forward only (fused): {l.forward_seconds_median:F3} s; fused / materialised time: {l.fused_over_materialized:F3}");
                }
                return 0;
            }
            var r = Measure(spec, p.GetValue(rows), p.GetValue(classes), p.GetValue(threads), p.GetValue(runs));
            if (asJson) output.WriteLine(JsonSerializer.Serialize(r));
            else
            {
                var t = new Table().AddColumns("loss", "shape", "threads", "loss+grad s", "forward s", "GB/s", "copy GB/s", "of copy");
                t.AddRow(Markup.Escape(r.loss), $"{r.rows}×{r.classes}", $"{r.threads}", $"{r.seconds_median:F4}", $"{r.forward_seconds_median:F4}",
                    $"{r.gbps:F2}", $"{r.copy_gbps:F2}", $"{r.fraction_of_copy:P0}");
                CatalogCommands.Console(output).Write(t);
            }
            return 0;
        });
        return cmd;
    }

    public static Result Measure(string spec, int rows, int classes, int threads, int runs)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"--rows {rows}: expected at least 1.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"--classes {classes}: expected at least 1.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"--threads {threads}: expected at least 1.");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, $"--runs {runs}: expected at least 1.");
        var loss = LossRegistry.CreateClassification(spec);
        Parallelism.MaxThreads = threads;
        long n = (long)rows * classes;
        if (n > Array.MaxLength) throw new ArgumentException($"{rows}×{classes} = {n} values is more than one array can hold ({Array.MaxLength}).", nameof(rows));
        var logits = new float[n];
        var gradient = new float[n];
        var targets = new int[rows];
        var rng = new Random(42);
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = threads }, r =>
        {
            var local = new Random(r);
            for (int k = 0; k < classes; k++) logits[(long)r * classes + k] = (float)(local.NextDouble() * 8 - 4);
        });
        for (int r = 0; r < rows; r++) targets[r] = rng.Next(classes);

        double full = Median(runs, () => loss.Compute<float>(logits, classes, targets, default, gradient));
        double forward = Median(runs, () => loss.Compute<float>(logits, classes, targets));
        double copy = Median(runs, () => ParallelCopy(logits, gradient, threads));
        double bytes = 2.0 * n * sizeof(float);
        double gbps = bytes / full / 1e9, copyGbps = bytes / copy / 1e9;
        return new Result(loss.Spec, rows, classes, threads, full, forward, gbps, copyGbps, gbps / copyGbps);
    }

    /// <summary>Copies source into destination in as many contiguous chunks as threads, one per thread.</summary>
    private static void ParallelCopy(float[] source, float[] destination, int threads)
    {
        long n = source.LongLength, chunk = (n + threads - 1) / threads;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            long start = t * chunk, len = Math.Min(chunk, n - start);
            if (len > 0) source.AsSpan((int)start, (int)len).CopyTo(destination.AsSpan((int)start, (int)len));
        });
    }

    /// <summary>Median of <paramref name="runs"/> timed calls after a warm-up of at least <paramref name="warmUps"/> calls
    /// and 1 second, so the JIT has replaced tier-0 code with optimised code before anything is timed.</summary>
    private static double Median(int runs, Action action, int warmUps = 3)
    {
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 200 && (i < warmUps || Stopwatch.GetElapsedTime(warm).TotalSeconds < 1.0); i++) action();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    }

    /// <summary>linear_ce against its materialised path on one shape; the timed runs of the two alternate, after one
    /// first call of each. <c>seconds_median</c> = <c>fused_seconds_median</c>
    /// (loss + ∂H + ∂W); <c>gbps</c> counts H and W read and ∂H and ∂W written; GFLOP/s counts 6·N·d·V.
    /// <c>*_extra_bytes</c>: managed bytes allocated by the first call of each path in this process
    /// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, precise), i.e. its scratch — the chunk of logits and the GEMM's
    /// packing buffers for the fused path (it runs first, so it also pays for the GEMM pools), the N×V logits and their
    /// gradient for the materialised one; inputs and outputs are allocated before and not counted.
    /// <c>*_peak_rss_delta_bytes</c>: growth of the process's peak resident set (VmHWM) over that first call (inputs and
    /// outputs are written before it, so they are resident already). <c>*_cpu_seconds_median</c>: process CPU time
    /// (all threads) per call, a steadier measure than wall time on a shared machine.</summary>
    public sealed record LinearResult(string loss, int rows, int dim, int classes, int threads, int chunk_rows, int vocab_block, double seconds_median,
        double forward_seconds_median, double gbps, double copy_gbps, double fraction_of_copy, double gflops,
        double fused_seconds_median, double materialized_seconds_median, double materialized_gflops, double fused_over_materialized,
        long fused_extra_bytes, long materialized_extra_bytes, long fused_peak_rss_delta_bytes, long materialized_peak_rss_delta_bytes,
        double fused_cpu_seconds_median, double materialized_cpu_seconds_median, int runs);

    public static LinearResult MeasureLinear(string spec, int rows, int dim, int classes, int threads, int runs, bool materialized = true)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"--rows {rows}: expected at least 1.");
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, $"--dim {dim}: expected at least 1.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"--classes {classes}: expected at least 1.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"--threads {threads}: expected at least 1.");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, $"--runs {runs}: expected at least 1.");
        var loss = (LinearCrossEntropyLoss)LossRegistry.Create(spec);
        Parallelism.MaxThreads = threads;
        long hn = (long)rows * dim, wn = (long)classes * dim;
        if (hn > Array.MaxLength || wn > Array.MaxLength) throw new ArgumentException($"{rows}×{dim} or {classes}×{dim} values is more than one array can hold.", nameof(rows));
        var hidden = new float[hn];
        var weight = new float[wn];
        var gradHidden = new float[hn];
        var gradWeight = new float[wn];
        var targets = new int[rows];
        float wScale = (float)(2 / Math.Sqrt(dim));
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var local = new Random(t);
            for (long i = t; i < hn; i += threads) hidden[i] = (float)(local.NextDouble() * 2 - 1);
            for (long i = t; i < wn; i += threads) weight[i] = (float)(local.NextDouble() * 2 - 1) * wScale;
        });
        var rng = new Random(42);
        for (int r = 0; r < rows; r++) targets[r] = rng.Next(classes);
        gradHidden.AsSpan().Fill(1);   // make the outputs resident, so the peak-RSS deltas count scratch only
        gradWeight.AsSpan().Fill(1);

        void Fused() => loss.Compute(hidden, weight, default, rows, dim, classes, targets, default, gradHidden, gradWeight);
        void Forward() => loss.Compute(hidden, weight, default, rows, dim, classes, targets);
        void Materialized() => loss.ComputeMaterialized(hidden, weight, default, rows, dim, classes, targets, default, gradHidden, gradWeight);

        // First calls (memory measured; they double as warm-up), then the timed runs of the two paths interleaved,
        // so that a change in the load of a shared machine affects both alike.
        var (fusedBytes, fusedRss) = FirstCallMemory(Fused);
        long materializedBytes = 0, materializedRss = 0;
        if (materialized) (materializedBytes, materializedRss) = FirstCallMemory(Materialized);
        var fusedTimes = new (double Wall, double Cpu)[runs];
        var fullTimes = new (double Wall, double Cpu)[runs];
        for (int i = 0; i < runs; i++)
        {
            fusedTimes[i] = TimeWithCpu(Fused);
            if (materialized) fullTimes[i] = TimeWithCpu(Materialized);
        }
        double fused = MedianOf(fusedTimes.Select(t => t.Wall).ToArray()), fusedCpu = MedianOf(fusedTimes.Select(t => t.Cpu).ToArray());
        double full = materialized ? MedianOf(fullTimes.Select(t => t.Wall).ToArray()) : 0;
        double fullCpu = materialized ? MedianOf(fullTimes.Select(t => t.Cpu).ToArray()) : 0;
        double forward = Median(runs, Forward, warmUps: 1);
        double flops = 6.0 * rows * dim * classes;
        double bytes = 2.0 * (hn + wn) * sizeof(float);
        double copy = Median(runs, () => ParallelCopy(hidden, gradHidden, threads));
        copy += Median(runs, () => ParallelCopy(weight, gradWeight, threads));
        double gbps = bytes / fused / 1e9, copyGbps = bytes / copy / 1e9;
        int chunk = loss.ChunkRowsFor(loss.Shift ? rows - 1 : rows, classes, dim, sizeof(float));
        return new LinearResult(loss.Spec, rows, dim, classes, threads, chunk, loss.VocabBlockFor(classes, dim, sizeof(float)), fused, forward, gbps, copyGbps, gbps / copyGbps, flops / fused / 1e9,
            fused, full, full > 0 ? flops / full / 1e9 : 0, full > 0 ? fused / full : 0,
            fusedBytes, materializedBytes, fusedRss, materializedRss, fusedCpu, fullCpu, runs);
    }

    /// <summary>Wall time and process CPU time (all threads) of one call.</summary>
    private static (double Wall, double Cpu) TimeWithCpu(Action action)
    {
        using var process = Process.GetCurrentProcess();
        TimeSpan c0 = process.TotalProcessorTime;
        long t0 = Stopwatch.GetTimestamp();
        action();
        double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - c0).TotalSeconds);
    }

    private static double MedianOf(double[] x)
    {
        Array.Sort(x);
        int n = x.Length;
        return n % 2 == 1 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
    }

    /// <summary>Managed bytes allocated by one call, and the growth of the process's peak resident set over it.</summary>
    private static (long Bytes, long PeakRssDelta) FirstCallMemory(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long peak0 = PeakResidentBytes();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        action();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        return (allocated, Math.Max(0, PeakResidentBytes() - peak0));
    }

    /// <summary>The process's peak resident set: VmHWM from /proc/self/status on Linux, else the peak working set.</summary>
    private static long PeakResidentBytes()
    {
        try
        {
            if (File.Exists("/proc/self/status"))
                foreach (string line in File.ReadLines("/proc/self/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// <summary>GEMM timing: C = A·B with A M×K, B K×N (row-major float), 2·M·K·N flops.</summary>
    public sealed record GemmResult(string gemm, int m, int k, int n, int threads, double seconds_median, double gflops, int runs);

    public static GemmResult MeasureGemm(string shape, int threads, int runs)
    {
        string[] parts = shape.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !parts.All(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1))
            throw new ArgumentException($"--gemm {shape}: expected M,K,N, three positive integers (A is M×K, B is K×N).", "gemm");
        int m = int.Parse(parts[0], CultureInfo.InvariantCulture), k = int.Parse(parts[1], CultureInfo.InvariantCulture), n = int.Parse(parts[2], CultureInfo.InvariantCulture);
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"--threads {threads}: expected at least 1.");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, $"--runs {runs}: expected at least 1.");
        if ((long)m * k > Array.MaxLength || (long)k * n > Array.MaxLength || (long)m * n > Array.MaxLength)
            throw new ArgumentException($"--gemm {shape}: a matrix has more values than one array can hold.", "gemm");
        Parallelism.MaxThreads = threads;
        var rng = new Random(1);
        float[] a = new float[(long)m * k], b = new float[(long)k * n], c = new float[(long)m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        double seconds = Median(runs, () => Gemm.Multiply(a, b, c, m, n, k));
        return new GemmResult($"{m},{k},{n}", m, k, n, threads, seconds, 2.0 * m * k * n / seconds / 1e9, runs);
    }
}
