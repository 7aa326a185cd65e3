using System.Text.Json;
using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using LossKit.Kernels;
using LossKit.Workbench.Data;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;

namespace LossKit.Cli;

/// <summary>train, compare, sweep, report: the workbench (see docs/workbench.md).</summary>
internal static partial class WorkbenchCommands
{
    public static IEnumerable<Command> All() => [Train(), Compare(), Sweep(), Report()];

    /// <summary>The losses compare runs when none are given.</summary>
    public static IReadOnlyList<string> DefaultCompareLosses { get; } = ["ce", "focal(gamma=2)", "poly(eps=1)", "gce(q=0.7)", "mae", "sce"];

    /// <summary>The noise settings compare runs when none are given.</summary>
    public static IReadOnlyList<string> DefaultCompareNoise { get; } = ["none", "symmetric:0.4"];

    /// <summary>Seeds of the ranking and retrieval comparisons when none are given.</summary>
    public const int DefaultSeeds = 3;

    /// <summary>Seeds of the classification comparison when none are given: 5, the fewest with which its paired
    /// comparison against the baseline gives a verdict.</summary>
    public const int DefaultCompareSeeds = PairedComparison.MinSeedsForVerdict;
    public const string DefaultOut = OutputFolder.DefaultRoot;

    // ------------------------------------------------------------------ train

