using System.Globalization;
using System.Reflection;

namespace LossKit.Workbench.Data;

/// <summary>One query of a learning-to-rank set: its items' dense features (row-major, items × features) and their
/// graded relevance labels.</summary>
public sealed record RankingQuery(float[] Features, float[] Labels)
{
    /// <summary>The number of items.</summary>
    public int Items => Labels.Length;
}

/// <summary>A learning-to-rank set: queries of items with <see cref="Features"/> dense features each.</summary>
public sealed record RankingDataset(string Name, int Features, IReadOnlyList<RankingQuery> Queries)
{
    /// <summary>All items of all queries.</summary>
    public int Items => Queries.Sum(q => q.Items);
}

/// <summary>
/// Reads svmlight/LibSVM ranking files — one item per line, <c>label [qid:Q] index:value ...</c>, 1-based feature
/// indices, <c>#</c> starting a comment — with the queries given either by <c>qid:</c> fields (consecutive items with
/// the same qid form a query) or by a separate query file (one item count per line, in file order, as LightGBM's
/// <c>.query</c> files). Every bad line is reported with its 1-based line and column (the token's position on the
/// line) in one <see cref="DataFormatException"/>; nothing is loaded from a bad file.
/// </summary>
public static class SvmLight
{
    /// <summary>The embedded learning-to-rank sets: <c>letor-sample</c> (LightGBM's lambdarank example; see data/README.md).</summary>
    public static IReadOnlyList<string> Embedded { get; } = ["letor-sample"];

    /// <summary>The train and test split of an embedded set (<see cref="Embedded"/>); both have the same feature count
    /// (the larger of the two files' largest index).</summary>
    public static (RankingDataset Train, RankingDataset Test) LoadEmbedded(string name)
    {
        if (!Embedded.Contains(name))
            throw new ArgumentException($"unknown ranking data set '{name}': expected one of {string.Join(", ", Embedded)}.", nameof(name));
        RankingDataset train = Read(Resource($"{name}.train.gz"), $"{name}.train.gz", Resource($"{name}.train.query"), $"{name}.train.query");
        RankingDataset test = Read(Resource($"{name}.test.gz"), $"{name}.test.gz", Resource($"{name}.test.query"), $"{name}.test.query");
        int features = Math.Max(train.Features, test.Features);
        return (Widen(train, features) with { Name = name + " (train)" }, Widen(test, features) with { Name = name + " (test)" });
    }

    /// <summary>Reads the files at <paramref name="path"/> (gzip or plain) and, when given, its query file.</summary>
    public static RankingDataset ReadFile(string path, string? queryPath = null)
    {
        using Stream data = DataFiles.Open(path);
        using Stream? query = queryPath is null ? null : DataFiles.Open(queryPath);
        return Read(data, Path.GetFileName(path), query, queryPath is null ? null : Path.GetFileName(queryPath));
    }

    /// <summary>Parses an svmlight stream; the queries come from <paramref name="queryFile"/> when it is given, else from
    /// the <c>qid:</c> fields (which every line must then have).</summary>
    public static RankingDataset Read(Stream data, string source, Stream? queryFile = null, string? querySource = null)
    {
        var labels = new List<float>();
        var rows = new List<(int Index, float Value)[]>();
        var qids = new List<string?>();
        var problems = new List<LineProblem>();
        int maxIndex = 0, lineNumber = 0;
        using (var reader = new StreamReader(DataFiles.MaybeDecompress(data)))
        {
            for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                lineNumber++;
                int hash = line.IndexOf('#');
                string[] tokens = (hash >= 0 ? line[..hash] : line).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (tokens.Length == 0) continue;
                string? problem = null;
                int column = 0;
                if (!float.TryParse(tokens[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float label) || !(label >= 0) || float.IsInfinity(label))
                    (problem, column) = ($"label '{tokens[0]}' is not a relevance ≥ 0", 1);
                string? qid = null;
                var features = new List<(int, float)>();
                for (int t = 1; t < tokens.Length && problem is null; t++)
                {
                    int colon = tokens[t].IndexOf(':');
                    if (colon <= 0) { (problem, column) = ($"'{tokens[t]}' is not index:value", t + 1); break; }
                    string key = tokens[t][..colon], value = tokens[t][(colon + 1)..];
                    if (key == "qid") { qid = value; continue; }
                    if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index < 1)
                        (problem, column) = ($"feature index '{key}' is not a whole number ≥ 1", t + 1);
                    else if (!float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                        (problem, column) = ($"feature value '{value}' is not a finite number", t + 1);
                    else
                    {
                        features.Add((index, v));
                        maxIndex = Math.Max(maxIndex, index);
                    }
                }
                if (problem is null && queryFile is null && qid is null) (problem, column) = ("no qid: field and no query file to group the items", 0);
                if (problem is not null) { problems.Add(new LineProblem(lineNumber, problem, column)); continue; }
                labels.Add(label);
                rows.Add([.. features]);
                qids.Add(qid);
            }
        }
        if (problems.Count > 0) throw new DataFormatException(source, problems);
        int[] counts = queryFile is null ? GroupsFromQids(qids) : ReadQueryFile(queryFile, querySource ?? "query file", rows.Count);
        var queries = new List<RankingQuery>(counts.Length);
        int next = 0;
        foreach (int count in counts)
        {
            var x = new float[count * maxIndex];
            var y = new float[count];
            for (int i = 0; i < count; i++, next++)
            {
                y[i] = labels[next];
                foreach (var (index, value) in rows[next]) x[i * maxIndex + index - 1] = value;
            }
            queries.Add(new RankingQuery(x, y));
        }
        return new RankingDataset(source, maxIndex, queries);
    }

    private static int[] GroupsFromQids(List<string?> qids)
    {
        var counts = new List<int>();
        for (int i = 0; i < qids.Count; i++)
            if (i == 0 || qids[i] != qids[i - 1]) counts.Add(1);
            else counts[^1]++;
        return [.. counts];
    }

    private static int[] ReadQueryFile(Stream queryFile, string source, int items)
    {
        var counts = new List<int>();
        var problems = new List<LineProblem>();
        using var reader = new StreamReader(DataFiles.MaybeDecompress(queryFile));
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            if (int.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count >= 1) counts.Add(count);
            else problems.Add(new LineProblem(lineNumber, $"'{line.Trim()}' is not an item count ≥ 1", 1));
        }
        if (problems.Count > 0) throw new DataFormatException(source, problems);
        long total = counts.Sum(c => (long)c);
        if (total != items)
            throw new DataFormatException(source, [new LineProblem(lineNumber, $"the query sizes add up to {total} items but the data file has {items}")]);
        return [.. counts];
    }

    private static RankingDataset Widen(RankingDataset set, int features)
    {
        if (set.Features == features) return set;
        var queries = set.Queries.Select(q =>
        {
            var x = new float[q.Items * features];
            for (int i = 0; i < q.Items; i++) q.Features.AsSpan(i * set.Features, set.Features).CopyTo(x.AsSpan(i * features));
            return q with { Features = x };
        }).ToList();
        return set with { Features = features, Queries = queries };
    }

    private static Stream Resource(string fileName) =>
        Assembly.GetExecutingAssembly().GetManifestResourceStream("LossKit.Data." + fileName)
        ?? throw new InvalidOperationException($"embedded data file {fileName} is missing from LossKit.Workbench.dll.");
}
