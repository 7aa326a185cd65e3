using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Tests.Experiments;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Reports;

public class ReportTests
{
    private static IReadOnlyList<RunRecord> SmallResults(string dir)
    {
        var spec = SweepTests.TinySpec() with { Noise = ["none", "symmetric:0.3"] };
        return ExperimentRunner.Run(spec.Expand(), dir).Records;
    }

    [Fact]
    public void ReportWritesTablesAndPlotsFromAResultsFile()
    {
        using var tmp = new TempDir();
        SmallResults(tmp.Path);
        var loaded = ResultsStore.Load(tmp.Path); // from the file, not from memory
        Assert.Equal(8, loaded.Records.Count);
        var files = ReportWriter.Write(tmp.Path, loaded.Records, "losskit test");

        string md = File.ReadAllText(files.Markdown);
        Assert.Contains("Produced by\n\n```sh\nlosskit test\n```", md);
        Assert.Contains("### Noise: none", md);
        Assert.Contains("### Noise: symmetric:0.3", md);
        Assert.Contains("| `ce` | 2 |", md);
        Assert.Contains("| `mae` | 2 |", md);
        foreach (string name in new[] { "curves-none", "curves-symmetric-0.3", "reliability-none", "reliability-symmetric-0.3", "accuracy-vs-noise" })
        {
            Assert.Contains($"({name}.png)", md);
            byte[] png = File.ReadAllBytes(Path.Combine(tmp.Path, name + ".png"));
            Assert.True(png.Length > 1000);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            string svg = File.ReadAllText(Path.Combine(tmp.Path, name + ".svg"));
            Assert.Contains("<svg", svg);
        }
        // Paired against ce (the default baseline): a table per noise setting and a forest plot per metric.
        Assert.Contains("Paired against `ce`", md);
        Assert.Contains("| `mae` | 2 |", md[md.IndexOf("Paired against `ce`", StringComparison.Ordinal)..]);
        foreach (string metric in PairedReport.Metrics)
            Assert.Contains($"(forest-{Plots.Slug(metric)}.png)", md);
        Assert.Equal(10 + 2 * PairedReport.Metrics.Count, files.Plots.Count);
        Assert.Contains("**Validation labels**", md);
        Assert.Contains("Made with LossKit", md);

        var csv = File.ReadAllLines(files.Csv);
        Assert.Equal(1 + 4, csv.Length);
        Assert.StartsWith("scenario,loss,noise,noise_rate,realised_noise,n,seeds,accuracy_mean,accuracy_std,accuracy_ci_low,accuracy_ci_high", csv[0]);
        Assert.Equal(1 + 8, File.ReadAllLines(files.RunsCsv).Length);
        // No temporary files left behind.
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp*"));
    }

    [Fact]
    public void SummaryGroupsBySettingAndMarksOneBestPerColumn()
    {
        using var tmp = new TempDir();
        var records = SmallResults(tmp.Path);
        var summary = Summary.Build(records);
        Assert.Single(summary.Scenarios);
        Assert.Equal(4, summary.Rows.Count);
        Assert.Equal(["none", "none", "symmetric:0.3", "symmetric:0.3"], summary.Rows.Select(r => r.Noise));
        Assert.Equal(["ce", "mae", "ce", "mae"], summary.Rows.Select(r => r.Loss));
        foreach (var row in summary.Rows)
        {
            Assert.Equal(2, row.N);
            var acc = row.Metrics["accuracy"];
            Assert.Equal(row.Runs.Average(r => r.Test.Accuracy), acc.Mean, 12);
            Assert.True(acc.CiLow <= acc.Mean && acc.Mean <= acc.CiHigh);
        }
        Assert.DoesNotContain(summary.Rows, r => summary.IsBest(r, "temperature") || summary.IsBest(r, "train_seconds"));
        foreach (var group in summary.ByNoise())
            foreach (string col in new[] { "accuracy", "nll", "ece" })
            {
                var rows = group.ToArray();
                int best = rows.Count(r => summary.IsBest(r, col));
                Assert.InRange(best, 1, rows.Length);
                var col0 = Summary.Column(col);
                var winner = rows.First(r => summary.IsBest(r, col));
                double w = winner.Metrics[col].Mean;
                Assert.All(rows, r => Assert.True(col0.HigherIsBetter ? r.Metrics[col].Mean <= w + 1e-4 : r.Metrics[col].Mean >= w - 1e-4));
            }
    }

    [Fact]
    public void DifferentScenariosAreReportedApart()
    {
        using var tmp = new TempDir();
        var a = SweepTests.TinySpec(1);
        var b = a with { Base = a.Base with { Model = "linear" } };
        ExperimentRunner.Run([.. a.Expand(), .. b.Expand()], tmp.Path);
        var records = ResultsStore.Load(tmp.Path).Records;
        var summary = Summary.Build(records);
        Assert.Equal(2, summary.Scenarios.Count);
        var files = ReportWriter.Write(tmp.Path, records);
        Assert.Contains(files.Plots, p => Path.GetFileName(p) == "s2-curves-none.png");
        Assert.Contains("Scenario 2: iris, linear", File.ReadAllText(files.Markdown));
    }

    [Fact]
    public void ReliabilityBinsPoolByCount()
    {
        using var tmp = new TempDir();
        var records = SmallResults(tmp.Path).Take(2).ToArray();
        var pooled = Plots.Pool(records);
        Assert.All(pooled, b => Assert.InRange(b.Confidence, b.Lower, b.Upper));
        Assert.All(pooled, b => Assert.InRange(b.Accuracy, 0, 1));
        int total = records.Sum(r => r.Reliability.Sum(b => b.Count));
        Assert.Equal(records.Sum(r => r.Dataset.TestRows), total);
        Assert.Equal(total, pooled.Sum(b => b.Count));
    }
}
