using System.Globalization;

namespace LossKit.Workbench.Experiments;

/// <summary>
/// One of <see cref="Count"/> parts of a sweep grid: <c>i/n</c> with 0 ≤ i &lt; n takes the runs at positions
/// p ≡ i (mod n) of the expanded grid, so the n shards are disjoint, together make the whole grid, and differ in size by at
/// most one run. Shards write to <c>results.shard-i-of-n.jsonl</c>.
/// </summary>
public readonly record struct Shard
{
    public Shard(int index, int count)
    {
        if (count < 1) throw new ArgumentException($"shard count {count} must be at least 1.");
        if (index < 0 || index >= count)
            throw new ArgumentException($"shard {index}/{count} is out of range; the index i of i/n must satisfy 0 ≤ i < n (here 0..{count - 1}).");
        Index = index;
        Count = count;
    }

    /// <summary>0-based shard index.</summary>
    public int Index { get; }

    /// <summary>Number of shards.</summary>
    public int Count { get; }

    /// <summary>Parses <c>i/n</c>, e.g. <c>0/4</c>.</summary>
    public static Shard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n))
            throw new ArgumentException($"shard '{text}' is not of the form i/n (e.g. 0/4, with 0 ≤ i < n).");
        return new Shard(i, n);
    }

    /// <summary>The runs of this shard, in grid order.</summary>
    public IReadOnlyList<T> Select<T>(IReadOnlyList<T> grid)
    {
        var mine = new List<T>();
        for (int p = Index; p < grid.Count; p += Count) mine.Add(grid[p]);
        return mine;
    }

    /// <summary>The results file this shard appends to.</summary>
    public string FileName => $"results.shard-{Index}-of-{Count}.jsonl";

    public override string ToString() => $"{Index}/{Count}";
}
