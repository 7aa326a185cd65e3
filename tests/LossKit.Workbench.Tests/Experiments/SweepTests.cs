using System.Text;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Experiments;

public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "losskit-wb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

public class SweepTests
{
    internal static SweepSpec TinySpec(int seeds = 2) => new()
    {
        Base = new RunConfig { Data = "iris", Model = "mlp:8", Epochs = 2, BatchSize = 32, Lr = 0.01 },
        Losses = ["ce", "mae"],
        Noise = ["none"],
        Seeds = SweepSpec.SeedRange(seeds),
    };

    [Fact]
    public void ResumeSkipsFinishedRuns()
    {
        using var tmp = new TempDir();
        var grid = TinySpec().Expand();
        var first = ExperimentRunner.Run(grid, tmp.Path);
        Assert.Equal(4, first.Ran);
        Assert.Equal(0, first.Skipped);
        string file = Path.Combine(tmp.Path, "results.jsonl");
        Assert.Equal(4, File.ReadAllLines(file).Length);

        var second = ExperimentRunner.Run(grid, tmp.Path);
        Assert.Equal(0, second.Ran);
        Assert.Equal(4, second.Skipped);
        Assert.Equal(4, File.ReadAllLines(file).Length);
        Assert.Equal(first.Records.Select(r => r.WithoutTimings().ToJson()), second.Records.Select(r => r.WithoutTimings().ToJson()));

        // A bigger grid only runs what is new.
        var third = ExperimentRunner.Run(TinySpec(seeds: 3).Expand(), tmp.Path, parallelRuns: 2);
        Assert.Equal(2, third.Ran);
        Assert.Equal(4, third.Skipped);
        Assert.Equal(6, File.ReadAllLines(file).Length);
    }

    [Fact]
    public void ForceRetrains()
    {
        using var tmp = new TempDir();
        var grid = TinySpec(seeds: 1).Expand();
        ExperimentRunner.Run(grid, tmp.Path);
        var again = ExperimentRunner.Run(grid, tmp.Path, force: true);
        Assert.Equal(2, again.Ran);
        Assert.Equal(2, ResultsStore.Load(tmp.Path).Records.Count); // duplicates collapse by key
    }

    [Fact]
    public void TruncatedLastLineIsToleratedAndRepaired()
    {
        using var tmp = new TempDir();
        ExperimentRunner.Run(TinySpec().Expand(), tmp.Path);
        string file = Path.Combine(tmp.Path, "results.jsonl");
        string lastLine = File.ReadAllLines(file)[^1];
        // A crash in the middle of a write: half a record, no line break.
        File.AppendAllText(file, lastLine[..(lastLine.Length / 2)]);

        var loaded = ResultsStore.Load(tmp.Path);
        Assert.Equal(4, loaded.Records.Count);
        Assert.Equal(1, loaded.PartialLines);
        Assert.Equal(0, loaded.BadLines);

        // Resuming repairs the file before appending: every line is a whole record again.
        var outcome = ExperimentRunner.Run(TinySpec(seeds: 3).Expand(), tmp.Path);
        Assert.Equal(2, outcome.Ran);
        byte[] bytes = File.ReadAllBytes(file);
        Assert.Equal((byte)'\n', bytes[^1]);
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.All(lines, l => RunRecord.FromJson(l));
        var reloaded = ResultsStore.Load(tmp.Path);
        Assert.Equal(0, reloaded.PartialLines);
        Assert.Equal(6, reloaded.Records.Count);
    }

    [Fact]
    public void WriterRepairsAFileOfOnlyAPartialLine()
    {
        using var tmp = new TempDir();
        string file = Path.Combine(tmp.Path, "results.jsonl");
        const string partial = "{\"key\":\"abc\",\"conf";
        File.WriteAllText(file, partial);
        Assert.Empty(ResultsStore.Load(tmp.Path).Records);
        using (var w = new ResultsWriter(file)) Assert.Equal(partial.Length, w.RepairedBytes);
        Assert.Equal(0, new FileInfo(file).Length);
    }

