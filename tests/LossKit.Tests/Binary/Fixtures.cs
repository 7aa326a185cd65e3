using System.Text.Json;

namespace LossKit.Tests.Binary;

/// <summary>One case of tests/LossKit.Tests/Fixtures/binary.json (written by tools/make_fixtures_binary.py).</summary>
public sealed record BinaryFixtureCase(string Name, string Spec, string Reference, string Dtype, int[] Shape, double[] Logits, double[] Targets,
    double Loss, double[]? PerElement, double[] Gradient, double[]? State, double[]? StateGradient);

internal static class BinaryFixtures
{
    private static readonly Lazy<IReadOnlyDictionary<string, BinaryFixtureCase>> s_cases = new(Load);

    public static IReadOnlyDictionary<string, BinaryFixtureCase> Cases => s_cases.Value;

    /// <summary>The repository's fixture file, found by walking up from the test assembly's folder.</summary>
    public static string Path
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = System.IO.Path.Combine(dir.FullName, "tests", "LossKit.Tests", "Fixtures", "binary.json");
                if (File.Exists(candidate)) return candidate;
            }
            throw new FileNotFoundException("tests/LossKit.Tests/Fixtures/binary.json not found above " + AppContext.BaseDirectory);
        }
    }

    private static IReadOnlyDictionary<string, BinaryFixtureCase> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path));
        var cases = new Dictionary<string, BinaryFixtureCase>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            static double[]? Array(JsonElement c, string name) =>
                c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(x => x.GetDouble()).ToArray() : null;
            var item = new BinaryFixtureCase(
                c.GetProperty("name").GetString()!, c.GetProperty("spec").GetString()!, c.GetProperty("reference").GetString()!,
                c.GetProperty("dtype").GetString()!, c.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                Array(c, "logits")!, Array(c, "targets")!, c.GetProperty("loss").GetDouble(), Array(c, "per_element"), Array(c, "gradient")!,
                Array(c, "state"), Array(c, "state_gradient"));
            cases.Add(item.Name, item);
        }
        return cases;
    }

    public static TheoryData<string> Names(string prefix) => new(Cases.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)));
}
