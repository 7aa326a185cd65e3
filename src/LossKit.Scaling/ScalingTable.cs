using System.Globalization;
using System.Text.Json;

namespace LossKit.Scaling;

/// <summary>
/// A table of named numeric columns: a CSV file with a header line (comma-separated, invariant-culture numbers), or an
/// embedded data set. <c>chinchilla</c> is embedded: the 245 runs of Hoffmann et al. (2022, Figure 4) as extracted by
/// Besiroglu et al. (2024), columns <c>params</c>, <c>tokens</c>, <c>flops</c>, <c>loss</c> (data/scaling/README.md).
/// </summary>
public sealed class ScalingTable
{
    private readonly Dictionary<string, double[]> _columns;
    private readonly Dictionary<string, string[]> _text;

    /// <summary>Numeric columns, and optionally text columns (a JSON-lines file's strings, e.g. <c>config.loss</c>),
    /// which <see cref="Where"/> can select rows by.</summary>
    public ScalingTable(string name, IReadOnlyList<string> columns, IReadOnlyList<double[]> values, IReadOnlyDictionary<string, string[]>? text = null)
    {
        Name = name;
        Columns = columns;
        _columns = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Count; i++) _columns[columns[i]] = values[i];
        _text = text is null ? [] : new Dictionary<string, string[]>(text, StringComparer.Ordinal);
        Rows = values.Count > 0 ? values[0].Length : _text.Count > 0 ? _text.Values.First().Length : 0;
    }

    /// <summary>Names of the text columns.</summary>
    public IReadOnlyList<string> TextColumns => [.. _text.Keys];

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

    /// <summary>A text column; a missing one is an error that lists the text columns there are.</summary>
    public string[] TextColumn(string name) =>
        _text.TryGetValue(name, out string[]? v) ? v
        : throw new ArgumentException($"{Name} has no text column '{name}'. Its text columns: {(_text.Count == 0 ? "none" : string.Join(", ", _text.Keys))}.");

    /// <summary>The rows whose column <paramref name="column"/> (text, or numeric compared as a number) equals
    /// <paramref name="value"/>; none matching is an error that lists the values there are.</summary>
    public ScalingTable Where(string column, string value)
    {
        bool[] keep;
        if (_text.TryGetValue(column, out string[]? text)) keep = [.. text.Select(t => t == value)];
        else if (_columns.TryGetValue(column, out double[]? numbers))
        {
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new ArgumentException($"{Name}: column '{column}' is numeric; '{value}' is not a number.");
            keep = [.. numbers.Select(n => n == v)];
        }
        else throw new ArgumentException($"{Name} has no column '{column}'. Its columns: {string.Join(", ", Columns.Concat(_text.Keys))}.");
        if (!keep.Any(k => k))
        {
            var values = (text ?? [.. _columns[column].Select(n => n.ToString("R", CultureInfo.InvariantCulture))]).Distinct().Take(20);
            throw new ArgumentException($"{Name}: no row has {column} = {value}. Its values: {string.Join(", ", values)}.");
        }
        int[] rows = [.. Enumerable.Range(0, Rows).Where(r => keep[r])];
        return new ScalingTable($"{Name} where {column} = {value}", Columns, [.. Columns.Select(c => rows.Select(r => _columns[c][r]).ToArray())],
            _text.ToDictionary(kv => kv.Key, kv => rows.Select(r => kv.Value[r]).ToArray()));
    }

    /// <summary>This table with one more numeric column (or a column replaced).</summary>
    public ScalingTable With(string column, double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != Rows) throw new ArgumentException($"Column '{column}' has {values.Length} values for {Rows} rows.");
        var names = Columns.Contains(column) ? Columns : [.. Columns, column];
        return new ScalingTable(Name, names, [.. names.Select(c => c == column ? values : _columns[c])], _text);
    }

    /// <summary>An embedded name (<see cref="EmbeddedNames"/>), a CSV file path, or a JSON-lines file (<c>.jsonl</c>,
    /// e.g. the workbench's <c>results.jsonl</c>).</summary>
    public static ScalingTable Load(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        if (EmbeddedNames.Contains(nameOrPath, StringComparer.OrdinalIgnoreCase)) return Embedded(nameOrPath.ToLowerInvariant());
        if (!File.Exists(nameOrPath))
            throw new FileNotFoundException($"No data file '{nameOrPath}' (and no embedded data set of that name; embedded: {string.Join(", ", EmbeddedNames)}).");
        using var reader = new StreamReader(nameOrPath);
        return nameOrPath.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? ReadJsonLines(reader, nameOrPath) : ReadCsv(reader, nameOrPath);
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

    /// <summary>
    /// One JSON object per line (the workbench's <c>results.jsonl</c>): every number and string inside the object
    /// becomes a column named by its path (<c>dataset.train_rows</c>, <c>test.nll</c>, <c>config.loss</c>); booleans are
    /// text, arrays are skipped. A number missing from a line is NaN there (a text value, empty).
    /// </summary>
    public static ScalingTable ReadJsonLines(TextReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var numbers = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var text = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        int rows = 0, lineNo = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new InvalidDataException($"{name}, line {lineNo}: not a JSON object ({e.Message})."); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{name}, line {lineNo}: not a JSON object.");
                Flatten(doc.RootElement, "");
            }
            rows++;
            foreach (var list in numbers.Values) while (list.Count < rows) list.Add(double.NaN);
            foreach (var list in text.Values) while (list.Count < rows) list.Add("");
        }
        if (rows == 0) throw new InvalidDataException($"{name} has no JSON lines.");
        string[] numeric = [.. order.Where(numbers.ContainsKey)];
        return new ScalingTable(name, numeric, [.. numeric.Select(c => numbers[c].ToArray())], text.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()));

        void Flatten(JsonElement e, string path)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject()) Flatten(p.Value, path.Length == 0 ? p.Name : path + "." + p.Name);
                    break;
                case JsonValueKind.Number:
                    Add(numbers, path, e.GetDouble(), double.NaN);
                    break;
                case JsonValueKind.String or JsonValueKind.True or JsonValueKind.False:
                    Add(text, path, e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText(), "");
                    break;
            }
        }

        void Add<T>(Dictionary<string, List<T>> into, string key, T value, T missing)
        {
            if (!into.TryGetValue(key, out var list))
            {
                into[key] = list = [];
                if (!order.Contains(key)) order.Add(key);
            }
            while (list.Count < rows) list.Add(missing);
            if (list.Count == rows) list.Add(value);
        }
    }
}
