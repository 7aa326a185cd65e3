using System.Text.Json.Nodes;
using LossKit.Workbench.Data;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Experiments;

/// <summary>The rerun of one recorded run.</summary>
/// <param name="Original">The record as found in the results file.</param>
/// <param name="Identical">Whether the rerun's record equals it apart from timings.</param>
/// <param name="Difference">Where they first differ (a JSON path with both values), or null.</param>
/// <param name="Seconds">Wall time of the rerun.</param>
public sealed record VerifyResult(RunRecord Original, bool Identical, string? Difference, double Seconds);

/// <summary>
/// <c>losskit report DIR --verify N</c>: reruns randomly chosen runs of a results folder and checks that each new record
/// is bit-identical to the recorded one apart from timings (every number is compared through its shortest round-trip
/// text, so a difference in the last bit shows).
/// </summary>
public static class Verification
{
    /// <summary><paramref name="count"/> records drawn without repetition by a generator seeded with <paramref name="seed"/>
    /// (all of them when there are fewer), in their file order.</summary>
    public static IReadOnlyList<RunRecord> Choose(IReadOnlyList<RunRecord> records, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (count < 1) throw new ArgumentException($"--verify {count}: expected at least 1 run to rerun.");
        var index = Enumerable.Range(0, records.Count).ToArray();
        SeededRng.ForPurpose(seed, "verify").Shuffle(index.AsSpan());
        return index.Take(count).Order().Select(i => records[i]).ToArray();
    }

    /// <summary>Reruns <paramref name="original"/>'s configuration and compares the records.</summary>
    public static VerifyResult Verify(RunRecord original)
    {
        ArgumentNullException.ThrowIfNull(original);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        if (original.TrainerVersion != RunConfig.TrainerVersion)
            return new VerifyResult(original, false,
                $"recorded by trainer version {original.TrainerVersion}; this LossKit's trainer is version {RunConfig.TrainerVersion} and does not reproduce it", 0);
        var rerun = Trainer.Run(original.Config);
        string? diff = FirstDifference(JsonNode.Parse(original.WithoutTimings().ToJson()), JsonNode.Parse(rerun.WithoutTimings().ToJson()), "$");
        return new VerifyResult(original, diff is null, diff, sw.Elapsed.TotalSeconds);
    }

    /// <summary>The first place where two JSON trees differ, as <c>$.test.accuracy: 0.95 recorded, 0.9472 now</c>; null when equal.</summary>
    public static string? FirstDifference(JsonNode? recorded, JsonNode? now, string path)
    {
        if (JsonNode.DeepEquals(recorded, now)) return null;
        if (recorded is JsonObject a && now is JsonObject b)
        {
            foreach (var name in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
                if (FirstDifference(a[name], b[name], $"{path}.{name}") is { } d) return d;
        }
        else if (recorded is JsonArray x && now is JsonArray y && x.Count == y.Count)
        {
            for (int i = 0; i < x.Count; i++)
                if (FirstDifference(x[i], y[i], $"{path}[{i}]") is { } d) return d;
        }
        return $"{path}: {Show(recorded)} recorded, {Show(now)} now";
    }

    private static string Show(JsonNode? n)
    {
        string s = n?.ToJsonString() ?? "absent";
        return s.Length > 80 ? s[..77] + "..." : s;
    }
}