    [Fact]
    public void CorruptCompleteLinesAreSkippedAndCounted()
    {
        using var tmp = new TempDir();
        ExperimentRunner.Run(TinySpec(seeds: 1).Expand(), tmp.Path);
        File.AppendAllText(Path.Combine(tmp.Path, "results.jsonl"), "not json\n\n");
        var loaded = ResultsStore.Load(tmp.Path);
        Assert.Equal(2, loaded.Records.Count);
        Assert.Equal(1, loaded.BadLines);
    }

    [Fact]
    public void ShardsPartitionTheGridExactly()
    {
        var spec = new SweepSpec
        {
            Base = new RunConfig { Data = "iris" },
            Losses = ["ce", "focal(gamma={1,3})", "gce(q={0.3,0.7})"],
            Noise = ["none", "symmetric:0.2", "pairflip:0.2"],
            Seeds = SweepSpec.SeedRange(3),
        };
        var grid = spec.Expand();
        Assert.Equal(5 * 3 * 3, grid.Count);
        var keys = grid.Select(c => c.Key()).ToArray();
        Assert.Equal(keys.Length, keys.Distinct().Count());
        for (int n = 1; n <= 7; n++)
        {
            var shards = Enumerable.Range(0, n).Select(i => new Shard(i, n).Select(grid).Select(c => c.Key()).ToArray()).ToArray();
            var union = shards.SelectMany(s => s).ToArray();
            Assert.Equal(keys.Length, union.Length);                 // disjoint: nothing counted twice
            Assert.Equal(keys.Order(), union.Order());               // together: the whole grid
            Assert.True(shards.Max(s => s.Length) - shards.Min(s => s.Length) <= 1);
            // Deterministic: the same shard twice gives the same runs.
            Assert.Equal(shards[n - 1], new Shard(n - 1, n).Select(spec.Expand()).Select(c => c.Key()).ToArray());
        }
    }

