using LossKit.Scaling;

namespace LossKit.Scaling.Tests;

/// <summary>JSON-lines input (the workbench's results.jsonl): flattened columns, text columns, row selection.</summary>
public class JsonLinesTests
{
    private static ScalingTable Read(string text) => ScalingTable.ReadJsonLines(new StringReader(text), "results.jsonl");

    [Fact]
    public void FlattensNumbersAndTextByPath()
    {
        ScalingTable t = Read("""
            {"config":{"loss":"ce","epochs":5},"dataset":{"train_rows":100},"test":{"nll":0.5},"diverged":false,"epochs":[{"epoch":1}]}
            {"config":{"loss":"gce(q=0.7)","epochs":5},"dataset":{"train_rows":200},"test":{"nll":0.4,"ece":0.1},"diverged":false}
            """);
        Assert.Equal(2, t.Rows);
        Assert.Equal(["config.epochs", "dataset.train_rows", "test.nll", "test.ece"], t.Columns);
        Assert.Equal([100, 200], t.Column("dataset.train_rows"));
        Assert.True(double.IsNaN(t.Column("test.ece")[0]));
        Assert.Equal(["ce", "gce(q=0.7)"], t.TextColumn("config.loss"));
        Assert.Equal(["false", "false"], t.TextColumn("diverged"));
    }

    [Fact]
    public void WhereSelectsRowsByTextOrNumber()
    {
        ScalingTable t = Read("""
            {"loss":"ce","n":1,"y":2}
            {"loss":"focal","n":2,"y":3}
            {"loss":"ce","n":3,"y":4}
            """);
        Assert.Equal([1, 3], t.Where("loss", "ce").Column("n"));
        Assert.Equal([3], t.Where("n", "2").Column("y"));
        Assert.Equal("results.jsonl: no row has loss = mae. Its values: ce, focal.", Assert.Throws<ArgumentException>(() => t.Where("loss", "mae")).Message);
        Assert.Equal("results.jsonl has no column 'model'. Its columns: n, y, loss.", Assert.Throws<ArgumentException>(() => t.Where("model", "x")).Message);
        Assert.Equal("results.jsonl: column 'n' is numeric; 'two' is not a number.", Assert.Throws<ArgumentException>(() => t.Where("n", "two")).Message);
    }

    [Fact]
    public void BadLinesSayWhere()
    {
        Assert.StartsWith("results.jsonl, line 2: not a JSON object", Assert.Throws<InvalidDataException>(() => Read("{\"a\":1}\n[1,2]\n")).Message);
        Assert.StartsWith("results.jsonl, line 1: not a JSON object (", Assert.Throws<InvalidDataException>(() => Read("{oops\n")).Message);
        Assert.Equal("results.jsonl has no JSON lines.", Assert.Throws<InvalidDataException>(() => Read("\n\n")).Message);
    }
}
