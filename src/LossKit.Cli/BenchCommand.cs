using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LossKit.Catalog;
using Spectre.Console;

namespace LossKit.Cli;

/// <summary>
/// <c>losskit bench</c>: median wall time of loss+gradient and of forward only on random float logits, the
/// achieved bandwidth (logits read + gradient written), and a parallel in-process copy of the same bytes as the floor.
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
        var threads = new Option<int>("--threads") { Description = "Threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var runs = new Option<int>("--runs") { Description = "Timed runs (median reported) after a warm-up of at least 3 runs and 1 second.", DefaultValueFactory = _ => 7 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("bench", "Time loss+gradient and forward-only on random float logits, next to a copy of the same bytes.")
            { loss, rows, classes, threads, runs, json };
        cmd.SetAction(p =>
        {
            var r = Measure(p.GetValue(loss)!, p.GetValue(rows), p.GetValue(classes), p.GetValue(threads), p.GetValue(runs));
            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(json)) output.WriteLine(JsonSerializer.Serialize(r));
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

    /// <summary>Median of <paramref name="runs"/> timed calls after a warm-up of at least 3 calls and 1 second, so the
    /// JIT has replaced tier-0 code with optimised code before anything is timed.</summary>
    private static double Median(int runs, Action action)
    {
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 200 && (i < 3 || Stopwatch.GetElapsedTime(warm).TotalSeconds < 1.0); i++) action();
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
}
