using System.Globalization;
using System.Text;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Reports;

/// <summary>The files a report consists of.</summary>
/// <param name="Markdown">summary.md</param>
/// <param name="Csv">summary.csv (one row per loss × noise × scenario)</param>
/// <param name="RunsCsv">runs.csv (one row per run)</param>
/// <param name="Plots">PNG and SVG files.</param>
public sealed record ReportFiles(string Markdown, string Csv, string RunsCsv, IReadOnlyList<string> Plots)
{
    public IEnumerable<string> All => [Markdown, Csv, RunsCsv, .. Plots];
}

/// <summary>What a report states besides the runs.</summary>
/// <param name="Baseline">The loss every other loss is paired against (<c>--baseline</c>).</param>
/// <param name="Environment">Where the report was made (version, commit, CPU, threads); null: this process's.</param>
public sealed record ReportOptions(string Baseline = PairedReport.DefaultBaseline, RunEnvironment? Environment = null);

/// <summary>
/// Writes a report of run records into a folder: <c>summary.md</c> (tables and links to the plots), <c>summary.csv</c>,
/// <c>runs.csv</c>, and PNG + SVG plots (learning curves, reliability diagrams, test accuracy against noise rate). Each file is
/// written to a temporary name and renamed into place, so a reader never sees a half-written file.
/// </summary>
public static class ReportWriter
{
    /// <summary>Writes the report of <paramref name="records"/> into <paramref name="dir"/> (which must exist and be writable).</summary>
    /// <param name="dir">Output folder.</param>
    /// <param name="records">The runs to report.</param>
    /// <param name="command">The command that produced the runs, quoted in summary.md (optional).</param>
    /// <param name="notes">Sentences printed under the command (e.g. how a default was chosen).</param>
    /// <param name="options">Baseline of the paired comparison and the environment to state.</param>
    public static ReportFiles Write(string dir, IReadOnlyList<RunRecord> records, string? command = null, IReadOnlyList<string>? notes = null,
        ReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) throw new ArgumentException($"there are no run records to report in '{dir}'.");
        options ??= new ReportOptions();
        var summary = Summary.Build(records);
        var paired = PairedReport.Build(summary, options.Baseline);
        var plots = Plots.WriteAll(dir, summary);
        WriteForestPlots(dir, summary, paired, plots);
        string md = Path.Combine(dir, "summary.md");
        AtomicFile.WriteText(md, Markdown(summary, plots, command, notes, paired, options));
        string csv = Path.Combine(dir, "summary.csv");
        AtomicFile.WriteText(csv, SummaryCsv(summary));
        string runs = Path.Combine(dir, "runs.csv");
        AtomicFile.WriteText(runs, RunsCsv(summary));
        return new ReportFiles(md, csv, runs, plots.Files);
    }

    /// <summary>How the reports' intervals are computed, in one sentence.</summary>
    public const string IntervalText =
        "95% confidence interval of the mean over seeds (Student's t with n − 1 degrees of freedom, none for a single seed), computed on the " +
        "logit scale for the metrics bounded to [0, 1] (Brier: [0, 2]) and on the log scale for NLL, the temperature and the epoch, then mapped " +
        "back, so that it never leaves the metric's range (values within half a test sample, 0.5/n, of a bound are taken at that distance).";

    // ------------------------------------------------------------------ Markdown

    internal static string Markdown(Summary summary, PlotSet plots, string? command, IReadOnlyList<string>? notes = null,
        IReadOnlyList<PairedGroup>? paired = null, ReportOptions? options = null)
    {
        var sb = new StringBuilder();
        options ??= new ReportOptions();
        paired ??= [];
        var all = summary.Rows.SelectMany(r => r.Runs).ToArray();
        int runs = all.Length;
        sb.AppendLine("# LossKit workbench report").AppendLine();
        if (command is not null) sb.AppendLine("Produced by").AppendLine().AppendLine("```sh").AppendLine(command).AppendLine("```").AppendLine();
        sb.AppendLine($"Made with {options.Environment ?? RunEnvironment.Current()}. " +
            $"Seeds: {string.Join(", ", all.Select(r => r.Config.Seed).Distinct().Order())}.").AppendLine();
        foreach (string note in notes ?? []) sb.AppendLine(note).AppendLine();
        sb.AppendLine("**Validation labels**: " + ValidationText(all)).AppendLine();
        sb.AppendLine($"{runs} runs. Each cell is the mean ± sample standard deviation of the test metric over seeds; the bracket below is the " +
            IntervalText + " " +
            "**Bold** marks the best mean of the column within a noise setting. \"(TS)\" columns are after temperature scaling " +
            "fitted on the validation split. Test labels are always clean.").AppendLine();
        TuningTable(sb, summary);
        for (int s = 0; s < summary.Scenarios.Count; s++)
        {
            sb.AppendLine($"## {(summary.Scenarios.Count > 1 ? $"Scenario {s + 1}: " : "")}{summary.Scenarios[s]}").AppendLine();
            var first = summary.Rows.First(r => r.ScenarioIndex == s).Runs[0];
            if (first.Dataset.ClassNames is { Count: > 0 } classes)
                sb.AppendLine($"Classes ({classes.Count}): {ClassList(classes)}.").AppendLine();
            foreach (var group in summary.ByNoise().Where(g => g.Key.Scenario == s))
            {
                var rows = group.ToArray();
                sb.AppendLine($"### Noise: {group.Key.Noise}" +
                    (rows[0].NoiseRate > 0 ? $" (realised rate {rows.Average(r => r.RealisedNoise):0.000} of training labels)" : "")).AppendLine();
                Table(sb, summary, rows, summary.Present([.. Summary.MainColumns, "top5", "auroc"]));
                sb.AppendLine("Calibration (lower is better), before and after temperature scaling:").AppendLine();
                Table(sb, summary, rows, summary.Present(Summary.CalibrationColumns));
                if (paired.FirstOrDefault(p => p.Scenario == s && p.Noise == group.Key.Noise) is { } pg) PairedTable(sb, pg, options.Baseline);
                if (plots.Curves.TryGetValue((s, group.Key.Noise), out string? curve))
                    sb.AppendLine($"![validation accuracy per epoch, {group.Key.Noise}]({curve}.png) ([SVG]({curve}.svg))").AppendLine();
                if (plots.Reliability.TryGetValue((s, group.Key.Noise), out string? rel))
                    sb.AppendLine($"![reliability diagram, {group.Key.Noise}]({rel}.png) ([SVG]({rel}.svg))").AppendLine();
            }
            if (plots.Forest.TryGetValue(s, out var forest) && forest.Count > 0)
            {
                sb.AppendLine($"### Paired differences against `{paired.First(p => p.Scenario == s).Baseline}`").AppendLine();
                sb.AppendLine("Mean paired difference over seeds with its 95% interval, one row per loss, one colour per noise setting; " +
                    "filled markers: a difference the Holm-corrected test calls significant.").AppendLine();
                foreach (var (metric, name) in forest)
                    sb.AppendLine($"![paired differences in {metric}]({name}.png) ([SVG]({name}.svg))").AppendLine();
            }
            if (plots.AccuracyVsNoise.TryGetValue(s, out string? acc))
                sb.AppendLine("### Test accuracy against noise rate").AppendLine()
                  .AppendLine($"![test accuracy against noise rate]({acc}.png) ([SVG]({acc}.svg))").AppendLine()
                  .AppendLine("Error bars: ± one standard deviation over seeds.").AppendLine();
        }
        sb.AppendLine("Files: [summary.csv](summary.csv) (these tables with mean, std and interval per metric), [runs.csv](runs.csv) (one row per run).");
        return sb.ToString();
    }

    /// <summary>What the runs' validation labels were, in a sentence.</summary>
    internal static string ValidationText(IReadOnlyList<RunRecord> runs)
    {
        bool same = runs.Any(r => r.Config.ValidationNoise == "same"), clean = runs.Any(r => r.Config.ValidationNoise == "clean");
        const string sameText = "as noisy as the training labels (`--validation-noise same`, the default): each run's validation labels get the " +
            "same noise setting as its training labels, in an independent draw, so early stopping, the tested epoch, tuning and temperature " +
            "scaling see only what a user with noisy labels would see.";
        const string cleanText = "clean (`--validation-noise clean`): model selection and temperature scaling saw clean labels, which a user with " +
            "noisy labels does not have; the results are optimistic for every loss.";
        return same && clean ? "mixed: some runs had " + sameText + " Others had " + cleanText : same ? sameText : cleanText;
    }

    /// <summary>The tuning of each tuned loss: trials, the selected values and their validation score.</summary>
    private static void TuningTable(StringBuilder sb, Summary summary)
    {
        var tuned = summary.Rows.Where(r => r.Runs[0].Config.Tuning is not null).ToArray();
        if (tuned.Length == 0) return;
        var t0 = tuned[0].Runs[0].Config.Tuning!;
        sb.AppendLine("## Tuning").AppendLine();
        sb.AppendLine($"Every loss was tuned alike: each configuration of its grid (or the same number drawn from it at random when grids differ " +
            $"in size) trained on tuning seed(s) {string.Join(", ", t0.Seeds)}, the best mean {t0.Select} over them selected, and that configuration " +
            "rerun over the seeds below (its run on a tuning seed is the trial itself).").AppendLine();
        sb.AppendLine($"| loss | noise | trials | selected | {t0.Select} | spec trained |").AppendLine("|---|---|---:|---|---:|---|");
        foreach (var r in tuned)
        {
            var t = r.Runs[0].Config.Tuning!;
            sb.AppendLine($"| `{r.Loss}` | {r.Noise} | {t.Trials} | {t.Chosen} | {Summary.Fmt(t.Value)} | `{r.Runs[0].Config.Loss}`, lr {r.Runs[0].Config.Lr.ToString("G6", CultureInfo.InvariantCulture)} |");
        }
        sb.AppendLine();
    }

    /// <summary>The paired comparison of one noise setting: a row per loss, a column per metric.</summary>
    private static void PairedTable(StringBuilder sb, PairedGroup g, string baseline)
    {
        var metrics = PairedReport.Metrics.Where(g.ByMetric.ContainsKey).ToArray();
        if (metrics.Length == 0) return;
        sb.AppendLine($"Paired against `{g.Baseline}` (difference loss − {g.Baseline} over the same seeds; [95% t interval]; p: paired t / Wilcoxon; " +
            "Holm-corrected t; verdict):").AppendLine();
        sb.Append("| loss | n |");
        foreach (string m in metrics) sb.Append($" Δ {Summary.Column(m).Title} |");
        sb.AppendLine().Append("|---|---:|");
        foreach (string _ in metrics) sb.Append("---:|");
        sb.AppendLine();
        foreach (string loss in g.ByMetric[metrics[0]].Select(d => d.Loss))
        {
            int n = g.ByMetric[metrics[0]].First(d => d.Loss == loss).N;
            sb.Append($"| `{loss}` | {n} |");
            foreach (string m in metrics)
            {
                var d = g.ByMetric[m].FirstOrDefault(x => x.Loss == loss);
                sb.Append(d is null ? " – |" : $" {PairedCell(d)} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine();
        int fewest = g.ByMetric.Values.SelectMany(x => x).Select(d => d.N).DefaultIfEmpty(0).Min();
        if (fewest < PairedComparison.MinSeedsForVerdict)
            sb.AppendLine($"No verdict with {fewest} paired seed(s): the signed-rank test cannot reach p < 0.05 below 6 pairs, and a t test on fewer than " +
                $"{PairedComparison.MinSeedsForVerdict} differences rests on a normality assumption nobody can check; rerun with `--seeds 5` or more.").AppendLine();
        if (g.Unpaired > 0)
            sb.AppendLine($"**Warning**: {g.Unpaired} run(s) were left unpaired: their split, labels, initial weights or batch order differ from the " +
                "baseline's run of the same seed (results of different LossKit versions or settings mixed in one folder?).").AppendLine();
    }

    /// <summary>A paired cell: <c>+0.0123 [−0.0020, 0.0266]</c>, then <c>p 0.031 / 0.063, Holm 0.094: no evidence</c>.</summary>
    public static string PairedCell(PairedDifference d) =>
        $"{Signed(d.DiffMean)}" + (double.IsNaN(d.CiLow) ? "" : $" [{Signed(d.CiLow)}, {Signed(d.CiHigh)}]") +
        $"<br>p {P(d.PT)} / {P(d.PWilcoxon)}, Holm {P(d.PHolm)}" + d.Verdict switch
        {
            Verdict.Better or Verdict.Worse => $": **{PairedReport.VerdictText(d.Verdict)}**",
            Verdict.NoEvidence => ": no evidence",
            _ => "",   // too few seeds: the table's note says so once
        };

    /// <summary>A difference with its sign: <c>+0.0123</c>, <c>−0.0040</c>; <c>0.0000</c> when it rounds to zero.</summary>
    public static string Signed(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        string body = Math.Abs(v).ToString("0.0000", CultureInfo.InvariantCulture);
        return body == "0.0000" ? body : (v > 0 ? "+" : "−") + body;
    }

    /// <summary>A p-value: three significant digits, <c>&lt;0.001</c> below that.</summary>
    public static string P(double p) => double.IsNaN(p) ? "–" : p < 0.001 ? "<0.001" : p.ToString("0.###", CultureInfo.InvariantCulture);

    private static void WriteForestPlots(string dir, Summary summary, IReadOnlyList<PairedGroup> paired, PlotSet plots)
    {
        bool many = summary.Scenarios.Count > 1;
        foreach (var scenario in paired.GroupBy(p => p.Scenario))
        {
            var groups = scenario.ToArray();
            var list = new List<(string Metric, string Name)>();
            foreach (string metric in PairedReport.Metrics)
            {
                var byNoise = groups.Where(g => g.ByMetric.TryGetValue(metric, out var rows) && rows.Count > 0)
                    .Select(g => (g.Noise, g.ByMetric[metric])).ToArray();
                if (byNoise.Length == 0) continue;
                string name = (many ? $"s{scenario.Key + 1}-" : "") + "forest-" + Plots.Slug(metric);
                plots.Files.AddRange(ForestPlot.Write(dir, name, Summary.Column(metric).Title, groups[0].Baseline, byNoise, Summary.Column(metric).HigherIsBetter));
                list.Add((metric, name));
            }
            plots.Forest[scenario.Key] = list;
        }
    }

    private static void Table(StringBuilder sb, Summary summary, SummaryRow[] rows, IReadOnlyList<string> columns)
    {
        sb.Append("| loss | n |");
        foreach (string c in columns) sb.Append(' ').Append(Summary.Column(c).Title).Append(" |");
        sb.AppendLine();
        sb.Append("|---|---:|");
        foreach (string _ in columns) sb.Append("---:|");
        sb.AppendLine();
        foreach (var r in rows)
        {
            sb.Append($"| `{r.Loss}` | {r.N} |");
            foreach (string c in columns)
            {
                if (!r.Metrics.TryGetValue(c, out var m)) { sb.Append(" – |"); continue; }
                string cell = Summary.Cell(m, Summary.FormatOf(c));
                if (summary.IsBest(r, c)) cell = $"**{cell}**";
                string ci = Summary.Interval(m, Summary.FormatOf(c));
                sb.Append(' ').Append(cell).Append(ci.Length > 0 ? "<br>" + ci : "").Append(" |");
            }
            sb.AppendLine();
        }
        sb.AppendLine();
    }

    /// <summary>Class names with their indices: <c>0 = setosa, 1 = versicolor, …</c> (the first 20, then a count).</summary>
    public static string ClassList(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(20).Select((n, i) => $"{i} = {n}")) + (names.Count > 20 ? $", … ({names.Count} classes)" : "");

    // ------------------------------------------------------------------ CSV

    internal static string SummaryCsv(Summary summary)
    {
        var cols = summary.Present(Summary.Columns.Select(c => c.Name));
        var sb = new StringBuilder();
        var head = new List<string> { "scenario", "loss", "noise", "noise_rate", "realised_noise", "n", "seeds" };
        foreach (string c in cols) head.AddRange([c + "_mean", c + "_std", c + "_ci_low", c + "_ci_high"]);
        sb.AppendLine(string.Join(",", head.Select(Csv)));
        foreach (var r in summary.Rows)
        {
            var f = new List<string>
            {
                r.Scenario, r.Loss, r.Noise, Num(r.NoiseRate), Num(r.RealisedNoise), r.N.ToString(CultureInfo.InvariantCulture),
                string.Join(" ", r.Seeds.Select(x => x.ToString(CultureInfo.InvariantCulture))),
            };
            foreach (string c in cols)
            {
                if (r.Metrics.TryGetValue(c, out var m)) f.AddRange([Num(m.Mean), Num(m.Std), Num(m.CiLow), Num(m.CiHigh)]);
                else f.AddRange(["", "", "", ""]);
            }
            sb.AppendLine(string.Join(",", f.Select(Csv)));
        }
        return sb.ToString();
    }

    internal static string RunsCsv(Summary summary)
    {
        var cols = summary.Present(Summary.Columns.Select(c => c.Name));
        var sb = new StringBuilder();
        var head = new List<string> { "key", "scenario", "name", "loss", "lr", "noise", "seed", "realised_noise", "stopped_early", "diverged" };
        head.AddRange(cols);
        sb.AppendLine(string.Join(",", head.Select(Csv)));
        foreach (var row in summary.Rows)
            foreach (var r in row.Runs)
            {
                var f = new List<string>
                {
                    r.Key, row.Scenario, row.Loss, r.Config.Loss, Num(r.Config.Lr), r.Config.Noise, r.Config.Seed.ToString(CultureInfo.InvariantCulture),
                    Num(r.Noise.RealisedRate), r.StoppedEarly ? "true" : "false", r.Diverged ? "true" : "false",
                };
                foreach (string c in cols) f.Add(Summary.Column(c).Get(r) is { } v ? Num(v) : "");
                sb.AppendLine(string.Join(",", f.Select(Csv)));
            }
        return sb.ToString();
    }

    private static string Num(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}

/// <summary>Writes files through a temporary name and a rename, so they appear whole or not at all.</summary>
internal static class AtomicFile
{
    public static void WriteText(string path, string text) =>
        Write(path, tmp => File.WriteAllText(tmp, text, new UTF8Encoding(false)));

    /// <summary>Calls <paramref name="write"/> with a temporary path next to <paramref name="path"/> (same extension), then moves it into place.</summary>
    public static void Write(string path, Action<string> write)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string tmp = Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp{Path.GetExtension(path)}");
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
