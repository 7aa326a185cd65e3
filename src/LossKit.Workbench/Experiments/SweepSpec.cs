using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Workbench.Data;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Experiments;

/// <summary>
/// A grid of runs: losses (each possibly a parameter grid) × noise settings × seeds, every run sharing the other
/// settings of <see cref="Base"/>. See docs/workbench.md for the JSON form read by <see cref="Parse"/>.
/// </summary>
public sealed record SweepSpec
{
    /// <summary>Settings shared by every run (its loss, noise and seed are replaced).</summary>
    public RunConfig Base { get; init; } = new();

    /// <summary>Loss specs; <c>{a,b,c}</c> inside a spec expands to one spec per alternative, e.g. <c>focal(gamma={1,2,5})</c>.</summary>
    public IReadOnlyList<string> Losses { get; init; } = ["ce"];

    /// <summary>Noise settings, e.g. <c>none</c>, <c>symmetric:0.4</c>.</summary>
    public IReadOnlyList<string> Noise { get; init; } = ["none"];

    /// <summary>Seeds.</summary>
    public IReadOnlyList<int> Seeds { get; init; } = [0];

    /// <summary>Output folder (null: the command's default).</summary>
    public string? Out { get; init; }

    /// <summary>The runs, in grid order (loss-major, then noise, then seed), each canonical; duplicates (same key) appear once.</summary>
    public IReadOnlyList<RunConfig> Expand()
    {
        if (Losses.Count == 0) throw new ArgumentException("the sweep has no losses.");
        if (Noise.Count == 0) throw new ArgumentException("the sweep has no noise settings.");
        if (Seeds.Count == 0) throw new ArgumentException("the sweep has no seeds.");
        var runs = new List<RunConfig>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string loss in Losses.SelectMany(LossGrid.Expand))
            foreach (string noise in Noise)
                foreach (int seed in Seeds)
                {
                    var c = (Base with { Loss = loss, Noise = noise, Seed = seed }).Canonical();
                    if (seen.Add(c.Key())) runs.Add(c);
                }
        return runs;
    }

    /// <summary>Seeds 0..count−1.</summary>
    public static IReadOnlyList<int> SeedRange(int count)
    {
        if (count < 1) throw new ArgumentException($"seeds is {count}; it must be at least 1.");
        return Enumerable.Range(0, count).ToArray();
    }

    /// <summary>Reads a sweep file (see <see cref="Parse"/>).</summary>
    public static SweepSpec Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"sweep config not found: {path}", path);
        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (FormatException e) when (e.InnerException is JsonException)
        {
            throw;   // a syntax error, already naming the file, line and column
        }
        catch (JsonException e)
        {
            throw new JsonException($"{path}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path}: {e.Message}", e);
        }
    }

    private static readonly string[] s_listKeys = ["losses", "noise", "seeds", "out"];

    /// <summary>
    /// Parses the JSON form: one object holding any <see cref="RunConfig"/> field in snake_case (<c>data</c>, <c>model</c>,
    /// <c>epochs</c>, <c>batch_size</c>, <c>lr</c>, ...), plus <c>losses</c> (array of spec strings, or objects
    /// <c>{"loss": "focal", "params": {...}, "grid": {"gamma": [1, 2]}}</c>), <c>noise</c> (array of strings, or one string),
    /// <c>seeds</c> (a count or an array of seeds) and <c>out</c>. Unknown fields are errors.
    /// </summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">The file, named by a syntax error (<c>FILE:LINE:COLUMN: ...</c>, a <see cref="FormatException"/>).</param>
    public static SweepSpec Parse(string json, string source = "the sweep config")
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw JsonErrors.At(source, e);
        }
        if (root is not JsonObject obj) throw new JsonException("the sweep config must be a JSON object.");
        var configFields = typeof(RunConfig).GetProperties().Where(p => p.CanWrite)
            .Select(p => RecordJson.Options.PropertyNamingPolicy!.ConvertName(p.Name)).ToHashSet(StringComparer.Ordinal);
        var baseObj = new JsonObject();
        var spec = new SweepSpec();
        foreach (var (name, value) in obj)
        {
            switch (name)
            {
                case "losses":
                    spec = spec with { Losses = ParseLosses(value) };
                    break;
                case "noise":
                    spec = spec with { Noise = value is JsonValue ? [Str(value, "noise")] : StrArray(value, "noise") };
                    break;
                case "seeds":
                    spec = spec with
                    {
                        Seeds = value is JsonValue v && v.TryGetValue(out int count) ? SeedRange(count)
                            : value is JsonArray a ? a.Select(x => Int(x, "seeds")).ToArray()
                            : throw new JsonException("'seeds' must be a count (3) or a list of seeds ([0, 1, 2])."),
                    };
                    break;
                case "out":
                    spec = spec with { Out = Str(value, "out") };
                    break;
                case "loss" or "seed":
                    throw new JsonException($"'{name}' is a single-run field; a sweep takes '{name}{(name == "loss" ? "es" : "s")}' (a list).");
                default:
                    if (!configFields.Contains(name))
                        throw new JsonException($"unknown field '{name}'; valid fields are: {string.Join(", ", configFields.Where(f => f is not "loss" and not "seed").Concat(s_listKeys).Order())}.");
                    baseObj[name] = value?.DeepClone();
                    break;
            }
        }
        RunConfig b;
        try
        {
            b = baseObj.Deserialize<RunConfig>(RecordJson.Options) ?? new RunConfig();
        }
        catch (JsonException e)
        {
            throw new JsonException($"a run setting has the wrong type ({e.Path}): {e.Message}", e);
        }
        return spec with { Base = b };
    }

    private static string[] ParseLosses(JsonNode? value)
    {
        if (value is JsonValue) return [Str(value, "losses")];
        if (value is not JsonArray array) throw new JsonException("'losses' must be a list of loss specs.");
        var specs = new List<string>();
        foreach (var item in array)
        {
            if (item is JsonObject o) specs.AddRange(LossGrid.FromObject(o));
            else specs.Add(Str(item, "losses"));
        }
        return specs.ToArray();
    }

    private static string Str(JsonNode? n, string field) =>
        n is JsonValue v && v.TryGetValue(out string? s) ? s : throw new JsonException($"'{field}' must hold strings, not {n?.ToJsonString() ?? "null"}.");

    private static string[] StrArray(JsonNode? n, string field) =>
        n is JsonArray a ? a.Select(x => Str(x, field)).ToArray() : throw new JsonException($"'{field}' must be a list of strings.");

    private static int Int(JsonNode? n, string field) =>
        n is JsonValue v && v.TryGetValue(out int i) ? i : throw new JsonException($"'{field}' must hold whole numbers, not {n?.ToJsonString() ?? "null"}.");
}

