using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LossKit.Core;
using LossKit.Scaling;
using Spectre.Console;

namespace LossKit.Cli;

/// <summary>
/// <c>losskit fit</c>: fits a scaling law or loss-curve law (<see cref="LawRegistry"/>) to a CSV or the embedded
/// <c>chinchilla</c> runs, the way the papers fit (Huber δ = 1e-3 on log-loss, L-BFGS from a grid), with bootstrap
/// intervals, predictions, the compute-optimal frontier, an extrapolation check and plots (docs/scaling.md).
/// </summary>
internal static class FitCommand
{
    /// <summary>Columns tried for a law's variable when --x is not given (the embedded chinchilla set's names first).</summary>
    private static readonly Dictionary<string, string[]> DefaultColumns = new(StringComparer.Ordinal)
    {
        ["N"] = ["params", "N", "n", "parameters", "model_size"],
        ["D"] = ["tokens", "D", "d", "data", "rows"],
        ["C"] = ["flops", "C", "compute"],
        ["step"] = ["step", "steps"],
        ["lr"] = ["lr", "learning_rate"],
        ["x"] = ["x"],
        ["L_x"] = ["loss_x", "L_x"],
    };

    public static Command Create()
    {
        var law = new Option<string>("--law") { Description = "Law spec: " + string.Join(", ", LawRegistry.All.Select(d => d.Card.Name)) + " (e.g. power(x=C)); default chinchilla.", DefaultValueFactory = _ => "chinchilla" };
        var data = new Option<string>("--data") { Description = "A CSV file with a header line, or an embedded set: " + string.Join(", ", ScalingTable.EmbeddedNames) + " (default).", DefaultValueFactory = _ => "chinchilla" };
        var x = new Option<string?>("--x") { Description = "Columns of the law's variables, comma-separated in the law's order (chinchilla: N,D, e.g. params,tokens; curve laws: step,lr). Default: the usual names (params, tokens, flops, step, lr)." };
        var y = new Option<string>("--y") { Description = "Column of the observed loss (default: loss).", DefaultValueFactory = _ => "loss" };
        var objective = new Option<string>("--objective") { Description = "huber (default: Huber on log-loss residuals, as Hoffmann et al.) or lsq (least squares on the loss).", DefaultValueFactory = _ => "huber" };
        var delta = new Option<double>("--delta") { Description = "Huber's δ on log-loss residuals (default 1e-3).", DefaultValueFactory = _ => 1e-3 };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples of the points for 95% intervals (0: none).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the bootstrap (default 0).", DefaultValueFactory = _ => 0 };
        var drop = new Option<int>("--drop-highest-loss") { Description = "Leave out the K points with the highest loss before fitting (the replication drops 5).", DefaultValueFactory = _ => 0 };
        var predict = new Option<string[]>("--predict") { Description = "Predict the loss at a point, e.g. N=7e10,D=1.4e12 (repeatable); with --bootstrap, a 95% interval.", AllowMultipleArgumentsPerToken = true };
        var frontier = new Option<string?>("--frontier") { Description = "Compute budgets C (comma-separated, e.g. 5.76e23) for the compute-optimal N_opt, D_opt, D/N; laws in N and D." };
        var k = new Option<double>("--flops-per-param-token") { Description = "k of C = k·N·D (default 6).", DefaultValueFactory = _ => 6 };
        var holdout = new Option<string?>("--holdout-above") { Description = "Extrapolation check: fit on the rows with COLUMN ≤ VALUE (e.g. flops=1e21, params=1e9, step=5000), predict the rest." };
        var plots = new Option<string?>("--plots") { Description = "Folder for PNG and SVG plots: the law over the points, iso-loss contours with the frontier, residuals, predicted vs observed." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: law, n_points, params, ci, objective, warnings (and predictions, frontier, extrapolation when asked)." };
        var where = new Option<string[]>("--where") { Description = "Keep the rows with COLUMN=VALUE (repeatable), e.g. config.loss=ce in a workbench results.jsonl.", AllowMultipleArgumentsPerToken = true };
        var given = new Option<string?>("--params") { Description = "Evaluate these parameters instead of fitting (e.g. E=1.69,A=406.4,B=410.7,alpha=0.34,beta=0.28): the objective on the data, predictions, frontier, plots." };
        var laws = new Option<bool>("--list-laws") { Description = "Print every law's card (formula, parameters with ranges, reference, what was verified) and exit." };
        var cmd = new Command("fit", "Fit a scaling law or loss-curve law the way the papers fit it: Huber on log-loss, L-BFGS from a grid, bootstrap intervals, " +
            "predictions, the compute-optimal frontier, an extrapolation check, plots.")
            { law, data, x, y, where, objective, delta, bootstrap, seed, drop, predict, frontier, k, holdout, plots, json, given, laws };
        cmd.SetAction(p =>
        {
            var output = p.InvocationConfiguration.Output;
            if (p.GetValue(laws)) { ListLaws(output); return 0; }
            ScalingLaw scalingLaw = LawRegistry.Create(p.GetValue(law)!);
            ScalingTable table = WorkbenchColumns(ScalingTable.Load(p.GetValue(data)!));
            foreach (string w in p.GetValue(where) ?? [])
            {
                var kv = w.Split('=', 2, StringSplitOptions.TrimEntries);
                if (kv.Length != 2 || kv[0].Length == 0) throw new ArgumentException($"--where '{w}': write COLUMN=VALUE, e.g. config.loss=ce.");
                table = table.Where(kv[0], kv[1]);
            }
            string[] xColumns = p.GetValue(x) is { } xs ? [.. xs.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)] : DefaultX(scalingLaw, table);
            LawData lawData = LawData.From(table, scalingLaw, xColumns, p.GetValue(y)!);
            var options = new FitOptions
            {
                Objective = p.GetValue(objective) switch
                {
                    "huber" => FitObjective.Huber,
                    "lsq" => FitObjective.LeastSquares,
                    var o => throw new ArgumentException($"--objective {o}: expected huber or lsq."),
                },
                Delta = p.GetValue(delta), Bootstrap = p.GetValue(bootstrap), Seed = p.GetValue(seed), DropHighestLoss = p.GetValue(drop),
            };
            var points = (p.GetValue(predict) ?? []).Select(s => ParsePoint(s, scalingLaw)).ToArray();
            double[] budgets = p.GetValue(frontier) is { } f ? ParseNumbers(f, "--frontier") : [];
            if (budgets.Length > 0 && !ComputeOptimal.Applies(scalingLaw)) throw new ArgumentException($"--frontier: {scalingLaw.Spec} is not a law in N and D; it has no compute-optimal frontier.");

            ExtrapolationCheck? check = null;
            FitResult fit;
            if (p.GetValue(given) is { } g)
            {
                if (p.GetValue(holdout) is not null) throw new ArgumentException("--params and --holdout-above: an extrapolation check fits on the points below the threshold; given parameters are not fitted.");
                fit = Fitter.Evaluate(scalingLaw, lawData, ParseParameters(g, scalingLaw), options);
            }
            else if (p.GetValue(holdout) is { } h)
            {
                var (column, threshold) = ParseThreshold(h);
                check = Extrapolation.Check(scalingLaw, lawData, table.Column(column), column, threshold, options);
                fit = check.Fit;
            }
            else fit = Fitter.Fit(scalingLaw, lawData, options);

            var predictions = points.Select(pt => (pt, fit.Predict(pt))).ToArray();
            Frontier? front = budgets.Length > 0 ? ComputeOptimal.Of(fit, budgets, p.GetValue(k)) : null;
            IReadOnlyList<string> written = p.GetValue(plots) is { } dir ? FitPlots.Write(dir, fit, check, p.GetValue(k)) : [];

            if (p.GetValue(json)) output.WriteLine(Json(fit, table, predictions, front, check));
            else Tables(output, fit, table, predictions, front, check, written);
            return 0;
        });
        return cmd;
    }

