using System.Globalization;
using System.Text.Json;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Reports;

/// <summary>A metric column of the summary.</summary>
/// <param name="Name">Column name (<c>accuracy</c>, <c>ece_ts</c>, ...).</param>
/// <param name="HigherIsBetter">Which direction is best.</param>
/// <param name="Get">Its value in a record (null when the record has none, e.g. <c>auroc</c> for K &gt; 2).</param>
/// <param name="Title">Header text.</param>
/// <param name="Ranked">Whether a best value is marked (not for the temperature, the epoch or the time).</param>
/// <param name="Lower">The smallest value the metric can take (−∞: none).</param>
/// <param name="Upper">The largest value the metric can take (+∞: none); the interval stays within [Lower, Upper].</param>
public sealed record MetricColumn(string Name, bool HigherIsBetter, Func<RunRecord, double?> Get, string Title, bool Ranked = true,
    double Lower = double.NegativeInfinity, double Upper = double.PositiveInfinity);

/// <summary>The runs of one loss × noise setting within one scenario, summarised over seeds.</summary>
public sealed record SummaryRow(
    int ScenarioIndex,
    string Scenario,
    string Loss,
    string Noise,
    double NoiseRate,
    IReadOnlyList<int> Seeds,
    double RealisedNoise,
    IReadOnlyDictionary<string, MeanStats> Metrics,
    IReadOnlyList<RunRecord> Runs)
{
    public int N => Runs.Count;
}

/// <summary>Groups run records into <see cref="SummaryRow"/>s and marks the best value per column.</summary>
public sealed class Summary
{
    /// <summary>Every column the summary computes (test metrics, the same after temperature scaling, the temperature,
    /// the evaluated epoch and the training time).</summary>
    public static IReadOnlyList<MetricColumn> Columns { get; } = BuildColumns();

    /// <summary>The columns of the main table (terminal and Markdown).</summary>
    public static IReadOnlyList<string> MainColumns { get; } = ["accuracy", "macro_f1", "nll", "brier", "ece", "ece_ts", "best_epoch"];

    /// <summary>The columns of the calibration table (Markdown).</summary>
    public static IReadOnlyList<string> CalibrationColumns { get; } = ["ece", "adaptive_ece", "classwise_ece", "mce", "nll_ts", "ece_ts", "adaptive_ece_ts", "temperature"];

    private Summary(IReadOnlyList<SummaryRow> rows, IReadOnlyList<string> scenarios)
    {
        Rows = rows;
        Scenarios = scenarios;
    }

    /// <summary>Rows ordered by scenario, then noise rate (kind), then first appearance of the loss.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; }

    /// <summary>Readable description of each scenario (what all its runs share besides loss, noise and seed).</summary>
    public IReadOnlyList<string> Scenarios { get; }

