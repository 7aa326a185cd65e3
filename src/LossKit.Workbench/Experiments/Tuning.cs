using System.Globalization;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Workbench.Data;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Experiments;

/// <summary>
/// A tuning grid: <c>lr=1e-3,3e-3,1e-2; gamma=1,2,5; q=0.3,0.7</c>. The keys <c>lr</c> and <c>weight_decay</c> (or
/// <c>wd</c>) are the optimiser's and apply to every loss; any other key is a loss parameter and applies to the losses
/// whose card has a parameter of that name (the others ignore it).
/// </summary>
public sealed record TuneSpec(IReadOnlyList<(string Key, IReadOnlyList<string> Values)> Axes)
{
    /// <summary>The optimiser's keys.</summary>
    public static IReadOnlyList<string> OptimizerKeys { get; } = ["lr", "weight_decay"];

    /// <summary>Parses <c>KEY=V1,V2,...; KEY=...</c>.</summary>
    public static TuneSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var axes = new List<(string, IReadOnlyList<string>)>();
        foreach (string part in text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"--tune: '{part}' is not KEY=V1,V2,... (e.g. \"lr=1e-3,3e-3,1e-2; gamma=1,2,5\").");
            string key = part[..eq].Trim().ToLowerInvariant().Replace('-', '_');
            if (key == "wd") key = "weight_decay";
            var values = part[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (values.Length == 0) throw new ArgumentException($"--tune: '{key}' has no values; write {key}=V1,V2,...");
            if (axes.Any(a => a.Item1 == key)) throw new ArgumentException($"--tune: '{key}' is given twice.");
            if (OptimizerKeys.Contains(key))
                foreach (string v in values)
                    if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !(x >= 0) || !double.IsFinite(x))
                        throw new ArgumentException($"--tune: {key} value '{v}' is not a finite number ≥ 0.");
            if (values.Distinct().Count() != values.Length) throw new ArgumentException($"--tune: '{key}' lists a value twice.");
            axes.Add((key, values));
        }
        if (axes.Count == 0) throw new ArgumentException("--tune is empty; write e.g. \"lr=1e-3,3e-3,1e-2\".");
        return new TuneSpec(axes);
    }

    /// <summary>The axes that apply to <paramref name="lossSpec"/>: the optimiser's and the loss's own parameters.</summary>
    public IReadOnlyList<(string Key, IReadOnlyList<string> Values)> AxesFor(string lossSpec)
    {
        var card = LossRegistry.Find(SpecParser.Parse(lossSpec).Name).Card;
        return Axes.Where(a => OptimizerKeys.Contains(a.Key) || card.Parameter(a.Key) is not null).ToArray();
    }

    /// <summary>Every configuration of the grid for <paramref name="baseConfig"/> (its loss, noise and seed kept), in
    /// grid order (first axis slowest), each with the text of its chosen values (<c>lr=0.01, gamma=2</c>).</summary>
    public IReadOnlyList<(RunConfig Config, string Chosen)> Grid(RunConfig baseConfig)
    {
        ArgumentNullException.ThrowIfNull(baseConfig);
        var axes = AxesFor(baseConfig.Loss);
        IEnumerable<List<(string Key, string Value)>> combos = [[]];
        foreach (var (key, values) in axes)
            combos = combos.SelectMany(c => values.Select(v => new List<(string, string)>(c) { (key, v) }));
        var grid = new List<(RunConfig, string)>();
        foreach (var combo in combos)
        {
            var c = baseConfig;
            var lossArgs = new List<(string, string)>();
            foreach (var (key, value) in combo)
            {
                if (key == "lr") c = c with { Lr = Num(value) };
                else if (key == "weight_decay") c = c with { WeightDecay = Num(value) };
                else lossArgs.Add((key, value));
            }
            if (lossArgs.Count > 0) c = c with { Loss = WithArguments(c.Loss, lossArgs) };
            grid.Add((c.Canonical(), string.Join(", ", combo.Select(a => $"{a.Key}={a.Value}"))));
        }
        return grid;
    }

    /// <summary><paramref name="spec"/> with <paramref name="args"/> set (replacing the spec's own values of those names).</summary>
    public static string WithArguments(string spec, IReadOnlyList<(string Key, string Value)> args)
    {
        var parsed = SpecParser.Parse(spec);
        var all = parsed.Arguments.Where(a => !args.Any(x => x.Key == a.Key)).Select(a => (a.Key, a.Value.ToString())).Concat(args).ToArray();
        return all.Length == 0 ? parsed.Name : $"{parsed.Name}({string.Join(", ", all.Select(a => $"{a.Item1}={a.Item2}"))})";
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join("; ", Axes.Select(a => $"{a.Key}={string.Join(",", a.Values)}"));

    private static double Num(string v) => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
}

/// <summary>The validation metric tuning selects on.</summary>
public enum SelectMetric
{
    /// <summary>Validation accuracy of the tested epoch (higher is better).</summary>
    ValAccuracy,
    /// <summary>Validation negative log-likelihood of the tested epoch (lower is better).</summary>
    ValNll,
}

/// <summary>One loss's tuning: its candidate configurations and, once their runs are done, the selected one.</summary>
/// <param name="Loss">The loss as the comparison names it (the canonical spec the user wrote).</param>
/// <param name="Noise">The noise setting it is tuned under (tuning is done per noise setting).</param>
/// <param name="Candidates">The configurations tried, each with the text of its values.</param>
/// <param name="GridSize">How many configurations its full grid has.</param>
public sealed record LossTuning(string Loss, string Noise, IReadOnlyList<(RunConfig Config, string Chosen)> Candidates, int GridSize);

