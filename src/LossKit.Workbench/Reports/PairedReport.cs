using LossKit.Catalog;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Reports;

/// <summary>The paired comparison of one scenario × noise setting against the baseline loss.</summary>
/// <param name="Scenario">Index of the scenario in the summary.</param>
/// <param name="Noise">The noise setting.</param>
/// <param name="Baseline">The baseline's name as the summary shows it.</param>
/// <param name="ByMetric">For each metric of <see cref="PairedReport.Metrics"/>: one row per other loss.</param>
/// <param name="Unpaired">Seeds left out because the two runs' <see cref="Fingerprint"/>s differ (should be 0: the same
/// seed fixes split, noise, initial weights and batch order for every loss).</param>
public sealed record PairedGroup(int Scenario, string Noise, string Baseline,
    IReadOnlyDictionary<string, IReadOnlyList<PairedDifference>> ByMetric, int Unpaired);

/// <summary>
/// Paired differences of every loss against a baseline, over the seeds both ran, per scenario and noise setting
/// (<see cref="PairedComparison"/>: mean difference, Student-t interval, paired t and Wilcoxon signed-rank p-values,
/// Holm correction across the losses compared, verdict). A seed's runs are paired only when their fingerprints agree.
/// </summary>
public static class PairedReport
{
    /// <summary>The metrics compared (test split; <c>ece_ts</c> after temperature scaling).</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["accuracy", "macro_f1", "nll", "brier", "ece", "ece_ts"];

    /// <summary>The default baseline.</summary>
    public const string DefaultBaseline = "ce";

