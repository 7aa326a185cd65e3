using System.Text.Json;
using System.Text.RegularExpressions;
using LossKit.Catalog;

namespace LossKit.Cli.Tests;

/// <summary>What a new user meets (issue 12): the command's name, own data, honest failures, reports, tables, defaults.</summary>
public sealed partial class NewUserTests() : CliHarness("losskit-newuser-")
{

    private string Write(string name, string text)
    {
        string path = Path.Combine(Tmp, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Exit code 1 and one line on stderr, starting "losskit: ", without .NET's additions to messages.</summary>
    private static string OneLineError((int Code, string Out, string Err) r)
    {
        Assert.Equal(1, r.Code);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        string line = lines[0].TrimEnd('\r');
        Assert.StartsWith("losskit: ", line);
        Assert.DoesNotContain("(Parameter '", line);
        Assert.DoesNotContain("Actual value was", line);
        Assert.DoesNotContain("LineNumber:", line);
        Assert.DoesNotContain("System.", line);
        Assert.DoesNotMatch(ExceptionName(), line);
        return line;
    }

    [GeneratedRegex(@"\b[A-Z]\w*Exception\b")]
    private static partial Regex ExceptionName();

    private string Csv()
    {
        var sb = new System.Text.StringBuilder("x1,x2,species\n");
        for (int i = 0; i < 120; i++)
            sb.Append($"{i % 3 * 2 + i * 7 % 10 / 10.0},{i * 3 % 5},{new[] { "cat", "dog", "fox" }[i % 3]}\n");
        return Write("animals.csv", sb.ToString());
    }

    // ---------------------------------------------------------------- 1. the command is losskit

    [Fact]
    public void Help_and_usage_lines_say_losskit()
    {
        var root = Run("--help");
        Assert.Equal(0, root.Code);
        Assert.Contains("losskit [command] [options]", root.Out);
        Assert.DoesNotContain("LossKit.Cli", root.Out);
        foreach (string command in new[] { "train", "compare", "eval", "bench" })
        {
            var help = Run(command, "--help");
            Assert.Contains($"losskit {command} [options]", help.Out);
        }
        Assert.Contains("see 'losskit --help'", OneLineError(Run("nosuchcommand")));
    }

    // ---------------------------------------------------------------- 2. own data

    [Fact]
    public void Train_on_an_own_csv_maps_text_labels_to_classes_and_lists_them()
    {
        string csv = Csv();
        var r = Run("train", "--data", csv, "--epochs", "2", "--model", "mlp:8");
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Code);
        Assert.Contains("3 classes", r.Out);
        Assert.Contains("classes: 0 = cat, 1 = dog, 2 = fox", r.Out);
    }

    [Fact]
    public void Compare_on_an_own_jsonl_with_a_target_lists_the_classes_in_the_report()
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 80; i++) sb.Append($"{{\"label\": \"{(i % 2 == 0 ? "spam" : "ham")}\", \"a\": {i % 2 * 2 + i % 7 / 7.0}, \"b\": {i % 3}}}\n");
        string jsonl = Write("mail.jsonl", sb.ToString());
        string dir = Path.Combine(Tmp, "mail");
        var r = Run("compare", "--data", jsonl, "--target", "label", "--losses", "ce", "--seeds", "1", "--epochs", "2", "--model", "mlp:8", "--noise", "none", "--out", dir);
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Code);
        Assert.Contains("Classes (2): 0 = ham, 1 = spam.", File.ReadAllText(Path.Combine(dir, "summary.md")));
    }

    [Fact]
    public void Bad_values_in_own_data_name_file_line_and_column()
    {
        string csv = Write("bad.csv", "a,b,y\n1,2,x\n1,zz,y\n");
        Assert.Contains($"{csv}: 1 bad line, nothing loaded: line 3, column 2: column 'b' value 'zz' is not a number", OneLineError(Run("train", "--data", csv)));
        string jsonl = Write("bad.jsonl", "{\"a\": 1, \"y\": 2}\n{\"a\": 1, \"y\": 1\n");
        Assert.Contains($"{jsonl}: 1 bad line, nothing loaded: line 2, column ", OneLineError(Run("train", "--data", jsonl)));
        Assert.Contains("target column 'nope' is not in the header", OneLineError(Run("train", "--data", Csv(), "--target", "nope")));
    }

    // ---------------------------------------------------------------- 3. honest failure

    [Fact]
    public void A_NaN_input_is_an_error_naming_the_element_and_infinities_stay_allowed()
    {
        string fine = Write("fine.json", """{"logits": [[1, 2, 3], [4, 5, 6]], "targets": [0, 1]}""");
        Assert.Equal(0, Run("eval", "--loss", "ce", "--input", fine).Code);
        string bad = Write("bad.json", """{"logits": [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, "nan"]], "targets": [0, 1, 2, 3]}""");
        Assert.Contains("logits[3][7] is NaN", OneLineError(Run("eval", "--loss", "ce", "--input", bad)));
        string masked = Write("masked.json", """{"logits": [[1, "-inf", 3], [2, 1, "-inf"]], "targets": [0, 1]}""");
        var ok = Run("eval", "--loss", "ce", "--input", masked);
        Assert.Equal(0, ok.Code);
        using var doc = JsonDocument.Parse(ok.Out);
        Assert.True(double.IsFinite(doc.RootElement.GetProperty("loss").GetDouble()));
        string binary = Write("b.json", """{"logits": [0.5, "nan"], "targets": [1, 0]}""");
        Assert.Contains("logits[1] is NaN", OneLineError(Run("eval", "--loss", "bce", "--input", binary)));
    }

    [Fact]
    public void A_diverged_training_run_exits_1_naming_epoch_and_step_unless_allowed()
    {
        string[] args = ["train", "--data", "wine", "--lr", "1e6", "--epochs", "5", "--model", "mlp:8"];
        string line = OneLineError(Run(args));
        Assert.Matches(@"training diverged: the loss became (NaN|∞|-∞|Infinity|-Infinity) at epoch \d+, step \d+ \(step \d+ of training\)", line);
        Assert.Contains("--allow-divergence", line);
        Assert.Equal(1, Run([.. args, "--json"]).Code);
        var allowed = Run([.. args, "--allow-divergence"]);
        Assert.Equal(0, allowed.Code);
        Assert.Contains("training diverged: the loss became", allowed.Out);
    }

    public static TheoryData<string[], string> BadCommands => new()
    {
        { ["describe", "focal(gamma=-1)"], "gamma = -1 is out of range" },
        { ["bench", "--rows", "-1"], "--rows -1: expected at least 1." },
        { ["bench", "--threads", "0", "--rows", "8", "--classes", "4"], "--threads 0: expected at least 1." },
        { ["eval", "--loss", "ce", "--input", "/nonexistent/x.json"], "/nonexistent/x.json" },
        { ["train", "--data", "fashion-mnist", "--data-dir", "/nonexistent", "--epochs", "1"], "--data-dir" },
        { ["train", "--data", "iris", "--model-epoch", "first"], "valid values are: best, last" },
        { ["list", "--format", "html"], "--format html: expected text, markdown or tsv" },
        { ["train", "--data", "nope.csv"], "nope.csv" },
        { ["train", "--epochs", "abc"], "--epochs abc: expected a whole number." },
        { ["train", "--lr", "1e"], "--lr 1e: expected a number." },
    };

    [Theory]
    [MemberData(nameof(BadCommands))]
    public void Every_error_is_one_line_without_dotnet_leftovers(string[] args, string expected)
    {
        string line = OneLineError(Run(args));
        Assert.Contains(expected, line);
        Assert.DoesNotContain("(dataDir)", line);
    }

    [Fact]
    public void A_malformed_json_file_names_the_file_and_the_1_based_line_and_column()
    {
        string path = Write("broken.json", "{\n  \"logits\": [[1, 2]],\n  \"targets\": [0,,]\n}\n");
        string line = OneLineError(Run("eval", "--loss", "ce", "--input", path));
        Assert.Contains($"{path}:3:17: ", line);
        string config = Write("sweep.json", "{\"losses\": [\"ce\"]\n\"seeds\": 2}");
        Assert.Contains($"{config}:2:1: ", OneLineError(Run("sweep", "--config", config)));
    }

    [Theory]
    [InlineData("""{"logits": [[1, 2, 3], [4, 5, 6]], "targets": [0, 1, 2]}""", "targets has shape [3] but logits has shape [2, 3] (2 rows); give one class index per row, [2].")]
    [InlineData("""{"logits": [1, 2, 3], "targets": [0, 1, 2]}""", "logits has shape [3]: expected one row of K logits per sample, N×K (one sample of 3 values is [[...]], shape [1, 3]).")]
    public void Shape_errors_give_both_shapes(string json, string expected)
    {
        Assert.Contains(expected, OneLineError(Run("eval", "--loss", "ce", "--input", Write("shape.json", json))));
    }

    // ---------------------------------------------------------------- 4. reports

    [Fact]
    public void A_second_comparison_never_mixes_into_the_first_unless_appended()
    {
        string dir = Path.Combine(Tmp, "cmp");
        string[] common = ["--data", "iris", "--seeds", "1", "--epochs", "2", "--model", "mlp:8", "--noise", "none", "--out", dir];
        var first = Run(["compare", "--losses", "ce; mae", .. common]);
        Assert.Equal(0, first.Code);
        string md = File.ReadAllText(Path.Combine(dir, "summary.md"));
        Assert.Contains("losskit compare --losses 'ce; mae' --data iris", md);     // shell-quoted: pastes back
        Assert.Equal(0, Run(["compare", "--losses", "ce; mae", .. common]).Code);    // the same grid: resumed
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);

        Assert.Contains("--append", OneLineError(Run(["compare", "--losses", "gce", .. common])));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "results.jsonl")).Length);
        Assert.Contains("only loss, noise and seed may differ",
            OneLineError(Run(["compare", "--losses", "gce", "--append", .. common.Select(a => a == "mlp:8" ? "linear" : a)])));

        var appended = Run(["compare", "--losses", "gce", "--append", .. common]);
        Assert.Equal(0, appended.Code);
        string report = File.ReadAllText(Path.Combine(dir, "summary.md"));
        foreach (string loss in new[] { "`ce`", "`mae`", "`gce`" }) Assert.Contains(loss, report);
    }

    [Fact]
    public void Without_out_each_comparison_gets_a_new_folder()
    {
        var r = Run("compare", "--data", "iris", "--losses", "ce", "--seeds", "1", "--epochs", "1", "--model", "mlp:8", "--noise", "none");
        var m = Regex.Match(r.Out, @"into (losskit-out/iris-\d{8}-\d{6}(-\d+)?)");
        try
        {
            Assert.Equal(0, r.Code);
            Assert.True(m.Success, r.Out);
            Assert.True(File.Exists(Path.Combine(m.Groups[1].Value, "summary.md")));
        }
        finally
        {
            if (m.Success && Directory.Exists(m.Groups[1].Value)) Directory.Delete(m.Groups[1].Value, recursive: true);
        }
    }

    [Fact]
    public void Shell_quoting_round_trips_awkward_arguments()
    {
        Assert.Equal("ce", WorkbenchCommands.ShellQuote("ce"));
        Assert.Equal("'bce; sigmoid_focal; hinge'", WorkbenchCommands.ShellQuote("bce; sigmoid_focal; hinge"));
        Assert.Equal("'focal(gamma=2)'", WorkbenchCommands.ShellQuote("focal(gamma=2)"));
        Assert.Equal("'it'\\''s'", WorkbenchCommands.ShellQuote("it's"));
        Assert.Equal("''", WorkbenchCommands.ShellQuote(""));
    }

    // ---------------------------------------------------------------- 5. tables

    [Fact]
    public void Piped_tables_keep_every_row_on_one_line()
    {
        var r = Run("list");
        Assert.Equal(0, r.Code);
        var lines = r.Out.Split('\n');
        foreach (var d in LossRegistry.All)
            Assert.Contains(lines, l => l.Contains($"│ {d.Card.Name} ") && l.Contains(d.Card.Reference));
        var bench = Run("bench", "--rows", "1024", "--classes", "100", "--runs", "1");
        Assert.Equal(0, bench.Code);
        Assert.Contains(bench.Out.Split('\n'), l => l.Contains("1024×100") && l.Contains("│ ce "));
        Assert.Contains(bench.Out.Split('\n'), l => l.Contains("loss+grad s") && l.Contains("of memory copy"));
    }

    [Fact]
    public void Format_tsv_and_markdown_print_plain_tables()
    {
        var tsv = Run("list", "--format", "tsv");
        Assert.Equal(0, tsv.Code);
        var rows = tsv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(LossRegistry.All.Count + 1, rows.Length);
        Assert.All(rows, row => Assert.Equal(4, row.Split('\t').Length));
        Assert.Equal("spec\tfamily\tparameters (default)\treference", rows[0]);

        var md = Run("list", "--format", "markdown");
        var mdRows = md.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(LossRegistry.All.Count + 2, mdRows.Length);
        Assert.All(mdRows, row => Assert.StartsWith("|", row));

        var train = Run("train", "--data", "iris", "--epochs", "1", "--model", "mlp:8", "--format", "tsv");
        Assert.Contains("\naccuracy\t", train.Out);
    }

    // ---------------------------------------------------------------- 6. defaults

    [Fact]
    public void Train_names_the_tested_epoch_which_is_the_best_on_validation_by_default()
    {
        var best = Run("train", "--data", "wine", "--epochs", "40", "--json");
        using var doc = JsonDocument.Parse(best.Out);
        int epoch = doc.RootElement.GetProperty("best_epoch").GetInt32();
        var accuracies = doc.RootElement.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("val_accuracy").GetDouble()).ToArray();
        Assert.Equal(accuracies.Max(), accuracies[epoch - 1]);
        Assert.True(epoch < 40);

        var text = Run("train", "--data", "wine", "--epochs", "40");
        Assert.Contains($"tested model: epoch {epoch} of 40 (best validation accuracy", text.Out);
        var last = Run("train", "--data", "wine", "--epochs", "40", "--model-epoch", "last");
        Assert.Contains("tested model: epoch 40 of 40 (the last epoch)", last.Out);
    }

    [Theory]
    [InlineData(2, 0.25)]
    [InlineData(3, 0.33)]
    [InlineData(4, 0.38)]
    [InlineData(10, 0.4)]
    public void The_default_noise_rate_adapts_to_the_number_of_classes(int classes, double rate) =>
        Assert.Equal(rate, WorkbenchCommands.DefaultNoiseRate(classes));

    [Fact]
    public void Compare_says_which_default_noise_it_chose()
    {
        string dir = Path.Combine(Tmp, "bc");
        var r = Run("compare", "--data", "breast_cancer", "--losses", "bce", "--seeds", "1", "--epochs", "1", "--model", "mlp:8", "--out", dir);
        Assert.Equal(0, r.Code);
        Assert.Contains("Noise: none and symmetric:0.25, the default for 2 classes", r.Out);
        Assert.Contains("symmetric:0.25", File.ReadAllText(Path.Combine(dir, "summary.md")));
        Assert.DoesNotContain("symmetric:0.4", r.Out);
    }

    [Fact]
    public void Bench_reports_a_copy_larger_than_the_last_level_cache_next_to_the_shapes_own()
    {
        long llc = BenchCommand.LastLevelCacheBytes();
        Assert.True(llc > 0);
        Assert.True(BenchCommand.MemoryCopyBytes(llc) >= 4 * llc);
        var r = Run("bench", "--rows", "64", "--classes", "10", "--runs", "1", "--json");
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("memory_copy_bytes").GetInt64() >= 2 * root.GetProperty("llc_bytes").GetInt64());
        Assert.True(root.GetProperty("bytes").GetInt64() < root.GetProperty("llc_bytes").GetInt64());
        Assert.True(root.GetProperty("memory_copy_gbps").GetDouble() > 0);
        var text = Run("bench", "--rows", "64", "--classes", "10", "--runs", "1");
        Assert.Contains("(memory)", text.Out);
        Assert.Contains("(cache if small)", text.Out);
    }

    [Fact]
    public void Linear_ce_never_reports_more_extra_memory_fused_than_materialised()
    {
        // In its own process: the allocation counter is per process, and the tests running beside this one allocate too.
        // One thread: with two, the first call measured also pays each worker thread's one-time GEMM scratch, and how many
        // workers take a task depends on the machine's load (the fused figure varied from 8 to 13 MB under load).
        foreach (string[] shape in new[] { new[] { "256", "4000", "64" }, new[] { "4", "10", "1024" } })
        {
            var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "LossKit.Cli.dll"), "bench", "--loss", "linear_ce",
                         "--rows", shape[0], "--classes", shape[1], "--dim", shape[2], "--runs", "1", "--threads", "1", "--json" })
                start.ArgumentList.Add(a);
            using var process = System.Diagnostics.Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, error);
            using var doc = JsonDocument.Parse(output);
            long fused = doc.RootElement.GetProperty("fused_extra_bytes").GetInt64();
            long materialised = doc.RootElement.GetProperty("materialized_extra_bytes").GetInt64();
            // 16 KiB of slack for what the runtime itself allocates on a loaded machine during a first call (thread-pool
            // and timer objects); the scratch compared is megabytes at the first shape and the same path at the second.
            Assert.True(fused <= materialised + 16384, $"{string.Join('×', shape)}: fused {fused} B > materialised {materialised} B");
        }
    }
}