/// <summary>
/// Equal tuning for every loss of a comparison. Each loss × noise setting gets the same number of trials: its whole
/// grid when every loss's grid has that many configurations, else a seeded random sample of <c>trials</c> configurations
/// of its grid, without repetition (<c>trials</c> defaults to the smallest grid, so that every loss can have as many).
/// Each trial trains on every tuning seed; the configuration with the best mean validation metric over the tuning seeds
/// is selected (ties: the earlier in grid order) and rerun over the comparison's seeds. A selected configuration's run on
/// a tuning seed is the trial itself, reused, not retrained: the same configuration and seed give the same record.
/// </summary>
public static class Tuner
{
    /// <summary>The candidate configurations of every loss × noise setting of <paramref name="sweep"/>.</summary>
    /// <param name="sweep">Losses (with <c>{a,b}</c> grids expanded), noise settings and seeds of the comparison.</param>
    /// <param name="tune">The tuning grid.</param>
    /// <param name="trials">Trials per loss (null: the smallest grid's size).</param>
    public static IReadOnlyList<LossTuning> Plan(SweepSpec sweep, TuneSpec tune, int? trials)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(tune);
        if (trials is < 1) throw new ArgumentException($"--trials {trials}: expected at least 1.");
        var plans = new List<LossTuning>();
        var losses = sweep.Losses.SelectMany(LossGrid.Expand).Select(l => (sweep.Base with { Loss = l }).Canonical().Loss).Distinct().ToArray();
        var grids = new Dictionary<(string, string), IReadOnlyList<(RunConfig, string)>>();
        foreach (string loss in losses)
            foreach (string noise in sweep.Noise)
                grids[(loss, noise)] = tune.Grid((sweep.Base with { Loss = loss, Noise = noise, Seed = 0, Label = loss }).Canonical());
        int n = trials ?? grids.Values.Min(g => g.Count);
        foreach (var ((loss, noise), grid) in grids)
        {
            IReadOnlyList<(RunConfig, string)> chosen = grid;
            if (grid.Count > n)
            {
                // A seeded sample without repetition, kept in grid order.
                var rng = SeededRng.ForPurpose(0, "tune:" + loss + "|" + noise);
                var index = Enumerable.Range(0, grid.Count).ToArray();
                rng.Shuffle(index.AsSpan());
                chosen = index.Take(n).Order().Select(i => grid[i]).ToArray();
            }
            plans.Add(new LossTuning(loss, noise, chosen, grid.Count));
        }
        return plans;
    }

    /// <summary>The trial runs: every candidate on every tuning seed.</summary>
    public static IReadOnlyList<RunConfig> Trials(IReadOnlyList<LossTuning> plans, IReadOnlyList<int> tuneSeeds) =>
        plans.SelectMany(p => p.Candidates.SelectMany(c => tuneSeeds.Select(s => (c.Config with { Seed = s, Label = null }).Canonical()))).ToArray();

    /// <summary>The value of <paramref name="metric"/> a run is selected on: the validation metric of its tested epoch.</summary>
    public static double Score(RunRecord r, SelectMetric metric)
    {
        if (r.Diverged || r.BestEpoch < 1 || r.BestEpoch > r.Epochs.Count) return double.NaN;
        var e = r.Epochs[r.BestEpoch - 1];
        return metric == SelectMetric.ValAccuracy ? e.ValAccuracy : e.ValNll;
    }

    /// <summary>Parses <c>val_accuracy</c> or <c>val_nll</c>.</summary>
    public static SelectMetric ParseSelect(string text) => text.Trim().ToLowerInvariant().Replace('-', '_') switch
    {
        "val_accuracy" or "val_acc" => SelectMetric.ValAccuracy,
        "val_nll" => SelectMetric.ValNll,
        _ => throw new ArgumentException($"--select '{text}': valid metrics are val_accuracy (higher is better) and val_nll (lower is better)."),
    };

    /// <summary>The name of a <see cref="SelectMetric"/> as written on the command line.</summary>
    public static string Name(SelectMetric m) => m == SelectMetric.ValAccuracy ? "val_accuracy" : "val_nll";

    /// <summary>
    /// The selected configuration of each plan, with <see cref="RunConfig.Label"/> and <see cref="RunConfig.Tuning"/> set:
    /// the candidate with the best mean score over <paramref name="tuneSeeds"/> (a candidate with a diverged or missing
    /// trial scores worst). <paramref name="trials"/> holds the trial records by key.
    /// </summary>
    public static IReadOnlyList<RunConfig> Select(IReadOnlyList<LossTuning> plans, IReadOnlyList<int> tuneSeeds,
        IReadOnlyDictionary<string, RunRecord> trials, SelectMetric metric)
    {
        var selected = new List<RunConfig>();
        bool higher = metric == SelectMetric.ValAccuracy;
        foreach (var p in plans)
        {
            int best = -1;
            double bestScore = double.NaN;
            for (int i = 0; i < p.Candidates.Count; i++)
            {
                double sum = 0;
                foreach (int s in tuneSeeds)
                {
                    string key = (p.Candidates[i].Config with { Seed = s }).Key();
                    sum += trials.TryGetValue(key, out var r) ? Score(r, metric) : double.NaN;
                }
                double score = sum / tuneSeeds.Count;
                if (double.IsNaN(score)) continue;
                if (best < 0 || (higher ? score > bestScore : score < bestScore)) { best = i; bestScore = score; }
            }
            if (best < 0) best = 0; // every trial diverged: keep the first candidate; its runs will show the divergence
            var (config, chosen) = p.Candidates[best];
            selected.Add(config with
            {
                Label = p.Loss,
                Tuning = new TuningInfo(p.Candidates.Count, tuneSeeds.ToArray(), Name(metric), bestScore, chosen),
            });
        }
        return selected;
    }
}
