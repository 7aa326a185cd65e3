namespace LossKit.Workbench.Data;

/// <summary>
/// Per-feature standardisation <c>(x − mean) / std</c> with statistics fitted on one data set (the training split)
/// and applied unchanged to others, so validation and test rows never influence them. The standard deviation is
/// the population one (divide by n), accumulated in double. A column that is constant on the training rows
/// (std 0) is only centred: its scale is 1. Fitting on zero rows is an error.
/// </summary>
public sealed class Standardizer
{
    private Standardizer(float[] mean, float[] scale)
    {
        Mean = mean;
        Scale = scale;
    }

    /// <summary>Fitted mean of each feature.</summary>
    public float[] Mean { get; }

    /// <summary>Divisor of each feature: its fitted standard deviation, or 1 where that is 0.</summary>
    public float[] Scale { get; }

    /// <summary>Number of features.</summary>
    public int FeatureCount => Mean.Length;

    /// <summary>Fits on the rows of <paramref name="train"/> (its provided test split, if any, is not used).</summary>
    public static Standardizer Fit(Dataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Rows == 0)
            throw new ArgumentException($"data set '{train.Name}' has no rows to fit a standardizer on.", nameof(train));
        return Fit(train.Features, train.FeatureCount);
    }

    /// <summary>Fits on row-major <paramref name="features"/> with <paramref name="featureCount"/> columns.</summary>
    public static Standardizer Fit(ReadOnlySpan<float> features, int featureCount)
    {
        if (featureCount <= 0)
            throw new ArgumentException($"featureCount is {featureCount}; it must be at least 1.", nameof(featureCount));
        if (features.Length == 0 || features.Length % featureCount != 0)
            throw new ArgumentException(
                $"features has {features.Length} values; it must be a positive multiple of featureCount {featureCount}.", nameof(features));
        int rows = features.Length / featureCount;
        var sum = new double[featureCount];
        var min = new float[featureCount];
        var max = new float[featureCount];
        features[..featureCount].CopyTo(min);
        features[..featureCount].CopyTo(max);
        for (int r = 0; r < rows; r++)
        {
            var row = features.Slice(r * featureCount, featureCount);
            for (int c = 0; c < featureCount; c++)
            {
                float v = row[c];
                sum[c] += v;
                if (v < min[c]) min[c] = v;
                if (v > max[c]) max[c] = v;
            }
        }
        var mean = new double[featureCount];
        for (int c = 0; c < featureCount; c++) mean[c] = sum[c] / rows;
        var sq = new double[featureCount];
        for (int r = 0; r < rows; r++)
        {
            var row = features.Slice(r * featureCount, featureCount);
            for (int c = 0; c < featureCount; c++)
            {
                double d = row[c] - mean[c];
                sq[c] += d * d;
            }
        }
        var m = new float[featureCount];
        var s = new float[featureCount];
        for (int c = 0; c < featureCount; c++)
        {
            if (min[c] == max[c])
            {
                // Constant column: centre it exactly, leave its scale alone.
                m[c] = min[c];
                s[c] = 1f;
            }
            else
            {
                m[c] = (float)mean[c];
                double std = Math.Sqrt(sq[c] / rows);
                s[c] = std > 0 && float.IsNormal((float)std) ? (float)std : 1f;
            }
        }
        return new Standardizer(m, s);
    }

    /// <summary>Standardises row-major <paramref name="features"/> in place.</summary>
    public void TransformInPlace(Span<float> features)
    {
        if (features.Length % FeatureCount != 0)
            throw new ArgumentException(
                $"features has {features.Length} values, not a multiple of the {FeatureCount} features this standardizer was fitted on.", nameof(features));
        for (int at = 0; at < features.Length; at += FeatureCount)
        {
            var row = features.Slice(at, FeatureCount);
            for (int c = 0; c < row.Length; c++)
                row[c] = (float)((row[c] - (double)Mean[c]) / Scale[c]);
        }
    }

    /// <summary>A standardised copy of <paramref name="data"/> (and of its provided test split, if any); labels and targets are shared.</summary>
    public Dataset Transform(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != FeatureCount)
            throw new ArgumentException(
                $"data set '{data.Name}' has {data.FeatureCount} features; this standardizer was fitted on {FeatureCount}.", nameof(data));
        var copy = (float[])data.Features.Clone();
        TransformInPlace(copy);
        return data.WithFeatures(copy, data.ProvidedTest is null ? null : Transform(data.ProvidedTest));
    }

    /// <summary>Standardised copies of all three splits, using this standardizer's statistics.</summary>
    public DatasetSplits Transform(DatasetSplits splits)
    {
        ArgumentNullException.ThrowIfNull(splits);
        return splits with
        {
            Train = Transform(splits.Train),
            Validation = Transform(splits.Validation),
            Test = Transform(splits.Test),
        };
    }

    /// <summary>Fits on <c>splits.Train</c> only and returns the standardised splits with the fitted standardizer.</summary>
    public static (DatasetSplits Splits, Standardizer Standardizer) FitTransform(DatasetSplits splits)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var st = Fit(splits.Train);
        return (st.Transform(splits), st);
    }
}