    /// <summary>A workbench results.jsonl gets the columns a scaling fit needs: <c>params</c> (the model's parameter
    /// count, from config.model and the data set's features and classes) and <c>test.error</c> (1 − test.accuracy).</summary>
    private static ScalingTable WorkbenchColumns(ScalingTable table)
    {
        if (!table.TextColumns.Contains("config.model") || !table.Columns.Contains("dataset.features") || !table.Columns.Contains("dataset.classes")) return table;
        string[] model = table.TextColumn("config.model");
        double[] features = table.Column("dataset.features"), classes = table.Column("dataset.classes");
        double[] count = [.. Enumerable.Range(0, table.Rows).Select(r =>
        {
            int[] sizes = Workbench.Models.ModelSpec.Parse(model[r]).LayerSizes((int)features[r], (int)classes[r]);
            return (double)Enumerable.Range(0, sizes.Length - 1).Sum(i => (long)(sizes[i] + 1) * sizes[i + 1]);
        })];
        table = table.With("params", count);
        if (table.Columns.Contains("test.accuracy")) table = table.With("test.error", [.. table.Column("test.accuracy").Select(a => 1 - a)]);
        return table;
    }

    private static string[] DefaultX(ScalingLaw law, ScalingTable table) =>
        [.. law.Variables.Select(v => DefaultColumns.GetValueOrDefault(v, [v]).FirstOrDefault(c => table.Columns.Contains(c))
            ?? throw new ArgumentException($"{law.Spec} needs a column for {v}: {table.Name} has none of the usual names ({string.Join(", ", DefaultColumns.GetValueOrDefault(v, [v]))}); give --x (its columns: {string.Join(", ", table.Columns)})."))];

