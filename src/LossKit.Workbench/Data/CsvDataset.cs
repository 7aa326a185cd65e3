using System.Globalization;

namespace LossKit.Workbench.Data;

/// <summary>
/// Loads a data set from a CSV file with a header line.
/// <list type="bullet">
/// <item>The first line names the columns; names are trimmed and must be distinct. Every other column than the label
/// column is a feature and must hold a finite number on every row (invariant culture: <c>.</c> decimal point;
/// NaN, infinities and empty cells are errors — missing values are never filled in or dropped).</item>
/// <item>Fields may be double-quoted (<c>"a,b"</c>, <c>""</c> for a quote). Files compressed with gzip are detected
/// by content and decompressed. Blank lines at the end of the file are ignored; a blank line before the last data
/// line is a bad row.</item>
/// <item>Classification labels (the default): if every label parses as a number, the distinct values sorted
/// numerically become classes 0..K-1 and their class names are the values in invariant form (so labels 0..9 stay
/// 0..9, and labels {1, 2, 3} become classes {0, 1, 2} named "1", "2", "3"). Otherwise every label is text and the
/// distinct strings sorted ordinally (culture-independent, case-sensitive) become classes 0..K-1 named by the
/// strings. With two classes and no task given, the task is <see cref="DatasetTask.Binary"/>.</item>
/// <item>Regression (pass <see cref="DatasetTask.Regression"/>): every label must be a finite number and becomes
/// the target.</item>
/// <item>Any bad row — wrong column count, a non-numeric feature, an empty or (for regression) non-numeric label —
/// stops the load with a <see cref="DataFormatException"/> listing the 1-based line numbers (header = line 1), the
/// first few with their problem, and the total count.</item>
/// </list>
/// </summary>
public static class CsvDataset
{
    /// <summary>Loads <paramref name="path"/>; see the type's summary for the rules.</summary>
    /// <param name="path">CSV file (plain or gzip).</param>
    /// <param name="labelColumn">Header name of the label column: an exact match, else a unique case-insensitive match; null: the last column.</param>
    /// <param name="task">Null: classification (binary when there are exactly two classes). Otherwise the task to load as.</param>
    /// <param name="separator">Field separator, ',' by default; ' ' splits on runs of white space.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The label column is not in the header, or the task does not fit the labels.</exception>
    /// <exception cref="DataFormatException">The header or some rows are bad.</exception>
    public static Dataset Load(string path, string? labelColumn, DatasetTask? task = null, char separator = ',')
    {
        ArgumentNullException.ThrowIfNull(path);
        List<string> lines;
        using (var stream = DataFiles.Open(path))
        {
            try
            {
                lines = TextRows.ReadLines(stream);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: corrupt gzip data ({IdxReader.OneLine(e.Message)}).", e);
            }
        }
        return Parse(lines, path, NameOf(path), labelColumn, task, separator);
    }

