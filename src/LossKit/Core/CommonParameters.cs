namespace LossKit.Core;

/// <summary>
/// Options that several losses share, declared once with PyTorch's names and defaults and composed into their cards:
/// the class-index options (<c>weight</c>, <c>ignore_index</c>, <c>reduction</c>) of every multi-class loss, and the
/// softmax options (<c>smoothing</c>, <c>lse_sq</c>, <c>softcap</c>, <c>temperature</c>) of <c>ce</c> and
/// <c>linear_ce</c>. A loss whose option means something slightly different (a per-column weight, another mean,
/// another default temperature) derives it with <c>with { ... }</c>, keeping the name, kind and range.
/// </summary>
public static class CommonParameters
{
    /// <summary>PyTorch's default ignore_index.</summary>
    public const int DefaultIgnoreIndex = -100;

    public static readonly LossParameter Weight = new("weight", ParameterKind.NumberList,
        "per-class weight w_k (length K); the mean divides by Σ w_{y_n}") { Min = 0 };

    public static readonly LossParameter IgnoreIndex = new("ignore_index", ParameterKind.Integer,
        "rows with this target give 0 loss and 0 gradient and leave the mean's denominator") { Default = DefaultIgnoreIndex };

    /// <summary>The reduction; the first choice, <c>mean</c>, is the default (<see cref="Core.Reduction.Mean"/>).</summary>
    public static readonly LossParameter Reduction = new("reduction", ParameterKind.Choice,
        "mean divides by Σ w_{y_n} over kept rows (0 if none); none returns per-row losses") { Choices = ["mean", "sum", "none"] };

    public static readonly LossParameter Smoothing = new("smoothing", ParameterKind.Number,
        "label smoothing ε: the target becomes (1−ε)·e_y + ε/K") { Default = 0, Min = 0, Max = 1 };

    public static readonly LossParameter LseSquared = new("lse_sq", ParameterKind.Number,
        "λ of PaLM's auxiliary z-loss λ·lse²") { Default = 0, Min = 0 };

    public static readonly LossParameter Softcap = new("softcap", ParameterKind.Number,
        "c of Gemma 2's logit soft-capping z ← c·tanh(z/c); 0 = off") { Default = 0, Min = 0 };

    public static readonly LossParameter Temperature = new("temperature", ParameterKind.Number,
        "T: z ← z/T (after softcap)") { Default = 1, Min = 0, MinExclusive = true };

    /// <summary>weight, ignore_index, reduction: the options of every multi-class loss on class indices.</summary>
    public static IReadOnlyList<LossParameter> ClassIndex { get; } = [Weight, IgnoreIndex, Reduction];

    /// <summary>smoothing, lse_sq, softcap, temperature: <c>ce</c>'s options on the softmax, shared with <c>linear_ce</c>.</summary>
    public static IReadOnlyList<LossParameter> SoftmaxOptions { get; } = [Smoothing, LseSquared, Softcap, Temperature];

    /// <summary>The <see cref="Core.Reduction"/> a <see cref="Reduction"/> choice names.</summary>
    public static Reduction ReductionOf(string choice) => Reduction.Resolve(choice) switch
    {
        "sum" => Core.Reduction.Sum,
        "none" => Core.Reduction.None,
        _ => Core.Reduction.Mean,
    };

    /// <summary>A reduction argument: null gives the default (mean); an undefined value is an error.</summary>
    public static Reduction Resolve(Reduction? reduction) => reduction switch
    {
        null => ReductionOf(Reduction.Choices[0]),
        { } r when Enum.IsDefined(r) => r,
        { } r => throw new ArgumentOutOfRangeException("reduction", r, $"reduction = {r} is not valid: expected None, Sum or Mean."),
    };
}