    public static MetricColumn Column(string name) =>
        Columns.FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"unknown summary column '{name}'.", nameof(name));

    /// <summary>Summarises <paramref name="records"/>.</summary>
    public static Summary Build(IEnumerable<RunRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var scenarioKeys = new List<string>();
        var scenarioLabels = new List<string>();
        var groups = new Dictionary<(int, string, string), List<RunRecord>>();
        var lossOrder = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            string key = ScenarioKey(r.Config);
            int s = scenarioKeys.IndexOf(key);
            if (s < 0)
            {
                s = scenarioKeys.Count;
                scenarioKeys.Add(key);
                scenarioLabels.Add(ScenarioLabel(r.Config));
            }
            string name = NameOf(r.Config);
            lossOrder.TryAdd(name, lossOrder.Count);
            var g = (s, name, r.Config.Noise);
            if (!groups.TryGetValue(g, out var list)) groups[g] = list = [];
            list.Add(r);
        }
        var rows = new List<SummaryRow>();
        foreach (var ((s, loss, noise), list) in groups)
        {
            list.Sort((a, b) => a.Config.Seed.CompareTo(b.Config.Seed));
            var metrics = new Dictionary<string, MeanStats>(StringComparer.Ordinal);
            foreach (var col in Columns)
            {
                var values = list.Select(col.Get).Where(v => v.HasValue).Select(v => v!.Value).ToArray();
                // Half a test sample: the resolution of the counted metrics, and the margin kept from a bound.
                double margin = 0.5 / Math.Max(1, list.Min(r => r.Dataset.TestRows));
                if (values.Length > 0) metrics[col.Name] = MeanStats.Of(values, col.Lower, col.Upper, col.Lower == 0 && col.Upper <= 2 || col.Name is "nll" or "nll_ts" ? margin : 0);
            }
            rows.Add(new SummaryRow(s, scenarioLabels[s], loss, noise, list[0].Noise.Rate, list.Select(r => r.Config.Seed).ToArray(),
                list.Average(r => r.Noise.RealisedRate), metrics, list));
        }
        rows.Sort((a, b) =>
        {
            int c = a.ScenarioIndex.CompareTo(b.ScenarioIndex);
            if (c == 0) c = a.NoiseRate.CompareTo(b.NoiseRate);
            if (c == 0) c = string.CompareOrdinal(a.Noise, b.Noise);
            if (c == 0) c = lossOrder[a.Loss].CompareTo(lossOrder[b.Loss]);
            return c;
        });
        return new Summary(rows, scenarioLabels);
    }

    /// <summary>True when <paramref name="row"/> has the best mean of <paramref name="column"/> among the rows of its scenario
    /// and noise setting (and there is more than one such row).</summary>
    public bool IsBest(SummaryRow row, string column)
    {
        var col = Column(column);
        if (!col.Ranked) return false;
        if (!row.Metrics.TryGetValue(column, out var mine) || double.IsNaN(mine.Mean)) return false;
        var peers = Rows.Where(r => r.ScenarioIndex == row.ScenarioIndex && r.Noise == row.Noise).ToArray();
        if (peers.Length < 2) return false;
        var means = peers.Select(r => r.Metrics.TryGetValue(column, out var m) ? m.Mean : double.NaN).Where(m => !double.IsNaN(m)).ToArray();
        if (means.Length < 2) return false;
        double best = col.HigherIsBetter ? means.Max() : means.Min();
        return Round(mine.Mean) == Round(best);
    }

    /// <summary>The columns that hold a value in at least one row, in the given order.</summary>
    public IReadOnlyList<string> Present(IEnumerable<string> names) => names.Where(n => Rows.Any(r => r.Metrics.ContainsKey(n))).ToArray();

    /// <summary>Scenario rows grouped by noise setting, in order.</summary>
    public IEnumerable<IGrouping<(int Scenario, string Noise), SummaryRow>> ByNoise() =>
        Rows.GroupBy(r => (r.ScenarioIndex, r.Noise));

    private static double Round(double v) => Math.Round(v, 4);

    /// <summary>The number format of a column's cells: whole-ish numbers for the epoch, 4 decimals for the rest.</summary>
    public static string FormatOf(string column) => column == "best_epoch" ? "0.#" : "0.0000";

    /// <summary>Formats a metric cell: mean ± std (4 decimals), or just the mean for one run.</summary>
    public static string Cell(MeanStats m, string format = "0.0000") =>
        m.N < 2 || double.IsNaN(m.Std)
            ? Fmt(m.Mean, format)
            : $"{Fmt(m.Mean, format)} ± {Fmt(m.Std, format)}";

    /// <summary>The 95% interval as text, e.g. <c>[0.9612, 0.9801]</c> (empty for one run).</summary>
    public static string Interval(MeanStats m, string format = "0.0000") =>
        m.N < 2 || double.IsNaN(m.CiLow) ? "" : $"[{Fmt(m.CiLow, format)}, {Fmt(m.CiHigh, format)}]";

    public static string Fmt(double v, string format = "0.0000") =>
        double.IsNaN(v) ? "NaN" : v.ToString(format, CultureInfo.InvariantCulture);

    private static IReadOnlyList<MetricColumn> BuildColumns()
    {
        // Ranges: NLL ≥ 0 (log-scale interval), Brier in its multi-class sum form in [0, 2], every other test metric in
        // [0, 1] (logit-scale interval); the temperature, epoch and time are positive.
        static (double, double) Range(string metric) => metric switch
        {
            "nll" => (0, double.PositiveInfinity),
            "brier" => (0, 2),
            _ => (0, 1),
        };
        var cols = new List<MetricColumn>();
        foreach (var (name, higher, get) in TestMetrics.Columns)
        {
            var (lo, hi) = Range(name);
            cols.Add(new MetricColumn(name, higher, r => get(r.Test), name, Lower: lo, Upper: hi));
        }
        foreach (var (name, higher, get) in TestMetrics.Columns)
            if (name is not "accuracy" and not "macro_f1" and not "top5" and not "auroc") // unchanged by a temperature
            {
                var (lo, hi) = Range(name);
                cols.Add(new MetricColumn(name + "_ts", higher, r => get(r.TestCalibrated), name + " (TS)", Lower: lo, Upper: hi));
            }
        cols.Add(new MetricColumn("temperature", false, r => r.Temperature, "T", Ranked: false, Lower: 0));
        cols.Add(new MetricColumn("best_epoch", false, r => r.BestEpoch, "epoch", Ranked: false, Lower: 0));
        cols.Add(new MetricColumn("train_seconds", false, r => r.TrainSeconds, "train s", Ranked: false, Lower: 0));
        return cols;
    }

    /// <summary>The name a summary row shows for a run: its <see cref="RunConfig.Label"/> (a tuned loss: the spec the user
    /// wrote), else its loss spec.</summary>
    public static string NameOf(RunConfig c) => c.Label ?? c.Loss;

    /// <summary>Everything of a configuration except loss, noise, seed, data folder and the label; for a tuned run also
    /// except the settings tuning chooses (learning rate, weight decay), as canonical JSON.</summary>
    public static string ScenarioKey(RunConfig c)
    {
        var k = c with { Loss = "", Noise = "", Seed = 0, DataDir = null, Label = null, Tuning = null };
        if (c.Tuning is not null) k = k with { Lr = 0, WeightDecay = 0 };
        return JsonSerializer.Serialize(k, RecordJson.Options);
    }

    /// <summary>A readable scenario description: data, model, optimizer, learning rate, batch, epochs, and any other setting that differs from the defaults.</summary>
    public static string ScenarioLabel(RunConfig c)
    {
        var d = new RunConfig();
        var parts = new List<string>
        {
            c.Data, c.Model, c.Tuning is null ? $"{c.Optimizer} lr={G(c.Lr)}" : $"{c.Optimizer}, tuned per loss", $"batch {c.BatchSize}", $"{c.Epochs} epochs",
        };
        if (c.WeightDecay != d.WeightDecay && c.Tuning is null) parts.Add($"wd={G(c.WeightDecay)}");
        if (c.Optimizer == "sgd" && c.Momentum != d.Momentum) parts.Add($"momentum={G(c.Momentum)}");
        if (c.Schedule != d.Schedule) parts.Add($"{c.Schedule} schedule");
        if (c.Warmup != d.Warmup) parts.Add($"warmup={G(c.Warmup)}");
        if (c.EarlyStop != d.EarlyStop) parts.Add($"early stop {c.EarlyStop} (patience {c.Patience})");
        else if (c.ModelEpoch != d.ModelEpoch) parts.Add($"model of the {c.ModelEpoch} epoch");
        if (c.Split != d.Split) parts.Add($"split {c.Split}");
        if (c.Init != d.Init) parts.Add($"init {c.Init}");
        if (c.Bins != d.Bins) parts.Add($"{c.Bins} bins");
        parts.Add(c.ValidationNoise == "same" ? "validation noise same as training" : "clean validation labels");
        return string.Join(", ", parts);
    }

    private static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
