using System.Text.Json;

namespace LossKit.Cli.Tests;

public class RegressionCliTests
{
    private static readonly string[] Metrics = ["rmse", "mae", "nll", "crps", "coverage_90", "width_90"];

    [Fact]
    public void TrainOnAUciSetPrintsTheTestMetricsAsJson()
    {
        var (code, output, _) = CliHarness.Run("train", "--data", "concrete", "--loss", "gaussian_nll", "--split", "standard:0", "--epochs", "2",
            "--noise", "outliers:0.2", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var test = doc.RootElement.GetProperty("test");
        Assert.Equal(Metrics, test.EnumerateObject().Select(p => p.Name));
        Assert.InRange(test.GetProperty("coverage_90").GetDouble(), 0, 1);
        Assert.Equal("mean+var", doc.RootElement.GetProperty("head").GetString());
        Assert.Equal(103, doc.RootElement.GetProperty("test_rows").GetInt32());
        Assert.InRange(doc.RootElement.GetProperty("noise").GetProperty("realised_fraction").GetDouble(), 0.1, 0.3);
    }

    [Fact]
    public void TrainPrintsATable()
    {
        var (code, output, _) = CliHarness.Run("train", "--data", "yacht", "--loss", "huber", "--split", "standard:0-1", "--epochs", "2");
        Assert.Equal(0, code);
        Assert.Contains("mean ± SE over 2 splits", output);
        Assert.Contains("coverage_90", output);
    }

    [Fact]
    public void CompareReportsMeanSdSeAndIntervalPerMetric()
    {
        string dir = Path.Combine(Path.GetTempPath(), "losskit-regcli-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, _) = CliHarness.Run("compare", "--data", "yacht", "--losses", "mse; gg_nll", "--split", "standard:0-2",
                "--epochs", "2", "--noise", "none; outliers:0.2", "--out", dir, "--json");
            Assert.Equal(0, code);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal(4, doc.RootElement.GetArrayLength());
            var row = doc.RootElement[0];
            Assert.Equal(("yacht", "mse", "none", 3), (row.GetProperty("data").GetString(), row.GetProperty("loss").GetString(), row.GetProperty("noise").GetString(), row.GetProperty("splits").GetInt32()));
            foreach (string m in Metrics)
            {
                var s = row.GetProperty("metrics").GetProperty(m);
                foreach (string k in new[] { "mean", "sd", "se" }) Assert.Equal(JsonValueKind.Number, s.GetProperty(k).ValueKind);
                Assert.Equal(2, s.GetProperty("ci").GetArrayLength());
            }
            foreach (string f in new[] { "results.jsonl", "summary.md", "predicted-vs-true.png", "pit-histogram.svg", "calibration.png", "rmse-vs-outliers.png" })
                Assert.True(File.Exists(Path.Combine(dir, f)), f);
            Assert.Equal(12, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);
            string md = File.ReadAllText(Path.Combine(dir, "summary.md"));
            Assert.Contains("## Paired against `mse`", md);          // the first loss listed, over the standard splits
            Assert.Contains("### yacht, noise outliers:0.2", md);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("--optimizer", "sgd", "--optimizer does not apply to the regression set")]
    [InlineData("--split", "0.6/0.2/0.2", "standard:i")]
    [InlineData("--split", "standard:20", "splits 0..19")]
    [InlineData("--noise", "symmetric:0.2", "--noise symmetric:0.2:")]
    [InlineData("--loss", "listnet", "not an element-wise regression loss")]
    public void BadOptionsAreOneLineErrors(string option, string value, string message)
    {
        string[] args = option == "--loss" ? ["train", "--data", "concrete", option, value] : ["train", "--data", "concrete", "--epochs", "1", option, value];
        var (code, _, error) = CliHarness.Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(message, error);
        Assert.Single(error.Trim().Split('\n'));
    }
}
