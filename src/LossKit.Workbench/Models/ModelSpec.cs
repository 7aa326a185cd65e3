using System.Globalization;

namespace LossKit.Workbench.Models;

/// <summary>
/// Which model to train: <c>linear</c> (softmax regression) or <c>mlp:H1,H2,...</c> (a multi-layer perceptron with
/// ReLU hidden layers of the given widths, e.g. <c>mlp:256,128</c>).
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Largest hidden width accepted.</summary>
    public const int MaxWidth = 1 << 16;

    private ModelSpec(int[] hidden) => Hidden = hidden;

    /// <summary>Widths of the hidden layers (empty for <c>linear</c>).</summary>
    public IReadOnlyList<int> Hidden { get; }

    /// <summary>Softmax regression.</summary>
    public static ModelSpec Linear { get; } = new([]);

    /// <summary>An MLP with the given hidden widths (none: softmax regression).</summary>
    public static ModelSpec Mlp(params int[] hidden)
    {
        foreach (int h in hidden)
            if (h < 1 || h > MaxWidth)
                throw new ArgumentException($"hidden width {h} is out of range; widths must lie in [1, {MaxWidth}].");
        return new ModelSpec((int[])hidden.Clone());
    }

    /// <summary>Parses <c>linear</c> or <c>mlp:256,128</c> (case-insensitive, spaces allowed).</summary>
    public static ModelSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToLowerInvariant();
        if (t is "linear" or "softmax") return Linear;
        if (t.StartsWith("mlp:", StringComparison.Ordinal))
        {
            var parts = t[4..].Split(',', StringSplitOptions.TrimEntries);
            var widths = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] < 1 || widths[i] > MaxWidth)
                    throw new ArgumentException(
                        $"model '{text}': hidden width '{parts[i]}' is not a whole number in [1, {MaxWidth}]; write mlp:256,128.");
            return new ModelSpec(widths);
        }
        throw new ArgumentException($"unknown model '{text}'; valid models are: linear, mlp:H1[,H2,...] (e.g. mlp:256,128).");
    }

    /// <summary>Layer widths from input to output: [features, hidden..., classes].</summary>
    public int[] LayerSizes(int features, int classes) => [features, .. Hidden, classes];

    /// <summary>Canonical text: <c>linear</c> or <c>mlp:256,128</c>.</summary>
    public override string ToString() =>
        Hidden.Count == 0 ? "linear" : "mlp:" + string.Join(",", Hidden.Select(h => h.ToString(CultureInfo.InvariantCulture)));

    public bool Equals(ModelSpec? other) => other is not null && Hidden.SequenceEqual(other.Hidden);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
