using System.Globalization;
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
        var all = SeedGrid.WithBaselines(Baselines, losses);
        var runs = SeedGrid.Run(all, seeds, outDir, (loss, seed) => RankingTrainer.Run(baseConfig with { Loss = loss, Seed = seed }), r => r.ToJson(), onRun);
        var rows = SeedGrid.Summarise(all, runs, r => r.Config.Loss, RankingRunRecord.MetricNames, r => r.Test, r => r.TestQueries,
            (loss, mine, metrics) => new RankingSummaryRow(loss, Baselines.Contains(loss), mine.Count, metrics, mine.Average(r => r.BestEpoch)));
        Plots.Save(outDir, "ndcg-at-k", NdcgAtK(rows), rows.Count);
        string paired = PairedReport.MarkdownSection(
            runs.Select(r => ("", r.Config.Loss, r.Config.Seed, r.Test)).ToArray(),
            PairedBaseline, RankingRunRecord.MetricNames.Select(m => (m, true)).ToArray(), "seed");
        SeedGrid.WriteSummary(outDir, Markdown(baseConfig, rows, seeds), paired);
        return rows;
    }

    /// <summary>NDCG@k against k, one line per loss (mean over seeds, ± 1 std).</summary>
    public static Plot NdcgAtK(IReadOnlyList<RankingSummaryRow> rows) =>
        Plots.AtK(rows.Select(r => (r.Loss, r.Baseline, r.Metrics)), RankingTrainer.NdcgCutoffs, k => $"ndcg_at_{k}",
            "Test NDCG@k (mean over seeds, ± 1 std)", "NDCG@k");

    private static string Markdown(RankingRunConfig c, IReadOnlyList<RankingSummaryRow> rows, int seeds) =>
        SeedGrid.Markdown($"Ranking comparison on {c.Data}",
            FormattableString.Invariant($"Model {c.Model}, AdamW lr {c.Lr}, {c.Epochs} epochs of {c.QueriesPerBatch} queries, {seeds} seeds; the tested epoch has the best NDCG@5 on a held-out fifth of the training queries. Baselines: random scores and the pointwise mse regression of the label."),
            [], RankingRunRecord.MetricNames, rows.Select(r => (r.Loss, r.Baseline, (IReadOnlyList<string>)[], r.Metrics)),
            "Plot: ndcg-at-k.png / .svg; runs: results.jsonl.");

    /// <summary><c>0.6123 ± 0.0100 [0.59, 0.63]</c>.</summary>
    public static string Cell(MeanStats s) => double.IsFinite(s.Std)
        ? string.Create(CultureInfo.InvariantCulture, $"{s.Mean:0.0000} ± {s.Std:0.0000} [{s.CiLow:0.0000}, {s.CiHigh:0.0000}]")
        : string.Create(CultureInfo.InvariantCulture, $"{s.Mean:0.0000}");
}
