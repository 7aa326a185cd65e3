using System.Text.Json;

namespace LossKit.Cli.Tests;

/// <summary>compare --tune, --validation-noise, --baseline and report --verify.</summary>
public sealed class FairComparisonCliTests() : CliHarness("losskit-fair-")
{
    private static readonly string[] Small = ["--data", "iris", "--model", "mlp:8", "--epochs", "2", "--noise", "symmetric:0.3"];

    [Fact]
    public void CompareTunesEveryLossAlikeAndReportsPairedDifferences()
    {
        string dir = Path.Combine(Tmp, "tuned");
        var r = Run(["compare", .. Small, "--losses", "ce; focal; gce", "--seeds", "2", "--tune", "lr=1e-3,1e-2; gamma=1,2; q=0.5,0.7", "--out", dir]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("tuning: 6 trial runs", r.Out);                 // 3 losses × 2 trials × 1 tuning seed
        Assert.Contains("2 configurations per loss", r.Out);
        Assert.Contains("paired against ce", r.Out);
        Assert.Contains("With 2 seed(s) no verdict is given", r.Out);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "tuning.jsonl")).Length);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);
        string md = File.ReadAllText(Path.Combine(dir, "summary.md"));
        Assert.Contains("## Tuning", md);
        Assert.Contains("| `focal` | symmetric:0.3 | 2 |", md);
        Assert.Contains("as noisy as the training labels", md);
        Assert.True(File.Exists(Path.Combine(dir, "forest-accuracy.svg")));

        // A rerun resumes: nothing is trained again.
        var again = Run(["compare", .. Small, "--losses", "ce; focal; gce", "--seeds", "2", "--tune", "lr=1e-3,1e-2; gamma=1,2; q=0.5,0.7", "--out", dir, "--json"]);
        Assert.True(again.Code == 0, again.Err);
        using var json = JsonDocument.Parse(again.Out);
        var focal = json.RootElement.EnumerateArray().Single(e => e.GetProperty("loss").GetString() == "focal");
        Assert.Equal(2, focal.GetProperty("tuning").GetProperty("trials").GetInt32());
        var paired = focal.GetProperty("paired");
        Assert.Equal("ce", paired.GetProperty("vs").GetString());
        var acc = paired.GetProperty("accuracy");
        Assert.Equal(2, acc.GetProperty("n").GetInt32());
        Assert.Equal("too few seeds", acc.GetProperty("verdict").GetString());
        foreach (string field in new[] { "diff_mean", "ci", "p", "p_wilcoxon", "p_holm" }) Assert.True(acc.TryGetProperty(field, out _), field);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "tuning.jsonl")).Length);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);

        // report --verify reruns runs and finds them bit-identical; a record changed by hand is caught.
        var verify = Run("report", dir, "--verify", "2");
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
        Assert.Contains("all 2 reruns are bit-identical", verify.Out);
        string results = Path.Combine(dir, "results.jsonl");
        var lines = File.ReadAllLines(results).Select(l =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(l)!;
            node["temperature"] = node["temperature"]!.GetValue<double>() * (1 + 1e-12);
            return node.ToJsonString();
        }).ToArray();
        File.WriteAllLines(results, lines);
        var bad = Run("report", dir, "--verify", "1");
        Assert.Equal(1, bad.Code);
        Assert.Contains("DIFFERS: $.temperature:", bad.Out);
    }

    [Fact]
    public void TuningIsShardable()
    {
        string dir = Path.Combine(Tmp, "shards");
        string[] Sweep(string shard) => ["sweep", .. Small, "--losses", "ce; mae", "--seeds", "2", "--tune", "lr=1e-3,1e-2", "--out", dir, "--shard", shard];
        var first = Run(Sweep("0/2"));
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("tuning: 2 trial runs (shard 0/2 of 4)", first.Out);
        Assert.Contains("2 tuning trials of other shards are not done yet", first.Out);
        Assert.False(File.Exists(Path.Combine(dir, "results.shard-0-of-2.jsonl")));
        var second = Run(Sweep("1/2"));                    // its trials complete the tuning: its final runs follow
        Assert.True(second.Code == 0, second.Err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "results.shard-1-of-2.jsonl")).Length);
        var again = Run(Sweep("0/2"));                     // trials done: shard 0's final runs
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "results.shard-0-of-2.jsonl")).Length);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "tuning.shard-0-of-2.jsonl")).Length);
        var report = Run("report", dir);
        Assert.True(report.Code == 0, report.Err);
        Assert.Contains("4 runs from 2 files", report.Out);
        Assert.Contains("## Tuning", File.ReadAllText(Path.Combine(dir, "summary.md")));
    }

    [Fact]
    public void BaselineAndValidationNoiseOptions()
    {
        string dir = Path.Combine(Tmp, "clean");
        var r = Run(["compare", .. Small, "--losses", "ce; mae", "--seeds", "1", "--validation-noise", "clean", "--baseline", "mae", "--out", dir]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("Δ = mean paired difference (loss − mae)", r.Out);
        Assert.Contains("clean (`--validation-noise clean`)", File.ReadAllText(Path.Combine(dir, "summary.md")));
        var none = Run(["compare", .. Small, "--losses", "ce; mae", "--seeds", "1", "--baseline", "focal", "--out", Path.Combine(Tmp, "nobase")]);
        Assert.True(none.Code == 0, none.Err);
        Assert.Contains("no paired comparison: no loss is the baseline 'focal'", none.Out);
    }

    [Theory]
    [InlineData(new[] { "--data", "letor-sample", "--tune", "lr=1e-3,1e-2" }, "--tune does not apply to the ranking set")]
    [InlineData(new[] { "--data", "letor-sample", "--baseline", "ranknet" }, "--baseline does not apply to the ranking set")]
    [InlineData(new[] { "--data", "letor-sample", "--validation-noise", "clean" }, "--validation-noise does not apply to the ranking set")]
    [InlineData(new[] { "--data", "yacht", "--losses", "mse", "--tune", "lr=1e-3" }, "--tune does not apply to the regression set")]
    [InlineData(new[] { "--losses", "contrastive", "--select", "val_nll" }, "--select does not apply to the embedding losses")]
    public void FairComparisonOptionsOfOtherWorkbenchesAreRefused(string[] args, string message)
    {
        var r = Run(["compare", "--epochs", "1", "--out", Path.Combine(Tmp, "other"), .. args]);
        Assert.Equal(1, r.Code);
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line);
    }

    [Theory]
    [InlineData(new[] { "--tune", "lr" }, "KEY=V1,V2")]
    [InlineData(new[] { "--tune", "lr=1e-3", "--select", "accuracy" }, "val_accuracy")]
    [InlineData(new[] { "--trials", "3" }, "go with --tune")]
    [InlineData(new[] { "--tune", "lr=1e-3", "--tune-seeds", "9" }, "--tune-seeds 9")]
    [InlineData(new[] { "--validation-noise", "noisy" }, "unknown validation noise")]
    public void BadOptionsAreOneLine(string[] extra, string message)
    {
        var r = Run(["compare", .. Small, "--losses", "ce; mae", "--seeds", "2", "--out", Path.Combine(Tmp, "bad"), .. extra]);
        Assert.Equal(1, r.Code);
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("losskit: ", line);
        Assert.Contains(message, line);
    }
}
