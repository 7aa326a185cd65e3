using System.Globalization;

namespace LossKit.Workbench.Data;

/// <summary>How training labels are corrupted.</summary>
public enum NoiseKind
{
    /// <summary>No corruption.</summary>
    None,
    /// <summary>With probability <c>rate</c>, a label is replaced by one of the other K−1 classes, chosen uniformly.</summary>
    Symmetric,
    /// <summary>With probability <c>rate</c>, label y becomes (y + 1) mod K.</summary>
    PairFlip,
}

/// <summary>
/// A label-noise setting: a <see cref="NoiseKind"/> and a rate in [0, 1). Written as text <c>none</c>,
/// <c>symmetric:RATE</c> or <c>pairflip:RATE</c> (e.g. <c>symmetric:0.4</c>; case-insensitive, invariant-culture
/// number). Each label is corrupted independently with probability RATE, so the realised fraction of changed
/// labels is close to, not exactly, RATE.
/// </summary>
public readonly record struct NoiseSpec
{
    /// <summary>The random stream of the training labels' noise.</summary>
    public const string TrainPurpose = "label-noise";

    /// <summary>The random stream of the validation labels' noise (<c>--validation-noise same</c>).</summary>
    public const string ValidationPurpose = "label-noise-validation";

    /// <summary>The kinds as written in text, for messages and help.</summary>
    public static IReadOnlyList<string> KindNames { get; } = ["none", "symmetric", "pairflip"];

    /// <summary>Creates and checks a setting.</summary>
    /// <exception cref="ArgumentException">The rate is outside [0, 1) or not a number, or <see cref="NoiseKind.None"/> has a non-zero rate.</exception>
    public NoiseSpec(NoiseKind kind, double rate)
    {
        if (!Enum.IsDefined(kind))
            throw new ArgumentException($"noise kind {(int)kind} is not valid; valid kinds are: {string.Join(", ", KindNames)}.", nameof(kind));
        if (!(rate >= 0 && rate < 1))
            throw new ArgumentException(
                $"noise rate {rate.ToString(CultureInfo.InvariantCulture)} is out of range; it must lie in [0, 1).", nameof(rate));
        if (kind == NoiseKind.None && rate != 0)
            throw new ArgumentException(
                $"noise kind none takes no rate (got {rate.ToString(CultureInfo.InvariantCulture)}); use symmetric:RATE or pairflip:RATE.", nameof(rate));
        Kind = kind;
        Rate = rate;
    }

    /// <summary>No noise.</summary>
    public static NoiseSpec None => default;

    /// <summary>The corruption kind.</summary>
    public NoiseKind Kind { get; }

    /// <summary>Probability that a label is corrupted, in [0, 1).</summary>
    public double Rate { get; }

    /// <summary>Parses <c>none</c>, <c>symmetric:RATE</c> or <c>pairflip:RATE</c>.</summary>
    /// <exception cref="ArgumentException">Unknown kind (the message lists the valid ones), missing or bad rate, or a rate outside [0, 1).</exception>
    public static NoiseSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        int colon = t.IndexOf(':');
        string kindText = (colon < 0 ? t : t[..colon]).Trim().ToLowerInvariant();
        string? rateText = colon < 0 ? null : t[(colon + 1)..].Trim();
        NoiseKind kind = kindText switch
        {
            "none" => NoiseKind.None,
            "symmetric" => NoiseKind.Symmetric,
            "pairflip" => NoiseKind.PairFlip,
            _ => throw new ArgumentException(
                $"unknown noise kind '{kindText}' in '{text}'; valid kinds are: none, symmetric:RATE, pairflip:RATE (RATE in [0, 1)).", nameof(text)),
        };
        if (kind == NoiseKind.None)
        {
            if (rateText is null) return None;
            if (double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out double r0) && r0 == 0) return None;
            throw new ArgumentException($"noise 'none' takes no rate (got '{text}'); write 'none'.", nameof(text));
        }
        if (rateText is null)
            throw new ArgumentException($"noise '{text}' needs a rate: write {kindText}:RATE with RATE in [0, 1), e.g. {kindText}:0.2.", nameof(text));
        if (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate))
            throw new ArgumentException($"noise rate '{rateText}' in '{text}' is not a number; RATE must lie in [0, 1).", nameof(text));
        if (!(rate >= 0 && rate < 1))
            throw new ArgumentException($"noise rate {rateText} in '{text}' is out of range; it must lie in [0, 1).", nameof(text));
        return new NoiseSpec(kind, rate);
    }

    /// <summary>
    /// Corrupts a copy of <paramref name="labels"/> (classes 0..<paramref name="classes"/>−1) with a generator
    /// seeded from <paramref name="seed"/>; the input is not modified. The same labels, spec and seed always give
    /// the same result.
    /// </summary>
    /// <param name="labels">Clean labels.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="purpose">Names the random stream (<see cref="SeededRng.ForPurpose"/>): the training labels use
    /// <c>label-noise</c>, the validation labels <c>label-noise-validation</c>, so the two draws are independent.</param>
    /// <exception cref="ArgumentException">A label is outside [0, classes), or noise needs at least 2 classes.</exception>
    public NoisyLabels Apply(ReadOnlySpan<int> labels, int classes, int seed, string purpose = TrainPurpose)
    {
        if (classes < 1)
            throw new ArgumentException($"classes is {classes}; it must be at least 1.", nameof(classes));
        if (Kind != NoiseKind.None && Rate > 0 && classes < 2)
            throw new ArgumentException($"{this} noise needs at least 2 classes; there is {classes}.", nameof(classes));
        var clean = labels.ToArray();
        for (int i = 0; i < clean.Length; i++)
            if ((uint)clean[i] >= (uint)classes)
                throw new ArgumentException($"labels[{i}] is {clean[i]}; labels must lie in [0, {classes}).", nameof(labels));
        var noisy = (int[])clean.Clone();
        if (Kind != NoiseKind.None && Rate > 0)
        {
            var rng = SeededRng.ForPurpose(seed, purpose);
            for (int i = 0; i < noisy.Length; i++)
            {
                if (rng.NextDouble() >= Rate) continue;
                int y = noisy[i];
                if (Kind == NoiseKind.PairFlip)
                {
                    noisy[i] = (y + 1) % classes;
                }
                else
                {
                    int r = rng.NextInt(classes - 1); // one of the other classes
                    noisy[i] = r >= y ? r + 1 : r;
                }
            }
        }
        return new NoisyLabels(this, clean, noisy);
    }

    /// <summary>The text form: <c>none</c>, <c>symmetric:0.4</c>, <c>pairflip:0.2</c>.</summary>
    public override string ToString() => Kind switch
    {
        NoiseKind.None => "none",
        NoiseKind.Symmetric => "symmetric:" + Rate.ToString(CultureInfo.InvariantCulture),
        _ => "pairflip:" + Rate.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>Labels after <see cref="NoiseSpec.Apply"/>: the clean and noisy labels and how many differ.</summary>
public sealed class NoisyLabels
{
    internal NoisyLabels(NoiseSpec spec, int[] clean, int[] noisy)
    {
        Spec = spec;
        CleanLabels = clean;
        Labels = noisy;
        int changed = 0;
        for (int i = 0; i < clean.Length; i++) if (clean[i] != noisy[i]) changed++;
        Changed = changed;
    }

    /// <summary>The setting that was applied.</summary>
    public NoiseSpec Spec { get; }

    /// <summary>The noisy labels.</summary>
    public int[] Labels { get; }

    /// <summary>The original labels (a copy).</summary>
    public int[] CleanLabels { get; }

    /// <summary>Number of labels that differ from the clean ones.</summary>
    public int Changed { get; }

    /// <summary>Fraction of labels changed (<see cref="Changed"/> / count; 0 for no labels).</summary>
    public double RealisedRate => Labels.Length == 0 ? 0 : (double)Changed / Labels.Length;

    /// <summary>Whether label <paramref name="i"/> was changed.</summary>
    public bool IsChanged(int i) => Labels[i] != CleanLabels[i];
}

/// <summary>Applies label noise to the training split, and optionally to the validation split; never to the test split.</summary>
public static class LabelNoise
{
    /// <summary>
    /// Returns splits whose training labels are corrupted by <paramref name="spec"/> (seeded by
    /// <paramref name="seed"/>); validation and test splits are returned unchanged (the same objects), and the
    /// training features are shared, not copied.
    /// </summary>
    /// <exception cref="InvalidOperationException">The data set is a regression set.</exception>
    public static (DatasetSplits Splits, NoisyLabels Noise) ApplyToTrain(DatasetSplits splits, NoiseSpec spec, int seed)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var train = splits.Train;
        if (!train.IsClassification)
            throw new InvalidOperationException($"label noise needs a classification data set; '{train.Name}' is a regression data set.");
        var noise = spec.Apply(train.RequireLabels(), train.Classes, seed);
        return (splits with { Train = train.WithLabels(noise.Labels) }, noise);
    }

    /// <summary>
    /// The validation split's labels corrupted by the same setting as the training labels, from an independent stream
    /// (<see cref="NoiseSpec.ValidationPurpose"/>): what a user whose labels are all noisy holds out for validation.
    /// </summary>
    public static (DatasetSplits Splits, NoisyLabels Noise) ApplyToValidation(DatasetSplits splits, NoiseSpec spec, int seed)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var validation = splits.Validation;
        var noise = spec.Apply(validation.RequireLabels(), validation.Classes, seed, NoiseSpec.ValidationPurpose);
        return (splits with { Validation = validation.WithLabels(noise.Labels) }, noise);
    }
}
