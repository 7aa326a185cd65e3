using System.Text;

namespace LossKit.Workbench.Experiments;

/// <summary>The loop of the small comparisons (ranking, retrieval): every loss × seed, in order, each run's JSON line
/// written to <c>results.jsonl</c> in the output folder.</summary>
internal static class SeedGrid
{
    public static List<TRecord> Run<TRecord>(IReadOnlyList<string> losses, int seeds, string outDir, Func<string, int, TRecord> run,
        Func<TRecord, string> json, Action<TRecord>? onRun)
    {
        if (seeds < 1) throw new ArgumentOutOfRangeException(nameof(seeds), seeds, $"--seeds {seeds}: expected at least 1.");
        Directory.CreateDirectory(outDir);
        var runs = new List<TRecord>();
        var lines = new StringBuilder();
        foreach (string loss in losses)
            for (int seed = 0; seed < seeds; seed++)
            {
                TRecord record = run(loss, seed);
                runs.Add(record);
                lines.AppendLine(json(record));
                onRun?.Invoke(record);
            }
        File.WriteAllText(Path.Combine(outDir, "results.jsonl"), lines.ToString());
        return runs;
    }
}