    /// <summary>The summary row name that <paramref name="baseline"/> (a loss spec) refers to, or null when the summary has none.</summary>
    public static string? FindBaseline(Summary summary, string baseline)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(baseline);
        string spec = baseline.Trim();
        try { spec = LossRegistry.Create(spec).Spec; }
        catch (ArgumentException) { /* not a spec: match the text as given */ }
        return summary.Rows.Select(r => r.Loss).FirstOrDefault(l => l == spec || l == baseline.Trim());
    }

    /// <summary>The paired groups of <paramref name="summary"/> against <paramref name="baseline"/> (empty when no row is the baseline).</summary>
    public static IReadOnlyList<PairedGroup> Build(Summary summary, string baseline = DefaultBaseline)
    {
        string? name = FindBaseline(summary, baseline);
        if (name is null) return [];
        var groups = new List<PairedGroup>();
        foreach (var group in summary.ByNoise())
        {
            var rows = group.ToArray();
            var baseRow = rows.FirstOrDefault(r => r.Loss == name);
            if (baseRow is null || rows.Length < 2) continue;
            var baseRuns = baseRow.Runs.ToDictionary(r => r.Config.Seed);
            int unpaired = 0;
            var paired = new Dictionary<string, List<RunRecord>>(StringComparer.Ordinal);
            foreach (var row in rows)
            {
                var list = new List<RunRecord>();
                foreach (var r in row.Runs)
                {
                    if (!baseRuns.TryGetValue(r.Config.Seed, out var b)) continue;
                    if (row != baseRow && r.Fingerprint != b.Fingerprint) { unpaired++; continue; }
                    list.Add(r);
                }
                paired[row.Loss] = list;
            }
            var byMetric = new Dictionary<string, IReadOnlyList<PairedDifference>>(StringComparer.Ordinal);
            foreach (string metric in Metrics)
            {
                var column = Summary.Column(metric);
                var values = new Dictionary<string, IReadOnlyDictionary<int, double>>(StringComparer.Ordinal);
                foreach (var (loss, runs) in paired)
                    values[loss] = runs.Where(r => column.Get(r).HasValue).ToDictionary(r => r.Config.Seed, r => column.Get(r)!.Value);
                if (values[name].Count == 0) continue;
                byMetric[metric] = PairedComparison.Compare(values, name, metric, column.HigherIsBetter);
            }
            groups.Add(new PairedGroup(group.Key.Scenario, group.Key.Noise, name, byMetric, unpaired));
        }
        return groups;
    }

    /// <summary>
    /// The paired comparison of a ranking, retrieval or regression comparison as a Markdown section: for each group (a
    /// data set × noise setting, or the single group "") and each metric, every loss against <paramref name="baseline"/>
    /// over the units (seeds, or the benchmark's standard splits) both ran, as <see cref="Build"/> does for classification.
    /// Empty when the baseline is not among the losses.
    /// </summary>
    /// <param name="runs">One entry per run: its group, loss, unit (seed or split) and test metrics.</param>
    /// <param name="baseline">The reference loss.</param>
    /// <param name="metrics">The metrics compared, with their direction.</param>
    /// <param name="unit">What pairs two runs: <c>seed</c> or <c>split</c>.</param>
    public static string MarkdownSection(IReadOnlyList<(string Group, string Loss, int Unit, IReadOnlyDictionary<string, double> Metrics)> runs,
        string baseline, IReadOnlyList<(string Name, bool HigherIsBetter)> metrics, string unit)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (!runs.Any(r => r.Loss == baseline) || runs.Select(r => r.Loss).Distinct().Count() < 2) return "";
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"## Paired against `{baseline}`").AppendLine();
        sb.AppendLine($"Difference loss − {baseline} on the same {unit}s [95% t interval]; p: paired t / Wilcoxon signed-rank; Holm-corrected t across " +
            $"the losses; verdict at Holm p < 0.05 (none with fewer than {PairedComparison.MinSeedsForVerdict} {unit}s). " +
            $"The same {unit} gives every loss the same data and batch order, and the same initial weights where the models have the same shape.").AppendLine();
        foreach (var group in runs.GroupBy(r => r.Group))
        {
            if (!group.Any(r => r.Loss == baseline)) continue;
            if (group.Key.Length > 0) sb.AppendLine($"### {group.Key}").AppendLine();
            var results = new Dictionary<string, IReadOnlyList<PairedDifference>>(StringComparer.Ordinal);
            foreach (var (name, higher) in metrics)
            {
                var values = group.GroupBy(r => r.Loss).ToDictionary(g => g.Key,
                    g => (IReadOnlyDictionary<int, double>)g.Where(r => r.Metrics.ContainsKey(name)).ToDictionary(r => r.Unit, r => r.Metrics[name]),
                    StringComparer.Ordinal);
                results[name] = PairedComparison.Compare(values, baseline, name, higher);
            }
            sb.Append("| loss | n |");
            foreach (var (name, _) in metrics) sb.Append($" Δ {name} |");
            sb.AppendLine().Append("|---|---:|").AppendLine(string.Concat(metrics.Select(_ => "---:|")));
            foreach (var first in results[metrics[0].Name])
            {
                sb.Append($"| `{first.Loss}` | {first.N} |");
                foreach (var (name, _) in metrics)
                    sb.Append(results[name].FirstOrDefault(d => d.Loss == first.Loss) is { } d ? $" {ReportWriter.PairedCell(d)} |" : " – |");
                sb.AppendLine();
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>A verdict as a table shows it.</summary>
    public static string VerdictText(Verdict v) => v switch
    {
        Verdict.Better => "better",
        Verdict.Worse => "worse",
        Verdict.NoEvidence => "no evidence",
        _ => "too few seeds",
    };

    /// <summary>How the paired statistics are computed, in a few sentences (report and docs).</summary>
    public static string MethodText(string baseline) =>
        $"Paired against `{baseline}`: for each seed, the difference of the two runs' test metric (loss − {baseline}); the same seed " +
        "fixes the split, the label noise, the initial weights and the batch order for every loss (checked through the runs' fingerprints). " +
        "Mean difference with its 95% Student-t interval; two-sided p-values of the paired t test and of the Wilcoxon signed-rank test " +
        "(zero differences dropped; exact distribution for up to 25 pairs); Holm's correction of the t test's p-values across the losses " +
        $"compared, per metric and noise setting; verdict better/worse where the Holm-corrected p < 0.05, else no evidence. With fewer than " +
        $"{PairedComparison.MinSeedsForVerdict} seeds no verdict is given: the signed-rank test cannot reach p < 0.05 with fewer than 6 pairs " +
        "(its smallest two-sided p is 2/2ⁿ) and a t test on so few differences rests on an untestable normality assumption.";
}
