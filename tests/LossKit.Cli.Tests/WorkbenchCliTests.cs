using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Cli.Tests;

public sealed class WorkbenchCliTests() : CliHarness("losskit-cli-")
{

    private static void AssertOneLineError((int Code, string Out, string Err) r, string contains)
    {
        Assert.Equal(1, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("losskit: ", lines[0]);
        Assert.Contains(contains, lines[0]);
    }

    [Theory]
    [InlineData("symmetric:1.5", "out of range")]
    [InlineData("symmetric:1", "out of range")]
    [InlineData("symmetric:-0.1", "out of range")]
    [InlineData("uniform:0.2", "valid kinds")]
    [InlineData("symmetric", "needs a rate")]
    public void BadNoiseIsOneLine(string noise, string message)
    {
        AssertOneLineError(Run("train", "--data", "iris", "--noise", noise, "--epochs", "1"), message);
        string outDir = Path.Combine(Tmp, "cmp");
        AssertOneLineError(Run("compare", "--data", "iris", "--noise", noise, "--epochs", "1", "--out", outDir), message);
        Assert.False(Directory.Exists(outDir)); // nothing written
    }

    [Theory]
    [InlineData("2/2")]
    [InlineData("-1/2")]
    [InlineData("0/0")]
    [InlineData("one/two")]
    public void BadShardIsOneLine(string shard)
    {
        string outDir = Path.Combine(Tmp, "sweep");
        AssertOneLineError(Run("sweep", "--data", "iris", "--losses", "ce", "--epochs", "1", "--shard", shard, "--out", outDir), "shard");
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void UnknownDataSetListsValidOnes()
    {
        AssertOneLineError(Run("train", "--data", "imagenet"), "valid names are: digits");
        AssertOneLineError(Run("compare", "--data", "imagenet", "--out", Path.Combine(Tmp, "x")), "valid names are: digits");
    }

    [Fact]
    public void UnknownLossListsValidOnes() =>
        AssertOneLineError(Run("train", "--data", "iris", "--loss", "hinge2"), "Valid losses: ce");

    [Fact]
    public void RegressionDataIsRejected() =>
        AssertOneLineError(Run("train", "--data", "diabetes", "--loss", "ce", "--epochs", "1"), "regression");

    [Fact]
    public void NonClassificationLossSaysSo()
    {
        // A registered loss that is not a multi-class loss on logits (a built-in binary loss). The registry is
        // global, so this project does not register a stand-in (other CLI tests list the registry); the workbench tests
        // check the same message with one.
        string? name = LossRegistry.All.Select(d => d.Card.Name).FirstOrDefault(n =>
        {
            try { return LossRegistry.Create(n) is not IClassificationLoss; }
            catch (ArgumentException) { return false; }
        });
        Assert.True(name is not null, "the registry holds no loss that is not a multi-class loss on logits (the built-in binary losses are such losses)");
        AssertOneLineError(Run("train", "--data", "iris", "--loss", name, "--epochs", "1"), "not a multi-class loss");
    }

    [Fact]
    public void UnwritableOutputFolderIsOneLineAndNothingIsTrained()
    {
        string file = Path.Combine(Tmp, "not-a-folder");
        File.WriteAllText(file, "x");
        var r = Run("compare", "--data", "iris", "--losses", "ce", "--seeds", "1", "--epochs", "1", "--out", Path.Combine(file, "out"));
        AssertOneLineError(r, "not writable");
        Assert.DoesNotContain("[1/1]", r.Out);
        AssertOneLineError(Run("sweep", "--data", "iris", "--losses", "ce", "--epochs", "1", "--out", file), "not writable");
    }

    [Fact]
    public void SweepWithoutConfigOrLossesIsOneLine() =>
        AssertOneLineError(Run("sweep", "--out", Path.Combine(Tmp, "s")), "--config");

    [Fact]
    public void MissingSweepFileIsOneLine() =>
        AssertOneLineError(Run("sweep", "--config", Path.Combine(Tmp, "nope.json")), "not found");

    [Fact]
    public void FusedHeadTrainsAndSaysSoInTheRecord()
    {
        var r = Run("train", "--data", "iris", "--epochs", "2", "--model", "mlp:8", "--fused-head", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("config").GetProperty("fused_head").GetBoolean());
    }

    [Fact]
    public void FusedHeadWithAnotherLossIsOneLine() =>
        AssertOneLineError(Run("train", "--data", "iris", "--loss", "mae", "--epochs", "1", "--fused-head"), "needs the loss ce");

    [Fact]
    public void TrainJsonPrintsTheRunRecord()
    {
        var r = Run("train", "--data", "iris", "--loss", "gce(q=0.5)", "--noise", "symmetric:0.2", "--epochs", "3", "--model", "mlp:8", "--json");
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal("gce(q=0.5)", root.GetProperty("config").GetProperty("loss").GetString());
        Assert.Equal(3, root.GetProperty("epochs").GetArrayLength());
        var epoch = root.GetProperty("epochs")[0];
        foreach (string f in new[] { "epoch", "train_loss", "val_loss", "val_accuracy", "seconds" }) Assert.True(epoch.TryGetProperty(f, out _), f);
        foreach (string f in new[] { "accuracy", "nll", "ece", "brier", "adaptive_ece", "mce", "classwise_ece", "macro_f1" })
        {
            Assert.True(root.GetProperty("test").TryGetProperty(f, out _), f);
            Assert.True(root.GetProperty("test_calibrated").TryGetProperty(f, out _), f);
        }
        Assert.True(root.GetProperty("temperature").GetDouble() > 0);
        Assert.InRange(root.GetProperty("noise").GetProperty("realised_rate").GetDouble(), 0.05, 0.4);
        Assert.Equal(15, root.GetProperty("reliability").GetArrayLength());
    }

    [Fact]
    public void TrainPrintsEpochLinesAndTable()
    {
        var r = Run("train", "--data", "iris", "--epochs", "2", "--model", "linear");
        Assert.Equal(0, r.Code);
        Assert.Contains("epoch 1/2", r.Out);
        Assert.Contains("epoch 2/2", r.Out);
        Assert.Contains("macro_f1", r.Out);
        Assert.Contains("temperature scaling", r.Out);
    }

    [Fact]
    public void TinyCompareEndToEndWritesReport()
    {
        string outDir = Path.Combine(Tmp, "compare");
        var r = Run("compare", "--data", "iris", "--losses", "ce; mae", "--seeds", "1", "--epochs", "3", "--noise", "none", "--model", "mlp:8", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("2 runs trained", r.Out);
        Assert.Contains("noise none", r.Out);
        Assert.True(File.Exists(Path.Combine(outDir, "results.jsonl")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, "results.jsonl")).Length);
        string md = File.ReadAllText(Path.Combine(outDir, "summary.md"));
        Assert.Contains("`ce`", md);
        Assert.Contains("`mae`", md);
        Assert.Contains("curves-none.png", md);
        Assert.True(File.Exists(Path.Combine(outDir, "curves-none.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "reliability-none.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "summary.csv")));

        // Again: nothing to train, same report.
        var again = Run("compare", "--data", "iris", "--losses", "ce; mae", "--seeds", "1", "--epochs", "3", "--noise", "none", "--model", "mlp:8", "--out", outDir);
        Assert.Equal(0, again.Code);
        Assert.Contains("0 runs trained, 2 already done", again.Out);

        var report = Run("report", outDir);
        Assert.Equal(0, report.Code);
        Assert.Contains("2 runs from 1 files", report.Out);

        var json = Run("report", outDir, "--json");
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(2, doc.RootElement.GetArrayLength());
    }

    [Fact]
    public void SweepFromConfigWithShardsThenReport()
    {
        string outDir = Path.Combine(Tmp, "sweep");
        string config = Path.Combine(Tmp, "sweep.json");
        File.WriteAllText(config, $$"""
            { "data": "iris", "model": "linear", "epochs": 2, "losses": ["ce", "focal(gamma={1,3})"], "noise": ["none", "symmetric:0.2"], "seeds": 1, "out": "{{outDir.Replace("\\", "\\\\")}}" }
            """);
        for (int i = 0; i < 2; i++)
        {
            var r = Run("sweep", "--config", config, "--shard", $"{i}/2");
            Assert.True(r.Code == 0, r.Err);
            Assert.Contains($"shard {i}/2 of a 6-run grid", r.Out);
        }
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "results.shard-0-of-2.jsonl")).Length);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "results.shard-1-of-2.jsonl")).Length);
        Assert.False(File.Exists(Path.Combine(outDir, "summary.md")));
        var rep = Run("report", outDir);
        Assert.Equal(0, rep.Code);
        Assert.Contains("6 runs from 2 files", rep.Out);
        Assert.True(File.Exists(Path.Combine(outDir, "accuracy-vs-noise.png")));

        // The whole sweep now has nothing left to do.
        var all = Run("sweep", "--config", config);
        Assert.Equal(0, all.Code);
        Assert.Contains("0 runs trained, 6 already done", all.Out);
    }

    [Fact]
    public void ReportOfAFolderWithoutResultsIsOneLine()
    {
        AssertOneLineError(Run("report", Tmp), "no run records");
        AssertOneLineError(Run("report", Path.Combine(Tmp, "missing")), "does not exist");
    }
}

