using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LossKit.Workbench.Data;

/// <summary>
/// Loads a data set from JSON Lines: one JSON object per line, all with the same fields (in any order). The first
/// line's fields, in its order, are the columns; the target is the field given, else the first line's last field.
/// Feature values must be finite JSON numbers; target values are integers or strings (mapped to classes as
/// <see cref="CsvDataset"/> maps them). Blank lines are skipped; files compressed with gzip are read too. Any bad line
/// stops the load with a <see cref="DataFormatException"/> naming the file, the 1-based line and column (character)
/// of each problem.
/// </summary>
public static class JsonlDataset
{
    /// <summary>Loads <paramref name="path"/>; see the type's summary.</summary>
    /// <param name="path">A <c>.jsonl</c> file (plain or gzip).</param>
    /// <param name="target">The target field; null: the last field of the first line.</param>
    public static Dataset Load(string path, string? target)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<string> lines;
        using (var stream = DataFiles.Open(path))
            lines = TextRows.ReadLines(stream);
        return Parse(lines, path, CsvDataset.NameOf(path), target);
    }

    internal static Dataset Parse(List<string> lines, string source, string name, string? target)
    {
        List<string>? columns = null;
        int labelIndex = -1;
        var features = new List<float>();
        var labels = new List<string>();
        var problems = new List<LineProblem>();
        var row = new Dictionary<string, (JsonTokenType Type, string Text, int Column)>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Count; i++)
        {
            int lineNo = i + 1;
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            if (ReadObject(lines[i], row) is { } syntax)
            {
                problems.Add(new LineProblem(lineNo, syntax.Problem, syntax.Column));
                continue;
            }
            if (columns is null)
            {
                columns = [.. row.Keys];
                if (columns.Count < 2)
                    throw new DataFormatException(source, [new LineProblem(lineNo, $"the first object has {columns.Count} field(s); a feature and a target are needed")]);
                labelIndex = target is null ? columns.Count - 1 : CsvDataset.FindColumn(columns, target, source);
            }
            string? problem = null;
            int column = 0;
            foreach (string key in row.Keys)
                if (!columns.Contains(key) && problem is null) (problem, column) = ($"field \"{key}\" is not in the first line's fields ({string.Join(", ", columns)})", row[key].Column);
            for (int c = 0; c < columns.Count && problem is null; c++)
            {
                if (!row.TryGetValue(columns[c], out var v)) { (problem, column) = ($"field \"{columns[c]}\" is missing", 1); break; }
                if (c == labelIndex)
                {
                    if (v.Type is not (JsonTokenType.Number or JsonTokenType.String) || v.Text.Length == 0)
                        (problem, column) = ($"target \"{columns[c]}\" is {Show(v)}: expected an integer or a string label", v.Column);
                    else labels.Add(v.Text);
                }
                else if (v.Type != JsonTokenType.Number || !TextRows.TryParseFinite(v.Text, out float x))
                    (problem, column) = ($"feature \"{columns[c]}\" is {Show(v)}: expected a finite number", v.Column);
                else features.Add(x);
            }
            if (problem is not null) problems.Add(new LineProblem(lineNo, problem, column));   // nothing is loaded then
        }
        if (problems.Count > 0) throw new DataFormatException(source, problems);
        if (columns is null) throw new DataFormatException(source, [new LineProblem(1, "the file has no JSON objects")]);
        var featureNames = columns.Where((_, c) => c != labelIndex).ToArray();
        return CsvDataset.Build(source, name, [.. features], featureNames.Length, featureNames, [.. labels], columns[labelIndex], null);
    }

    /// <summary>Reads one line's object of scalar fields into <paramref name="row"/>; returns the problem and its
    /// 1-based column (character) when the line is not such an object.</summary>
    private static (string Problem, int Column)? ReadObject(string line, Dictionary<string, (JsonTokenType, string, int)> row)
    {
        row.Clear();
        byte[] bytes = Encoding.UTF8.GetBytes(line);
        var reader = new Utf8JsonReader(bytes);
        int Col(long byteOffset) => Encoding.UTF8.GetCharCount(bytes, 0, (int)Math.Min(byteOffset, bytes.Length)) + 1;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return ("expected a JSON object {\"feature\": number, ..., \"target\": label} on each line", Col(reader.TokenStartIndex));
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                int keyColumn = Col(reader.TokenStartIndex);
                reader.Read();
                int column = Col(reader.TokenStartIndex);
                string text = reader.TokenType switch
                {
                    JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                    JsonTokenType.String => reader.GetString()!,
                    JsonTokenType.StartObject or JsonTokenType.StartArray => "",
                    _ => Encoding.UTF8.GetString(reader.ValueSpan),
                };
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                if (!row.TryAdd(key, (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray ? JsonTokenType.StartArray : reader.TokenType, text, column)))
                    return ($"field \"{key}\" appears twice", keyColumn);
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return ("text after the object (one object per line)", Col(reader.TokenStartIndex));
            return null;
        }
        catch (JsonException e)
        {
            return (JsonErrors.Text(e).TrimEnd('.'), (int)(e.BytePositionInLine ?? 0) + 1);
        }
    }

    private static string Show((JsonTokenType Type, string Text, int Column) v) => v.Type switch
    {
        JsonTokenType.String => $"the string {TextRows.Show(v.Text)}",
        JsonTokenType.Null => "null",
        JsonTokenType.True or JsonTokenType.False => v.Text,
        JsonTokenType.Number => v.Text,
        _ => "an array or object",
    };
}
