using System.Text;

namespace LossKit.Workbench.Experiments;

/// <summary>What the comparisons share: the seed loop of the small ones (ranking, retrieval), their per-loss summaries,
/// and the summary file.</summary>
internal static class SeedGrid
{
    /// <summary>The losses a comparison runs: the baselines first, then each listed loss that is not one of them.</summary>
    public static List<string> WithBaselines(IReadOnlyList<string> baselines, IReadOnlyList<string> losses) =>
        baselines.Concat(losses.Where(l => !baselines.Contains(l))).ToList();

    /// <summary>Every loss × seed, in order, each run's JSON line written to <c>results.jsonl</c> in the output folder.</summary>
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

    /// <summary>
    /// One summary row per loss of <paramref name="losses"/>, in order, from that loss's runs (in seed order):
    /// <paramref name="row"/> gets the loss, its runs, and each metric of <paramref name="metrics"/> summarised over them
    /// as a value in [0, 1] (interval on the logit scale, kept <c>0.5 / units</c> inside the ends, units the test
    /// queries or images of the loss's first run).
    /// </summary>
    public static List<TRow> Summarise<TRecord, TRow>(IReadOnlyList<string> losses, IReadOnlyList<TRecord> runs, Func<TRecord, string> lossOf,
        IReadOnlyList<string> metrics, Func<TRecord, IReadOnlyDictionary<string, double>> testOf, Func<TRecord, int> unitsOf,
        Func<string, List<TRecord>, IReadOnlyDictionary<string, MeanStats>, TRow> row) =>
        losses.Select(loss =>
        {
            var mine = runs.Where(r => lossOf(r) == loss).ToList();
            var stats = metrics.ToDictionary(m => m, m => MeanStats.Of(mine.Select(r => testOf(r)[m]).ToList(), 0, 1, 0.5 / unitsOf(mine[0])));
            return row(loss, mine, stats);
        }).ToList();

    /// <summary>
    /// The summary of a seed comparison: a heading, the setup, one table row per loss (the loss, marked when it is a
    /// baseline, its <paramref name="extraColumns"/>' values, then each metric as <see cref="RankingComparison.Cell"/>),
    /// and the footnote that says what a cell is and names the <paramref name="files"/>.
    /// </summary>
    public static string Markdown(string title, string setup, IReadOnlyList<string> extraColumns, IReadOnlyList<string> metrics,
        IEnumerable<(string Loss, bool Baseline, IReadOnlyList<string> Extra, IReadOnlyDictionary<string, MeanStats> Metrics)> rows, string files)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# {title}");
        sb.AppendLine();
        sb.AppendLine(setup);
        sb.AppendLine();
        sb.AppendLine("| loss | " + string.Concat(extraColumns.Select(c => c + " | ")) + string.Join(" | ", metrics) + " |");
        sb.AppendLine("|---|" + string.Concat(extraColumns.Select(_ => "---|")) + string.Concat(metrics.Select(_ => "---:|")));
        foreach (var r in rows)
            sb.AppendLine($"| {r.Loss}{(r.Baseline ? " (baseline)" : "")} | " + string.Concat(r.Extra.Select(e => e + " | ")) +
                string.Join(" | ", metrics.Select(m => RankingComparison.Cell(r.Metrics[m]))) + " |");
        sb.AppendLine();
        sb.AppendLine("mean ± std over seeds [95% interval of the mean, Student t on the logit scale]. " + files);
        return sb.ToString();
    }

    /// <summary>Writes <c>summary.md</c>: the comparison's Markdown, then the paired section when there is one.</summary>
    public static void WriteSummary(string outDir, string markdown, string paired) =>
        File.WriteAllText(Path.Combine(outDir, "summary.md"), markdown + (paired.Length > 0 ? "\n" + paired : ""));
}
