using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Cli;

/// <summary>
/// <c>losskit bench</c>: median wall time of loss+gradient and of forward only, the achieved bandwidth, and a parallel
/// in-process copy of the same bytes as the floor, for any loss: the command knows only <see cref="ILoss.Kind"/>. The
/// inputs are the kind's <see cref="LossKind.Sample"/> (its required inputs, values in ±4) in float, prepared once; the
/// timed call is <see cref="LossCall.Run(RunOutputs)"/>, which is the library's typed call and nothing else. A call that
/// offers a <see cref="LossCall.Baseline"/> (<c>linear_ce</c>, with <c>--dim</c>: the materialised path) is timed next to
/// it, with the extra memory of each; with <c>--gemm M,K,N</c> the command times the GEMM alone.
/// </summary>
internal static class BenchCommand
{
    /// <summary>A timing. <c>copy_gbps</c>: a copy of the call's own <c>bytes</c> (in cache when they fit);
    /// <c>memory_copy_gbps</c>: a copy of <c>memory_copy_bytes</c> (read + written), larger than the last-level cache
    /// (<c>llc_bytes</c>), so main memory's bandwidth.</summary>
    public sealed record Result(string loss, int rows, int classes, int threads, double seconds_median, double forward_seconds_median,
        double gbps, double copy_gbps, double fraction_of_copy, long bytes, double memory_copy_gbps, long memory_copy_bytes, long llc_bytes);

    private static string MiB(long bytes) => bytes >= 1 << 20 ? $"{bytes / 1048576.0:0.#} MiB" : $"{bytes / 1024.0:0.#} KiB";