    /// <summary>A data set's name from its file: the file name without <c>.gz</c>, <c>.csv</c>, <c>.tsv</c>, <c>.txt</c>, <c>.jsonl</c>.</summary>
    internal static string NameOf(string path)
    {
        string name = Path.GetFileName(path);
        foreach (string ext in new[] { ".gz", ".csv", ".tsv", ".txt", ".jsonl", ".ndjson" })
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) name = name[..^ext.Length];
        return name;
    }

    internal static Dataset Parse(List<string> lines, string source, string name, string? labelColumn, DatasetTask? task, char separator)
    {
        if (lines.Count == 0)
            throw new DataFormatException(source, [new LineProblem(1, "the file is empty; expected a header line naming the columns")]);

        var header = TextRows.Split(lines[0], separator, out string? headerError);
        if (header is null)
            throw new DataFormatException(source, [new LineProblem(1, $"bad header: {headerError}")]);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < header.Count; c++)
        {
            if (header[c].Length == 0)
                throw new DataFormatException(source, [new LineProblem(1, $"header column {c + 1} has no name")]);
            if (!seen.TryAdd(header[c], c))
                throw new DataFormatException(source, [new LineProblem(1, $"header names column '{header[c]}' twice (columns {seen[header[c]] + 1} and {c + 1})")]);
        }
        int labelIndex = labelColumn is null ? header.Count - 1 : FindColumn(header, labelColumn, source);
        if (header.Count < 2)
            throw new DataFormatException(source, [new LineProblem(1, $"the header has only the label column '{header[labelIndex]}'; at least one feature column is needed")]);

        int featureCount = header.Count - 1;
        var featureNames = header.Where((_, c) => c != labelIndex).ToArray();
        int rows = lines.Count - 1;
        var features = new float[(long)rows * featureCount];
        var rawLabels = new string[rows];
        var problems = new List<LineProblem>();

        for (int r = 0; r < rows; r++)
        {
            int lineNo = r + 2;
            string line = lines[r + 1];
            if (string.IsNullOrWhiteSpace(line))
            {
                problems.Add(new LineProblem(lineNo, "empty line (only blank lines at the end of the file are allowed)"));
                continue;
            }
            var fields = TextRows.Split(line, separator, out string? splitError);
            if (fields is null)
            {
                problems.Add(new LineProblem(lineNo, splitError!));
                continue;
            }
            if (fields.Count != header.Count)
            {
                problems.Add(new LineProblem(lineNo, $"expected {header.Count} columns, found {fields.Count}"));
                continue;
            }
            string? problem = null;
            int f = 0, column = 0;
            for (int c = 0; c < fields.Count; c++)
            {
                if (c == labelIndex) continue;
                if (TextRows.TryParseFinite(fields[c], out float v))
                    features[(long)r * featureCount + f] = v;
                else
                    (problem, column) = problem is null ? (TextRows.NotANumber(header[c], fields[c]), c + 1) : (problem, column);
                f++;
            }
            string label = fields[labelIndex];
            if (label.Length == 0) (problem, column) = problem is null ? ($"label column '{header[labelIndex]}' is empty", labelIndex + 1) : (problem, column);
            else if (task == DatasetTask.Regression && !TextRows.TryParseFinite(label, out _) && problem is null)
                (problem, column) = ($"label column '{header[labelIndex]}' value {TextRows.Show(label)} is not a finite number (regression needs numeric targets)", labelIndex + 1);
            if (problem is not null) problems.Add(new LineProblem(lineNo, problem, column));
            rawLabels[r] = label;
        }
        if (problems.Count > 0) throw new DataFormatException(source, problems);
        if (rows == 0)
            throw new DataFormatException(source, [new LineProblem(2, "no data rows after the header")]);

        return Build(source, name, features, featureCount, featureNames, rawLabels, header[labelIndex], task);
    }

    /// <summary>The data set of parsed rows: regression targets, or labels mapped to classes (<see cref="MapLabels"/>).
    /// Without a task, labels that are numbers but not all whole numbers are refused: they are regression targets, and
    /// the workbench trains classifiers.</summary>
    internal static Dataset Build(string source, string name, float[] features, int featureCount, string[] featureNames,
        string[] rawLabels, string labelName, DatasetTask? task)
    {
        int rows = rawLabels.Length;
        if (task == DatasetTask.Regression)
        {
            var targets = new float[rows];
            for (int r = 0; r < rows; r++) TextRows.TryParseFinite(rawLabels[r], out targets[r]);
            return new Dataset(name, DatasetTask.Regression, features, featureCount, null, targets, null, featureNames);
        }
        if (task is null && Array.FindIndex(rawLabels, l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                && double.IsFinite(v) && v != Math.Floor(v)) is int fractional and >= 0
            && rawLabels.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            throw new ArgumentException(
                $"{source}: target column '{labelName}' holds numbers that are not whole ({TextRows.Show(rawLabels[fractional])} in data row {fractional + 1}): " +
                "that is a regression target, and the workbench trains classifiers (integer or text labels). Choose the label column with --target NAME.");

        var (labels, classNames) = MapLabels(rawLabels);
        DatasetTask resolved = task ?? (classNames.Length == 2 ? DatasetTask.Binary : DatasetTask.Classification);
        if (resolved == DatasetTask.Binary && classNames.Length != 2)
            throw new ArgumentException(
                $"{source}: task Binary needs exactly 2 distinct labels in column '{labelName}', found {classNames.Length}: {Preview(classNames)}.", nameof(task));
        return new Dataset(name, resolved, features, featureCount, labels, null, classNames, featureNames);
    }

    /// <summary>Maps label text to class indices: numerically sorted distinct numbers when all labels are numbers, else ordinally sorted distinct strings.</summary>
    internal static (int[] Labels, string[] ClassNames) MapLabels(string[] raw)
    {
        var numbers = new double[raw.Length];
        bool numeric = true;
        for (int i = 0; i < raw.Length && numeric; i++)
            numeric = double.TryParse(raw[i], NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]) && double.IsFinite(numbers[i]);
        var labels = new int[raw.Length];
        if (numeric)
        {
            var distinct = numbers.Distinct().Order().ToArray();
            var index = new Dictionary<double, int>();
            for (int k = 0; k < distinct.Length; k++) index[distinct[k]] = k;
            for (int i = 0; i < raw.Length; i++) labels[i] = index[numbers[i]];
            return (labels, distinct.Select(d => d.ToString(CultureInfo.InvariantCulture)).ToArray());
        }
        else
        {
            var distinct = raw.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int k = 0; k < distinct.Length; k++) index[distinct[k]] = k;
            for (int i = 0; i < raw.Length; i++) labels[i] = index[raw[i]];
            return (labels, distinct);
        }
    }

    internal static int FindColumn(IReadOnlyList<string> header, string labelColumn, string source)
    {
        int exact = header.ToList().IndexOf(labelColumn.Trim());
        if (exact >= 0) return exact;
        var loose = Enumerable.Range(0, header.Count)
            .Where(c => string.Equals(header[c], labelColumn.Trim(), StringComparison.OrdinalIgnoreCase)).ToArray();
        if (loose.Length == 1) return loose[0];
        throw new ArgumentException(
            $"{source}: target column '{labelColumn}' is not in the header; columns are: {Preview(header)}.", nameof(labelColumn));
    }

    internal static string Preview(IReadOnlyList<string> names) =>
        names.Count <= 30
            ? string.Join(", ", names)
            : string.Join(", ", names.Take(30)) + $", … ({names.Count} in all)";
}
