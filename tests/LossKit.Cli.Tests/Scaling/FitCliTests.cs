using System.Globalization;
using System.Text.Json;

namespace LossKit.Cli.Tests.Scaling;

/// <summary><c>losskit fit</c>: the JSON object's shape and names, the tables, plots, and one-line errors.</summary>
public sealed class FitCliTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("losskit-fit-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static CliRunner.Result Run(params string[] args) => CliRunner.Run(args);

    private static void AssertOneLineError(CliRunner.Result r, string expected) => CliRunner.AssertOneLineError(r, expected);

    /// <summary>A CSV of L = E + A·N^(−α) + B·D^(−β) at Chinchilla's published parameters on a 6×6 grid of (N, D).</summary>
    private string ChinchillaCsv(Func<int, double, double, double>? loss = null)
    {
        string path = Path.Combine(_tmp, "runs.csv");
        var lines = new List<string> { "n,d,final_loss" };
        int i = 0;
        foreach (double n in new[] { 1e7, 4e7, 1.6e8, 6.4e8, 2.56e9, 1e10 })
            foreach (double d in new[] { 1e8, 5e8, 2.5e9, 1.25e10, 6e10, 3e11 })
            {
                double l = 1.69 + 406.4 * Math.Pow(n, -0.34) + 410.7 * Math.Pow(d, -0.28);
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{n},{d},{(loss is null ? l : loss(i, n, l))}"));
                i++;
            }
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void JsonIsOneObjectWithTheCardsNames()
    {
        string csv = ChinchillaCsv();
        var r = Run("fit", "--data", csv, "--x", "n,d", "--y", "final_loss", "--json", "--predict", "N=7e10,D=1.4e12", "--frontier", "5.76e23");
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal("chinchilla", root.GetProperty("law").GetString());
        Assert.Equal(36, root.GetProperty("n_points").GetInt32());
        var names = root.GetProperty("params").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["E", "A", "B", "alpha", "beta"], names);
        Assert.Equal(1.69, root.GetProperty("params").GetProperty("E").GetDouble(), 1e-3);
        Assert.Equal(0.34, root.GetProperty("params").GetProperty("alpha").GetDouble(), 1e-3);
        Assert.Empty(root.GetProperty("ci").EnumerateObject());
        Assert.True(root.GetProperty("objective").GetDouble() < 1e-12);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("warnings").ValueKind);
        var prediction = root.GetProperty("predictions")[0];
        Assert.Equal(1.69 + 406.4 * Math.Pow(7e10, -0.34) + 410.7 * Math.Pow(1.4e12, -0.28), prediction.GetProperty("loss").GetDouble(), 1e-4);
        var frontier = root.GetProperty("frontier");
        Assert.Equal(0.28 / 0.62, frontier.GetProperty("exponent_n").GetDouble(), 1e-3);
        Assert.Equal(6, frontier.GetProperty("flops_per_param_token").GetDouble());
    }

    [Fact]
    public void BootstrapDropAndHoldoutAreInTheJson()
    {
        string csv = ChinchillaCsv((i, _, l) => i == 3 ? l * 1.5 : l * (1 + 0.002 * Math.Sin(i)));
        var r = Run("fit", "--data", csv, "--x", "n,d", "--y", "final_loss", "--json", "--bootstrap", "30", "--seed", "4",
            "--drop-highest-loss", "1", "--holdout-above", "n=3e9");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal(29, root.GetProperty("n_points").GetInt32());
        Assert.Equal([4], root.GetProperty("dropped_rows").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Contains(root.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.StartsWith("dropped the 1 point(s) with the highest final_loss before fitting (rows 4;", StringComparison.Ordinal));
        foreach (string name in new[] { "E", "A", "B", "alpha", "beta" })
        {
            var ci = root.GetProperty("ci").GetProperty(name);
            Assert.Equal(2, ci.GetArrayLength());
            Assert.True(ci[0].GetDouble() <= root.GetProperty("params").GetProperty(name).GetDouble());
            Assert.True(ci[1].GetDouble() >= root.GetProperty("params").GetProperty(name).GetDouble());
        }
        var ex = root.GetProperty("extrapolation");
        Assert.Equal("n", ex.GetProperty("column").GetString());
        Assert.Equal(6, ex.GetProperty("held_out").GetArrayLength());
        Assert.True(ex.GetProperty("mean_abs_rel_error").GetDouble() < 0.01);
        Assert.Equal(r.Out, Run("fit", "--data", csv, "--x", "n,d", "--y", "final_loss", "--json", "--bootstrap", "30", "--seed", "4",
            "--drop-highest-loss", "1", "--holdout-above", "n=3e9").Out);
    }

    [Fact]
    public void ChinchillaDataWithBootstrapAndPlots()
    {
        string dir = Path.Combine(_tmp, "plots");
        var r = Run("fit", "--data", "chinchilla", "--law", "chinchilla", "--drop-highest-loss", "5", "--bootstrap", "20", "--plots", dir);
        Assert.Equal(0, r.Code);
        Assert.Contains("chinchilla on chinchilla (params, tokens → loss): 240 points fitted", r.Out);
        Assert.Contains("L-BFGS from 4500 starts; bootstrap 20 resamples (seed 0)", r.Out);
        Assert.Contains("warning: dropped the 5 point(s) with the highest loss", r.Out);
        foreach (string name in new[] { "fit", "contours", "residuals", "predicted-vs-observed" })
            foreach (string ext in new[] { ".png", ".svg" })
                Assert.True(new FileInfo(Path.Combine(dir, name + ext)).Length > 1000, name + ext);
    }

    [Fact]
    public void GivenParametersAreEvaluatedNotFitted()
    {
        var r = Run("fit", "--data", "chinchilla", "--drop-highest-loss", "5", "--params", "E=1.69,A=406.4,B=410.7,alpha=0.34,beta=0.28", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(0, doc.RootElement.GetProperty("starts").GetInt32());
        Assert.Equal(406.4, doc.RootElement.GetProperty("params").GetProperty("A").GetDouble(), 1e-9);   // through log A and back
        Assert.Equal(0.00412101, doc.RootElement.GetProperty("objective").GetDouble(), 1e-8);
        AssertOneLineError(Run("fit", "--params", "E=1.69,A=406.4"), "--params 'E=1.69,A=406.4': no value for B.");
        AssertOneLineError(Run("fit", "--params", "E=1.69,Q=2"), "--params: chinchilla has no parameter 'Q' (its parameters: E, A, B, alpha, beta).");
    }

    /// <summary>A workbench results.jsonl: <c>params</c> comes from config.model and the data set's shape, <c>test.error</c>
    /// from test.accuracy, and --where picks one loss's runs.</summary>
    [Fact]
    public void WorkbenchResultsAreFittedPerLoss()
    {
        string path = Path.Combine(_tmp, "results.jsonl");
        var lines = new List<string>();
        foreach (string loss in new[] { "ce", "focal(gamma=2)" })
            foreach (int width in new[] { 8, 16, 32, 64, 128 })
                foreach (int rows in new[] { 1000, 2000, 4000, 8000, 16000 })
                {
                    double n = 785.0 * width + (width + 1) * 10;
                    double nll = (loss == "ce" ? 0.3 : 0.35) + 50 * Math.Pow(n, -0.5) + 20 * Math.Pow(rows, -0.4);
                    lines.Add("{\"config\":{\"model\":\"mlp:" + width + "\",\"loss\":\"" + loss + "\"},\"dataset\":{\"features\":784,\"classes\":10,\"train_rows\":" + rows +
                        "},\"test\":{\"accuracy\":0.8,\"nll\":" + nll.ToString("R", CultureInfo.InvariantCulture) + "}}");
                }
        File.WriteAllLines(path, lines);
        var r = Run("fit", "--data", path, "--where", "config.loss=ce", "--x", "params,dataset.train_rows", "--y", "test.nll", "--json");
        Assert.Equal(0, r.Code);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal(25, root.GetProperty("n_points").GetInt32());
        Assert.Equal(0.3, root.GetProperty("params").GetProperty("E").GetDouble(), 1e-4);
        Assert.Equal(0.5, root.GetProperty("params").GetProperty("alpha").GetDouble(), 1e-4);
        Assert.Equal(0.4, root.GetProperty("params").GetProperty("beta").GetDouble(), 1e-4);
        Assert.Equal($"{path} where config.loss = ce", root.GetProperty("data").GetString());
        var focal = Run("fit", "--data", path, "--where", "config.loss=focal(gamma=2)", "--x", "params,dataset.train_rows", "--y", "test.nll", "--json");
        using var focalDoc = JsonDocument.Parse(focal.Out);
        Assert.Equal(0.35, focalDoc.RootElement.GetProperty("params").GetProperty("E").GetDouble(), 1e-4);
        AssertOneLineError(Run("fit", "--data", path, "--where", "config.loss=mae"), $"{path}: no row has config.loss = mae. Its values: ce, focal(gamma=2).");
        AssertOneLineError(Run("fit", "--data", path, "--where", "config.loss"), "--where 'config.loss': write COLUMN=VALUE, e.g. config.loss=ce.");
    }

    [Fact]
    public void ListLawsShowsEveryCard()
    {
        var r = Run("fit", "--list-laws");
        Assert.Equal(0, r.Code);
        foreach (string law in new[] { "power", "chinchilla", "kaplan", "loss_to_loss", "broken_power", "lr_annealing", "multi_power" })
            Assert.Contains(law + " — ", r.Out);
        Assert.Contains("verified:", r.Out);
    }

    [Fact]
    public void NonPositiveValueIsOneLine()
    {
        string csv = ChinchillaCsv((i, _, l) => i == 2 ? -1 : l);
        AssertOneLineError(Run("fit", "--data", csv, "--x", "n,d", "--y", "final_loss"),
            $"Column 'final_loss' of {csv}, row 3: -1 is not a positive finite number (laws are fitted in logs).");
    }

    [Fact]
    public void MissingColumnIsOneLine()
    {
        string path = Path.Combine(_tmp, "sizes.csv");
        File.WriteAllLines(path, ["size,tokens,loss", .. Enumerable.Range(1, 8).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i}e8,{i}e9,{3 - 0.1 * i}"))]);
        AssertOneLineError(Run("fit", "--data", path), $"chinchilla needs a column for N: {path} has none of the usual names (params, N, n, parameters, model_size); give --x (its columns: size, tokens, loss).");
        AssertOneLineError(Run("fit", "--data", path, "--x", "size,tokens", "--y", "final"), $"{path} has no column 'final'. Its columns: size, tokens, loss.");
    }

    [Fact]
    public void MissingNamedColumnIsOneLine()
    {
        string csv = ChinchillaCsv();
        AssertOneLineError(Run("fit", "--data", csv, "--x", "n,tokens", "--y", "final_loss"), $"{csv} has no column 'tokens'. Its columns: n, d, final_loss.");
    }

    [Fact]
    public void TooFewPointsIsOneLine()
    {
        string path = Path.Combine(_tmp, "few.csv");
        File.WriteAllLines(path, ["params,tokens,loss", "1e8,1e9,3", "2e8,2e9,2.9", "4e8,4e9,2.8"]);
        AssertOneLineError(Run("fit", "--data", path), $"chinchilla has 5 parameters: it needs at least 6 points, {path} has 3.");
    }

    [Fact]
    public void ConstantColumnIsOneLine()
    {
        string path = Path.Combine(_tmp, "constant.csv");
        File.WriteAllLines(path, ["params,tokens,loss", .. Enumerable.Range(1, 8).Select(i => string.Create(CultureInfo.InvariantCulture, $"1e9,{i}e9,{3 - 0.1 * i}"))]);
        AssertOneLineError(Run("fit", "--data", path), $"Column 'params' of {path} is constant (every value 1000000000): chinchilla cannot be fitted against it.");
    }

    [Fact]
    public void OtherBadArgumentsAreOneLine()
    {
        AssertOneLineError(Run("fit", "--law", "nope"), "Unknown law 'nope'. Valid laws: power, chinchilla, kaplan, loss_to_loss, broken_power, lr_annealing, multi_power.");
        AssertOneLineError(Run("fit", "--data", Path.Combine(_tmp, "absent.csv")), $"No data file '{Path.Combine(_tmp, "absent.csv")}' (and no embedded data set of that name; embedded: chinchilla).");
        AssertOneLineError(Run("fit", "--objective", "l1"), "--objective l1: expected huber or lsq.");
        AssertOneLineError(Run("fit", "--law", "power", "--frontier", "1e21"), "--frontier: power is not a law in N and D; it has no compute-optimal frontier.");
        AssertOneLineError(Run("fit", "--holdout-above", "flops"), "--holdout-above 'flops': write COLUMN=VALUE, e.g. flops=1e21.");
    }
}