    private static double[] ParsePoint(string text, ScalingLaw law) => ParseNamed(text, "--predict", law, law.Variables, "variable");

    private static double[] ParseParameters(string text, ScalingLaw law) =>
        ParseNamed(text, "--params", law, [.. law.Card.Parameters.Select(prm => prm.Name)], "parameter");

    /// <summary>NAME=VALUE,NAME=VALUE,... into values in the order of <paramref name="names"/>; each name once, none missing.</summary>
    private static double[] ParseNamed(string text, string option, ScalingLaw law, IReadOnlyList<string> names, string noun)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new ArgumentException($"{option} '{text}': write {string.Join(",", names.Select(n => n + "=VALUE"))}.");
            if (!names.Contains(kv[0]))
                throw new ArgumentException($"{option}: {law.Spec} has no {noun} '{kv[0]}' (its {noun}s: {string.Join(", ", names)}).");
            values[kv[0]] = v;
        }
        return [.. names.Select(n => values.TryGetValue(n, out double v) ? v : throw new ArgumentException($"{option} '{text}': no value for {n}."))];
    }

    private static double[] ParseNumbers(string text, string option) =>
        [.. text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new ArgumentException($"{option}: '{s}' is not a number."))];

    private static (string Column, double Threshold) ParseThreshold(string text)
    {
        var kv = text.Split('=', 2, StringSplitOptions.TrimEntries);
        if (kv.Length != 2 || kv[0].Length == 0 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            throw new ArgumentException($"--holdout-above '{text}': write COLUMN=VALUE, e.g. flops=1e21.");
        return (kv[0], v);
    }

    private static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static void ListLaws(TextWriter output)
    {
        foreach (var d in LawRegistry.All)
        {
            LawCard c = d.Card;
            output.WriteLine($"{c.Name} — {c.Title}");
            output.WriteLine($"  law:        {c.Formula}");
            output.WriteLine($"  variables:  {string.Join(", ", c.Variables)}{(c.IsCurveLaw ? " (a learning curve: rows of step, lr, loss)" : "")}");
            output.WriteLine($"  parameters: {string.Join("; ", c.Parameters.Select(x => $"{x.Name} ({x.Description}; {x.RangeText})"))}");
            if (c.Options.Count > 0) output.WriteLine($"  options:    {string.Join("; ", c.Options.Select(x => $"{x.Name}={x.DefaultText} ({x.Description}; {x.RangeText})"))}");
            output.WriteLine($"  fitting:    {c.Fitting}");
            output.WriteLine($"  reference:  {c.Reference}");
            output.WriteLine($"  verified:   {c.Verified}");
            output.WriteLine();
        }
    }

    private static void Tables(TextWriter output, FitResult fit, ScalingTable table, (double[] At, (double Value, Interval? Interval) P)[] predictions,
        Frontier? front, ExtrapolationCheck? check, IReadOnlyList<string> plots)
    {
        var con = CatalogCommands.Console(output);
        var o = fit.Options;
        output.WriteLine($"{fit.Law.Spec} on {table.Name} ({string.Join(", ", fit.Data.Names)} → {fit.Data.YName}): {fit.Used.Count} points {(fit.Starts == 0 ? "evaluated" : "fitted")}" +
            (check is null ? "" : $" (the {check.Fit.Used.Count + check.Fit.Dropped.Count} with {check.Column} ≤ {G(check.Threshold)})"));
        output.WriteLine($"objective: {(o.Objective == FitObjective.Huber ? $"Huber (δ = {G(o.Delta)}) on log-loss residuals" : "least squares on the loss")} = {fit.Objective:G6}; " +
            (fit.Starts == 0 ? "parameters given, not fitted" : $"L-BFGS from {fit.Starts} starts") + (o.Bootstrap > 0 ? $"; bootstrap {o.Bootstrap} resamples (seed {o.Seed})" : ""));
        var t = new Table().AddColumns("parameter", "value", "95% interval", "valid");
        foreach (var prm in fit.Law.Card.Parameters)
            AddRow(t, prm.Name, G(fit.Parameters[prm.Name]),
                fit.Intervals.TryGetValue(prm.Name, out var ci) ? $"[{G(ci.Low)}, {G(ci.High)}]" : fit.Starts == 0 ? "" : "(--bootstrap N)", prm.RangeText);
        con.Write(t);
        foreach (string w in fit.Warnings) output.WriteLine("warning: " + w);
        if (predictions.Length > 0)
        {
            var pt = new Table().AddColumns([.. fit.Law.Variables, "predicted loss", "95% interval"]);
            foreach (var (at, pr) in predictions)
                AddRow(pt, [.. at.Select(G), G(pr.Value), pr.Interval is { } iv ? $"[{G(iv.Low)}, {G(iv.High)}]" : "(--bootstrap N)"]);
            con.Write(pt);
        }
        if (front is not null)
        {
            output.WriteLine($"compute-optimal frontier under C = {G(front.FlopsPerParameterToken)}·N·D: N_opt ∝ C^{front.ExponentN:F3}{IntervalText(front.ExponentNInterval, "F3")}, " +
                $"D_opt ∝ C^{front.ExponentD:F3}{IntervalText(front.ExponentDInterval, "F3")}");
            for (int i = 0; i < front.Points.Count; i++)
            {
                var q = front.Points[i];
                var iv = front.PointIntervals?[i];
                output.WriteLine($"  C = {G(q.Compute)}: N_opt = {G(q.N)}{IntervalText(iv?.N, "G3")}, D_opt = {G(q.D)}{IntervalText(iv?.D, "G3")}, " +
                    $"D/N = {G(q.TokensPerParameter)}{IntervalText(iv?.TokensPerParameter, "G3")}, loss {G(q.Loss)}");
            }
        }
        if (check is not null)
        {
            output.WriteLine($"extrapolation: fitted on {check.Column} ≤ {G(check.Threshold)}, {check.HeldOut.Count} points held out; mean absolute relative error {check.MeanAbsoluteRelativeError:P2}");
            var et = new Table().AddColumns("row", check.Column, "observed", "predicted", "abs. rel. error");
            foreach (var hp in check.HeldOut) AddRow(et, (hp.Row + 1).ToString(CultureInfo.InvariantCulture), G(hp.Split), G(hp.Observed), G(hp.Predicted), hp.AbsoluteRelativeError.ToString("P2", CultureInfo.InvariantCulture));
            con.Write(et);
        }
        foreach (string file in plots) output.WriteLine("wrote " + file);
    }

    private static void AddRow(Table table, params string[] cells) => table.AddRow([.. cells.Select(Markup.Escape)]);

    private static string IntervalText(Interval? iv, string format) =>
        iv is { } v ? $" [{v.Low.ToString(format, CultureInfo.InvariantCulture)}, {v.High.ToString(format, CultureInfo.InvariantCulture)}]" : "";

    internal static string Json(FitResult fit, ScalingTable table, (double[] At, (double Value, Interval? Interval) P)[] predictions, Frontier? front, ExtrapolationCheck? check)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("law", fit.Law.Spec);
            w.WriteNumber("n_points", fit.Used.Count);
            w.WriteStartObject("params");
            foreach (var prm in fit.Law.Card.Parameters) Number(w, prm.Name, fit.Parameters[prm.Name]);
            w.WriteEndObject();
            w.WriteStartObject("ci");
            foreach (var (name, iv) in fit.Intervals) Pair(w, name, iv);
            w.WriteEndObject();
            Number(w, "objective", fit.Objective);
            w.WriteStartArray("warnings");
            foreach (string s in fit.Warnings) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteString("objective_kind", fit.Options.Objective == FitObjective.Huber ? "huber" : "lsq");
            if (fit.Options.Objective == FitObjective.Huber) Number(w, "delta", fit.Options.Delta);
            w.WriteString("data", table.Name);
            w.WriteStartArray("x");
            foreach (string n in fit.Data.Names) w.WriteStringValue(n);
            w.WriteEndArray();
            w.WriteString("y", fit.Data.YName);
            w.WriteNumber("starts", fit.Starts);
            w.WriteNumber("bootstrap", fit.Options.Bootstrap);
            w.WriteNumber("seed", fit.Options.Seed);
            w.WriteStartArray("dropped_rows");
            foreach (int r in fit.Dropped) w.WriteNumberValue(r + 1);
            w.WriteEndArray();
            if (predictions.Length > 0)
            {
                w.WriteStartArray("predictions");
                foreach (var (at, pr) in predictions)
                {
                    w.WriteStartObject();
                    for (int i = 0; i < at.Length; i++) Number(w, fit.Law.Variables[i], at[i]);
                    Number(w, "loss", pr.Value);
                    if (pr.Interval is { } iv) Pair(w, "ci", iv);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (front is not null)
            {
                w.WriteStartObject("frontier");
                Number(w, "flops_per_param_token", front.FlopsPerParameterToken);
                Number(w, "exponent_n", front.ExponentN);
                Number(w, "exponent_d", front.ExponentD);
                if (front.ExponentNInterval is { } en) Pair(w, "exponent_n_ci", en);
                if (front.ExponentDInterval is { } ed) Pair(w, "exponent_d_ci", ed);
                w.WriteStartArray("points");
                for (int i = 0; i < front.Points.Count; i++)
                {
                    var q = front.Points[i];
                    w.WriteStartObject();
                    Number(w, "C", q.Compute); Number(w, "N_opt", q.N); Number(w, "D_opt", q.D); Number(w, "tokens_per_param", q.TokensPerParameter); Number(w, "loss", q.Loss);
                    if (front.PointIntervals?[i] is { } piv) { Pair(w, "N_opt_ci", piv.N); Pair(w, "D_opt_ci", piv.D); Pair(w, "tokens_per_param_ci", piv.TokensPerParameter); }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            if (check is not null)
            {
                w.WriteStartObject("extrapolation");
                w.WriteString("column", check.Column);
                Number(w, "threshold", check.Threshold);
                Number(w, "mean_abs_rel_error", check.MeanAbsoluteRelativeError);
                w.WriteStartArray("held_out");
                foreach (var hp in check.HeldOut)
                {
                    w.WriteStartObject();
                    w.WriteNumber("row", hp.Row + 1);
                    Number(w, check.Column, hp.Split); Number(w, "observed", hp.Observed); Number(w, "predicted", hp.Predicted); Number(w, "abs_rel_error", hp.AbsoluteRelativeError);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static void Pair(Utf8JsonWriter w, string name, Interval iv)
    {
        w.WriteStartArray(name);
        w.WriteNumberValue(iv.Low);
        w.WriteNumberValue(iv.High);
        w.WriteEndArray();
    }
}
