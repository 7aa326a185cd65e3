using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.Json;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Distillation;
using LossKit.LargeVocabulary;
using LossKit.Softmax;

namespace LossKit.Cli;

/// <summary><c>losskit eval --loss SPEC --input FILE|-</c>: loss, per-row losses and gradient of a JSON batch, computed in double.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var loss = new Option<string>("--loss") { Description = "Loss spec, e.g. ce(smoothing=0.1).", Required = true };
        var input = new Option<string>("--input") { Description = "JSON file {\"logits\": [[...]], \"targets\": [...]} or with \"soft_targets\" (linear_ce: {\"hidden\", \"weight\", \"bias\", \"targets\"}); - reads standard input.", Required = true };
        var cmd = new Command("eval", "Evaluate a loss on a JSON batch; prints {\"loss\", \"per_row\", \"gradient\"}.") { loss, input };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(input)!;
            LossRegistry.Create(p.GetValue(loss)!);      // a bad spec is reported before the input is read
            string text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            p.InvocationConfiguration.Output.WriteLine(Evaluate(p.GetValue(loss)!, text));
            return 0;
        });
        return cmd;
    }

    /// <summary>Evaluates <paramref name="spec"/> on the JSON batch. The input fields a loss reads depend on its kind:
    /// multi-class losses take "targets" (class indices) or "soft_targets"; binary and multi-label losses take
    /// "targets" as numbers in [0, 1] shaped like "logits" (a flat "logits" list means one logit per row);
    /// distillation takes "teacher_logits" (and "targets"); multi-positive losses take "positives": [[column, ...], ...].</summary>
    public static string Evaluate(string spec, string json)
    {
        ILoss loss = LossRegistry.Create(spec);
        if (loss is LinearCrossEntropyLoss linear) return EvaluateLinear(linear, json);
        JsonNode root = JsonNode.Parse(json) ?? throw new FormatException("input is empty: expected a JSON object with \"logits\".");
        if (root["logits"] is not JsonArray logitsNode) throw new FormatException("input has no \"logits\" array: expected {\"logits\": [[...], ...], \"targets\": [...]}.");
        bool flat = logitsNode.Count > 0 && logitsNode[0] is not JsonArray;
        double[][] logits = flat ? logitsNode.Select((v, i) => new[] { Number(v, $"logits[{i}]") }).ToArray() : Matrix(root, "logits")!;
        int rows = logits.Length, classes = rows > 0 ? logits[0].Length : 0;
        for (int r = 0; r < rows; r++)
            if (logits[r].Length != classes) throw new FormatException($"logits row {r} has {logits[r].Length} values but row 0 has {classes}: rows must have equal length.");
        double[] z = logits.SelectMany(r => r).ToArray();
        var grad = new double[z.Length];
        double value;
        double[] perRow;
        switch (loss)
        {
            case IBinaryLoss b:
            {
                double[] t = (flat ? root["targets"] is JsonArray ta ? ta.Select((v, i) => Number(v, $"targets[{i}]")).ToArray() : null
                                   : Matrix(root, "targets")?.SelectMany(r => r).ToArray())
                             ?? throw new FormatException("input has no \"targets\": binary losses need targets in [0, 1] shaped like the logits.");
                if (t.Length != z.Length) throw new ArgumentException($"targets has {t.Length} values but logits has {z.Length}; they must have the same shape.", "targets");
                perRow = new double[z.Length];
                value = b.Compute<double>(z, t, perRow, grad);
                return Output(value, flat ? perRow : Rows(perRow, rows, classes), grad, rows, classes, flat);
            }
            case IDistillationLoss d:
            {
                double[][] teacher = Matrix(root, "teacher_logits") ?? throw new FormatException("input has no \"teacher_logits\": distillation needs the teacher's logits.");
                if (teacher.Length != rows) throw new ArgumentException($"teacher_logits has {teacher.Length} rows but logits has {rows}.", "teacher_logits");
                perRow = new double[rows];
                value = d.Compute<double>(z, classes, teacher.SelectMany(r => r).ToArray(), Targets(root) ?? new int[rows], perRow, grad);
                break;
            }
            case IMultiPositiveLoss m:
            {
                if (root["positives"] is not JsonArray pos) throw new FormatException("input has no \"positives\": give [[column, ...], ...], one list per row.");
                if (pos.Count != rows) throw new ArgumentException($"positives has {pos.Count} rows but logits has {rows}.", "positives");
                var offsets = new List<int> { 0 };
                var columns = new List<int>();
                for (int r = 0; r < rows; r++)
                {
                    if (pos[r] is not JsonArray pr) throw new FormatException($"positives[{r}] is not an array of column indices.");
                    columns.AddRange(pr.Select((v, k) => Integer(v, $"positives[{r}][{k}]")));
                    offsets.Add(columns.Count);
                }
                perRow = new double[rows];
                value = m.Compute<double>(z, classes, offsets.ToArray(), columns.ToArray(), perRow, grad);
                break;
            }
            case IClassificationLoss l:
            {
                perRow = new double[rows];
                if (Targets(root) is { } targets) value = l.Compute<double>(z, classes, targets, perRow, grad);
                else if (Matrix(root, "soft_targets") is { } soft)
                {
                    if (l is not ISoftTargetLoss s) throw new ArgumentException($"{l.Spec} does not take soft targets; give \"targets\" (class indices).", "soft_targets");
                    if (soft.Length != rows) throw new ArgumentException($"soft_targets has {soft.Length} rows but logits has {rows}.", "soft_targets");
                    value = s.ComputeSoft<double>(z, classes, soft.SelectMany(r => r).ToArray(), perRow, grad);
                }
                else throw new FormatException("input has neither \"targets\" nor \"soft_targets\".");
                break;
            }
            default: throw new ArgumentException($"{loss.Spec} cannot be evaluated from logits and targets.", nameof(spec));
        }
        return Output(value, perRow, grad, rows, classes, flat);
    }

    /// <summary>linear_ce: {"hidden": [[...]] (N×d), "weight": [[...]] (V×d), "bias": [...] (optional), "targets": [...]}
    /// gives {"loss", "per_row", "grad_hidden", "grad_weight", "grad_bias"}, computed in double (grad_bias is the
    /// gradient a bias would get, also when none is given).</summary>
    private static string EvaluateLinear(LinearCrossEntropyLoss loss, string json)
    {
        const string shape = "expected {\"hidden\": [[...], ...], \"weight\": [[...], ...], \"bias\": [...] (optional), \"targets\": [...]}";
        JsonNode root = JsonNode.Parse(json) ?? throw new FormatException($"input is empty: {shape}.");
        double[][] hidden = Matrix(root, "hidden") ?? throw new FormatException($"input has no \"hidden\" array: {shape}.");
        double[][] weight = Matrix(root, "weight") ?? throw new FormatException($"input has no \"weight\" array: {shape}.");
        int[] targets = Targets(root) ?? throw new FormatException($"input has no \"targets\" array: {shape}.");
        double[] bias = root["bias"] is JsonArray b ? b.Select((v, i) => Number(v, $"bias[{i}]")).ToArray()
            : root["bias"] is null ? [] : throw new FormatException($"\"bias\" must be an array of numbers (one per row of weight).");
        int rows = hidden.Length, vocab = weight.Length;
        if (rows == 0) throw new FormatException("\"hidden\" is empty: a batch needs at least one row.");
        if (vocab == 0) throw new FormatException("\"weight\" is empty: give one row per class.");
        int dim = hidden[0].Length;
        for (int r = 0; r < rows; r++)
            if (hidden[r].Length != dim) throw new FormatException($"hidden row {r} has {hidden[r].Length} values but row 0 has {dim}: rows must have equal length.");
        for (int k = 0; k < vocab; k++)
            if (weight[k].Length != dim) throw new FormatException($"weight row {k} has {weight[k].Length} values but hidden rows have {dim} (dim): each row of weight must have dim values.");
        int predictions = loss.Shift ? rows - 1 : rows;
        var perRow = new double[Math.Max(predictions, 0)];
        var gradHidden = new double[rows * dim];
        var gradWeight = new double[vocab * dim];
        var gradBias = new double[vocab];
        double value = loss.Compute(hidden.SelectMany(r => r).ToArray(), weight.SelectMany(r => r).ToArray(), bias, rows, dim, vocab, targets,
            perRow, gradHidden, gradWeight, gradBias);
        var options = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        return JsonSerializer.Serialize(new
        {
            loss = value, per_row = perRow, grad_hidden = Rows(gradHidden, rows, dim), grad_weight = Rows(gradWeight, vocab, dim), grad_bias = gradBias,
        }, options);
    }

    private static string Output(double value, object perRow, double[] grad, int rows, int classes, bool flat)
    {
        var options = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        object gradient = flat ? grad : Rows(grad, rows, classes);
        return JsonSerializer.Serialize(new { loss = value, per_row = perRow, gradient }, options);
    }

    private static double[][] Rows(double[] flat, int rows, int classes) =>
        Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * classes, classes).ToArray()).ToArray();

    private static int[]? Targets(JsonNode root) =>
        root["targets"] is JsonArray t ? t.Select((v, i) => Integer(v, $"targets[{i}]")).ToArray() : null;

    private static int Integer(JsonNode? v, string where) =>
        v is JsonValue jv && jv.TryGetValue(out int n) ? n : throw new FormatException($"{where} = {v?.ToJsonString() ?? "null"} is not an integer.");

    /// <summary>A JSON number, or one of the strings "inf", "-inf", "Infinity", "-Infinity", "NaN" (JSON has no infinities).</summary>
    private static double Number(JsonNode? v, string where)
    {
        if (v is JsonValue jv)
        {
            if (jv.TryGetValue(out double d)) return d;
            if (jv.TryGetValue(out string? s))
            {
                switch (s.Trim().ToLowerInvariant())
                {
                    case "inf" or "+inf" or "infinity" or "+infinity": return double.PositiveInfinity;
                    case "-inf" or "-infinity": return double.NegativeInfinity;
                    case "nan": return double.NaN;
                }
            }
        }
        throw new FormatException($"{where} = {v?.ToJsonString() ?? "null"} is not a number (use \"-inf\" for a masked class).");
    }

    private static double[][]? Matrix(JsonNode root, string name)
    {
        if (root[name] is not { } node) return null;
        if (node is not JsonArray rows) throw new FormatException($"\"{name}\" must be an array of rows.");
        return rows.Select((row, r) => row is JsonArray a
            ? a.Select((v, k) => Number(v, $"{name}[{r}][{k}]")).ToArray()
            : throw new FormatException($"{name}[{r}] is not an array: \"{name}\" must be [[...], ...].")).ToArray();
    }
}
