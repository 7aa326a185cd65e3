using System.Globalization;
using System.Text;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;
using ScottPlot;

namespace LossKit.Workbench.Experiments;

/// <summary>One loss of a ranking comparison: each test metric's statistics over the seeds.</summary>
public sealed record RankingSummaryRow(string Loss, bool Baseline, int Seeds, IReadOnlyDictionary<string, MeanStats> Metrics, double MeanBestEpoch);

/// <summary>
/// Compares ranking losses on a ranking set: every loss × seed is a <see cref="RankingTrainer"/> run, always beside the
/// two baselines (<c>random</c> scores and the pointwise <c>mse</c> regression of the label on the same scorer), and
/// each test metric is summarised over the seeds (mean, standard deviation, 95% interval on the logit scale: the
/// metrics lie in [0, 1]). Writes <c>results.jsonl</c> (one run per line), <c>summary.md</c> and the NDCG@k-against-k
/// plot (PNG and SVG) to the output folder.
/// </summary>
public static class RankingComparison
{
    /// <summary>The baselines every comparison includes, first.</summary>
    public static IReadOnlyList<string> Baselines { get; } = ["random", "mse"];

    /// <summary>The loss every ranking loss is paired against in the report: the pointwise regression, which a list-wise
    /// loss must beat to earn its place.</summary>
    public const string PairedBaseline = "mse";

    /// <summary>Runs the comparison; <paramref name="onRun"/> is told of each finished run.</summary>
    public static IReadOnlyList<RankingSummaryRow> Run(RankingRunConfig baseConfig, IReadOnlyList<string> losses, int seeds, string outDir,
        Action<RankingRunRecord>? onRun = null)
    {
        var all = Baselines.Concat(losses.Where(l => !Baselines.Contains(l))).ToList();
        var runs = SeedGrid.Run(all, seeds, outDir, (loss, seed) => RankingTrainer.Run(baseConfig with { Loss = loss, Seed = seed }), r => r.ToJson(), onRun);
        var rows = all.Select(loss =>
        {
            var mine = runs.Where(r => r.Config.Loss == loss).ToList();
            var metrics = RankingRunRecord.MetricNames.ToDictionary(m => m,
                m => MeanStats.Of(mine.Select(r => r.Test[m]).ToList(), 0, 1, 0.5 / mine[0].TestQueries));
            return new RankingSummaryRow(loss, Baselines.Contains(loss), mine.Count, metrics, mine.Average(r => r.BestEpoch));
        }).ToList();
        WritePlot(outDir, rows);
        string paired = PairedReport.MarkdownSection(
            runs.Select(r => ("", r.Config.Loss, r.Config.Seed, r.Test)).ToArray(),
            PairedBaseline, RankingRunRecord.MetricNames.Select(m => (m, true)).ToArray(), "seed");
        File.WriteAllText(Path.Combine(outDir, "summary.md"), Markdown(baseConfig, rows, seeds) + (paired.Length > 0 ? "\n" + paired : ""));
        return rows;
    }

    /// <summary>NDCG@k against k, one line per loss (mean over seeds, ± 1 std).</summary>
    public static Plot NdcgAtK(IReadOnlyList<RankingSummaryRow> rows) =>
        Plots.AtK(rows.Select(r => (r.Loss, r.Baseline, r.Metrics)), RankingTrainer.NdcgCutoffs, k => $"ndcg_at_{k}",
            "Test NDCG@k (mean over seeds, ± 1 std)", "NDCG@k");

    private static void WritePlot(string dir, IReadOnlyList<RankingSummaryRow> rows)
    {
        Plots.Save(dir, "ndcg-at-k", NdcgAtK(rows), rows.Count);
    }

    private static string Markdown(RankingRunConfig c, IReadOnlyList<RankingSummaryRow> rows, int seeds)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Ranking comparison on {c.Data}");
        sb.AppendLine();
        sb.AppendLine(FormattableString.Invariant($"Model {c.Model}, AdamW lr {c.Lr}, {c.Epochs} epochs of {c.QueriesPerBatch} queries, {seeds} seeds; the tested epoch has the best NDCG@5 on a held-out fifth of the training queries. Baselines: random scores and the pointwise mse regression of the label."));
        sb.AppendLine();
        sb.AppendLine("| loss | " + string.Join(" | ", RankingRunRecord.MetricNames) + " |");
        sb.AppendLine("|---|" + string.Concat(RankingRunRecord.MetricNames.Select(_ => "---:|")));
        foreach (var r in rows)
            sb.AppendLine($"| {r.Loss}{(r.Baseline ? " (baseline)" : "")} | " + string.Join(" | ", RankingRunRecord.MetricNames.Select(m => Cell(r.Metrics[m]))) + " |");
        sb.AppendLine();
        sb.AppendLine("mean ± std over seeds [95% interval of the mean, Student t on the logit scale]. Plot: ndcg-at-k.png / .svg; runs: results.jsonl.");
        return sb.ToString();
    }

    /// <summary><c>0.6123 ± 0.0100 [0.59, 0.63]</c>.</summary>
    public static string Cell(MeanStats s) => double.IsFinite(s.Std)
        ? string.Create(CultureInfo.InvariantCulture, $"{s.Mean:0.0000} ± {s.Std:0.0000} [{s.CiLow:0.0000}, {s.CiHigh:0.0000}]")
        : string.Create(CultureInfo.InvariantCulture, $"{s.Mean:0.0000}");
}
