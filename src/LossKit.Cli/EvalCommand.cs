using System.CommandLine;
using System.Text;
using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Workbench.Data;

namespace LossKit.Cli;

/// <summary>
/// <c>losskit eval --loss SPEC --input FILE|- [--double]</c>: a JSON object of the loss's named inputs in, the loss's
/// outputs out (<c>loss</c>, <c>unreduced</c>, <c>grad_&lt;name&gt;</c> and the kind's older aliases), for any kind of
/// loss: the command knows only <see cref="ILoss.Kind"/> (spec/io.md).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var loss = new Option<string>("--loss") { Description = "Loss spec, e.g. ce(smoothing=0.1).", Required = true };
        var input = new Option<string>("--input")
        {
            Description = "JSON object of the loss's inputs by name, each a nested array of numbers (\"inf\", \"-inf\", \"nan\" allowed), " +
                          "e.g. {\"logits\": [[...]], \"targets\": [...]} (each kind's inputs: docs/library.md); - reads standard input.",
            Required = true,
        };
        var useDouble = new Option<bool>("--double") { Description = "Compute in double (default: float, the library's fast path)." };
        var cmd = new Command("eval", "Evaluate a loss on a JSON batch of named inputs; prints {\"loss\", \"unreduced\", \"grad_<input>\", ...} " +
                                      "(and per_row/gradient where the kind keeps those names).") { loss, input, useDouble };
        cmd.SetAction(p =>
        {
            string path = p.GetValue(input)!;
            LossRegistry.Create(p.GetValue(loss)!);      // a bad spec is reported before the input is read
            if (path != "-" && !File.Exists(path)) throw new FileNotFoundException($"--input {path}: no such file.", path);
            string text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            p.InvocationConfiguration.Output.WriteLine(Evaluate(p.GetValue(loss)!, text, p.GetValue(useDouble), path == "-" ? "standard input" : path));
            return 0;
        });
        return cmd;
    }

    /// <summary>Evaluates <paramref name="spec"/> on the JSON object <paramref name="json"/> (the loss's inputs by
    /// name) in float, or in double with <paramref name="useDouble"/>; returns the outputs as one JSON object.</summary>
    public static string Evaluate(string spec, string json, bool useDouble = false, string source = "the input")
    {
        ILoss loss = LossRegistry.Create(spec);
        LossInputs inputs = ReadInputs(json, loss.Kind, source);
        LossOutputs outputs = useDouble ? loss.Kind.Evaluate<double>(loss, inputs) : loss.Kind.Evaluate<float>(loss, inputs);
        return Write(outputs, loss.Kind, useDouble);
    }

    /// <summary>The JSON object's keys as named tensors: nested arrays give values and shape (rows must have equal
    /// lengths), a number gives a scalar. A syntax error names <paramref name="source"/> and the 1-based line:column.</summary>
    public static LossInputs ReadInputs(string json, LossKind kind, string source = "the input")
    {
        JsonDocument parsed;
        try { parsed = JsonDocument.Parse(json); }
        catch (JsonException e) { throw JsonErrors.At(source, e); }
        using var doc = parsed;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new FormatException($"the input is a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}: expected an object of named inputs; {kind.Name} losses take {kind.InputsText}.");
        var inputs = new LossInputs();
        foreach (JsonProperty property in doc.RootElement.EnumerateObject())
        {
            if (inputs.ContainsKey(property.Name)) throw new FormatException($"the input gives \"{property.Name}\" twice.");
            var shape = new List<int>();
            for (JsonElement e = property.Value; e.ValueKind == JsonValueKind.Array; e = e.GetArrayLength() > 0 ? e[0] : default)
                shape.Add(e.GetArrayLength());
            var values = new List<double>();
            Flatten(property.Value, property.Name, shape, 0, values);
            inputs[property.Name] = new LossTensor([.. values], [.. shape]);
        }
        return inputs;
    }

    /// <summary>Appends the numbers of <paramref name="e"/> (at <paramref name="where"/>, depth <paramref name="depth"/>
    /// of <paramref name="shape"/>) in row-major order; a ragged array or a value that is not a number is an error
    /// naming its place.</summary>
    private static void Flatten(JsonElement e, string where, List<int> shape, int depth, List<double> values)
    {
        if (depth == shape.Count)
        {
            values.Add(Number(e, where));
            return;
        }
        if (e.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{where} = {e.GetRawText()} is not an array, but other entries at this depth are: rows must have equal lengths.");
        if (e.GetArrayLength() != shape[depth])
            throw new FormatException($"{where} has {Values(e.GetArrayLength())} but the first array at its depth has {shape[depth]}: rows must have equal lengths.");
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray()) Flatten(item, $"{where}[{i++}]", shape, depth + 1, values);
    }

    private static string Values(int n) => n == 1 ? "1 value" : $"{n} values";

    /// <summary>A JSON number, or one of the strings "inf", "-inf", "nan" (also "Infinity", "-Infinity", "NaN";
    /// JSON has no infinities).</summary>
    private static double Number(JsonElement v, string where)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d)) return d;
        if (v.ValueKind == JsonValueKind.String)
        {
            switch (v.GetString()!.Trim().ToLowerInvariant())
            {
                case "inf" or "+inf" or "infinity" or "+infinity": return double.PositiveInfinity;
                case "-inf" or "-infinity": return double.NegativeInfinity;
                case "nan": return double.NaN;
            }
        }
        throw new FormatException($"{where} = {v.GetRawText()} is not a number (use \"-inf\" for a masked class).");
    }

    /// <summary><c>loss</c>, <c>unreduced</c>, <c>grad_&lt;name&gt;</c> in the order of the kind's inputs, then the
    /// kind's aliases; numbers as the precision computed them (shortest round-trip), non-finite ones as the strings
    /// "Infinity", "-Infinity", "NaN".</summary>
    private static string Write(LossOutputs outputs, LossKind kind, bool useDouble)
    {
        var named = new List<KeyValuePair<string, LossTensor?>> { new("loss", null), new("unreduced", outputs.Unreduced) };
        foreach (LossInput input in kind.Inputs)
            if (outputs.Gradients.TryGetValue(input.Name, out var g)) named.Add(new("grad_" + input.Name, g));
        foreach (var (alias, original) in kind.OutputAliases)
            if (named.FindIndex(n => n.Key == original) is int i and >= 0) named.Add(new(alias, named[i].Value));
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            foreach (var (name, tensor) in named)
            {
                writer.WritePropertyName(name);
                if (tensor is null) WriteNumber(writer, outputs.Loss, useDouble);
                else WriteNested(writer, tensor, 0, 0, useDouble);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes dimension <paramref name="depth"/> of <paramref name="tensor"/> from value <paramref name="offset"/>.</summary>
    private static void WriteNested(Utf8JsonWriter writer, LossTensor tensor, int depth, int offset, bool useDouble)
    {
        if (depth == tensor.Rank)
        {
            WriteNumber(writer, tensor.Values[offset], useDouble);
            return;
        }
        int stride = 1;
        for (int d = depth + 1; d < tensor.Rank; d++) stride *= tensor.Shape[d];
        writer.WriteStartArray();
        for (int i = 0; i < tensor.Shape[depth]; i++) WriteNested(writer, tensor, depth + 1, offset + i * stride, useDouble);
        writer.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter writer, double value, bool useDouble)
    {
        if (double.IsNaN(value)) writer.WriteStringValue("NaN");
        else if (double.IsInfinity(value)) writer.WriteStringValue(value > 0 ? "Infinity" : "-Infinity");
        else if (useDouble) writer.WriteNumberValue(value);
        else writer.WriteNumberValue((float)value);
    }
}