public class RankingCliTests
{
    [Fact]
    public void TrainOnTheRankingSetPrintsTheTestMetricsAsJson()
    {
        var (code, output, _) = CliHarness.Run("train", "--data", "letor-sample", "--loss", "listnet", "--epochs", "2", "--json");
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var test = doc.RootElement.GetProperty("test");
        foreach (string m in new[] { "ndcg_at_1", "ndcg_at_3", "ndcg_at_5", "ndcg_at_10", "mrr" })
            Assert.InRange(test.GetProperty(m).GetDouble(), 0, 1);
    }

    [Fact]
    public void CompareOnTheRankingSetReportsBaselinesAndLosses()
    {
        string dir = Path.Combine(Path.GetTempPath(), "losskit-rankcli-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, _) = CliHarness.Run("compare", "--data", "letor-sample", "--losses", "ranknet; lambdarank", "--seeds", "1",
                "--epochs", "2", "--out", dir, "--json");
            Assert.Equal(0, code);
            using var doc = System.Text.Json.JsonDocument.Parse(output);
            string[] losses = [.. doc.RootElement.EnumerateArray().Select(r => r.GetProperty("loss").GetString()!)];
            Assert.Equal(["random", "mse", "ranknet", "lambdarank"], losses);
            Assert.True(doc.RootElement[3].GetProperty("metrics").GetProperty("ndcg_at_5").TryGetProperty("ci", out _));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void OptionsThatDoNotApplyToRankingAreOneLineErrors()
    {
        var (code, _, error) = CliHarness.Run("train", "--data", "letor-sample", "--noise", "symmetric:0.2");
        Assert.NotEqual(0, code);
        Assert.Contains("--noise does not apply to the ranking set", error);
        var (code2, _, error2) = CliHarness.Run("train", "--data", "letor-sample", "--split", "0.6/0.2/0.2");
        Assert.NotEqual(0, code2);
        Assert.Contains("--split does not apply to the ranking set", error2);
        Assert.Single(error2.Trim().Split('\n'));
    }
}

public class NestedSpecErrorTests
{
    [Fact]
    public void AnOutOfRangeValueInANestedSpecIsOneLineThatNamesTheNesting()
    {
        string file = Path.Combine(Path.GetTempPath(), "losskit-nested-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, """{"logits": [[1, 2]], "teacher_logits": [[2, 1]], "targets": [0]}""");
        try
        {
            var (code, _, error) = CliHarness.Run("eval", "--loss", "kd(divergence=jsd(beta=2))", "--input", file);
            Assert.NotEqual(0, code);
            Assert.Equal("losskit: divergence=jsd(beta=2): beta = 2 is out of range: expected 0 ≤ value ≤ 1.", error.Trim());
        }
        finally { File.Delete(file); }
    }
}
