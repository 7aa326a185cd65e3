using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Catalog;

namespace LossKit.Cli;

/// <summary><c>losskit eval --loss SPEC --input FILE|-</c>: loss, per-row losses and gradient of a JSON batch, computed in double.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var loss = new Option<string>("--loss") { Description = "Loss spec, e.g. ce(smoothing=0.1).", Required = true };
        var input = new Option<string>("--input") { Description = "JSON file {\"logits\": [[...]], \"targets\": [...]} or with \"soft_targets\"; - reads standard input.", Required = true };
        var cmd = new Command("eval", "Evaluate a loss on a JSON batch; prints {\"loss\", \"per_row\", \"gradient\"}.") { loss, input };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(input)!;
            string text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            p.InvocationConfiguration.Output.WriteLine(Evaluate(p.GetValue(loss)!, text));
            return 0;
        });
        return cmd;
    }

    public static string Evaluate(string spec, string json)
    {
        var l = LossRegistry.CreateClassification(spec);
        JsonNode root = JsonNode.Parse(json) ?? throw new FormatException("input is empty: expected a JSON object with \"logits\".");
        double[][] logits = Matrix(root, "logits") ?? throw new FormatException("input has no \"logits\": expected {\"logits\": [[...], ...], \"targets\": [...]}.");
        int rows = logits.Length, classes = rows > 0 ? logits[0].Length : 0;
        for (int r = 0; r < rows; r++)
            if (logits[r].Length != classes) throw new FormatException($"logits row {r} has {logits[r].Length} values but row 0 has {classes}: rows must have equal length.");
        double[] z = logits.SelectMany(r => r).ToArray();
        var perRow = new double[rows];
        var grad = new double[z.Length];
        double value;
        if (root["targets"] is JsonArray t)
        {
            int[] targets = t.Select((v, i) => v is JsonValue jv && jv.TryGetValue(out int n) ? n
                : throw new FormatException($"targets[{i}] = {v?.ToJsonString() ?? "null"} is not an integer class index.")).ToArray();
            value = l.Compute<double>(z, classes, targets, perRow, grad);
        }
        else if (Matrix(root, "soft_targets") is { } soft)
        {
            if (l is not ISoftTargetLoss s) throw new ArgumentException($"{l.Spec} does not take soft targets; give \"targets\" (class indices).", "soft_targets");
            if (soft.Length != rows) throw new ArgumentException($"soft_targets has {soft.Length} rows but logits has {rows}.", "soft_targets");
            value = s.ComputeSoft<double>(z, classes, soft.SelectMany(r => r).ToArray(), perRow, grad);
        }
        else throw new FormatException("input has neither \"targets\" nor \"soft_targets\".");
        var options = new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        var result = new { loss = value, per_row = perRow, gradient = Enumerable.Range(0, rows).Select(r => grad.AsSpan(r * classes, classes).ToArray()).ToArray() };
        return JsonSerializer.Serialize(result, options);
    }

    private static double[][]? Matrix(JsonNode root, string name)
    {
        if (root[name] is not { } node) return null;
        if (node is not JsonArray rows) throw new FormatException($"\"{name}\" must be an array of rows.");
        return rows.Select((row, r) => row is JsonArray a
            ? a.Select((v, k) => v is JsonValue jv && jv.TryGetValue(out double d) ? d
                : throw new FormatException($"{name}[{r}][{k}] = {v?.ToJsonString() ?? "null"} is not a number.")).ToArray()
            : throw new FormatException($"{name}[{r}] is not an array: \"{name}\" must be [[...], ...].")).ToArray();
    }
}
