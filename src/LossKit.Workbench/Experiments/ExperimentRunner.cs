using System.Diagnostics;
using LossKit.Kernels;
using LossKit.Workbench.Data;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Experiments;

/// <summary>A run finished (or was found already finished).</summary>
/// <param name="Record">Its record.</param>
/// <param name="Done">Runs finished so far in this call, this one included.</param>
/// <param name="Total">Runs this call has to do.</param>
/// <param name="Skipped">True when the record came from an earlier invocation (resume).</param>
public readonly record struct RunProgress(RunRecord Record, int Done, int Total, bool Skipped);

/// <summary>What <see cref="ExperimentRunner.Run"/> did.</summary>
/// <param name="Records">Records of every run of the grid (earlier and new), in grid order.</param>
/// <param name="Ran">Runs trained by this call.</param>
/// <param name="Skipped">Runs already in the folder's results files.</param>
/// <param name="ResultsFile">The file appended to.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record ExperimentOutcome(IReadOnlyList<RunRecord> Records, int Ran, int Skipped, string ResultsFile, double Seconds);

/// <summary>
/// Runs a list of configurations, appending each record to a results file as soon as it finishes and skipping those whose
/// key is already in any results file of the folder. Each data set is loaded once per call; each run prepares its own split
/// and model and drops them when done.
/// </summary>
public static class ExperimentRunner
{
    /// <summary>Runs <paramref name="runs"/> into <paramref name="dir"/>/<paramref name="fileName"/>.</summary>
    /// <param name="runs">Configurations (made canonical here; all are checked before any training).</param>
    /// <param name="dir">Output folder (checked writable first).</param>
    /// <param name="fileName">Results file name inside the folder.</param>
    /// <param name="parallelRuns">Runs trained at once; each gets ⌊cores / parallelRuns⌋ kernel threads (at least 1).</param>
    /// <param name="force">Retrain runs that are already in the folder.</param>
    /// <param name="progress">Called after each run (from the thread that ran it; calls are serialised).</param>
    /// <param name="filePattern">The files of the folder whose records count as done (tuning trials live in <c>tuning*.jsonl</c>).</param>
    /// <param name="reuse">Records by key that are taken instead of training (with the run's own configuration, whose
    /// label and tuning note may differ): tuning's trial on a tuning seed is the selected configuration's run there.</param>
    public static ExperimentOutcome Run(IReadOnlyList<RunConfig> runs, string dir, string fileName = ResultsStore.DefaultFileName,
        int parallelRuns = 1, bool force = false, Action<RunProgress>? progress = null, string filePattern = ResultsStore.Pattern,
        IReadOnlyDictionary<string, RunRecord>? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (parallelRuns < 1) throw new ArgumentException($"parallel runs is {parallelRuns}; it must be at least 1.");
        var total = Stopwatch.StartNew();
        var grid = runs.Select(r => r.Canonical()).ToArray();
        var keys = grid.Select(r => r.Key()).ToArray();
        ResultsStore.EnsureWritable(dir);

        // Load every data set up front so a missing file fails before any training.
        var data = new Dictionary<(string, string?, string?), Dataset>();
        foreach (var c in grid)
            if (!data.ContainsKey((c.Data, c.DataDir, c.Target))) data[(c.Data, c.DataDir, c.Target)] = DatasetCatalog.Load(c.Data, c.DataDir, c.Target);
        foreach (var c in grid)
        {
            var source = data[(c.Data, c.DataDir, c.Target)];
            if (!source.IsClassification)
                throw new ArgumentException($"data set '{c.Data}' is a regression data set; the workbench trains classifiers.");
        }

        var existing = force ? new Dictionary<string, RunRecord>() : ResultsStore.Load(dir, filePattern).Records.ToDictionary(r => r.Key, StringComparer.Ordinal);
        var results = new RunRecord?[grid.Length];
        var pending = new List<int>();
        for (int i = 0; i < grid.Length; i++)
        {
            if (existing.TryGetValue(keys[i], out var r)) results[i] = r;
            else pending.Add(i);
        }
        int skipped = grid.Length - pending.Count;
        string path = Path.Combine(dir, fileName);
        var gate = new object();
        int done = 0;
        using (var writer = new ResultsWriter(path))
        {
            if (progress is not null)
                for (int i = 0; i < grid.Length; i++)
                    if (results[i] is { } r) progress(new RunProgress(r, 0, pending.Count, true));

            void RunOne(int i)
            {
                var c = grid[i];
                var record = reuse is not null && reuse.TryGetValue(keys[i], out var earlier)
                    ? earlier with { Config = c }
                    : Trainer.Run(c, data[(c.Data, c.DataDir, c.Target)]);
                writer.Append(record);
                ReleaseRunMemory();
                lock (gate)
                {
                    results[i] = record;
                    done++;
                    progress?.Invoke(new RunProgress(record, done, pending.Count, false));
                }
            }

            if (parallelRuns == 1 || pending.Count <= 1)
            {
                foreach (int i in pending) RunOne(i);
            }
            else
            {
                int threads = Math.Max(1, Environment.ProcessorCount / parallelRuns);
                try
                {
                    Parallel.ForEach(pending, new ParallelOptions { MaxDegreeOfParallelism = parallelRuns }, i =>
                    {
                        Parallelism.MaxThreads = threads;
                        RunOne(i);
                    });
                }
                catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                }
            }
        }
        return new ExperimentOutcome(results.Select(r => r!).ToArray(), pending.Count, skipped, path, total.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// A run leaves its split copies, model and buffers behind as garbage, hundreds of megabytes on the image sets, mostly
    /// on the large-object heap, which the collector is in no hurry to reclaim. Collecting (and compacting) once per run
    /// keeps the process at the footprint of one run (per parallel slot) however many runs follow; it costs milliseconds
    /// against seconds of training.
    /// </summary>
    private static void ReleaseRunMemory()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
