using System.Numerics;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Checking;

/// <summary>
/// The loss under check as the conformance suite sees it: its kind, a fresh copy for every evaluation (so that a loss
/// with a state of its own gives the same results every time and the caller's instance of it is never called), what its spec
/// says (ignore index, class weights, reduction, label smoothing), the claims of its configuration, and how to rebuild
/// it with other options.
/// </summary>
internal sealed class Subject
{
    private readonly Func<string, ILoss>? _rebuild;
    private readonly IReadOnlyDictionary<string, SpecValue> _arguments;

    public Subject(ILoss loss, Func<string, ILoss>? rebuild)
    {
        Loss = loss;
        Kind = loss.Kind;
        _rebuild = rebuild ?? (LossRegistry.All.Any(d => ReferenceEquals(d.Card, loss.Card)) ? LossRegistry.Create : null);
        try { _arguments = SpecParser.Parse(loss.Spec).Arguments; }
        catch (ArgumentException) { _arguments = new Dictionary<string, SpecValue>(); }
        Claims = loss.Properties;
        FiniteScale = Math.Min(1e30, loss.FiniteInputScale);
        if (loss.Card.Parameter(CommonParameters.IgnoreIndex.Name) is { } ignore)
            IgnoreIndex = _arguments.TryGetValue(ignore.Name, out var v) && v.Number is { } n ? (int)n : (int?)(ignore.Default ?? CommonParameters.DefaultIgnoreIndex);
        Weights = _arguments.TryGetValue(CommonParameters.Weight.Name, out var w) ? w.List ?? (w.Number is { } one ? [one] : null) : null;
        Smoothing = _arguments.TryGetValue("smoothing", out var s) && s.Number is { } eps ? eps : 0;
        if (loss.Card.Parameter(CommonParameters.Reduction.Name) is { } reduction)
            Reduction = _arguments.TryGetValue(reduction.Name, out var r) && r.Identifier is { } id ? id : reduction.DefaultText;
    }

    /// <summary>The caller's loss (called only when it has no state of its own).</summary>
    public ILoss Loss { get; }

    public LossKind Kind { get; }

    /// <summary>The properties the configured loss claims.</summary>
    public LossProperties Claims { get; }

    /// <summary>The largest input magnitude at which the loss claims finite results (at most 1e30).</summary>
    public double FiniteScale { get; }

    /// <summary>The loss's ignore index when it has the <c>ignore_index</c> option.</summary>
    public int? IgnoreIndex { get; }

    /// <summary>Class weights given in the spec, or null.</summary>
    public IReadOnlyList<double>? Weights { get; }

    /// <summary>Label smoothing ε given in the spec (0 if none).</summary>
    public double Smoothing { get; }

    /// <summary>The configured reduction's name, or null for a loss without the <c>reduction</c> option.</summary>
    public string? Reduction { get; }

    /// <summary>True when the loss can be rebuilt from a spec (<see cref="Rebuild"/>).</summary>
    public bool CanRebuild => _rebuild is not null;

    /// <summary>An independent copy to call: <see cref="IOwnStateLoss.CheckCopy"/>, or the loss itself (stateless).</summary>
    public ILoss Fresh() => Loss is IOwnStateLoss own ? own.CheckCopy() : Loss;

    /// <summary><paramref name="copy"/> with its own state held fixed at <paramref name="inputs"/>.</summary>
    public static ILoss Held(ILoss copy, LossInputs inputs) => copy is IOwnStateLoss own ? own.HeldFixed(inputs) : copy;

    /// <summary>The loss rebuilt from its spec with <paramref name="name"/>=<paramref name="value"/> (then its check copy).</summary>
    public ILoss Rebuild(string name, string value)
    {
        ParsedSpec parsed = SpecParser.Parse(Loss.Spec);
        var arguments = parsed.Arguments.Where(a => a.Key != name).Select(a => $"{a.Key}={a.Value}").Append($"{name}={value}");
        ILoss rebuilt = _rebuild!($"{parsed.Name}({string.Join(", ", arguments)})");
        return rebuilt is IOwnStateLoss own ? own.CheckCopy() : rebuilt;
    }