    /// <summary>The last-level cache's size: the largest cache of CPU 0 in /sys (Linux); 32 MiB where it cannot be read.</summary>
    public static long LastLevelCacheBytes()
    {
        long largest = 0;
        try
        {
            const string dir = "/sys/devices/system/cpu/cpu0/cache";
            if (Directory.Exists(dir))
                foreach (string index in Directory.GetDirectories(dir, "index*"))
                {
                    string file = Path.Combine(index, "size");
                    if (!File.Exists(file)) continue;
                    string text = File.ReadAllText(file).Trim();
                    long unit = text.EndsWith('K') ? 1024 : text.EndsWith('M') ? 1 << 20 : 1;
                    if (long.TryParse(text.TrimEnd('K', 'M'), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
                        largest = Math.Max(largest, v * unit);
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return largest > 0 ? largest : 32L << 20;
    }

    /// <summary>Bytes (read + written) of the memory copy: source and destination each at least twice the last-level
    /// cache and 64 MiB.</summary>
    public static long MemoryCopyBytes(long llcBytes) => 2 * Math.Max(2 * llcBytes, 64L << 20);

    public static Command Create()
    {
        var loss = new Option<string>("--loss") { Description = "Loss spec.", DefaultValueFactory = _ => "ce" };
        var rows = new Option<int>("--rows") { Description = "Rows N.", DefaultValueFactory = _ => 4096 };
        var classes = new Option<int>("--classes") { Description = "Classes K (outputs per row; linear_ce: the vocabulary V).", DefaultValueFactory = _ => 32000 };
        var dim = new Option<int>("--dim") { Description = "Feature dimension d of kinds that have one (linear_ce: the hidden size).", DefaultValueFactory = _ => 1024 };
        var gemm = new Option<string?>("--gemm") { Description = "Time the GEMM C = A·B alone for A M×K, B K×N: give M,K,N." };
        var fusedOnly = new Option<bool>("--fused-only") { Description = "Skip the call's baseline (linear_ce: the materialised path and its N×V logits)." };
        var threads = new Option<int>("--threads") { Description = "Threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var runs = new Option<int>("--runs") { Description = "Timed runs (median reported) after a warm-up of at least 3 runs (with a baseline: 1) and 1 second.", DefaultValueFactory = _ => 7 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (with --all: one JSON array)." };
        var all = new Option<bool>("--all") { Description = "Every registered loss on its kind's standard shapes (AllShapes), one row each; 3 timed runs unless --runs is given." };
        var quick = new Option<bool>("--quick") { Description = "With --all: tiny shapes (a smoke test of the table, not a measurement)." };
        var gemms = new Option<bool>("--gemms") { Description = "linear_ce: also time, in the same run and interleaved with the call, the three GEMMs it must do (logits N×d·d×V, ∂H N×V·V×d, ∂W V×N·N×d)." };
        var cmd = new Command("bench", "Time loss+gradient and forward-only on random float inputs, next to a copy of the same bytes; " +
                                       "a call with a baseline (linear_ce: fused against materialised) next to it; or the GEMM alone (--gemm M,K,N).")
            { loss, rows, classes, dim, gemm, fusedOnly, threads, runs, json, all, quick, gemms };
        cmd.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            bool asJson = p.GetValue(json);
            if (p.GetValue(all))
            {
                int allRuns = p.GetResult(runs) is { Implicit: false } ? p.GetValue(runs) : 3;
                var results = MeasureAll(p.GetValue(threads), allRuns, p.GetValue(quick), p.InvocationConfiguration.Error);
                if (asJson) output.WriteLine(JsonSerializer.Serialize(results));
                else
                {
                    var t = new TextTable("loss", "shape", "loss+grad s", "GB/s", "of copy", "× ce", "bytes/call") { RightAligned = [2, 3, 4, 5, 6] };
                    foreach (var row in results)
                        t.Add(row.loss, $"{row.rows}×{row.classes}", $"{row.seconds_median:G4}", $"{row.gbps:F2}", $"{row.fraction_of_copy:P0}",
                            row.ratio_to_ce is { } x ? $"{x:F2}" : "", $"{row.allocated_bytes:F0}");
                    Tables.Write(output, t, Tables.Format(p));
                    output.WriteLine($"{p.GetValue(threads)} threads, {allRuns} timed runs per row (median) after a warm-up of 2 calls and 0.5 s; " +
                        "copy: a parallel in-process copy of the same bytes; × ce: this row's time over ce's on the same shape; bytes/call: managed bytes allocated per timed call (all threads).");
                }
                return 0;
            }
            if (p.GetValue(gemm) is { } shape)
            {
                var g = MeasureGemm(shape, p.GetValue(threads), p.GetValue(runs));
                if (asJson) output.WriteLine(JsonSerializer.Serialize(g));
                else
                {
                    var t = new TextTable("GEMM M,K,N", "threads", "seconds", "GFLOP/s") { RightAligned = [1, 2, 3] };
                    t.Add($"{g.m},{g.k},{g.n}", $"{g.threads}", $"{g.seconds_median:F4}", $"{g.gflops:F1}");
                    Tables.Write(output, t, Tables.Format(p));
                }
                return 0;
            }
            var size = new SampleSize(p.GetValue(rows), p.GetValue(classes), p.GetValue(dim));
            var (spec, call) = Prepare(p.GetValue(loss)!, size, p.GetValue(threads), p.GetValue(runs));
            if (call.Baseline is not null)
            {
                var (_, warmUp) = Prepare(p.GetValue(loss)!, size with { Rows = Math.Min(8, size.Rows) }, p.GetValue(threads), 1);
                var l = MeasureAgainstBaseline(spec, call, size, p.GetValue(threads), p.GetValue(runs), !p.GetValue(fusedOnly), warmUp);
                (double Call, double Gemms)? vsGemms = p.GetValue(gemms) ? MeasureAgainstGemms(call, size, p.GetValue(runs)) : null;
                if (asJson)
                {
                    var node = JsonNode.Parse(l.ToJson(call.Settings))!.AsObject();
                    if (vsGemms is { } v)
                    {
                        node["gemms_call_seconds_median"] = v.Call;
                        node["gemms_seconds_median"] = v.Gemms;
                        node["call_over_gemms"] = v.Call / v.Gemms;
                    }
                    output.WriteLine(node.ToJsonString());
                }
                else
                {
                    var t = new TextTable("loss", "N×d, V", "threads", "path", "loss+grad s", "GFLOP/s", "extra MiB", "peak RSS +MiB") { RightAligned = [2, 4, 5, 6, 7] };
                    t.Add(l.loss, $"{l.rows}×{l.dim}, {l.classes}", $"{l.threads}", call.Method, $"{l.fused_seconds_median:F3}",
                        $"{l.gflops:F1}", $"{l.fused_extra_bytes / 1048576.0:F1}", $"{l.fused_peak_rss_delta_bytes / 1048576.0:F1}");
                    if (l.materialized_seconds_median > 0)
                        t.Add("", "", "", call.Baseline.Method, $"{l.materialized_seconds_median:F3}", $"{l.materialized_gflops:F1}",
                            $"{l.materialized_extra_bytes / 1048576.0:F1}", $"{l.materialized_peak_rss_delta_bytes / 1048576.0:F1}");
                    Tables.Write(output, t, Tables.Format(p));
                    output.WriteLine($"forward only ({call.Method}): {l.forward_seconds_median:F3} s; {call.Method} / {call.Baseline.Method} time: {l.fused_over_materialized:F3}");
                    if (vsGemms is { } v)
                        output.WriteLine($"the three GEMMs alone: {v.Gemms:F3} s; {call.Method} (timed beside them): {v.Call:F3} s; ratio {v.Call / v.Gemms:F3}");
                }
                return 0;
            }
            var r = Measure(spec, call, size, p.GetValue(threads), p.GetValue(runs));
            if (asJson) output.WriteLine(JsonSerializer.Serialize(r));
            else
            {
                var t = new TextTable("loss", "shape", "threads", "loss+grad s", "forward s", "GB/s",
                    $"copy GB/s, same {MiB(r.bytes)} (cache if small)", "of copy",
                    $"copy GB/s, {MiB(r.memory_copy_bytes)} > LLC {MiB(r.llc_bytes)} (memory)", "of memory copy") { RightAligned = [2, 3, 4, 5, 6, 7, 8, 9] };
                t.Add(r.loss, $"{r.rows}×{r.classes}", $"{r.threads}", $"{r.seconds_median:F4}", $"{r.forward_seconds_median:F4}",
                    $"{r.gbps:F2}", $"{r.copy_gbps:F2}", $"{r.fraction_of_copy:P0}", $"{r.memory_copy_gbps:F2}", $"{r.gbps / r.memory_copy_gbps:P0}");
                Tables.Write(output, t, Tables.Format(p));
                output.WriteLine("copy: a parallel in-process copy reading and writing the same bytes as the call (a floor for a memory-bound call; " +
                    "from the caches when they fit), and one on buffers larger than the last-level cache (main-memory bandwidth).");
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>One row of <c>bench --all</c>: a loss on one shape. <c>ratio_to_ce</c> is its time over <c>ce</c>'s on the
    /// same shape (classification losses; null elsewhere); <c>allocated_bytes</c> the managed bytes allocated per timed
    /// call, on every thread (<see cref="GC.GetTotalAllocatedBytes(bool)"/> around the timed calls, after the warm-up).
    /// A loss that cannot run on its shape has null figures (the reason goes to standard error).</summary>
    public sealed record AllResult(string loss, int rows, int classes, double? seconds_median, double? gbps, double? fraction_of_copy,
        double? ratio_to_ce, double? allocated_bytes);

    /// <summary>The standard shapes (rows, width, d) of each kind for <c>bench --all</c>: the shapes the issues measure
    /// (classification 4096 × 32000 and 4096 × 1000; binary 4096 × 1000 and 16 777 216 × 1; regression 16 777 216; ranking
    /// 10 000 lists of 128; embeddings N = 2048, d = 128), and smaller ones where a call is far from memory-bound
    /// (linear_ce: 1024 × 512 → 8192). With <paramref name="quick"/>, tiny shapes for a smoke test.</summary>
    public static IReadOnlyList<SampleSize> AllShapes(LossKind kind, bool quick) => (kind.Name, quick) switch
    {
        ("classification", false) => [new(4096, 32000), new(4096, 1000)],
        ("binary", false) => [new(4096, 1000), new(16_777_216, 1)],
        ("regression", false) => [new(16_777_216, 1)],
        ("bag regression", false) => [new(65536, 16)],
        ("ranking", false) => [new(10_000, 128)],
        ("embeddings", false) => [new(2048, 128)],
        ("pairs" or "pair-distances" or "triplets", false) => [new(65536, 128, 128)],
        ("preference" or "unpaired-preference", false) => [new(1_048_576, 1)],
        ("linear-preference", false) => [new(16, 8192, 512)],
        ("large-vocabulary", false) => [new(1024, 8192, 512)],
        (_, false) => [new(4096, 1000)],
        ("classification", true) => [new(64, 100), new(64, 10)],
        (_, true) => [new(16, 10, 8)],
    };

    /// <summary><c>bench --all</c>: every registered loss (catalog order) on each of its kind's <see cref="AllShapes"/>,
    /// float, loss + gradients. Each row: warm-up of 2 calls and 0.5 s (quick: 2 calls), then the median of <paramref name="runs"/> timed
    /// calls, the bytes they allocated, and the bandwidth against a parallel copy of the same bytes (one copy timing per
    /// distinct byte count). Progress goes to <paramref name="progress"/>.</summary>
    public static IReadOnlyList<AllResult> MeasureAll(int threads, int runs, bool quick, TextWriter progress)
    {
        var rows = new List<AllResult>();
        var copies = new Dictionary<long, double>();
        var ceSeconds = new Dictionary<(int, int), double>();
        double warmUpSeconds = quick ? 0 : 0.5;
        foreach (LossDefinition definition in LossRegistry.All)
        {
            string name = definition.Card.Name;
            LossKind kind = LossRegistry.Create(name).Kind;
            foreach (SampleSize shape in AllShapes(kind, quick))
            {
                SampleSize size = shape.Dim > 0 ? shape : shape with { Dim = 64 };   // d is checked even where a kind has none
                AllResult row;
                try
                {
                    var (spec, call) = Prepare(name, size, threads, runs);
                    GC.Collect();
                    var (seconds, allocated) = MedianAndAllocation(runs, call, warmUpSeconds);
                    long bytes = call.Bytes(RunOutputs.Gradients);
                    if (!copies.TryGetValue(bytes, out double copyGbps)) copies[bytes] = copyGbps = CopyGbps(bytes, threads, runs, warmUpSeconds);
                    double gbps = bytes / seconds / 1e9;
                    if (name == "ce" && kind.Name == "classification") ceSeconds[(size.Rows, size.Width)] = seconds;
                    row = new AllResult(name, size.Rows, size.Width, seconds, gbps, gbps / copyGbps, null, allocated);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or OutOfMemoryException)
                {
                    progress.WriteLine($"losskit bench --all: {name} {size.Rows}×{size.Width}: {e.Message}");
                    row = new AllResult(name, size.Rows, size.Width, null, null, null, null, null);
                }
                rows.Add(row);
                progress.WriteLine(JsonSerializer.Serialize(row));   // a run cut short still leaves its rows
            }
            GC.Collect();
        }
        return [.. rows.Select(r => LossRegistry.Create(r.loss).Kind.Name == "classification" && r.seconds_median is { } s
            && ceSeconds.TryGetValue((r.rows, r.classes), out double ce) ? r with { ratio_to_ce = s / ce } : r)];
    }

    /// <summary>The median wall time of <paramref name="runs"/> calls of <c>Run(Gradients)</c> after a warm-up of 2 calls
    /// and <paramref name="warmUpSeconds"/>, and the managed bytes allocated per timed call on all threads.</summary>
    private static (double Seconds, double AllocatedBytes) MedianAndAllocation(int runs, LossCall call, double warmUpSeconds)
    {
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 200 && (i < 2 || Stopwatch.GetElapsedTime(warm).TotalSeconds < warmUpSeconds); i++) call.Run(RunOutputs.Gradients);
        var times = new double[runs];
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            call.Run(RunOutputs.Gradients);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        return (MedianOf(times), (double)allocated / runs);
    }

    /// <summary>The loss's canonical spec and a float call on its kind's sample inputs of <paramref name="size"/>: the
    /// kind's required inputs only (the optional ones, such as linear_ce's bias, are left out, unless the loss needs them:
    /// dpo's reference log-probabilities), differentiable inputs
    /// uniform in ±4, seed 42. The double sample is dropped once the call has its float copy.</summary>
    public static (string Spec, LossCall Call) Prepare(string spec, SampleSize size, int threads, int runs)
    {
        if (size.Rows < 1) throw new ArgumentOutOfRangeException(nameof(size), size.Rows, $"--rows {size.Rows}: expected at least 1.");
        if (size.Width < 1) throw new ArgumentOutOfRangeException(nameof(size), size.Width, $"--classes {size.Width}: expected at least 1.");
        if (size.Dim < 1) throw new ArgumentOutOfRangeException(nameof(size), size.Dim, $"--dim {size.Dim}: expected at least 1.");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"--threads {threads}: expected at least 1.");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, $"--runs {runs}: expected at least 1.");
        ILoss loss = LossRegistry.Create(spec);
        // --dim counts only for the kinds with a d (hidden states, embeddings, proxies).
        bool hasDim = loss.Kind.Inputs.Any(i => i.Shape.Split(['×', ' ', ',', '(', ')']).Contains("d"));
        foreach (var (a, b) in hasDim ? new[] { (size.Rows, size.Width), (size.Rows, size.Dim), (size.Width, size.Dim) } : [(size.Rows, size.Width)])
            if ((long)a * b > Array.MaxLength)
                throw new ArgumentException($"{a}×{b} = {(long)a * b} values is more than one array can hold ({Array.MaxLength}).", nameof(size));
        Parallelism.MaxThreads = threads;
        LossInputs inputs = loss.Kind.Sample(loss, size, new Random(42), scale: 4);
        LossInputs required = loss.Kind.Sample(loss, size, new Random(42), scale: 4);
        foreach (LossInput input in loss.Kind.Inputs)
            if (input.Optional) required.Remove(input.Name);
        try
        {
            LossCall call = loss.Kind.Prepare<float>(loss, required);
            call.Run(RunOutputs.Loss);   // a loss that needs an optional input says so here
            return (loss.Spec, call);
        }
        catch (ArgumentException)
        {
            // An input the kind calls optional that this loss needs (dpo's reference log-probabilities): with every input.
            return (loss.Spec, loss.Kind.Prepare<float>(loss, inputs));
        }
    }

    /// <summary>Median times of <c>Run(Gradients)</c> and <c>Run(Loss)</c>, bandwidth from <see cref="LossCall.Bytes(RunOutputs)"/>.</summary>
    public static Result Measure(string spec, LossCall call, SampleSize size, int threads, int runs)
    {
        double full = Median(runs, () => call.Run(RunOutputs.Gradients));
        double forward = Median(runs, () => call.Run(RunOutputs.Loss));
        long bytes = call.Bytes(RunOutputs.Gradients);
        double gbps = bytes / full / 1e9, copyGbps = CopyGbps(bytes, threads, runs);
        long llc = LastLevelCacheBytes(), memoryBytes = MemoryCopyBytes(llc);
        double memoryGbps = CopyGbps(memoryBytes, threads, runs);
        return new Result(spec, size.Rows, size.Width, threads, full, forward, gbps, copyGbps, gbps / copyGbps, bytes, memoryGbps, memoryBytes, llc);
    }

    /// <summary>The bandwidth of a parallel in-process copy that reads and writes <paramref name="bytes"/> in all
    /// (half each): the floor a memory-bound call is compared with.</summary>
    private static double CopyGbps(long bytes, int threads, int runs, double warmUpSeconds = 1.0)
    {
        var source = new float[Math.Max(1, bytes / 2 / sizeof(float))];
        var destination = new float[source.Length];
        source.AsSpan().Fill(1);
        double copy = Median(runs, () => ParallelCopy(source, destination, threads), warmUpSeconds: warmUpSeconds);
        return 2.0 * source.LongLength * sizeof(float) / copy / 1e9;
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
    /// and <paramref name="warmUpSeconds"/> (1 second), so the JIT has replaced tier-0 code with optimised code before anything is timed.</summary>
    private static double Median(int runs, Action action, int warmUps = 3, double warmUpSeconds = 1.0)
    {
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 200 && (i < warmUps || Stopwatch.GetElapsedTime(warm).TotalSeconds < warmUpSeconds); i++) action();
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

    /// <summary>A call against its baseline on one shape (the field names are linear_ce's, the first kind with a
    /// baseline: <c>fused_*</c> is the call, <c>materialized_*</c> its baseline); the timed runs of the two alternate,
    /// after one first call of each. <c>seconds_median</c> = <c>fused_seconds_median</c> (loss + every gradient);
    /// <c>gbps</c> counts the inputs read and the gradients written; GFLOP/s counts <see cref="LossCall.Flops"/>
    /// (linear_ce: 6·N·d·V). <c>*_extra_bytes</c>: managed bytes allocated by the first call of each in this process
    /// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, precise), i.e. its scratch — the chunk of logits and the GEMM's
    /// packing buffers for the fused path (it runs first, so it also pays for the GEMM pools), the N×V logits and their
    /// gradient for the materialised one; inputs and outputs are allocated before and not counted.
    /// <c>*_peak_rss_delta_bytes</c>: growth of the process's peak resident set (VmHWM) over that first call (inputs and
    /// outputs are written before it, so they are resident already; the sample the inputs were made from is released
    /// and the peak reset first). <c>*_cpu_seconds_median</c>: process CPU time (all threads) per call, a steadier
    /// measure than wall time on a shared machine. The call's <see cref="LossCall.Settings"/> (linear_ce:
    /// <c>chunk_rows</c>, <c>vocab_block</c>) are written after <c>threads</c>.</summary>
    public sealed record BaselineResult(string loss, int rows, int dim, int classes, int threads, double seconds_median,
        double forward_seconds_median, double gbps, double copy_gbps, double fraction_of_copy, double gflops,
        double fused_seconds_median, double materialized_seconds_median, double materialized_gflops, double fused_over_materialized,
        long fused_extra_bytes, long materialized_extra_bytes, long fused_peak_rss_delta_bytes, long materialized_peak_rss_delta_bytes,
        double fused_cpu_seconds_median, double materialized_cpu_seconds_median, int runs)
    {
        /// <summary>The result as one JSON object with <paramref name="settings"/> after <c>threads</c>.</summary>
        public string ToJson(IReadOnlyList<KeyValuePair<string, int>> settings)
        {
            var result = new JsonObject();
            foreach (var (name, value) in JsonSerializer.SerializeToNode(this)!.AsObject())
            {
                result[name] = value?.DeepClone();
                if (name == "threads")
                    foreach (var (setting, v) in settings) result[setting] = v;
            }
            return result.ToJsonString();
        }
    }

    /// <summary>Times <paramref name="call"/> and, with <paramref name="withBaseline"/>, its <see cref="LossCall.Baseline"/>.</summary>
    /// <param name="warmUp">The same loss on a few rows (see <see cref="Prepare"/>), run once before anything is measured.</param>
    public static BaselineResult MeasureAgainstBaseline(string spec, LossCall call, SampleSize size, int threads, int runs, bool withBaseline = true,
        LossCall? warmUp = null)
    {
        LossCall baseline = call.Baseline ?? throw new ArgumentException($"{spec} offers no baseline to time against.", nameof(call));
        void Fused() => call.Run(RunOutputs.Gradients);
        void Forward() => call.Run(RunOutputs.Loss);
        void Materialized() => baseline.Run(RunOutputs.Gradients);

        // The double sample is garbage now: release it to the system and restart the peak, so that the peak-RSS deltas
        // count the first calls' scratch only. Then the first calls (memory measured; they double as warm-up), then the
        // timed runs of the two interleaved, so that a change in the load of a shared machine affects both alike.
        // GEMM keeps pools of packing buffers for the life of the process. Run both paths once on a few rows first (the
        // same slices and products, a smaller chunk), so that neither measured first call pays for the pools both use
        // (the one measured first used to be charged for them); the chunk of the real shape is still allocated by it.
        if (warmUp is not null)
        {
            warmUp.Run(RunOutputs.Gradients);
            if (withBaseline) warmUp.Baseline?.Run(RunOutputs.Gradients);
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        ResetPeakResident();
        var (fusedBytes, fusedRss) = FirstCallMemory(Fused);
        long materializedBytes = 0, materializedRss = 0;
        if (withBaseline) (materializedBytes, materializedRss) = FirstCallMemory(Materialized);
        var fusedTimes = new (double Wall, double Cpu)[runs];
        var fullTimes = new (double Wall, double Cpu)[runs];
        for (int i = 0; i < runs; i++)
        {
            fusedTimes[i] = TimeWithCpu(Fused);
            if (withBaseline) fullTimes[i] = TimeWithCpu(Materialized);
        }
        double fused = MedianOf(fusedTimes.Select(t => t.Wall).ToArray()), fusedCpu = MedianOf(fusedTimes.Select(t => t.Cpu).ToArray());
        double full = withBaseline ? MedianOf(fullTimes.Select(t => t.Wall).ToArray()) : 0;
        double fullCpu = withBaseline ? MedianOf(fullTimes.Select(t => t.Cpu).ToArray()) : 0;
        double forward = Median(runs, Forward, warmUps: 1);
        double flops = call.Flops(RunOutputs.Gradients);
        long bytes = call.Bytes(RunOutputs.Gradients);
        double gbps = bytes / fused / 1e9, copyGbps = CopyGbps(bytes, threads, runs);
        return new BaselineResult(spec, size.Rows, size.Dim, size.Width, threads, fused, forward, gbps, copyGbps, gbps / copyGbps, flops / fused / 1e9,
            fused, full, full > 0 ? flops / full / 1e9 : 0, full > 0 ? fused / full : 0,
            fusedBytes, materializedBytes, fusedRss, materializedRss, fusedCpu, fullCpu, runs);
    }

    /// <summary>The call against the three GEMMs a fused linear cross-entropy must do at N×d hidden states and a
    /// vocabulary of V (<c>size</c>: Rows, Dim, Width): logits N×d·d×V, ∂H = G·W as N×V·V×d, ∂W = Gᵀ·H as V×N·N×d
    /// (2·N·d·V flops each; one N×V buffer serves as the logits, G and Gᵀ, since only the time matters). The two are timed
    /// alternately, <paramref name="runs"/> times each after one untimed round, and their medians returned.</summary>
    public static (double Call, double Gemms) MeasureAgainstGemms(LossCall call, SampleSize size, int runs)
    {
        int n = size.Rows, d = size.Dim, v = size.Width;
        var rng = new Random(3);
        float[] h = new float[(long)n * d], wDV = new float[(long)d * v], wVD = new float[(long)v * d];
        float[] logits = new float[(long)n * v], dH = new float[(long)n * d], dW = new float[(long)v * d];
        foreach (var a in new[] { h, wDV, wVD })
            for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
        void Gemms()
        {
            Gemm.Multiply<float>(h, wDV, logits, n, v, d);      // logits = H·Wᵀ
            Gemm.Multiply<float>(logits, wVD, dH, n, d, v);     // ∂H = G·W
            Gemm.Multiply<float>(logits, h, dW, v, d, n);       // ∂W = Gᵀ·H (the buffer read as V×N)
        }
        void Call() => call.Run(RunOutputs.Gradients);
        Call();
        Gemms();
        var callTimes = new double[runs];
        var gemmTimes = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            callTimes[i] = TimeWithCpu(Call).Wall;
            gemmTimes[i] = TimeWithCpu(Gemms).Wall;
        }
        return (MedianOf(callTimes), MedianOf(gemmTimes));
    }

    /// <summary>Restarts the process's peak resident set at its current size (Linux: <c>/proc/self/clear_refs</c>);
    /// elsewhere nothing.</summary>
    private static void ResetPeakResident()
    {
        try
        {
            if (File.Exists("/proc/self/clear_refs")) File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
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
