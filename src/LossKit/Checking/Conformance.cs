using System.Globalization;
using LossKit.Core;

namespace LossKit.Checking;

/// <summary>The outcome of one conformance check.</summary>
/// <param name="Check">The group it belongs to: one of the names in <see cref="ConformanceChecks"/>.</param>
/// <param name="Name">What was checked, e.g. <c>logits at scale 30</c> or <c>bounded: ℓ ≤ 1</c>.</param>
/// <param name="Worst">The worst deviation seen (for pass/fail checks: the number of failed cases).</param>
/// <param name="Tolerance">What <paramref name="Worst"/> was compared with.</param>
/// <param name="Detail">The inputs used, where the worst case is, or why the check was skipped.</param>
public sealed record ConformanceResult(string Check, string Name, double Worst, double Tolerance, string Detail)
{
    /// <summary>The claimed property this result verifies (<see cref="LossProperties.None"/> for the other checks).</summary>
    public LossProperties Property { get; init; }

    /// <summary>True when the check does not apply to the loss; <see cref="Detail"/> says why.</summary>
    public bool Skipped { get; init; }

    /// <summary>Skipped, or the worst deviation within tolerance (NaN fails).</summary>
    public bool Passed => Skipped || Worst <= Tolerance;

    public override string ToString() =>
        $"{Check}: {Name}: {(Skipped ? "skipped" : Passed ? "pass" : "FAIL")} (worst {Worst.ToString("G3", CultureInfo.InvariantCulture)}, " +
        $"tolerance {Tolerance.ToString("G3", CultureInfo.InvariantCulture)}; {Detail})";
}

/// <summary>The groups of checks <see cref="Conformance.Run"/> makes (<see cref="ConformanceResult.Check"/>).</summary>
public static class ConformanceChecks
{
    /// <summary>Finite differences in double for every differentiable input, at several scales and cases.</summary>
    public const string Gradient = "gradient";
    /// <summary><c>none</c> sums to <c>sum</c>, <c>sum</c> = <c>mean</c>·D, gradients alike.</summary>
    public const string Reductions = "reductions";
    /// <summary>Bit-identical results with 1 and 2 threads.</summary>
    public const string Threads = "threads";
    /// <summary>Finite results at large magnitudes, zeros, one class, masked (−∞) classes.</summary>
    public const string ExtremeInputs = "extreme inputs";
    /// <summary>Wrong shapes, missing inputs and out-of-range labels are <see cref="ArgumentException"/>s naming the input.</summary>
    public const string BadInputs = "bad inputs";
    /// <summary>A property the loss's card claims.</summary>
    public const string Property = "property";

    /// <summary>Every group, in the order <see cref="Conformance.Run"/> runs them.</summary>
    public static IReadOnlyList<string> All { get; } = [Gradient, Reductions, Threads, ExtremeInputs, BadInputs, Property];
}