    /// <summary>A sample size: <paramref name="width"/> classes (outputs), or as many as the spec's class weights.</summary>
    public SampleSize Size(int rows, int width, int dim = 3) => new(rows, Weights?.Count ?? width, dim);

    /// <summary>Valid random inputs from the kind.</summary>
    public LossInputs Sample(SampleSize size, Random random, double scale) => Kind.Sample(Fresh(), size, random, scale);

    /// <summary>The sample with soft labels — <c>targets</c> in [0, 1], a mixture of 0, 1 and values in between —
    /// where its <c>targets</c> have the shape of its first differentiable input (binary and multi-label targets, per
    /// <c>spec/io.md</c>); otherwise null.</summary>
    public LossInputs? SoftLabels(LossInputs inputs, Random random)
    {
        if (inputs.Optional("targets") is not { } targets || !inputs[Differentiable(inputs).First()].Shape.SequenceEqual(targets.Shape)) return null;
        var result = Copy(inputs);
        result["targets"] = new LossTensor(GradientCheck.RandomBinaryTargets(random, targets.Length, soft: true), targets.Shape);
        return result;
    }

    /// <summary>A sample, and the same with soft labels where the kind has them (<see cref="SoftLabels"/>).</summary>
    public IEnumerable<LossInputs> Samples(SampleSize size, Random random, double scale)
    {
        LossInputs inputs = Sample(size, random, scale);
        yield return inputs;
        if (SoftLabels(inputs, random) is { } soft) yield return soft;
    }

    /// <summary>Runs <paramref name="loss"/> (with gradients) in <typeparamref name="T"/>.</summary>
    public LossOutputs Evaluate<T>(ILoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T> => Kind.Evaluate<T>(loss, inputs);

    /// <summary>Runs a fresh copy in double.</summary>
    public LossOutputs Evaluate(LossInputs inputs) => Evaluate<double>(Fresh(), inputs);

    /// <summary>The differentiable inputs of the kind that <paramref name="inputs"/> holds.</summary>
    public IEnumerable<string> Differentiable(LossInputs inputs) =>
        Kind.Inputs.Where(i => i.Differentiable && inputs.ContainsKey(i.Name)).Select(i => i.Name);

    /// <summary>The number of classes (outputs per row) of a sample: the last dimension of its first differentiable input.</summary>
    public int Width(LossInputs inputs)
    {
        LossTensor first = inputs[Differentiable(inputs).First()];
        return first.Rank >= 2 ? first.Shape[^1] : 1;
    }

    /// <summary><paramref name="inputs"/> with every differentiable input mapped by <paramref name="map"/>, kept ≥ 0 (as
    /// |map(x)|) where the input is <see cref="LossInput.NonNegative"/> and ≤ 0 (as −|map(x)|) where it is
    /// <see cref="LossInput.NonPositive"/>.</summary>
    public LossInputs MapDifferentiable(LossInputs inputs, Func<double, double> map)
    {
        var result = Copy(inputs);
        foreach (string name in Differentiable(inputs))
        {
            LossInput input = Kind.Inputs.First(i => i.Name == name);
            Func<double, double> kept = input.NonNegative ? v => Math.Abs(map(v)) : input.NonPositive ? v => -Math.Abs(map(v)) : map;
            result[name] = new LossTensor(inputs[name].Values.Select(kept).ToArray(), inputs[name].Shape);
        }
        return result;
    }

    /// <summary>A shallow copy of the inputs (tensors shared).</summary>
    public static LossInputs Copy(LossInputs inputs)
    {
        var result = new LossInputs();
        foreach (var (k, v) in inputs) result[k] = v;
        return result;
    }

    /// <summary>True when <paramref name="input"/> is a label input: not differentiable and holding whole numbers only
    /// (class indices, 0/1 targets, multi-hot rows).</summary>
    public static bool IsLabels(LossInput input, LossTensor tensor) =>
        !input.Differentiable && tensor.Values.All(v => double.IsFinite(v) && v == Math.Floor(v));
}
