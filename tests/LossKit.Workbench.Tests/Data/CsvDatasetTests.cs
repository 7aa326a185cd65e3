using System.IO.Compression;
using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public sealed class CsvDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void NumericLabelsAreSortedDistinctValues()
    {
        string p = _dir.Write("t.csv", "a,label,b\n1,3,2\n4,1,5\n7,2,8\n0.5,3,-1e-2\n");
        var d = CsvDataset.Load(p, "label");
        Assert.Equal("t", d.Name);
        Assert.Equal(DatasetTask.Classification, d.Task);
        Assert.Equal(new[] { "a", "b" }, d.FeatureNames);
        Assert.Equal(new[] { "1", "2", "3" }, d.ClassNames);
        Assert.Equal(new[] { 2, 0, 1, 2 }, d.Labels);
        Assert.Equal(new[] { 1f, 2f, 4f, 5f, 7f, 8f, 0.5f, -0.01f }, d.Features);
    }

    [Fact]
    public void StringLabelsAreSortedOrdinally()
    {
        string p = _dir.Write("s.csv", "x,species\n1,virginica\n2,Setosa\n3,setosa\n4,virginica\n");
        var d = CsvDataset.Load(p, "species");
        Assert.Equal(new[] { "Setosa", "setosa", "virginica" }, d.ClassNames);
        Assert.Equal(new[] { 2, 0, 1, 2 }, d.Labels);
    }

    [Fact]
    public void TwoClassesAreBinaryUnlessAskedOtherwise()
    {
        string p = _dir.Write("b.csv", "x,y\n1,yes\n2,no\n");
        Assert.Equal(DatasetTask.Binary, CsvDataset.Load(p, "y").Task);
        Assert.Equal(DatasetTask.Classification, CsvDataset.Load(p, "y", DatasetTask.Classification).Task);
        string three = _dir.Write("c.csv", "x,y\n1,a\n2,b\n3,c\n");
        var e = Assert.Throws<ArgumentException>(() => CsvDataset.Load(three, "y", DatasetTask.Binary));
        Assert.Contains("exactly 2", e.Message);
    }

    [Fact]
    public void RegressionTargets()
    {
        string p = _dir.Write("r.csv", "x1,x2,target\n1,2,0.25\n3,4,-7\n");
        var d = CsvDataset.Load(p, "target", DatasetTask.Regression);
        Assert.Equal(DatasetTask.Regression, d.Task);
        Assert.Null(d.Labels);
        Assert.Equal(new[] { 0.25f, -7f }, d.Targets);
        Assert.Equal(0, d.Classes);
    }

    [Fact]
    public void RegressionRejectsTextTargetsWithLineNumbers()
    {
        string p = _dir.Write("r.csv", "x,target\n1,2\n3,big\n");
        var e = Assert.Throws<DataFormatException>(() => CsvDataset.Load(p, "target", DatasetTask.Regression));
        Assert.Equal(new[] { 3 }, e.Lines);
    }

    [Fact]
    public void BadRowsAreAllReportedWithLineNumbers()
    {
        string p = _dir.Write("bad.csv",
            "a,b,label\n" +      // 1
            "1,2,x\n" +          // 2 ok
            "1,2\n" +            // 3 too few columns
            "1,abc,y\n" +        // 4 not a number
            "1,2,x\n" +          // 5 ok
            "1,,x\n" +           // 6 empty cell
            "NaN,2,x\n" +        // 7 not finite
            "1,2,3,4\n" +        // 8 too many
            "\n" +               // 9 blank line in the middle
            "1,2,\n" +           // 10 empty label
            "1,2,x\n" +          // 11 ok
            "\n\n");             // trailing blank lines: fine
        var e = Assert.Throws<DataFormatException>(() => CsvDataset.Load(p, "label"));
        Assert.Equal(new[] { 3, 4, 6, 7, 8, 9, 10 }, e.Lines);
        Assert.Equal(p, e.Source);
        Assert.StartsWith($"{p}: 7 bad lines, nothing loaded: line 3: expected 3 columns, found 2; line 4, column 2: column 'b' value 'abc' is not a number; ", e.Message);
        Assert.Contains("line 6, column 2: column 'b' is empty", e.Message);
        Assert.Contains("line 7, column 1: column 'a' value 'NaN' is not finite", e.Message);
        Assert.Contains("and 2 more (lines 9, 10)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ManyBadRowsAreSummarised()
    {
        var lines = new List<string> { "a,y" };
        for (int i = 0; i < 40; i++) lines.Add(i % 2 == 0 ? "1,0" : "bad,0");
        string p = _dir.Write("many.csv", string.Join("\n", lines));
        var e = Assert.Throws<DataFormatException>(() => CsvDataset.Load(p, "y"));
        Assert.Equal(20, e.Problems.Count);
        Assert.Contains("20 bad lines", e.Message);
        Assert.Contains("and 15 more (lines 13, 15,", e.Message);
        Assert.EndsWith(", …).", e.Message);
    }

    [Fact]
    public void TrailingBlankLinesAndCrLfAreFine()
    {
        string p = _dir.Write("crlf.csv", "a,y\r\n1,0\r\n2,1\r\n\r\n   \r\n");
        var d = CsvDataset.Load(p, "y");
        Assert.Equal(2, d.Rows);
    }

    [Fact]
    public void QuotedFieldsAndWhitespace()
    {
        string p = _dir.Write("q.csv", "\"feat, one\", y \n 1.5 ,\"a, b\"\n2,\"say \"\"hi\"\"\"\n");
        var d = CsvDataset.Load(p, "y");
        Assert.Equal(new[] { "feat, one" }, d.FeatureNames);
        Assert.Equal(new[] { "a, b", "say \"hi\"" }, d.ClassNames);
        Assert.Equal(new[] { 1.5f, 2f }, d.Features);
    }

    [Fact]
    public void GzipCsvIsRead()
    {
        string p = _dir.File("z.csv.gz");
        using (var f = File.Create(p))
        using (var z = new GZipStream(f, CompressionLevel.Fastest))
        using (var w = new StreamWriter(z))
            w.Write("a,y\n1,0\n2,1\n3,2\n");
        var d = CsvDataset.Load(p, "y");
        Assert.Equal("z", d.Name);
        Assert.Equal(3, d.Classes);
    }

    [Fact]
    public void MissingLabelColumnListsColumns()
    {
        string p = _dir.Write("m.csv", "alpha,beta\n1,2\n");
        var e = Assert.Throws<ArgumentException>(() => CsvDataset.Load(p, "gamma"));
        Assert.Equal("labelColumn", e.ParamName);
        Assert.Contains("'gamma'", e.Message);
        Assert.Contains("alpha, beta", e.Message);
    }

    [Fact]
    public void LabelColumnMatchesCaseInsensitivelyWhenUnique()
    {
        string p = _dir.Write("c.csv", "x,Label\n1,0\n2,1\n3,0\n");
        Assert.Equal(new[] { 0, 1, 0 }, CsvDataset.Load(p, "label").Labels);
    }

    [Fact]
    public void HeaderProblemsAreReported()
    {
        Assert.Contains("twice", Assert.Throws<DataFormatException>(() => CsvDataset.Load(_dir.Write("d.csv", "a,a,y\n1,2,0\n"), "y")).Message);
        Assert.Contains("empty", Assert.Throws<DataFormatException>(() => CsvDataset.Load(_dir.Write("e.csv", ""), "y")).Message);
        Assert.Contains("no data rows", Assert.Throws<DataFormatException>(() => CsvDataset.Load(_dir.Write("h.csv", "a,y\n\n"), "y")).Message);
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        string p = _dir.File("absent.csv");
        var e = Assert.Throws<FileNotFoundException>(() => CsvDataset.Load(p, "y"));
        Assert.Contains(p, e.Message);
    }

    [Fact]
    public void UnterminatedQuoteIsABadRow()
    {
        string p = _dir.Write("u.csv", "a,y\n1,\"open\n2,1\n");
        var e = Assert.Throws<DataFormatException>(() => CsvDataset.Load(p, "y"));
        Assert.Equal(new[] { 2 }, e.Lines);
        Assert.Contains("unterminated", e.Message);
    }
}