    [Fact]
    public void ShardsWriteTheirOwnFilesAndReportMergesThem()
    {
        using var tmp = new TempDir();
        var grid = TinySpec().Expand();
        for (int i = 0; i < 3; i++)
        {
            var s = new Shard(i, 3);
            ExperimentRunner.Run(s.Select(grid), tmp.Path, s.FileName);
        }
        Assert.Equal(3, ResultsStore.Files(tmp.Path).Count);
        Assert.True(File.Exists(Path.Combine(tmp.Path, "results.shard-2-of-3.jsonl")));
        var all = ResultsStore.Load(tmp.Path);
        Assert.Equal(grid.Select(c => c.Key()).Order(), all.Records.Select(r => r.Key).Order());
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    [InlineData(" 1 / 2 ", 1, 2)]
    public void ShardParses(string text, int i, int n)
    {
        var s = Shard.Parse(text);
        Assert.Equal(i, s.Index);
        Assert.Equal(n, s.Count);
    }

    [Theory]
    [InlineData("4/4")]
    [InlineData("-1/3")]
    [InlineData("1/0")]
    [InlineData("a/b")]
    [InlineData("1")]
    public void BadShardsAreErrors(string text) => Assert.Throws<ArgumentException>(() => Shard.Parse(text));

    [Fact]
    public void BraceGridsExpand()
    {
        Assert.Equal(["gce(q=0.3, k=0)", "gce(q=0.3, k=0.5)", "gce(q=0.7, k=0)", "gce(q=0.7, k=0.5)"],
            LossGrid.Expand("gce(q={0.3,0.7}, k={0,0.5})"));
        Assert.Equal(["ce"], LossGrid.Expand("ce"));
        Assert.Throws<ArgumentException>(() => LossGrid.Expand("focal(gamma={1,2)").ToList());
        Assert.Throws<ArgumentException>(() => LossGrid.Expand("focal(gamma={1,,2})").ToList());
    }

    [Fact]
    public void SweepFileParses()
    {
        var spec = SweepSpec.Parse("""
        {
          // comments are allowed
          "data": "wine", "model": "linear", "epochs": 5, "batch_size": 16, "lr": 0.01, "optimizer": "sgd",
          "losses": ["ce", "focal(gamma={1,3})", {"loss": "gce", "params": {"k": 0}, "grid": {"q": [0.3, 0.7]}}],
          "noise": ["none", "symmetric:0.2"],
          "seeds": [7, 8],
          "out": "sweep-out",
        }
        """);
        Assert.Equal("wine", spec.Base.Data);
        Assert.Equal(16, spec.Base.BatchSize);
        Assert.Equal("sgd", spec.Base.Optimizer);
        Assert.Equal("sweep-out", spec.Out);
        Assert.Equal([7, 8], spec.Seeds);
        var grid = spec.Expand();
        Assert.Equal(5 * 2 * 2, grid.Count);
        Assert.Contains(grid, c => c.Loss == "gce(q=0.3)"); // k=0 is the default: canonical spec leaves it out
        Assert.All(grid, c => Assert.Equal(5, c.Epochs));
        Assert.Equal(3, SweepSpec.Parse("""{"seeds": 3}""").Seeds.Count);
    }

    [Theory]
    [InlineData("""{"epoch": 3}""", "unknown field 'epoch'")]
    [InlineData("""{"loss": "ce"}""", "'losses'")]
    [InlineData("""{"seeds": "x"}""", "seeds")]
    [InlineData("""[1]""", "object")]
    [InlineData("""{"epochs": "many"}""", "wrong type")]
    [InlineData("""{"losses": [{"name": "focal"}]}""", "\"loss\"")]
    public void BadSweepFilesAreExplained(string json, string message)
    {
        var e = Assert.ThrowsAny<Exception>(() => SweepSpec.Parse(json));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BadRunsInTheGridFailBeforeAnyTraining()
    {
        using var tmp = new TempDir();
        var spec = TinySpec() with { Losses = ["ce", "nope"] };
        Assert.ThrowsAny<ArgumentException>(() => ExperimentRunner.Run(
            (spec.Base with { Loss = "nope" }) is var bad ? [spec.Base, bad] : [], tmp.Path));
        Assert.Empty(ResultsStore.Files(tmp.Path));
    }

    [Fact]
    public void UnwritableFolderIsOneClearError()
    {
        using var tmp = new TempDir();
        string file = Path.Combine(tmp.Path, "a-file");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<IOException>(() => ResultsStore.EnsureWritable(Path.Combine(file, "sub")));
        Assert.Contains("not writable", e.Message);
        e = Assert.Throws<IOException>(() => ResultsStore.EnsureWritable(file));
        Assert.Contains("not a folder", e.Message);
        Assert.Throws<IOException>(() => ExperimentRunner.Run(TinySpec(1).Expand(), file));
    }

    [Fact]
    public void MeanStatsUseStudentT()
    {
        var m = MeanStats.Of([1.0, 2.0, 3.0]);
        Assert.Equal(2.0, m.Mean, 12);
        Assert.Equal(1.0, m.Std, 12);
        Assert.Equal(2.0 - 4.3027 / Math.Sqrt(3), m.CiLow, 1e-9);
        Assert.Equal(2.0 + 4.3027 / Math.Sqrt(3), m.CiHigh, 1e-9);
        var one = MeanStats.Of([0.5]);
        Assert.Equal(0.5, one.Mean);
        Assert.True(double.IsNaN(one.Std) && double.IsNaN(one.CiLow));
        Assert.Equal(2.0395, StudentT.Quantile975(31), 1e-3);
        Assert.Equal(2.0003, StudentT.Quantile975(60), 1e-3);
        Assert.Equal(1.9840, StudentT.Quantile975(100), 1e-3);
    }
}
