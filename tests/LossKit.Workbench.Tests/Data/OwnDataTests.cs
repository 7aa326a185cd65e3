using LossKit.Workbench.Data;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Data;

/// <summary>A user's own data file through the catalog (what --data FILE and --target reach).</summary>
public sealed class OwnDataTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_csv_file_loads_through_the_catalog_with_the_last_column_as_target()
    {
        string p = _dir.Write("pets.csv", "weight,height,kind\n1,2,dog\n3,4,cat\n5,6,dog\n");
        Assert.True(DatasetCatalog.IsFile(p));
        var d = DatasetCatalog.Load(p, null, null);
        Assert.Equal("pets", d.Name);
        Assert.Equal(new[] { "weight", "height" }, d.FeatureNames);
        Assert.Equal(new[] { "cat", "dog" }, d.ClassNames);
        Assert.Equal(new[] { 1, 0, 1 }, d.Labels);
        string q = _dir.Write("q.csv", "label,f1,f2\n1,0.5,2\n0,1.5,3\n");
        var byTarget = DatasetCatalog.Load(q, null, "label");
        Assert.Equal(new[] { "f1", "f2" }, byTarget.FeatureNames);
        Assert.Equal(new[] { 1, 0 }, byTarget.Labels);
        Assert.Equal(p, RunConfig.CanonicalDataName(p));
    }

    [Fact]
    public void A_jsonl_file_loads_with_integer_or_string_targets()
    {
        string p = _dir.Write("rows.jsonl", "{\"a\": 1, \"b\": 2.5, \"y\": 2}\n\n{\"b\": -1, \"a\": 0, \"y\": 0}\n{\"a\": 3, \"b\": 1e-3, \"y\": 2}\n");
        var d = DatasetCatalog.Load(p, null, null);
        Assert.Equal(new[] { "a", "b" }, d.FeatureNames);
        Assert.Equal(new[] { "0", "2" }, d.ClassNames);
        Assert.Equal(new[] { 1, 0, 1 }, d.Labels);
        Assert.Equal(new[] { 1f, 2.5f, 0f, -1f, 3f, 1e-3f }, d.Features);
        string s = _dir.Write("s.jsonl", "{\"label\": \"spam\", \"x\": 1}\n{\"label\": \"ham\", \"x\": 2}\n");
        var t = DatasetCatalog.Load(s, null, "label");
        Assert.Equal(new[] { "ham", "spam" }, t.ClassNames);
        Assert.Equal(DatasetTask.Binary, t.Task);
    }

    [Fact]
    public void Loader_errors_name_the_file_line_and_column()
    {
        string csv = _dir.Write("bad.csv", "a,b,y\n1,2,x\n1,zz,y\n");
        var e = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(csv, null, null));
        Assert.Contains($"{csv}: 1 bad line, nothing loaded: line 3, column 2: column 'b' value 'zz' is not a number", e.Message);

        string jsonl = _dir.Write("bad.jsonl", "{\"a\": 1, \"y\": 2}\n{\"a\": \"q\", \"y\": 1}\n{\"a\": 1, \"y\": 1\n{\"a\": 1}\n");
        var j = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load(jsonl, null, null));
        Assert.Contains($"{jsonl}: 3 bad lines", j.Message);
        Assert.Contains("line 2, column 7: feature \"a\" is the string 'q': expected a finite number", j.Message);
        Assert.Contains("line 3, column ", j.Message);
        Assert.Contains("line 4, column 1: field \"y\" is missing", j.Message);
        Assert.DoesNotContain("LineNumber", j.Message);
        Assert.DoesNotContain('\n', j.Message);
    }

    [Fact]
    public void Numeric_targets_that_are_not_whole_numbers_are_regression_and_refused()
    {
        string p = _dir.Write("r.csv", "x,price\n1,10.5\n2,3\n");
        var e = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load(p, null, null));
        Assert.Contains("not whole", e.Message);
        Assert.Contains("--target", e.Message);
    }

    [Fact]
    public void A_target_for_a_built_in_set_or_a_missing_column_is_an_error()
    {
        Assert.Contains("data file", Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("iris", null, "species")).Message);
        string p = _dir.Write("t.csv", "a,b\n1,2\n");
        Assert.Contains("target column 'c' is not in the header; columns are: a, b",
            Assert.Throws<ArgumentException>(() => DatasetCatalog.Load(p, null, "c")).Message);
    }

    [Fact]
    public void A_run_on_a_csv_file_lists_its_classes_in_the_record()
    {
        var rows = new System.Text.StringBuilder("x1,x2,species\n");
        for (int i = 0; i < 90; i++) rows.Append($"{i % 3 * 2 + (i * 7 % 10) / 10.0},{i % 5},{new[] { "cat", "dog", "fox" }[i % 3]}\n");
        string p = _dir.Write("animals.csv", rows.ToString());
        var r = Trainer.Run(new RunConfig { Data = p, Model = "mlp:8", Epochs = 2 });
        Assert.Equal(new[] { "cat", "dog", "fox" }, r.Dataset.ClassNames);
        Assert.Equal(3, r.Dataset.Classes);
        Assert.Null(new RunConfig().Target);
        // The built-in sets' configurations (and so their keys) do not gain the field.
        Assert.DoesNotContain("\"target\"", System.Text.Json.JsonSerializer.Serialize(new RunConfig().Canonical(), RecordJson.Options));
    }
}
