using System.Globalization;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;
using ScottPlot;

namespace LossKit.Workbench.Experiments;

/// <summary>One loss of a retrieval comparison: each test metric's statistics over the seeds.</summary>
public sealed record RetrievalSummaryRow(string Loss, bool Baseline, int Seeds, string Distance, IReadOnlyDictionary<string, MeanStats> Metrics);

/// <summary>
/// Compares embedding losses by retrieval: every loss × seed is a <see cref="RetrievalTrainer"/> run, always beside the
/// two baselines (<c>raw</c> standardised features and the untrained <c>random_trunk</c>), and each test metric is
/// summarised over the seeds (mean, standard deviation, 95% interval on the logit scale: the metrics lie in [0, 1]).
/// Writes <c>results.jsonl</c>, <c>summary.md</c> and the Recall@k-against-k plot (PNG and SVG) to the output folder.
/// </summary>
public static class RetrievalComparison
{
    /// <summary>Runs the comparison; <paramref name="onRun"/> is told of each finished run.</summary>
    public static IReadOnlyList<RetrievalSummaryRow> Run(RetrievalRunConfig baseConfig, IReadOnlyList<string> losses, int seeds, string outDir,
        Action<RetrievalRunRecord>? onRun = null)
    {
        var all = SeedGrid.WithBaselines(RetrievalTrainer.Baselines, losses);
        bool IsBaseline(string l) => RetrievalTrainer.IsBaseline(l);
        var runs = SeedGrid.Run(all, seeds, outDir, (loss, seed) => RetrievalTrainer.Run(baseConfig with { Loss = loss, Seed = seed }), r => r.ToJson(), onRun);
        var rows = SeedGrid.Summarise(all, runs, r => r.Config.Loss, RetrievalRunRecord.MetricNames, r => r.Test, r => r.TestRows,
            (loss, mine, metrics) => new RetrievalSummaryRow(loss, IsBaseline(loss), mine.Count, mine[0].Distance, metrics));
        Plots.Save(outDir, "recall-at-k", RecallAtK(rows), rows.Count);
        foreach (string loss in all) WritePca(outDir, runs.First(r => r.Config.Loss == loss));
        // Paired against the first loss the user listed (the classic one, by convention: contrastive or triplet first).
        string paired = losses.FirstOrDefault(l => !IsBaseline(l)) is { } reference
            ? PairedReport.MarkdownSection(runs.Select(r => ("", r.Config.Loss, r.Config.Seed, r.Test)).ToArray(),
                reference, PairedMetrics.Select(m => (m, true)).ToArray(), "seed")
            : "";
        SeedGrid.WriteSummary(outDir, Markdown(baseConfig, rows, seeds, runs), paired);
        return rows;
    }

    /// <summary>The metrics of the paired comparison (all higher-is-better).</summary>
    public static IReadOnlyList<string> PairedMetrics { get; } = ["precision_at_1", "map_at_r", "knn_accuracy"];

    /// <summary>Recall@k against k, one line per loss (mean over seeds, ± 1 std).</summary>
    public static Plot RecallAtK(IReadOnlyList<RetrievalSummaryRow> rows) =>
        Plots.AtK(rows.Select(r => (r.Loss, r.Baseline, r.Metrics)), RetrievalRunRecord.RecallKs, k => $"recall_at_{k}",
            "Test Recall@k (mean over seeds, ± 1 std)", "Recall@k");

    /// <summary>The file name of a loss's PCA plot: <c>pca-LOSS</c> with every character outside [A-Za-z0-9_] as '_'.</summary>
    public static string PcaName(string loss) => "pca-" + new string([.. loss.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_' ? ch : '_')]).TrimEnd('_');

    /// <summary>The test embeddings of one run (unit rows when it retrieves by cosine) projected on their first two
    /// principal components, coloured by class.</summary>
    public static Plot Pca(RetrievalRunRecord run)
    {
        var plt = new Plot();
        float[] x = run.TestEmbeddings;
        int d = run.EmbeddingDim;
        if (run.Distance == "cosine")   // retrieval saw the unit vectors: project those
        {
            x = (float[])x.Clone();
            for (int i = 0; i < x.Length / d; i++)
            {
                var row = x.AsSpan(i * d, d);
                double norm = 0;
                foreach (float v in row) norm += (double)v * v;
                norm = Math.Max(Math.Sqrt(norm), 1e-12);
                for (int j = 0; j < d; j++) row[j] = (float)(row[j] / norm);
            }
        }
        var (px, py) = RetrievalTrainer.Pca2(x, d);
        var palette = new ScottPlot.Palettes.Category10();
        foreach (int c in run.TestLabels.Distinct().Order())
        {
            int[] at = [.. Enumerable.Range(0, run.TestLabels.Length).Where(i => run.TestLabels[i] == c)];
            var sc = plt.Add.ScatterPoints(at.Select(i => px[i]).ToArray(), at.Select(i => py[i]).ToArray());
            sc.Color = palette.GetColor(c % 10);
            sc.MarkerSize = 4;
            sc.LegendText = c.ToString(CultureInfo.InvariantCulture);
        }
        plt.Title($"{run.Config.Loss}: test embeddings, PCA (seed {run.Config.Seed}, split {run.Config.Split})");
        plt.XLabel("PC 1");
        plt.YLabel("PC 2");
        plt.Axes.Title.FullFigureCenter = true;
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    private static void WritePca(string dir, RetrievalRunRecord run)
    {
        Plot plot = Pca(run);
        string name = PcaName(run.Config.Loss);
        PlotFiles.Write(plot, Path.Combine(dir, name + ".png"), Path.Combine(dir, name + ".svg"), 700, 500);
    }

    private static string Markdown(RetrievalRunConfig c, IReadOnlyList<RetrievalSummaryRow> rows, int seeds, IReadOnlyList<RetrievalRunRecord> runs) =>
        SeedGrid.Markdown($"Retrieval comparison on {c.Data}",
            FormattableString.Invariant($"Split {c.Split} ({runs[0].TrainRows} training / {runs[0].TestRows} test images), model {c.Model} with a {c.Embed}-d embedding head, AdamW lr {c.Lr}, {c.Epochs} epochs of batches of {c.PerClass} images × min(K, {c.BatchSize}/{c.PerClass}) classes, {seeds} seeds; the last epoch is tested. Each test image is a query against all other test images. Baselines: raw standardised features and the untrained (random) trunk, by euclidean distance (raw:cosine, random_trunk:cosine: by cosine similarity)."),
            ["distance"], RetrievalRunRecord.MetricNames, rows.Select(r => (r.Loss, r.Baseline, (IReadOnlyList<string>)[r.Distance], r.Metrics)),
            "Plots: recall-at-k.png / .svg; pca-LOSS.png / .svg (the first seed's test embeddings on their first two principal components, by class); runs: results.jsonl.");
}
