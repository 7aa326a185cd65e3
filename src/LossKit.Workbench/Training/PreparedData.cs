using LossKit.Workbench.Data;

namespace LossKit.Workbench.Training;

/// <summary>
/// The data of one run: split by the seed, label noise applied to the training split (and, with
/// <c>validationNoise</c>, to the validation split from an independent stream of the same seed), features standardised
/// with statistics fitted on the (noisy-labelled) training rows. Test labels are always clean.
/// </summary>
public sealed class PreparedData
{
    private PreparedData(Dataset train, Dataset validation, Dataset test, NoisyLabels noise, NoisyLabels? validationNoise, bool providedTest, string splitHash) =>
        (Train, Validation, Test, Noise, ValidationNoise, UsesProvidedTest, SplitHash) = (train, validation, test, noise, validationNoise, providedTest, splitHash);

    public Dataset Train { get; }
    public Dataset Validation { get; }
    public Dataset Test { get; }

    /// <summary>The training labels before and after noise, and the realised noise rate.</summary>
    public NoisyLabels Noise { get; }

    /// <summary>The validation labels before and after noise; null when the validation labels are clean.</summary>
    public NoisyLabels? ValidationNoise { get; }

    /// <summary>A hash of the row indices of the three splits (<see cref="Fingerprint"/>).</summary>
    public string SplitHash { get; }

    public bool UsesProvidedTest { get; }

    public int Classes => Train.Classes;

    public int Features => Train.FeatureCount;

    /// <summary>Splits, corrupts and standardises <paramref name="source"/> for <paramref name="seed"/>.</summary>
    /// <param name="source">The data set.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="fractions">Split fractions.</param>
    /// <param name="noise">Label noise of the training split.</param>
    /// <param name="validationNoise">Apply <paramref name="noise"/> to the validation labels too (<c>--validation-noise same</c>).</param>
    /// <exception cref="ArgumentException">The data set is not a classification set, or a split is empty.</exception>
    public static PreparedData Create(Dataset source, int seed, SplitFractions fractions, NoiseSpec noise, bool validationNoise = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.IsClassification)
            throw new ArgumentException($"data set '{source.Name}' is a regression data set; the workbench trains classifiers. Choose one of: " +
                string.Join(", ", DatasetCatalog.Names.Where(n => n != "diabetes")) + ".");
        var splits = DatasetSplitter.Split(source, seed, fractions);
        if (splits.Train.Rows == 0 || splits.Validation.Rows == 0 || splits.Test.Rows == 0)
            throw new ArgumentException(
                $"data set '{source.Name}' split {fractions} gives {splits.Train.Rows} train, {splits.Validation.Rows} validation and {splits.Test.Rows} test rows; each must be non-empty.");
        var (noisy, labels) = LabelNoise.ApplyToTrain(splits, noise, seed);
        NoisyLabels? validationLabels = null;
        if (validationNoise) (noisy, validationLabels) = LabelNoise.ApplyToValidation(noisy, noise, seed);
        // The train and validation splits (and the test split unless the data set provides it) are fresh copies made by
        // the splitter, so they are standardised in place; a provided test split belongs to the source and is copied.
        var standardizer = Standardizer.Fit(noisy.Train);
        standardizer.TransformInPlace(noisy.Train.Features);
        standardizer.TransformInPlace(noisy.Validation.Features);
        var test = noisy.Test;
        if (splits.UsesProvidedTest) test = standardizer.Transform(test);
        else standardizer.TransformInPlace(test.Features);
        string splitHash = Fingerprint.Of(splits.TrainIndices, splits.ValidationIndices, splits.TestIndices);
        return new PreparedData(noisy.Train, noisy.Validation, test, labels, validationLabels, splits.UsesProvidedTest, splitHash);
    }
}
