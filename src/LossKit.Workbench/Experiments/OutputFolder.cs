using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LossKit.Workbench.Data;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Experiments;

/// <summary>
/// Where a comparison or sweep writes, and what it may find there. By default each invocation gets its own folder,
/// <c>losskit-out/&lt;data&gt;-&lt;yyyyMMdd-HHmmss&gt;</c>. A folder given explicitly may already hold runs: runs of the same
/// grid are a resumed run (they are skipped); runs of any other configuration are refused unless the caller appends, and
/// appending checks that every setting other than loss, noise and seed matches, so one report never mixes scenarios
/// by accident.
/// </summary>
public static class OutputFolder
{
    /// <summary>The parent folder of the default output folders.</summary>
    public const string DefaultRoot = "losskit-out";

    /// <summary>A new folder name under <paramref name="root"/> for data set <paramref name="data"/> (a name or a data
    /// file) at <paramref name="time"/>: <c>root/data-yyyyMMdd-HHmmss</c>, with <c>-2</c>, <c>-3</c>, … when taken.</summary>
    public static string Default(string data, DateTime time, string root = DefaultRoot)
    {
        string name = DatasetCatalog.IsFile(data) ? CsvDataset.NameOf(data) : data;
        name = new string(name.Select(ch => char.IsLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '_').ToArray());
        string stem = Path.Combine(root, $"{name}-{time.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        string dir = stem;
        for (int i = 2; Directory.Exists(dir) || File.Exists(dir); i++) dir = $"{stem}-{i}";
        return dir;
    }

    /// <summary>
    /// Checks the runs already in <paramref name="dir"/> against <paramref name="grid"/> (canonical configurations) and
    /// returns them. Runs of the grid itself are fine (a resumed sweep). Any other run is an error unless
    /// <paramref name="append"/>; with it, each other run must share the grid's settings except loss, noise and seed.
    /// </summary>
    /// <exception cref="ArgumentException">The folder holds runs that may not be mixed with these; the message says which setting differs.</exception>
    public static IReadOnlyList<RunRecord> Check(string dir, IReadOnlyList<RunConfig> grid, bool append)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var existing = ResultsStore.Load(dir).Records;
        var keys = grid.Select(c => c.Key()).ToHashSet(StringComparer.Ordinal);
        var others = existing.Where(r => !keys.Contains(r.Key)).ToArray();
        if (others.Length == 0 || grid.Count == 0) return existing;
        if (!append)
            throw new ArgumentException(
                $"{dir} already holds {others.Length} run(s) of another comparison ({Describe(others[0].Config)}); " +
                "give another --out (or none, for a new folder), or pass --append to add these runs to them.");
        var scenarios = grid.Select(Summary.ScenarioKey).ToHashSet(StringComparer.Ordinal);
        foreach (var r in others)
            if (r.TrainerVersion != RunConfig.TrainerVersion)
                throw new ArgumentException(
                    $"--append: {dir} holds runs of trainer version {r.TrainerVersion}, whose results this version ({RunConfig.TrainerVersion}) does not reproduce; give another --out.");
            else if (!scenarios.Contains(Summary.ScenarioKey(r.Config)))
                throw new ArgumentException(
                    $"--append: {dir} holds runs whose settings differ from these ({Difference(r.Config, grid[0])}); " +
                    "only loss, noise and seed may differ between the runs of one folder.");
        return existing;
    }

    private static string Describe(RunConfig c) => $"data {c.Data}, loss {c.Loss}, noise {c.Noise}, seed {c.Seed}";

    /// <summary>The settings (other than loss, noise, seed, data folder) in which <paramref name="a"/> differs from
    /// <paramref name="b"/>, as <c>epochs 40 there, 20 here</c>.</summary>
    internal static string Difference(RunConfig a, RunConfig b)
    {
        var x = JsonNode.Parse(Summary.ScenarioKey(a))!.AsObject();
        var y = JsonNode.Parse(Summary.ScenarioKey(b))!.AsObject();
        var names = x.Select(p => p.Key).Union(y.Select(p => p.Key)).ToArray();
        var parts = names.Where(n => !JsonNode.DeepEquals(x[n], y[n]))
            .Select(n => $"{n} {Show(x[n])} there, {Show(y[n])} here").ToArray();
        return parts.Length == 0 ? "trainer version" : string.Join("; ", parts);
    }

    private static string Show(JsonNode? n) => n is null ? "unset" : n.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
