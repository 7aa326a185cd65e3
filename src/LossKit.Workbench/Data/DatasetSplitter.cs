using System.Globalization;

namespace LossKit.Workbench.Data;

/// <summary>
/// Fractions of the rows that go to the training, validation and test splits. Each must be in [0, 1], training
/// must be positive, and they must sum to 1 (within 1e-9). <see cref="Default"/> is 0.6 / 0.2 / 0.2.
/// </summary>
public readonly record struct SplitFractions
{
    /// <summary>Creates and checks the fractions.</summary>
    /// <exception cref="ArgumentException">A fraction is out of range or they do not sum to 1.</exception>
    public SplitFractions(double train, double validation, double test)
    {
        Check(train, nameof(train));
        Check(validation, nameof(validation));
        Check(test, nameof(test));
        if (train <= 0)
            throw new ArgumentException($"train fraction is {Fmt(train)}; it must be greater than 0.", nameof(train));
        double sum = train + validation + test;
        if (Math.Abs(sum - 1) > 1e-9)
            throw new ArgumentException(
                $"split fractions {Fmt(train)}/{Fmt(validation)}/{Fmt(test)} sum to {Fmt(sum)}; train + validation + test must be 1.", nameof(test));
        Train = train;
        Validation = validation;
        Test = test;
    }

    /// <summary>0.6 train, 0.2 validation, 0.2 test.</summary>
    public static SplitFractions Default { get; } = new(0.6, 0.2, 0.2);

    /// <summary>Fraction of rows for training.</summary>
    public double Train { get; }

    /// <summary>Fraction of rows for validation.</summary>
    public double Validation { get; }

    /// <summary>Fraction of rows for testing (ignored when the data set provides its own test split).</summary>
    public double Test { get; }

    /// <summary>Parses <c>train/validation/test</c>, e.g. <c>0.7/0.15/0.15</c> (',' or ':' also separate).</summary>
    /// <exception cref="ArgumentException">Not three numbers, or invalid fractions.</exception>
    public static SplitFractions Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(['/', ',', ':'], StringSplitOptions.TrimEntries);
        if (parts.Length != 3
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double tr)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double va)
            || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double te))
            throw new ArgumentException(
                $"split fractions '{text}' are not three numbers 'train/validation/test' such as '0.6/0.2/0.2'.", nameof(text));
        return new SplitFractions(tr, va, te);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Fmt(Train)}/{Fmt(Validation)}/{Fmt(Test)}";

    private static void Check(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
            throw new ArgumentException($"{name} fraction is {Fmt(value)}; it must lie in [0, 1].", name);
    }

    private static string Fmt(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>
/// The result of <see cref="DatasetSplitter.Split"/>: three data sets plus the row indices they were taken from.
/// <see cref="TrainIndices"/> and <see cref="ValidationIndices"/> index rows of <see cref="Source"/>;
/// <see cref="TestIndices"/> index rows of <see cref="Source"/>, or of <c>Source.ProvidedTest</c> when
/// <see cref="UsesProvidedTest"/> (then they are simply 0..n-1).
/// </summary>
public sealed record DatasetSplits
{
    /// <summary>Training rows.</summary>
    public required Dataset Train { get; init; }

    /// <summary>Validation rows (may be empty when the validation fraction is 0).</summary>
    public required Dataset Validation { get; init; }

    /// <summary>Test rows: the data set's own test split when it has one.</summary>
    public required Dataset Test { get; init; }

    /// <summary>Rows of <see cref="Source"/> in <see cref="Train"/>, ascending.</summary>
    public required int[] TrainIndices { get; init; }

    /// <summary>Rows of <see cref="Source"/> in <see cref="Validation"/>, ascending.</summary>
    public required int[] ValidationIndices { get; init; }

    /// <summary>Rows of <see cref="Source"/> (or of its provided test split) in <see cref="Test"/>, ascending.</summary>
    public required int[] TestIndices { get; init; }

    /// <summary>True when <see cref="Test"/> is the data set's own provided test split.</summary>
    public required bool UsesProvidedTest { get; init; }

    /// <summary>The data set that was split.</summary>
    public required Dataset Source { get; init; }

    /// <summary>The seed the split was made with.</summary>
    public required int Seed { get; init; }

    /// <summary>The fractions the split was made with.</summary>
    public required SplitFractions Fractions { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Source.Name} split (seed {Seed}, {Fractions}{(UsesProvidedTest ? ", provided test" : "")}): " +
        $"train {Train.Rows}, validation {Validation.Rows}, test {Test.Rows}";
}

/// <summary>
/// Seeded, stratified train / validation / test splits.
/// <list type="bullet">
/// <item>Classification: each class's rows are shuffled and divided by the fractions separately (largest-remainder
/// rounding), so class proportions are kept. When a class has at least as many rows as there are splits with a
/// non-zero fraction, every such split gets at least one row of it (taken from the split with the most rows); a
/// class with fewer rows fills train first, then test, then validation.</item>
/// <item>Regression: rows are shuffled and divided without stratification.</item>
/// <item>Data sets with their own test split (<see cref="Dataset.ProvidedTest"/>) keep it as the test split and
/// divide their rows between train and validation in the ratio <c>Train : Validation</c> (0.6 : 0.2 by default,
/// i.e. a quarter of the provided training rows go to validation); the test fraction is then unused.</item>
/// <item>The shuffle uses <see cref="SeededRng"/> derived from the seed, so the same data, fractions and seed
/// always give the same split, on any platform; different seeds give different splits. Each split's rows keep
/// their original order (indices ascending).</item>
/// </list>
/// </summary>
public static class DatasetSplitter
{
    /// <summary>Splits <paramref name="data"/>; see the type's summary.</summary>
    /// <param name="data">The data set to split.</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <param name="fractions">Train / validation / test fractions; <see cref="SplitFractions.Default"/> (0.6/0.2/0.2) when null.</param>
    public static DatasetSplits Split(Dataset data, int seed, SplitFractions? fractions = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var f = fractions ?? SplitFractions.Default;
        if (f.Train == 0 && f.Validation == 0 && f.Test == 0) f = SplitFractions.Default; // default(SplitFractions)
        bool provided = data.ProvidedTest is not null;
        // Shares of (train, validation, test) within each group of rows.
        double[] shares = provided
            ? [f.Train / (f.Train + f.Validation), f.Validation / (f.Train + f.Validation), 0]
            : [f.Train, f.Validation, f.Test];

        var rng = SeededRng.ForPurpose(seed, "split");
        var parts = new[] { new List<int>(), new List<int>(), new List<int>() };
        foreach (int[] group in Groups(data))
        {
            rng.Shuffle(group.AsSpan());
            int[] counts = Allocate(group.Length, shares);
            int at = 0;
            for (int s = 0; s < 3; s++)
            {
                for (int i = 0; i < counts[s]; i++) parts[s].Add(group[at++]);
            }
        }
        int[] train = Sorted(parts[0]), validation = Sorted(parts[1]);
        int[] test;
        Dataset testSet;
        if (provided)
        {
            testSet = data.ProvidedTest!;
            test = Enumerable.Range(0, testSet.Rows).ToArray();
        }
        else
        {
            test = Sorted(parts[2]);
            testSet = data.Subset(test, data.Name + "/test");
        }
        return new DatasetSplits
        {
            Train = data.Subset(train, data.Name + "/train"),
            Validation = data.Subset(validation, data.Name + "/validation"),
            Test = testSet,
            TrainIndices = train,
            ValidationIndices = validation,
            TestIndices = test,
            UsesProvidedTest = provided,
            Source = data,
            Seed = seed,
            Fractions = f,
        };
    }

    /// <summary>Row indices grouped by class (classification) or all in one group (regression).</summary>
    private static IEnumerable<int[]> Groups(Dataset data)
    {
        if (data.Labels is null)
        {
            yield return Enumerable.Range(0, data.Rows).ToArray();
            yield break;
        }
        var byClass = new List<int>[data.Classes];
        for (int k = 0; k < byClass.Length; k++) byClass[k] = [];
        for (int i = 0; i < data.Rows; i++) byClass[data.Labels[i]].Add(i);
        foreach (var g in byClass)
            if (g.Count > 0) yield return g.ToArray();
    }

    /// <summary>
    /// Divides <paramref name="n"/> rows by <paramref name="shares"/> (train, validation, test) with
    /// largest-remainder rounding, then makes sure each split with a positive share has a row when possible.
    /// </summary>
    internal static int[] Allocate(int n, double[] shares)
    {
        var counts = new int[3];
        var remainders = new double[3];
        int assigned = 0;
        for (int s = 0; s < 3; s++)
        {
            double exact = n * shares[s];
            counts[s] = (int)Math.Floor(exact + 1e-9);
            remainders[s] = exact - counts[s];
            assigned += counts[s];
        }
        // Hand out the rows lost to flooring by largest remainder; ties in the order train, test, validation.
        int[] priority = [0, 2, 1];
        while (assigned < n)
        {
            int best = -1;
            foreach (int s in priority)
                if (shares[s] > 0 && (best < 0 || remainders[s] > remainders[best] + 1e-12)) best = s;
            if (best < 0) best = 0;
            counts[best]++;
            remainders[best] = double.NegativeInfinity;
            assigned++;
            if (priority.All(s => shares[s] <= 0 || double.IsNegativeInfinity(remainders[s])))
                for (int s = 0; s < 3; s++) remainders[s] = 0;
        }
        while (assigned > n) // cannot happen with shares summing to 1, but stay safe
        {
            int s = Array.IndexOf(counts, counts.Max());
            counts[s]--;
            assigned--;
        }
        // Every split with a positive share gets a row if one can be taken from a split holding more than one.
        foreach (int s in priority)
        {
            if (shares[s] <= 0 || counts[s] > 0) continue;
            int donor = -1;
            for (int d = 0; d < 3; d++)
                if (counts[d] > 1 && (donor < 0 || counts[d] > counts[donor])) donor = d;
            if (donor < 0) break;
            counts[donor]--;
            counts[s]++;
        }
        return counts;
    }

    private static int[] Sorted(List<int> rows)
    {
        var a = rows.ToArray();
        Array.Sort(a);
        return a;
    }
}