/// <summary>Loss parameter grids: brace alternatives in spec text, and the JSON object form.</summary>
public static class LossGrid
{
    /// <summary>Expands every <c>{a,b,...}</c> group of <paramref name="spec"/> (cartesian product, left to right), e.g.
    /// <c>gce(q={0.3,0.7})</c> → <c>gce(q=0.3)</c>, <c>gce(q=0.7)</c>. A spec without braces is returned as is.</summary>
    public static IEnumerable<string> Expand(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int open = spec.IndexOf('{');
        if (open < 0)
        {
            if (spec.Contains('}')) throw new ArgumentException($"loss spec '{spec}' has a '}}' without a '{{'.");
            yield return spec.Trim();
            yield break;
        }
        int close = spec.IndexOf('}', open + 1);
        if (close < 0) throw new ArgumentException($"loss spec '{spec}' has a '{{' without a closing '}}'; write alternatives as {{1,2,5}}.");
        string inner = spec[(open + 1)..close];
        if (inner.Contains('{')) throw new ArgumentException($"loss spec '{spec}': braces cannot be nested.");
        var options = inner.Split(',', StringSplitOptions.TrimEntries);
        if (options.Any(o => o.Length == 0)) throw new ArgumentException($"loss spec '{spec}' has an empty alternative in {{{inner}}}.");
        foreach (string o in options)
            foreach (string rest in Expand(spec[..open] + o + spec[(close + 1)..]))
                yield return rest;
    }

    /// <summary>Specs from <c>{"loss": NAME, "params": {k: v}, "grid": {k: [v1, v2]}}</c>: every combination of the grid values,
    /// with the fixed params.</summary>
    public static IEnumerable<string> FromObject(JsonObject o)
    {
        string name = o["loss"] is JsonValue v && v.TryGetValue(out string? s) ? s
            : throw new JsonException("a loss object needs \"loss\": \"NAME\" (e.g. {\"loss\": \"focal\", \"grid\": {\"gamma\": [1, 2]}}).");
        foreach (var (key, _) in o)
            if (key is not "loss" and not "params" and not "grid")
                throw new JsonException($"loss object for '{name}': unknown field '{key}'; valid fields are: loss, params, grid.");
        var fixedArgs = new List<(string, string)>();
        if (o["params"] is JsonObject p)
            foreach (var (k, val) in p) fixedArgs.Add((k, Value(val, name, k)));
        else if (o["params"] is not null) throw new JsonException($"loss object for '{name}': 'params' must be an object.");
        var axes = new List<(string Key, string[] Values)>();
        if (o["grid"] is JsonObject g)
        {
            foreach (var (k, val) in g)
            {
                if (val is not JsonArray arr || arr.Count == 0)
                    throw new JsonException($"loss object for '{name}': grid '{k}' must be a non-empty list of values.");
                axes.Add((k, arr.Select(x => Value(x, name, k)).ToArray()));
            }
        }
        else if (o["grid"] is not null) throw new JsonException($"loss object for '{name}': 'grid' must be an object.");

        IEnumerable<List<(string, string)>> combos = [[]];
        foreach (var (key, values) in axes)
            combos = combos.SelectMany(c => values.Select(val => new List<(string, string)>(c) { (key, val) }));
        foreach (var combo in combos)
        {
            var args = fixedArgs.Concat(combo).ToList();
            yield return args.Count == 0 ? name : $"{name}({string.Join(", ", args.Select(a => $"{a.Item1}={a.Item2}"))})";
        }
    }

    private static string Value(JsonNode? n, string loss, string key) => n switch
    {
        JsonArray a => "[" + string.Join(", ", a.Select(x => Value(x, loss, key))) + "]",
        JsonValue v when v.TryGetValue(out double d) => d.ToString("R", CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new JsonException($"loss object for '{loss}': value of '{key}' must be a number, a name or a list of numbers."),
    };
}