/// <summary>
/// The conformance suite: every check a LossKit loss must pass, run on any <see cref="ILoss"/> through its
/// <see cref="ILoss.Kind"/> alone (named inputs in, <c>loss</c>, <c>unreduced</c> and <c>grad_&lt;name&gt;</c> out), so a
/// loss of a new kind gets it by being registered. <c>losskit check SPEC</c> prints it; the registry-driven tests assert it.
/// </summary>
/// <remarks>
/// <para>The checks, on seeded random inputs from the kind's <see cref="LossKind.Sample"/>:</para>
/// <list type="bullet">
/// <item><b>gradient</b>: <see cref="GradientCheck.Check(ILoss, LossInputs, string, double)"/> for every differentiable
/// input at input scales 0.01, 1, 30, 1000 and 1e30 (one input at a time drawn at that magnitude, the others at 1; a
/// scale above a quarter of the loss's finite range, the <c>FiniteLogitScale</c> of its kind's interface, is replaced
/// by that quarter), with an ignored row (losses with
/// <c>ignore_index</c>), with masked (−∞) classes and with soft targets (kinds that have them); tolerance
/// <see cref="GradientCheck.DefaultTolerance"/>. A loss with a state of its own (<see cref="IOwnStateLoss"/>) is checked
/// with it held fixed, its returned gradient must equal that one, and a trained state is checked too.</item>
/// <item><b>reductions</b>: the value against the unreduced values as the loss is configured (their sum for <c>sum</c>
/// and <c>none</c>, their mean for <c>mean</c>, one of the two for a loss without the option); and the loss rebuilt
/// from its spec with <c>reduction=mean|sum|none</c>: the same unreduced values;
/// <c>none</c> and <c>sum</c> return Σ unreduced; <c>sum</c> = <c>mean</c>·D with D the number of unreduced values (with
/// class weights, the D that value and gradients agree on); grad(none) = grad(sum) = D·grad(mean). Skipped, with the
/// reason, for a loss without a <c>reduction</c> parameter or one that cannot be rebuilt from its spec.</item>
/// <item><b>threads</b>: loss, unreduced values and every gradient bit-identical in float with
/// <c>Parallelism.MaxThreads</c> 1 and 2, on a batch of at least 98,304 values per row-scaled input (several blocks).</item>
/// <item><b>extreme inputs</b>: finite loss, unreduced values and gradients at ±(finite range) (random and exact), at
/// zero, with one class, and with masked (−∞) non-target classes, whose gradient must be exactly 0. With label smoothing
/// (<c>smoothing</c> &gt; 0 in the spec) a masked class has target mass: that row's loss must be +∞, never NaN.</item>
/// <item><b>bad inputs</b>: a missing input, any input one row short, and a label input (class indices, 0/1 targets,
/// multi-hot rows) holding 10⁶, −3 or NaN, and a NaN in any differentiable input, must each throw an
/// <see cref="ArgumentException"/> whose parameter name is an input of the kind (for a bad value: that input).</item>
/// <item><b>property</b>: each property the configured loss claims (<see cref="LossProperties"/>): shift and scale
/// invariance, non-negativity, the card's bound (times the largest class weight), convexity along random segments —
/// through the kind for every kind; symmetry (rows of K logits), classification calibration (rows of K logits, or
/// binary outputs) and the binary margin symmetry through the kind's own interface, where the property is defined. A
/// claim the suite cannot check for the loss's kind fails.</item>
/// </list>
/// <para>Where a check uses a loss's masks, labels or soft targets it relies on the input names and shapes of
/// <c>spec/io.md</c>: <c>targets</c> (N class indices), <c>positives</c> (N×K multi-hot), <c>soft_targets</c> (N×K), and
/// class axes written <c>K</c> or <c>V</c> in a <see cref="LossInput.Shape"/>.</para>
/// </remarks>
public static partial class Conformance
{
    /// <summary>Runs every check on <paramref name="loss"/>. A loss with a state of its own (<see cref="IOwnStateLoss"/>)
    /// is only ever called through copies, so it is left as it was found.</summary>
    /// <param name="loss">Any loss.</param>
    /// <param name="seed">Seed of the random inputs.</param>
    /// <param name="rebuild">Builds a loss from a spec string, for the reduction variants; null: the registry's
    /// <c>LossRegistry.Create</c> when the loss is registered, otherwise those checks are skipped.</param>
    /// <param name="checks">The groups to run (names from <see cref="ConformanceChecks"/>); null: all.</param>
    public static IReadOnlyList<ConformanceResult> Run(ILoss loss, int seed = 0, Func<string, ILoss>? rebuild = null,
        IReadOnlyCollection<string>? checks = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (checks?.FirstOrDefault(c => !ConformanceChecks.All.Contains(c)) is { } unknown)
            throw new ArgumentException($"'{unknown}' is not a conformance check: expected one of {string.Join(", ", ConformanceChecks.All)}.", nameof(checks));
        var subject = new Subject(loss, rebuild);
        var results = new List<ConformanceResult>();
        bool Wanted(string check) => checks is null || checks.Contains(check);
        if (Wanted(ConformanceChecks.Gradient)) results.AddRange(Gradients(subject, seed));
        if (Wanted(ConformanceChecks.Reductions)) results.AddRange(Reductions(subject, seed + 1));
        if (Wanted(ConformanceChecks.Threads)) results.Add(Threads(subject, seed + 2));
        if (Wanted(ConformanceChecks.ExtremeInputs)) results.Add(ExtremeInputs(subject, seed + 3));
        if (Wanted(ConformanceChecks.BadInputs)) results.Add(BadInputs(subject, seed + 4));
        if (Wanted(ConformanceChecks.Property)) results.AddRange(Properties(subject, seed + 5));
        return results;
    }

    /// <summary>A pass/fail result: <paramref name="failures"/> against tolerance 0.</summary>
    private static ConformanceResult Count(string check, string name, int failures, string detail) =>
        new(check, name, failures, 0, detail);

    /// <summary>Shortest round-trip text of a number, for details.</summary>
    internal static string G(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