    private static Command Train()
    {
        var o = new WorkbenchOptions();
        var loss = new Option<string?>("--loss") { Description = "Loss spec from the registry, e.g. ce, focal(gamma=2), gce(q=0.7) (default: ce)." };
        var noise = new Option<string?>("--noise") { Description = "Label noise on the training split: none, symmetric:RATE or pairflip:RATE, RATE in [0, 1)." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the split, noise, initialisation and batch order (default: 0)." };
        var json = new Option<bool>("--json") { Description = "Print the run record as one JSON object instead of progress and tables." };
        var threads = new Option<int?>("--threads") { Description = "Kernel threads (default: all cores); results do not depend on it." };
        var allowDivergence = new Option<bool>("--allow-divergence")
        {
            Description = "When the training loss becomes NaN or infinite, report the last finite state and exit 0 (default: one error line and exit 1).",
        };
        var cmd = new Command("train", "Train one model on one data set with one loss; print per-epoch progress and test metrics before and after temperature scaling.")
            { loss, noise, seed, json, threads, allowDivergence };
        o.AddTo(cmd);
        var r = new RetrievalOptions();
        r.AddTo(cmd);
        cmd.SetAction(p =>
        {
            if (IsRankingData(p, o)) { r.Refuse(p); return TrainRanking(p, o, loss, seed, json, noise, threads, allowDivergence); }
            if (IsRegressionData(p, o)) { r.Refuse(p); return TrainRegression(p, o, loss, seed, json, noise, threads, allowDivergence); }
            if (p.GetValue(loss) is { } l && IsRetrieval([l])) return TrainRetrieval(p, o, r, loss, seed, json, noise, threads, allowDivergence);
            r.Refuse(p);
            var b = new RunConfig();
            var config = o.Apply(p, b) with
            {
                Loss = p.GetValue(loss) ?? b.Loss,
                Noise = p.GetValue(noise) ?? b.Noise,
                Seed = p.GetValue(seed) ?? b.Seed,
            };
            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(threads) is { } t)
            {
                if (t < 1) throw new ArgumentException($"--threads {t}: expected at least 1.");
                Parallelism.MaxThreads = t;
            }
            void RequireConverged(RunRecord r)
            {
                if (r.Divergence is { } d && !p.GetValue(allowDivergence))
                    throw new TrainingDivergedException($"training diverged: {WorkbenchOutput.DivergenceText(d)}; lower --lr, or pass --allow-divergence to report the last finite state.");
            }
            if (p.GetValue(json))
            {
                var record = Trainer.Run(config);
                RequireConverged(record);
                output.WriteLine(record.ToJson());
                return 0;
            }
            var (c, data) = Trainer.Prepare(config);
            var console = WorkbenchOutput.Console(output);
            console.WriteLine($"train: {c.Data} ({data.Train.Rows} train / {data.Validation.Rows} validation / {data.Test.Rows} test rows, " +
                $"{data.Features} features, {data.Classes} classes), model {c.Model}, loss {c.Loss}, seed {c.Seed}");
            console.WriteLine("classes: " + WorkbenchOutput.ClassList(data.Train.ClassNames));
            console.WriteLine($"noise: {c.Noise}" + (data.Noise.Spec.Rate > 0
                ? $", realised {data.Noise.RealisedRate:0.0000} ({data.Noise.Changed} of {data.Train.Rows} training labels changed)" : ""));
            console.WriteLine($"{c.Optimizer} lr={G(c.Lr)} ({c.Schedule}, warm-up {G(c.Warmup)}), weight decay {G(c.WeightDecay)}, " +
                $"{c.Epochs} epochs of batch {c.BatchSize}" + (c.EarlyStop == "none" ? "" : $", early stop on {c.EarlyStop} (patience {c.Patience})"));
            RunRecord result;
            if (WorkbenchOutput.IsTerminal(output))
            {
                result = null!;
                AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("training", maxValue: c.Epochs);
                        result = Trainer.Run(c, data, e =>
                        {
                            task.Description = $"epoch {e.Epoch}/{c.Epochs}  train loss {e.TrainLoss:0.0000}  val acc {e.ValAccuracy:0.0000}";
                            task.Increment(1);
                        });
                        task.Value = task.MaxValue;
                    });
            }
            else
            {
                result = Trainer.Run(c, data, e => output.WriteLine(WorkbenchOutput.EpochLine(e, c.Epochs)));
            }
            RequireConverged(result);
            WorkbenchOutput.WriteRunTable(output, console, result, Tables.Format(p));
            return 0;
        });
        return cmd;
    }

    // ------------------------------------------------------------------ ranking data

    /// <summary>The losses compare runs on a ranking set when none are given (beside the random and mse baselines).</summary>
    public static IReadOnlyList<string> DefaultRankingLosses { get; } = ["ranknet", "listnet", "listmle", "softmax_rank", "lambdarank"];

    private static bool IsRankingData(ParseResult p, WorkbenchOptions o) => p.GetValue(o.Data) is { } d && SvmLight.Embedded.Contains(d);

    /// <summary>The ranking run the options describe: ranking defaults where an option is not given.</summary>
    private static RankingRunConfig RankingConfig(ParseResult p, WorkbenchOptions o, params Option[] others)
    {
        var d = new RankingRunConfig();
        RefuseGiven(p, [.. o.ClassificationTrainingOnly, o.Split, .. others],
            $"does not apply to the ranking set {p.GetValue(o.Data)}: ranking runs train on clean labels with AdamW, hold out a fifth of the training queries and test the epoch of best validation NDCG@5 (docs/ranking.md).");
        return d with
        {
            Data = p.GetValue(o.Data)!,
            Model = p.GetValue(o.Model) ?? d.Model,
            Epochs = p.GetValue(o.Epochs) ?? d.Epochs,
            QueriesPerBatch = p.GetValue(o.BatchSize) ?? d.QueriesPerBatch,
            Lr = p.GetValue(o.Lr) ?? d.Lr,
            WeightDecay = p.GetValue(o.WeightDecay) ?? d.WeightDecay,
        };
    }

    private static int TrainRanking(ParseResult p, WorkbenchOptions o, Option<string?> loss, Option<int?> seed, Option<bool> json, params Option[] unsupported)
    {
        var c = RankingConfig(p, o, unsupported) with { Loss = p.GetValue(loss) ?? new RankingRunConfig().Loss, Seed = p.GetValue(seed) ?? 0 };
        var output = p.InvocationConfiguration.Output;
        if (p.GetValue(json))
        {
            output.WriteLine(RankingTrainer.Run(c).ToJson());
            return 0;
        }
        output.WriteLine($"train: {c.Data} (ranking), model {c.Model}, loss {c.Loss}, seed {c.Seed}; AdamW lr={G(c.Lr)}, {c.Epochs} epochs of {c.QueriesPerBatch} queries");
        var r = RankingTrainer.Run(c, (e, l, v) => output.WriteLine(FormattableString.Invariant($"epoch {e,3}/{c.Epochs}  train loss {l:0.0000}  val NDCG@5 {v:0.0000}")));
        output.WriteLine($"{r.TrainQueries} train / {r.ValidationQueries} validation / {r.TestQueries} test queries, {r.Features} features; tested epoch {r.BestEpoch} (best validation NDCG@5)");
        WriteTestMetrics(p, RankingRunRecord.MetricNames, r.Test);
        return 0;
    }

    /// <summary>One run's test metrics as a one-row table, four decimals each.</summary>
    private static void WriteTestMetrics(ParseResult p, IReadOnlyList<string> names, IReadOnlyDictionary<string, double> test)
    {
        var table = new TextTable([.. names]) { Title = "test", RightAligned = [.. Enumerable.Range(0, names.Count)] };
        table.Add([.. names.Select(m => (TableCell)test[m].ToString("0.0000", CultureInfo.InvariantCulture))]);
        Tables.Write(p.InvocationConfiguration.Output, table, Tables.Format(p));
    }

    /// <summary>What a seed comparison (ranking, retrieval) reads besides its run configuration: the number of seeds,
    /// the output folder (default: a new one named after <paramref name="folder"/>), and whether it answers in JSON only.</summary>
    private static (int Seeds, string Dir, bool Quiet) SeedComparisonOptions(ParseResult p, GridOptions g, Option<bool> json, string folder) =>
        (p.GetValue(g.Seeds) ?? DefaultSeeds, p.GetValue(g.Out) ?? OutputFolder.Default(folder, DateTime.Now), p.GetValue(json));

    /// <summary>Each metric's statistics as JSON (<see cref="MetricJson"/>; ci null with one seed or split).</summary>
    private static Dictionary<string, object> MetricsJson(IReadOnlyDictionary<string, MeanStats> metrics) =>
        metrics.ToDictionary(m => m.Key, m => MetricJson(m.Value));

    /// <summary>The summary table's loss cell: the spec, marked when it is a baseline.</summary>
    private static string LossCell(string loss, bool baseline) => baseline ? loss + " (baseline)" : loss;

    /// <summary>The lines under a seed comparison's table: what the cells are, and where the report is.</summary>
    private static void WriteSeedComparisonFooter(TextWriter output, string dir, string plots)
    {
        output.WriteLine("mean ± std over seeds [95% interval of the mean, Student t on the logit scale]");
        output.WriteLine($"report: {Path.Combine(dir, "summary.md")} ({plots}, results.jsonl)");
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static int CompareRanking(ParseResult p, WorkbenchOptions o, GridOptions g, Option<bool> json)
    {
        var c = RankingConfig(p, o, g.NotForSeedComparisons);
        var losses = WorkbenchOptions.SplitList(p.GetValue(g.Losses), commas: false);
        if (losses.Length == 0) losses = [.. DefaultRankingLosses];
        var (seeds, dir, quiet) = SeedComparisonOptions(p, g, json, c.Data);
        var output = p.InvocationConfiguration.Output;
        var rows = RankingComparison.Run(c, losses, seeds, dir,
            r => { if (!quiet) output.WriteLine(FormattableString.Invariant($"  {r.Config.Loss}, seed {r.Config.Seed}: NDCG@5 {r.Test["ndcg_at_5"]:0.0000} ({r.Seconds:0.0} s)")); });
        if (quiet)
        {
            output.WriteLine(JsonSerializer.Serialize(rows.Select(r => new
            {
                loss = r.Loss, baseline = r.Baseline, seeds = r.Seeds,
                metrics = MetricsJson(r.Metrics),
            })));
            return 0;
        }
        var table = new TextTable(["loss", .. RankingRunRecord.MetricNames]) { RightAligned = [.. Enumerable.Range(1, RankingRunRecord.MetricNames.Count)] };
        foreach (var r in rows)
            table.Add([LossCell(r.Loss, r.Baseline), .. RankingRunRecord.MetricNames.Select(m => (TableCell)RankingComparison.Cell(r.Metrics[m]))]);
        Tables.Write(output, table, Tables.Format(p));
        WriteSeedComparisonFooter(output, dir, "ndcg-at-k.png/.svg");
        return 0;
    }

    // ------------------------------------------------------------------ compare and sweep

    private sealed class GridOptions
    {
        public Option<string[]> Losses { get; } = new("--losses")
        {
            Description = "Loss specs separated by ';', e.g. \"ce; focal(gamma=2); gce(q={0.3,0.7})\" ({a,b} expands to a grid). May be repeated.",
            AllowMultipleArgumentsPerToken = false,
        };
        public Option<string[]> Noise { get; } = new("--noise") { Description = "Noise settings separated by ';' or ',', e.g. \"none; symmetric:0.4\". May be repeated." };
        public Option<int?> Seeds { get; } = new("--seeds") { Description = "Number of seeds (0..N−1)." };
        public Option<string?> Out { get; } = new("--out") { Description = $"Output folder for results.jsonl and the report (default: a new folder {DefaultOut}/DATA-yyyyMMdd-HHmmss). A folder holding runs of the same grid resumes it." };
        public Option<bool> Append { get; } = new("--append") { Description = "Add these runs to a --out folder that holds runs of other losses, noise or seeds (every other setting must match); the report covers all of them." };
        public Option<int?> Parallel { get; } = new("--parallel") { Description = "Runs trained at once (each with cores/N kernel threads); default: 1 for the large image sets, else the number of cores." };
        public Option<bool> Force { get; } = new("--force") { Description = "Retrain runs already in the output folder's results files." };
        public Option<string?> Tune { get; } = new("--tune")
        {
            Description = "Tune every loss alike before comparing: a grid such as \"lr=1e-3,3e-3,1e-2; gamma=1,2,5; q=0.3,0.7\" (lr and weight_decay " +
                "apply to every loss, other keys to the losses that have that parameter); each loss gets the same number of trials, the best " +
                "on the validation split (--select) is rerun over the seeds. Trials go to tuning.jsonl (resumable, shardable).",
        };
        public Option<int?> Trials { get; } = new("--trials") { Description = "Trials per loss with --tune (default: the smallest grid's size; larger grids are sampled at random, seeded)." };
        public Option<string?> Select { get; } = new("--select") { Description = "Validation metric tuning selects on: val_accuracy or val_nll (default: val_accuracy)." };
        public Option<int?> TuneSeeds { get; } = new("--tune-seeds") { Description = "Seeds each trial trains on, the first N of the comparison's seeds; selection uses their mean (default: 1)." };
        public Option<string?> Baseline { get; } = new("--baseline") { Description = $"The loss every other loss is paired against in the report (default: {PairedReport.DefaultBaseline})." };

        public void AddTo(Command cmd)
        {
            foreach (Option x in new Option[] { Losses, Noise, Seeds, Out, Append, Parallel, Force, Tune, Trials, Select, TuneSeeds, Baseline }) cmd.Options.Add(x);
        }

        /// <summary>The fair-comparison options built for the classification workbench only (the ranking, retrieval and
        /// regression comparisons pair against a fixed reference and do not tune).</summary>
        public Option[] ClassificationOnly => [Tune, Trials, Select, TuneSeeds, Baseline];

        /// <summary>The options the seed comparisons (ranking, retrieval) refuse: they run clean labels, one grid, one
        /// process, and always from scratch.</summary>
        public Option[] NotForSeedComparisons => [Noise, Append, Parallel, Force, .. ClassificationOnly];

        public SweepSpec Apply(ParseResult p, SweepSpec s)
        {
            var losses = WorkbenchOptions.SplitList(p.GetValue(Losses), commas: false);
            var noise = WorkbenchOptions.SplitList(p.GetValue(Noise), commas: true);
            return s with
            {
                Losses = losses.Length > 0 ? losses : s.Losses,
                Noise = noise.Length > 0 ? noise : s.Noise,
                Seeds = p.GetValue(Seeds) is { } n ? SweepSpec.SeedRange(n) : s.Seeds,
                Out = p.GetValue(Out) ?? s.Out,
            };
        }
    }

    private static Command Compare()
    {
        var o = new WorkbenchOptions();
        var g = new GridOptions();
        var json = new Option<bool>("--json") { Description = "Print the summary rows as JSON instead of the table." };
        var cmd = new Command("compare",
            "Train every loss × noise × seed and compare test metrics (mean ± std, 95% CI); writes results.jsonl and the report (summary.md, CSV, plots) to a new folder or --out. " +
            "With no arguments: digits, losses ce; focal(gamma=2); poly(eps=1); gce(q=0.7); mae; sce, noise none and symmetric:R with R = 0.4 from 5 classes on " +
            "(fewer classes: half-way to chance, (K−1)/2K), 5 seeds, validation labels as noisy as the training labels, paired against ce.") { json };
        o.AddTo(cmd);
        g.AddTo(cmd);
        var r = new RetrievalOptions();
        r.AddTo(cmd);
        cmd.SetAction(p =>
        {
            if (IsRankingData(p, o)) { r.Refuse(p); return CompareRanking(p, o, g, json); }
            if (IsRegressionData(p, o)) { r.Refuse(p); return CompareRegression(p, o, g, json); }
            var given = WorkbenchOptions.SplitList(p.GetValue(g.Losses), commas: false);
            if (IsRetrieval(given)) return CompareRetrieval(p, o, r, g, json, given);
            if (given.Length == 0 && r.Given(p)) return CompareRetrieval(p, o, r, g, json, DefaultRetrievalLosses);
            r.Refuse(p);
            var spec = g.Apply(p, new SweepSpec
            {
                Base = o.Apply(p, new RunConfig()),
                Losses = DefaultCompareLosses,
                Noise = DefaultCompareNoise,
                Seeds = SweepSpec.SeedRange(DefaultCompareSeeds),
            });
            string? note = null;
            if (WorkbenchOptions.SplitList(p.GetValue(g.Noise), commas: true).Length == 0)
            {
                var b = spec.Base.Canonical();
                int classes = DatasetCatalog.Load(b.Data, b.DataDir, b.Target).Classes;
                double rate = DefaultNoiseRate(classes);
                spec = spec with { Noise = ["none", "symmetric:" + rate.ToString(CultureInfo.InvariantCulture)] };
                note = $"Noise: none and symmetric:{G(rate)}, the default for {classes} classes: " + (rate < MaxDefaultNoise
                    ? $"half-way to {G((classes - 1.0) / classes)}, the rate at which symmetric noise leaves no information in the labels ({G(MaxDefaultNoise)} from 5 classes on)"
                    : $"{G(MaxDefaultNoise)}, below the chance rate {G((classes - 1.0) / classes)}") + "; --noise chooses others.";
            }
            return RunGrid(p, spec, null, g, p.GetValue(json), report: true, "compare", note);
        });
        return cmd;
    }

    private static Command Sweep()
    {
        var o = new WorkbenchOptions();
        var g = new GridOptions();
        var config = new Option<string?>("--config") { Description = "Sweep file (JSON; see docs/workbench.md). Options given on the command line override it." };
        var shard = new Option<string?>("--shard") { Description = "Run only shard i/n of the grid (0 ≤ i < n), appending to results.shard-i-of-n.jsonl; no report is written (run 'losskit report DIR' when all shards are done)." };
        var cmd = new Command("sweep",
            "Run a grid of losses (with parameter grids) × noise settings × seeds, one JSON line per finished run in DIR/results.jsonl; " +
            "finished runs are skipped on a rerun.") { config, shard };
        o.AddTo(cmd);
        g.AddTo(cmd);
        cmd.SetAction(p =>
        {
            string? path = p.GetValue(config);
            if (path is null && p.GetValue(g.Losses) is not { Length: > 0 })
                throw new ArgumentException("sweep needs --config FILE or --losses \"SPEC; SPEC\" (see docs/workbench.md).");
            var file = path is null ? new SweepSpec() : SweepSpec.Load(path);
            var spec = g.Apply(p, file with { Base = o.Apply(p, file.Base) });
            Shard? s = p.GetValue(shard) is { } text ? Shard.Parse(text) : null;
            return RunGrid(p, spec, s, g, json: false, report: s is null, "sweep");
        });
        return cmd;
    }

    /// <summary>The largest default noise rate of compare.</summary>
    public const double MaxDefaultNoise = 0.4;

    /// <summary>compare's default symmetric noise rate for <paramref name="classes"/> classes: half-way to the rate
    /// (K−1)/K at which the labels carry no information, at most <see cref="MaxDefaultNoise"/> (2 classes: 0.25,
    /// 3: 0.33, 4: 0.38, 5 or more: 0.4).</summary>
    public static double DefaultNoiseRate(int classes) =>
        Math.Min(MaxDefaultNoise, Math.Round((classes - 1) / (2.0 * classes), 2, MidpointRounding.AwayFromZero));

    private static int RunGrid(ParseResult p, SweepSpec spec, Shard? shard, GridOptions g, bool json, bool report, string verb, string? note = null)
    {
        var output = p.InvocationConfiguration.Output;
        var console = WorkbenchOutput.Console(output);
        if (shard is not null && spec.Out is null)
            throw new ArgumentException("--shard needs --out DIR (or \"out\" in the sweep file), the one folder every shard writes to.");
        var notes = new List<string>();
        if (note is not null) notes.Add(note);
        string baseline = p.GetValue(g.Baseline) ?? PairedReport.DefaultBaseline;
        string? tuneText = p.GetValue(g.Tune);
        if (tuneText is null && (p.GetValue(g.Trials) is not null || p.GetValue(g.Select) is not null || p.GetValue(g.TuneSeeds) is not null))
            throw new ArgumentException("--trials, --select and --tune-seeds go with --tune \"lr=1e-3,3e-3,1e-2; ...\".");
        var grid = spec.Expand();
        string dir = spec.Out ?? OutputFolder.Default(grid[0].Data, DateTime.Now);
        int parallel = p.GetValue(g.Parallel) ?? DefaultParallel(grid);
        if (parallel < 1) throw new ArgumentException($"--parallel {parallel}: expected at least 1.");
        bool append = p.GetValue(g.Append);
        ResultsStore.EnsureWritable(dir);
        IReadOnlyDictionary<string, RunRecord>? reuse = null;
        if (tuneText is not null)
        {
            var tuned = Tune(p, spec, shard, g, json, dir, parallel, TuneSpec.Parse(tuneText), notes);
            if (tuned is null) return 0;   // a shard whose tuning trials are not all done yet
            (grid, reuse) = tuned.Value;
        }
        var runs = shard is { } sh ? sh.Select(grid) : grid;
        OutputFolder.Check(dir, grid, append);
        if (!json)
        {
            console.WriteLine($"{verb}: {runs.Count} runs" + (shard is { } s2 ? $" (shard {s2} of a {grid.Count}-run grid)" : "") +
                $" ({grid.Select(Summary.NameOf).Distinct().Count()} losses × {spec.Noise.Count} noise × {spec.Seeds.Count} seeds), " +
                $"{parallel} at a time, into {dir}");
            foreach (string n in notes) console.WriteLine(n);
        }
        var outcome = ExperimentRunner.Run(runs, dir, shard?.FileName ?? ResultsStore.DefaultFileName, parallel, p.GetValue(g.Force), e =>
        {
            if (json) return;
            if (e.Skipped) return;
            output.WriteLine(WorkbenchOutput.RunLine(e));
        }, reuse: reuse);
        if (!json)
            console.WriteLine($"{outcome.Ran} runs trained{(reuse is null ? "" : " (or taken from the tuning trials)")}, {outcome.Skipped} already done, in {outcome.Seconds:0.0} s; results in {outcome.ResultsFile}");
        ReportFiles? files = null;
        var records = append ? ResultsStore.Load(dir).Records : outcome.Records;
        var environment = RunEnvironment.Current() with { Threads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, Math.Min(parallel, runs.Count))) };
        if (report) files = ReportWriter.Write(dir, records, CommandLine(p), notes, new ReportOptions(baseline, environment));
        var summary = Summary.Build(records);
        var paired = PairedReport.Build(summary, baseline);
        if (json)
        {
            output.WriteLine(WorkbenchOutput.SummaryJson(summary, paired));
            return 0;
        }
        WorkbenchOutput.WriteSummaryTables(output, console, summary, Tables.Format(p));
        WorkbenchOutput.WritePairedTables(output, console, summary, paired, baseline, Tables.Format(p));
        if (files is not null) console.WriteLine($"report: {files.Markdown} ({files.Plots.Count} plot files)");
        else console.WriteLine($"no report for a shard; when every shard is done run: losskit report {dir}");
        return 0;
    }

    /// <summary>
    /// The tuning phase of a comparison: plans every loss's trials, runs them (this shard's share) into tuning*.jsonl, and
    /// returns the final runs (the selected configuration of each loss × noise over every seed) with the trial records to
    /// reuse; null when a shard finds trials of other shards still missing.
    /// </summary>
    private static (IReadOnlyList<RunConfig> Grid, IReadOnlyDictionary<string, RunRecord> Trials)? Tune(ParseResult p, SweepSpec spec, Shard? shard,
        GridOptions g, bool json, string dir, int parallel, TuneSpec tune, List<string> notes)
    {
        var output = p.InvocationConfiguration.Output;
        var console = WorkbenchOutput.Console(output);
        var select = Tuner.ParseSelect(p.GetValue(g.Select) ?? "val_accuracy");
        int tuneSeedCount = p.GetValue(g.TuneSeeds) ?? 1;
        if (tuneSeedCount < 1 || tuneSeedCount > spec.Seeds.Count)
            throw new ArgumentException($"--tune-seeds {tuneSeedCount}: expected 1 to {spec.Seeds.Count} (the comparison's seeds; tuning uses the first N).");
        var tuneSeeds = spec.Seeds.Take(tuneSeedCount).ToArray();
        var plans = Tuner.Plan(spec, tune, p.GetValue(g.Trials));
        var trials = Tuner.Trials(plans, tuneSeeds);
        var mine = shard is { } sh ? sh.Select(trials) : trials;
        var sizes = plans.Select(x => x.GridSize).Distinct().Order().ToArray();
        int perLoss = plans.Max(x => x.Candidates.Count);
        string how = sizes.Length == 1
            ? $"each loss's whole grid of {sizes[0]} configurations"
            : $"{perLoss} configurations per loss, a seeded random sample where its grid is larger (grids of {string.Join(", ", sizes)})" +
              (plans.Any(x => x.Candidates.Count < perLoss) ? "; losses whose grid is smaller run all of it: they have nothing more to try" : "");
        notes.Add($"Tuning ({tune}): {how}, on seed(s) {string.Join(", ", tuneSeeds)}, selected by {Tuner.Name(select)} on the validation split; " +
            "the selected configuration is rerun over every seed.");
        if (!json)
            console.WriteLine($"tuning: {mine.Count} trial runs" + (shard is { } s2 ? $" (shard {s2} of {trials.Count})" : "") + $" into {Path.Combine(dir, ResultsStore.TuningFileName)}");
        string file = shard is { } s3 ? $"tuning.shard-{s3.Index}-of-{s3.Count}.jsonl" : ResultsStore.TuningFileName;
        ExperimentRunner.Run(mine, dir, file, parallel, p.GetValue(g.Force), e =>
        {
            if (!json && !e.Skipped) output.WriteLine("tune " + WorkbenchOutput.RunLine(e));
        }, ResultsStore.TuningPattern);
        var done = ResultsStore.Load(dir, ResultsStore.TuningPattern).Records.ToDictionary(r => r.Key, StringComparer.Ordinal);
        int missing = trials.Count(t => !done.ContainsKey(t.Key()));
        if (missing > 0)
        {
            if (!json) console.WriteLine($"{missing} tuning trials of other shards are not done yet; when every shard's trials are, run each shard again for its final runs.");
            return null;
        }
        var selected = Tuner.Select(plans, tuneSeeds, done, select);
        var grid = new List<RunConfig>();
        foreach (var c in selected)
            foreach (int seed in spec.Seeds)
                grid.Add((c with { Seed = seed }).Canonical());
        return (grid, done);
    }

    /// <summary>Small data sets train fastest with one run per core (each kernel call is too small to split); the image sets
    /// with one run at a time using every core.</summary>
    private static int DefaultParallel(IReadOnlyList<RunConfig> runs) =>
        runs.Any(r => r.Data is "fashion-mnist" or "mnist") ? 1 : Math.Max(1, Math.Min(Environment.ProcessorCount, runs.Count));

    // ------------------------------------------------------------------ report

    private static Command Report()
    {
        var dir = new Argument<string>("dir") { Description = "Folder holding results*.jsonl (shards are merged)." };
        var json = new Option<bool>("--json") { Description = "Print the summary rows as JSON instead of the table." };
        var baseline = new Option<string?>("--baseline") { Description = $"The loss every other loss is paired against (default: {PairedReport.DefaultBaseline})." };
        var verify = new Option<int?>("--verify") { Description = "Rerun N randomly chosen runs of DIR and check that their records are bit-identical apart from timings (exit 1 if not)." };
        var verifySeed = new Option<int?>("--verify-seed") { Description = "Seed of the choice of runs to rerun (default: 0)." };
        var cmd = new Command("report", "Read every results*.jsonl in DIR and write summary.md, summary.csv, runs.csv and PNG + SVG plots there; " +
            "--verify N reruns N of the runs to check they reproduce.") { dir, json, baseline, verify, verifySeed };
        cmd.SetAction(p =>
        {
            string d = p.GetValue(dir)!;
            if (!Directory.Exists(d)) throw new DirectoryNotFoundException($"results folder '{d}' does not exist.");
            var loaded = ResultsStore.Load(d);
            if (loaded.Records.Count == 0)
                throw new InvalidDataException($"no run records in '{d}' (looked in {loaded.Files.Count} results*.jsonl files).");
            var output = p.InvocationConfiguration.Output;
            var console = WorkbenchOutput.Console(output);
            if (p.GetValue(verify) is { } n) return Verify(output, loaded.Records, n, p.GetValue(verifySeed) ?? 0);
            ResultsStore.EnsureWritable(d);
            string b = p.GetValue(baseline) ?? PairedReport.DefaultBaseline;
            var files = ReportWriter.Write(d, loaded.Records, CommandLine(p), null, new ReportOptions(b));
            var summary = Summary.Build(loaded.Records);
            var paired = PairedReport.Build(summary, b);
            if (p.GetValue(json)) { output.WriteLine(WorkbenchOutput.SummaryJson(summary, paired)); return 0; }
            console.WriteLine($"{loaded.Records.Count} runs from {loaded.Files.Count} files" +
                (loaded.BadLines > 0 ? $", {loaded.BadLines} unreadable lines skipped" : "") +
                (loaded.PartialLines > 0 ? $", {loaded.PartialLines} cut-off last lines ignored" : ""));
            WorkbenchOutput.WriteSummaryTables(output, console, summary, Tables.Format(p));
            WorkbenchOutput.WritePairedTables(output, console, summary, paired, b, Tables.Format(p));
            console.WriteLine($"report: {files.Markdown} ({files.Plots.Count} plot files)");
            return 0;
        });
        return cmd;
    }

    /// <summary>report --verify: reruns the chosen runs one after another, one line each; exit 1 when any differs.</summary>
    private static int Verify(TextWriter output, IReadOnlyList<RunRecord> records, int count, int seed)
    {
        var chosen = Verification.Choose(records, count, seed);
        output.WriteLine($"verify: rerunning {chosen.Count} of {records.Count} runs (seed {seed})");
        int differ = 0;
        foreach (var r in chosen)
        {
            var v = Verification.Verify(r);
            if (!v.Identical) differ++;
            output.WriteLine(FormattableString.Invariant(
                $"  {r.Key}  {Summary.NameOf(r.Config)}, {r.Config.Noise}, seed {r.Config.Seed}: {(v.Identical ? "identical" : "DIFFERS: " + v.Difference)} ({v.Seconds:0.0} s)"));
        }
        output.WriteLine(differ == 0
            ? $"verify: all {chosen.Count} reruns are bit-identical to their records (timings aside)"
            : $"verify: {differ} of {chosen.Count} reruns differ from their records");
        return differ == 0 ? 0 : 1;
    }

    /// <summary>The command line of <paramref name="p"/>, each argument quoted for a POSIX shell where it needs it, so
    /// that it can be pasted back.</summary>
    public static string CommandLine(ParseResult p) => Cli.Name + " " + string.Join(' ', p.Tokens.Select(t => ShellQuote(t.Value)));

    /// <summary><paramref name="arg"/> as a POSIX shell word: unchanged when it holds only safe characters, else in single
    /// quotes (a single quote inside becomes <c>'\''</c>).</summary>
    public static string ShellQuote(string arg) =>
        arg.Length > 0 && arg.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_./:=,@%+".Contains(ch))
            ? arg
            : "'" + arg.Replace("'", "'\\''") + "'";

    /// <summary>A training run whose loss became non-finite (without <c>--allow-divergence</c>).</summary>
    private sealed class TrainingDivergedException(string message) : Exception(message);

    private static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
