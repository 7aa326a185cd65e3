using System.Text;
using LossKit.Metrics;
using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public class SvmLightTests
{
    private static Stream Text(string s) => new MemoryStream(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void TheEmbeddedLetorSampleHasLightGbmsQueriesAndLabels()
    {
        var (train, test) = SvmLight.LoadEmbedded("letor-sample");
        Assert.Equal(201, train.Queries.Count);
        Assert.Equal(3005, train.Items);
        Assert.Equal(50, test.Queries.Count);
        Assert.Equal(300, train.Features);
        Assert.Equal(300, test.Features);
        Assert.Equal(1, train.Queries[0].Items);   // the first line of rank.train.query
        var labels = train.Queries.SelectMany(q => q.Labels).GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(645, labels[0]);
        Assert.Equal(1211, labels[1]);
        Assert.Equal(69, labels[4]);
        Assert.All(train.Queries.SelectMany(q => q.Features), v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void QueriesComeFromQidFieldsWhenThereIsNoQueryFile()
    {
        var set = SvmLight.Read(Text("2 qid:7 1:0.5 3:1 # a comment\n0 qid:7 2:0.25\n1 qid:9 3:2\n"), "tiny.txt");
        Assert.Equal(3, set.Features);
        Assert.Equal([2, 1], set.Queries.Select(q => q.Items));
        Assert.Equal([0.5f, 0, 1, 0, 0.25f, 0], set.Queries[0].Features);
        Assert.Equal([2f, 0], set.Queries[0].Labels);
    }

    [Fact]
    public void BadLinesAreNamedWithLineAndColumn()
    {
        var e = Assert.Throws<DataFormatException>(() => SvmLight.Read(Text("1 qid:1 1:0.5\nx qid:1 1:1\n0 qid:2 0:1\n0 qid:2 4:abc\n"), "bad.txt"));
        Assert.Equal([2, 3, 4], e.Problems.Select(p => p.Line));
        Assert.Equal([1, 3, 3], e.Problems.Select(p => p.Column));
        Assert.Contains("bad.txt", e.Message);
        var noGroups = Assert.Throws<DataFormatException>(() => SvmLight.Read(Text("1 1:0.5\n"), "nogroups.txt"));
        Assert.Contains("qid", noGroups.Problems[0].Problem);
        var sizes = Assert.Throws<DataFormatException>(() => SvmLight.Read(Text("1 1:0.5\n0 2:1\n"), "d.txt", Text("1\n2\n"), "d.query"));
        Assert.Contains("add up to 3 items but the data file has 2", sizes.Message);
    }

    [Fact]
    public void RandomScoresGiveTheBaselineNdcgTheIssueQuotes()
    {
        // Sanity of data and metric together: random scores on the test queries reach NDCG@5 ≈ 0.48 (averaged over seeds).
        var (_, test) = SvmLight.LoadEmbedded("letor-sample");
        int length = test.Queries.Max(q => q.Items);
        var labels = new double[test.Queries.Count * length];
        var mask = new double[labels.Length];
        for (int q = 0; q < test.Queries.Count; q++)
            for (int i = 0; i < test.Queries[q].Items; i++) (labels[q * length + i], mask[q * length + i]) = (test.Queries[q].Labels[i], 1);
        double sum = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed);
            double[] scores = [.. labels.Select(_ => rng.NextDouble())];
            sum += RankingMetrics.NdcgAt<double>(scores, length, labels, mask, 5).Average();
        }
        Assert.InRange(sum / 20, 0.43, 0.53);
    }
}
