namespace LossKit.Core;

/// <summary>Parameters every softmax-family loss accepts, with PyTorch's names and defaults.</summary>
public static class CommonParameters
{
    /// <summary>PyTorch's default ignore_index.</summary>
    public const int DefaultIgnoreIndex = -100;

    public static readonly LossParameter Weight = new("weight", ParameterKind.NumberList,
        "per-class weight w_k (length K); the mean divides by Σ w_{y_n}") { Min = 0 };

    public static readonly LossParameter IgnoreIndex = new("ignore_index", ParameterKind.Integer,
        "rows with this target give 0 loss and 0 gradient and leave the mean's denominator") { Default = DefaultIgnoreIndex };

    public static readonly LossParameter Reduction = new("reduction", ParameterKind.Choice,
        "mean divides by Σ w_{y_n} over kept rows (0 if none); none returns per-row losses") { Choices = ["mean", "sum", "none"] };

    /// <summary>weight, ignore_index, reduction.</summary>
    public static IReadOnlyList<LossParameter> Softmax { get; } = [Weight, IgnoreIndex, Reduction];
}
