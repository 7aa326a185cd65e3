using System.Globalization;

namespace LossKit.Scaling;

/// <summary>
/// A table of named numeric columns: a CSV file with a header line (comma-separated, invariant-culture numbers), or an
/// embedded data set. <c>chinchilla</c> is embedded: the 245 runs of Hoffmann et al. (2022, Figure 4) as extracted by
/// Besiroglu et al. (2024), columns <c>params</c>, <c>tokens</c>, <c>flops</c>, <c>loss</c> (data/scaling/README.md).
/// </summary>
public sealed class ScalingTable
{
    private readonly Dictionary<string, double[]> _columns;

    public ScalingTable(string name, IReadOnlyList<string> columns, IReadOnlyList<double[]> values)
    {
        Name = name;
        Columns = columns;
        _columns = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Count; i++) _columns[columns[i]] = values[i];
        Rows = values.Count == 0 ? 0 : values[0].Length;
    }

    /// <summary>The embedded data sets.</summary>
    public static IReadOnlyList<string> EmbeddedNames { get; } = ["chinchilla"];

    /// <summary>Where the table came from (file path or embedded name), for messages.</summary>
    public string Name { get; }
    public IReadOnlyList<string> Columns { get; }
    public int Rows { get; }

    /// <summary>The column with this name; a missing one is an error that lists the columns there are.</summary>
    public double[] Column(string name) =>
        _columns.TryGetValue(name, out double[]? v) ? v
        : throw new ArgumentException($"{Name} has no column '{name}'. Its columns: {string.Join(", ", Columns)}.");

    /// <summary>An embedded name (<see cref="EmbeddedNames"/>) or a CSV file path.</summary>
    public static ScalingTable Load(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        if (EmbeddedNames.Contains(nameOrPath, StringComparer.OrdinalIgnoreCase)) return Embedded(nameOrPath.ToLowerInvariant());
        if (!File.Exists(nameOrPath))
            throw new FileNotFoundException($"No data file '{nameOrPath}' (and no embedded data set of that name; embedded: {string.Join(", ", EmbeddedNames)}).");
        using var reader = new StreamReader(nameOrPath);
        return ReadCsv(reader, nameOrPath);
    }

    /// <summary>An embedded data set by name.</summary>
    public static ScalingTable Embedded(string name)
    {
        using Stream stream = typeof(ScalingTable).Assembly.GetManifestResourceStream("LossKit.Scaling.Data." + name + ".csv")
            ?? throw new ArgumentException($"No embedded data set '{name}'. Embedded: {string.Join(", ", EmbeddedNames)}.");
        using var reader = new StreamReader(stream);
        return ReadCsv(reader, name);
    }

    /// <summary>A CSV with a header line; every other non-empty line has one number per column.</summary>
    public static ScalingTable ReadCsv(TextReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string? header = reader.ReadLine();
        while (header is not null && header.Trim().Length == 0) header = reader.ReadLine();
        if (header is null) throw new InvalidDataException($"{name} is empty: expected a header line naming the columns.");
        string[] columns = [.. header.Split(',').Select(c => c.Trim().Trim('"'))];
        if (columns.Any(c => c.Length == 0)) throw new InvalidDataException($"{name}: the header line has an empty column name.");
        if (columns.Distinct(StringComparer.Ordinal).Count() != columns.Length) throw new InvalidDataException($"{name}: the header names a column twice.");
        var values = columns.Select(_ => new List<double>()).ToArray();
        int lineNo = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            string[] cells = line.Split(',');
            if (cells.Length != columns.Length)
                throw new InvalidDataException($"{name}, line {lineNo}: {cells.Length} values for {columns.Length} columns.");
            for (int c = 0; c < cells.Length; c++)
            {
                string cell = cells[c].Trim().Trim('"');
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new InvalidDataException($"{name}, line {lineNo}, column '{columns[c]}': '{cell}' is not a number.");
                values[c].Add(v);
            }
        }
        return new ScalingTable(name, columns, [.. values.Select(v => v.ToArray())]);
    }
}
