using System.Diagnostics.CodeAnalysis;

namespace LossKit.Workbench.Data;

/// <summary>What a <see cref="Dataset"/> asks a model to predict.</summary>
public enum DatasetTask
{
    /// <summary>Classification into K classes: <see cref="Dataset.Labels"/> holds class indices 0..K-1.</summary>
    Classification,
    /// <summary>Two-class classification: <see cref="Dataset.Labels"/> holds 0 or 1 (class 1 is the "positive" class).</summary>
    Binary,
    /// <summary>Regression: <see cref="Dataset.Targets"/> holds one real-valued target per row; there are no classes.</summary>
    Regression,
}

/// <summary>
/// An in-memory table of examples. Features are one row-major <c>float[]</c> of shape <c>[Rows, FeatureCount]</c>
/// (row <c>i</c> is <c>Features[i*FeatureCount .. (i+1)*FeatureCount)</c>). Classification sets carry
/// <see cref="Labels"/> (class indices in <c>[0, Classes)</c>) and leave <see cref="Targets"/> null; regression sets
/// carry <see cref="Targets"/> and leave <see cref="Labels"/> null with <see cref="Classes"/> = 0.
/// A data set that ships its own held-out test rows (Fashion-MNIST, MNIST) exposes them as <see cref="ProvidedTest"/>;
/// <see cref="DatasetSplitter"/> keeps that split as the test split.
/// Instances are treated as immutable: nothing in this library writes into the arrays of a data set it was given.
/// </summary>
public sealed class Dataset
{
    /// <summary>Creates a data set after checking that all shapes agree; see the type's summary for the layout.</summary>
    /// <exception cref="ArgumentException">A length, label, class count or name count does not match.</exception>
    public Dataset(
        string name,
        DatasetTask task,
        float[] features,
        int featureCount,
        int[]? labels,
        float[]? targets,
        string[]? classNames,
        string[]? featureNames,
        Dataset? providedTest = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(features);
        if (featureCount <= 0)
            throw new ArgumentException($"featureCount is {featureCount}; it must be at least 1.", nameof(featureCount));
        if (features.Length % featureCount != 0)
            throw new ArgumentException(
                $"features has {features.Length} values, which is not a multiple of featureCount {featureCount}.", nameof(features));
        int rows = features.Length / featureCount;

        featureNames ??= DefaultFeatureNames(featureCount);
        if (featureNames.Length != featureCount)
            throw new ArgumentException(
                $"featureNames has {featureNames.Length} names but there are {featureCount} features.", nameof(featureNames));

        if (task == DatasetTask.Regression)
        {
            CheckColumns(targets, nameof(targets), labels, nameof(labels), name, "regression", rows);
            if (classNames is { Length: > 0 })
                throw new ArgumentException($"data set '{name}': a regression data set has no class names.", nameof(classNames));
            classNames = [];
        }
        else
        {
            CheckColumns(labels, nameof(labels), targets, nameof(targets), name, task.ToString(), rows);
            if (classNames is null)
                throw new ArgumentException($"data set '{name}': a {task} data set needs class names.", nameof(classNames));
            int k = classNames.Length;
            if (task == DatasetTask.Binary && k != 2)
                throw new ArgumentException($"data set '{name}': a binary data set has exactly 2 classes, not {k}.", nameof(classNames));
            if (k < 1)
                throw new ArgumentException($"data set '{name}': a classification data set needs at least one class.", nameof(classNames));
            for (int i = 0; i < labels.Length; i++)
            {
                if ((uint)labels[i] >= (uint)k)
                    throw new ArgumentException(
                        $"labels[{i}] is {labels[i]}; labels must lie in [0, {k}) for the {k} classes.", nameof(labels));
            }
        }

        if (providedTest is not null)
        {
            if (providedTest.Task != task || providedTest.FeatureCount != featureCount || providedTest.Classes != classNames.Length)
                throw new ArgumentException(
                    $"data set '{name}': the provided test split ({providedTest.Task}, {providedTest.FeatureCount} features, {providedTest.Classes} classes) " +
                    $"does not match ({task}, {featureCount} features, {classNames.Length} classes).", nameof(providedTest));
            if (providedTest.ProvidedTest is not null)
                throw new ArgumentException($"data set '{name}': a provided test split cannot have its own test split.", nameof(providedTest));
        }

        Name = name;
        Task = task;
        Features = features;
        FeatureCount = featureCount;
        Rows = rows;
        Labels = labels;
        Targets = targets;
        ClassNames = classNames;
        FeatureNames = featureNames;
        ProvidedTest = providedTest;
    }

