using LossKit.Core;

namespace LossKit.Scaling;

/// <summary>
/// The card of a scaling law or loss-curve law: spec name, formula, the input variables, the fitted parameters with their
/// valid ranges (declared as <see cref="LossParameter"/>s, like a loss's parameters), the spec options (e.g. <c>x</c> of
/// <c>power(x=N)</c>), the coordinates the fitter works in, the reference, and what of the formula was checked against the
/// paper or the authors' code.
/// </summary>
public sealed record LawCard
{
    /// <summary>The spec name, e.g. <c>chinchilla</c>.</summary>
    public required string Name { get; init; }
    public required string Title { get; init; }
    /// <summary>The law, e.g. <c>L(N, D) = E + A/N^α + B/D^β</c>.</summary>
    public required string Formula { get; init; }
    /// <summary>The law's inputs in order, e.g. <c>N</c>, <c>D</c>; a curve law's are <c>step</c>, <c>lr</c>.</summary>
    public required IReadOnlyList<string> Variables { get; init; }
    /// <summary>The fitted parameters in the card's order (the names of <c>--json</c>'s <c>params</c>), each with its valid range.</summary>
    public required IReadOnlyList<LossParameter> Parameters { get; init; }
    /// <summary>Spec options, e.g. <c>x</c> of <c>power</c> or <c>lambda</c> of <c>lr_annealing</c>.</summary>
    public IReadOnlyList<LossParameter> Options { get; init; } = [];
    /// <summary>The coordinates L-BFGS moves (e.g. <c>a = log A</c>) and the log form of the law it fits.</summary>
    public required string Fitting { get; init; }
    public required string Reference { get; init; }
    /// <summary>What was checked, against what (paper, authors' code), and what was decided where the sources leave a choice.</summary>
    public required string Verified { get; init; }
    /// <summary>A curve law: its rows are the logged steps of one training run, and a prediction at a row needs the schedule before it.</summary>
    public bool IsCurveLaw { get; init; }

    /// <summary>The parameter with this name, or null.</summary>
    public LossParameter? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);

    /// <summary>The options as the loss card <see cref="SpecArguments"/> reads them through.</summary>
    internal LossCard OptionsCard => LossCard.ForFamily("scaling law", Name, Title, Formula, "", Reference, LossProperties.None, Options);
}
