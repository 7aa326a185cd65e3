using LossKit.Workbench.Data;

namespace LossKit.Workbench.Training;

/// <summary>
/// The data of one run: split by the seed, label noise applied to the training split only, features standardised
/// with statistics fitted on the (noisy-labelled) training rows. Validation and test labels stay clean.
/// </summary>
public sealed class PreparedData
{
    private PreparedData(Dataset train, Dataset validation, Dataset test, NoisyLabels noise, bool providedTest)
    {
        Train = train;
        Validation = validation;
        Test = test;
        Noise = noise;
        UsesProvidedTest = providedTest;
    }

    public Dataset Train { get; }
    public Dataset Validation { get; }
    public Dataset Test { get; }

    /// <summary>The training labels before and after noise, and the realised noise rate.</summary>
    public NoisyLabels Noise { get; }

    public bool UsesProvidedTest { get; }

    public int Classes => Train.Classes;

    public int Features => Train.FeatureCount;

    /// <summary>Splits, corrupts and standardises <paramref name="source"/> for <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">The data set is not a classification set, or a split is empty.</exception>
    public static PreparedData Create(Dataset source, int seed, SplitFractions fractions, NoiseSpec noise)
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
        // The train and validation splits (and the test split unless the data set provides it) are fresh copies made by
        // the splitter, so they are standardised in place; a provided test split belongs to the source and is copied.
        var standardizer = Standardizer.Fit(noisy.Train);
        standardizer.TransformInPlace(noisy.Train.Features);
        standardizer.TransformInPlace(noisy.Validation.Features);
        var test = noisy.Test;
        if (splits.UsesProvidedTest) test = standardizer.Transform(test);
        else standardizer.TransformInPlace(test.Features);
        return new PreparedData(noisy.Train, noisy.Validation, test, labels, splits.UsesProvidedTest);
    }
}
