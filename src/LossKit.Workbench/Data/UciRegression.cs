using System.Globalization;

namespace LossKit.Workbench.Data;

/// <summary>A regression benchmark set: rows of features, one target each, and its standard train/test splits.</summary>
/// <param name="Name">The set's name (<see cref="UciRegression.Names"/>).</param>
/// <param name="Features">Row-major, <see cref="Rows"/> × <see cref="FeatureCount"/>.</param>
/// <param name="FeatureCount">Features per row.</param>
/// <param name="Targets">One target per row, in the set's own units.</param>
/// <param name="Splits">The standard splits: 0-based row indices of the training and the test rows.</param>
/// <param name="Hidden">Hidden units of the benchmark's one-layer network (50; protein 100).</param>
/// <param name="Epochs">Epochs the benchmark's papers trained for (40; protein 20).</param>
/// <param name="SplitsNote">Where the splits come from.</param>
public sealed record RegressionSet(string Name, float[] Features, int FeatureCount, float[] Targets,
    IReadOnlyList<(int[] Train, int[] Test)> Splits, int Hidden, int Epochs, string SplitsNote)
{
    /// <summary>The number of rows.</summary>
    public int Rows => Targets.Length;
}

/// <summary>
/// The regression workbench's data: the eight sets of the UCI regression benchmark with the standard splits of
/// Hernández-Lobato &amp; Adams (2015), embedded from <c>data/uci-regression/</c> (see data/README.md), and
/// <c>diabetes</c> (the embedded scikit-learn copy; it has no standard splits, so its 20 "standard" splits are seeded
/// random 90/10 splits, split i drawn with seed i).
/// </summary>
public static class UciRegression
{
    /// <summary>The eight UCI sets, in the literature's table order.</summary>
    public static IReadOnlyList<string> UciNames { get; } =
        ["concrete", "energy", "kin8nm", "naval-propulsion-plant", "power-plant", "protein-tertiary-structure", "wine-quality-red", "yacht"];

    /// <summary>Every set the regression workbench loads: the UCI sets and diabetes.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. UciNames, "diabetes"];

    /// <summary>Short names accepted for the long UCI folder names.</summary>
    private static readonly Dictionary<string, string> s_aliases = new(StringComparer.Ordinal)
    {
        ["naval"] = "naval-propulsion-plant", ["power"] = "power-plant", ["protein"] = "protein-tertiary-structure", ["wine-red"] = "wine-quality-red",
    };

    /// <summary>Splits of diabetes (seeded 90/10).</summary>
    public const int DiabetesSplits = 20;

    /// <summary>True when <paramref name="name"/> (or an alias: naval, power, protein, wine-red) is a regression set.</summary>
    public static bool IsName(string name) => Names.Contains(Resolve(name));

    /// <summary>The full name of <paramref name="name"/> (aliases resolved).</summary>
    public static string Resolve(string name) => s_aliases.TryGetValue(name, out string? full) ? full : name;

    /// <summary>Loads a set with its splits.</summary>
    public static RegressionSet Load(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        name = Resolve(name);
        if (name == "diabetes") return LoadDiabetes();
        if (!UciNames.Contains(name))
            throw new ArgumentException($"unknown regression data set '{name}': expected one of {string.Join(", ", Names)}.", nameof(name));
        int[] featureColumns = Integers(name, "index_features.txt");
        int targetColumn = Integers(name, "index_target.txt").Single();
        var rows = new List<double[]>();
        using (var reader = new StreamReader(DataFiles.MaybeDecompress(Open(name, "data.txt.gz"))))
        {
            int line = 0;
            for (string? text = reader.ReadLine(); text is not null; text = reader.ReadLine())
            {
                line++;
                string[] tokens = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (tokens.Length == 0) continue;
                var row = new double[tokens.Length];
                for (int j = 0; j < tokens.Length; j++)
                    if (!double.TryParse(tokens[j], NumberStyles.Float, CultureInfo.InvariantCulture, out row[j]))
                        throw new DataFormatException($"{name}/data.txt.gz", [new LineProblem(line, $"'{tokens[j]}' is not a number", j + 1)]);
                rows.Add(row);
            }
        }
        int f = featureColumns.Length;
        var features = new float[rows.Count * f];
        var targets = new float[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            for (int j = 0; j < f; j++) features[i * f + j] = (float)rows[i][featureColumns[j]];
            targets[i] = (float)rows[i][targetColumn];
        }
        int splits = Integers(name, "n_splits.txt").Single();
        var list = new List<(int[], int[])>();
        for (int s = 0; s < splits; s++)
        {
            int[] train = Integers(name, $"index_train_{s}.txt"), test = Integers(name, $"index_test_{s}.txt");
            foreach (int r in train.Concat(test))
                if (r < 0 || r >= rows.Count) throw new ArgumentException($"{name} split {s}: row index {r} is outside 0..{rows.Count - 1}.");
            list.Add((train, test));
        }
        return new RegressionSet(name, features, f, targets, list, Integers(name, "n_hidden.txt").Single(), Integers(name, "n_epochs.txt").Single(),
            "the standard splits of Hernández-Lobato & Adams (2015)");
    }

    private static RegressionSet LoadDiabetes()
    {
        var d = DatasetCatalog.Load("diabetes");
        var list = new List<(int[], int[])>();
        int test = (int)Math.Round(0.1 * d.Rows);
        for (int s = 0; s < DiabetesSplits; s++)
        {
            int[] order = [.. Enumerable.Range(0, d.Rows)];
            SeededRng.ForPurpose(s, "diabetes-split").Shuffle(order.AsSpan());
            list.Add((order[test..], order[..test]));
        }
        return new RegressionSet("diabetes", d.Features, d.FeatureCount, d.Targets!, list, 50, 40,
            "seeded random 90/10 splits (split i from seed i; diabetes has no standard splits)");
    }

    /// <summary>Numbers of a split or setting file, one per line (float-formatted integers such as <c>12.0</c> allowed).</summary>
    private static int[] Integers(string name, string file)
    {
        using var reader = new StreamReader(Open(name, file));
        var values = new List<int>();
        int line = 0;
        for (string? text = reader.ReadLine(); text is not null; text = reader.ReadLine())
        {
            line++;
            text = text.Trim();
            if (text.Length == 0) continue;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v != Math.Floor(v) || v < 0 || v > int.MaxValue)
                throw new DataFormatException($"{name}/{file}", [new LineProblem(line, $"'{text}' is not a non-negative integer")]);
            values.Add((int)v);
        }
        return [.. values];
    }

    private static Stream Open(string name, string file) =>
        typeof(UciRegression).Assembly.GetManifestResourceStream($"LossKit.UciRegression/{name}/{file}")
        ?? throw new FileNotFoundException($"embedded file {name}/{file} is missing (the assembly was built without data/uci-regression/{name}/{file}).", file);
}