    /// <summary>Checks that a data set of task <paramref name="task"/> has its own column <paramref name="wanted"/>
    /// (labels or targets), one value per row, and not the other task's column <paramref name="unwanted"/>.</summary>
    private static void CheckColumns([NotNull] Array? wanted, string wantedName, Array? unwanted, string unwantedName, string name, string task, int rows)
    {
        if (wanted is null)
            throw new ArgumentException($"data set '{name}': a {task} data set needs {wantedName}.", wantedName);
        if (unwanted is not null)
            throw new ArgumentException($"data set '{name}': a {task} data set has {wantedName}, not {unwantedName}.", unwantedName);
        if (wanted.Length != rows)
            throw new ArgumentException($"{wantedName} has {wanted.Length} values but there are {rows} rows.", wantedName);
    }

    /// <summary>Short name, e.g. <c>iris</c> or <c>fashion-mnist/train</c>.</summary>
    public string Name { get; }

    /// <summary>Classification, binary or regression.</summary>
    public DatasetTask Task { get; }

    /// <summary>Row-major features, <c>Rows * FeatureCount</c> values.</summary>
    public float[] Features { get; }

    /// <summary>Number of rows (examples).</summary>
    public int Rows { get; }

    /// <summary>Number of features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Class index of each row for classification and binary sets; null for regression.</summary>
    public int[]? Labels { get; }

    /// <summary>Target value of each row for regression sets; null for classification.</summary>
    public float[]? Targets { get; }

    /// <summary>Number of classes (<c>ClassNames.Length</c>); 0 for regression.</summary>
    public int Classes => ClassNames.Length;

    /// <summary>Name of each class, indexed by label; empty for regression.</summary>
    public string[] ClassNames { get; }

    /// <summary>Name of each feature column.</summary>
    public string[] FeatureNames { get; }

    /// <summary>The data set's own held-out test rows when it ships them (Fashion-MNIST, MNIST), otherwise null.</summary>
    public Dataset? ProvidedTest { get; }

    /// <summary>True for <see cref="DatasetTask.Classification"/> and <see cref="DatasetTask.Binary"/>.</summary>
    public bool IsClassification => Task != DatasetTask.Regression;

    /// <summary>The features of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row)
    {
        if ((uint)row >= (uint)Rows)
            throw new ArgumentOutOfRangeException(nameof(row), row, $"row must lie in [0, {Rows}).");
        return Features.AsSpan(row * FeatureCount, FeatureCount);
    }

    /// <summary>The labels, or an exception naming the data set when it is a regression set.</summary>
    public int[] RequireLabels() =>
        Labels ?? throw new InvalidOperationException($"data set '{Name}' is a regression data set: it has targets, not class labels.");

    /// <summary>Number of rows of each class (length <see cref="Classes"/>); empty for regression.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[Classes];
        if (Labels is not null)
            foreach (int y in Labels) counts[y]++;
        return counts;
    }

    /// <summary>
    /// A new data set holding copies of the given rows, in the given order (repeats allowed).
    /// Class and feature names are shared; the provided test split is not carried over.
    /// </summary>
    public Dataset Subset(ReadOnlySpan<int> rows, string? name = null)
    {
        var features = new float[rows.Length * FeatureCount];
        int[]? labels = Labels is null ? null : new int[rows.Length];
        float[]? targets = Targets is null ? null : new float[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if ((uint)r >= (uint)Rows)
                throw new ArgumentOutOfRangeException(nameof(rows), r, $"row index at position {i} must lie in [0, {Rows}).");
            Array.Copy(Features, (long)r * FeatureCount, features, (long)i * FeatureCount, FeatureCount);
            if (labels is not null) labels[i] = Labels![r];
            if (targets is not null) targets[i] = Targets![r];
        }
        return new Dataset(name ?? Name, Task, features, FeatureCount, labels, targets,
            IsClassification ? ClassNames : null, FeatureNames);
    }

    /// <summary>A copy of this data set with other features (same row count and feature count) and the same provided test split unless one is given.</summary>
    public Dataset WithFeatures(float[] features, Dataset? providedTest = null)
    {
        if (features.Length != Features.Length)
            throw new ArgumentException($"features has {features.Length} values; data set '{Name}' has {Features.Length}.", nameof(features));
        return new Dataset(Name, Task, features, FeatureCount, Labels, Targets,
            IsClassification ? ClassNames : null, FeatureNames, providedTest ?? ProvidedTest);
    }

    /// <summary>A copy of this classification data set with other labels (same row count); features are shared, not copied.</summary>
    public Dataset WithLabels(int[] labels)
    {
        if (!IsClassification)
            throw new InvalidOperationException($"data set '{Name}' is a regression data set: it has no labels to replace.");
        return new Dataset(Name, Task, Features, FeatureCount, labels, null, ClassNames, FeatureNames, ProvidedTest);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}: {Task}, {Rows} rows × {FeatureCount} features" +
        (IsClassification ? $", {Classes} classes" : "") +
        (ProvidedTest is null ? "" : $", provided test split of {ProvidedTest.Rows} rows");

    internal static string[] DefaultFeatureNames(int count)
    {
        var names = new string[count];
        for (int i = 0; i < count; i++) names[i] = "f" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return names;
    }
}
