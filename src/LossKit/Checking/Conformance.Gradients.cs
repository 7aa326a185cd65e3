using LossKit.Core;

namespace LossKit.Checking;

public static partial class Conformance
{
    /// <summary>The input scales of the gradient check: <see cref="GradientCheck.DefaultScales"/>, where a scale above a
    /// quarter of the loss's finite range is replaced by that quarter (there the central difference of a loss growing like
    /// e^{β|x|} is still accurate to 1e-6).</summary>
    private static IEnumerable<double> GradientScales(Subject s) =>
        GradientCheck.DefaultScales.Select(v => s.FiniteScale >= 1e30 || v <= s.FiniteScale / 4 ? v : s.FiniteScale / 4).Distinct();

    private static List<ConformanceResult> Gradients(Subject s, int seed)
    {
        var rng = new Random(seed);
        SampleSize size = s.Size(rows: 4, width: 5);
        // At each scale, one differentiable input at a time is drawn at that magnitude, the others at 1: the loss then
        // varies with the checked input on the scale of the step (a bias of 1 beside logits of 1e30 does not).
        var cases = new List<(string Name, LossInputs Inputs, string? Only)>();
        foreach (double scale in GradientScales(s))
        {
            LossInputs unit = s.Sample(size, rng, 1), scaled = s.Sample(size, rng, scale);
            foreach (string input in s.Differentiable(unit))
            {
                LossInputs inputs = Subject.Copy(unit);
                inputs[input] = scaled[input];
                cases.Add(($"at scale {G(scale)}", inputs, input));
            }
        }
        if (IgnoredRow(s, s.Sample(size, rng, 1)) is { } ignored) cases.Add(("with an ignored row", ignored, null));
        var results = new List<ConformanceResult>();
        if (Masks.Apply(s.Kind, s.Sample(size with { Width = Math.Max(size.Width, 5) }, rng, 1), perRow: 1) is { } masked)
        {
            if (s.Smoothing > 0 && s.Evaluate(masked).Loss == double.PositiveInfinity)
                results.Add(new ConformanceResult(ConformanceChecks.Gradient, "with masked (−∞) classes", 0, 0,
                    $"label smoothing {G(s.Smoothing)} puts target mass on the masked class: the loss is +∞ there") { Skipped = true });
            else cases.Add(("with masked (−∞) classes", masked, null));
        }
        LossInputs forSoft = s.Sample(size, rng, 1);
        if ((SoftTargets(s, forSoft, rng) ?? s.SoftLabels(forSoft, rng)) is { } soft) cases.Add(("with soft targets", soft, null));

        foreach (var (name, inputs, only) in cases)
        {
            ILoss copy = s.Fresh();
            ILoss held = Subject.Held(copy, inputs);
            foreach (string input in s.Differentiable(inputs))
            {
                if (only is not null && input != only) continue;
                GradientCheckResult r = GradientCheck.Check(GradientCheck.WithRespectTo(held, inputs, input), inputs[input].Values, $"{input} {name}");
                results.Add(new ConformanceResult(ConformanceChecks.Gradient, r.Case, r.MaxError, r.Tolerance,
                    $"worst at [{r.WorstIndex}]: analytic {G(r.Analytic)}, numeric {G(r.Numeric)}"));
            }
            if (!ReferenceEquals(held, copy)) results.Add(SameAsHeld(s, copy, held, inputs, name));
        }
        if (s.Fresh() is IOwnStateLoss own && own.State.Length > 0)
        {
            LossInputs inputs = s.Sample(size, rng, 1);
            GradientCheckResult r = GradientCheck.Check((x, g) => own.StateLoss(inputs, x, g), own.State, "the loss's own state");
            results.Add(new ConformanceResult(ConformanceChecks.Gradient, r.Case, r.MaxError, r.Tolerance,
                $"state [{string.Join(", ", own.State.Select(G))}]; worst at [{r.WorstIndex}]: analytic {G(r.Analytic)}, numeric {G(r.Numeric)}"));
        }
        return results;
    }

    /// <summary>A loss with a state of its own returns the gradient of its state held fixed.</summary>
    private static ConformanceResult SameAsHeld(Subject s, ILoss copy, ILoss held, LossInputs inputs, string name)
    {
        LossOutputs returned = s.Evaluate<double>(copy, inputs), fixedState = s.Evaluate<double>(held, inputs);
        double worst = 0;
        foreach (var (input, g) in fixedState.Gradients)
        {
            double norm = Math.Max(1, g.Values.Max(Math.Abs));
            LossTensor r = returned.Gradients[input];
            for (int i = 0; i < g.Length; i++) worst = Math.Max(worst, Diff(r.Values[i], g.Values[i]) / norm);
        }
        return new ConformanceResult(ConformanceChecks.Gradient, $"returned gradient {name} = with its state held fixed", worst, 1e-12,
            "the loss's own call against the held-fixed one on the same inputs");
    }

    /// <summary>The sample with its middle row's target set to the loss's ignore index (losses with <c>ignore_index</c>
    /// whose kind takes class-index <c>targets</c>), or null.</summary>
    private static LossInputs? IgnoredRow(Subject s, LossInputs inputs)
    {
        if (s.IgnoreIndex is not { } ignore || inputs.Optional("targets") is not { Rank: 1, Length: > 1 } targets) return null;
        var y = (double[])targets.Values.Clone();
        y[y.Length / 2] = ignore;
        var result = Subject.Copy(inputs);
        result["targets"] = new LossTensor(y, targets.Shape);
        return result;
    }

    /// <summary>The sample with <c>soft_targets</c> (a probability row per row of the N×K input) instead of
    /// <c>targets</c>, when the kind has that input and the loss takes it; otherwise null.</summary>
    private static LossInputs? SoftTargets(Subject s, LossInputs inputs, Random rng)
    {
        LossInput? soft = s.Kind.Inputs.FirstOrDefault(i => i.Name == "soft_targets");
        LossInput? like = soft is null ? null : s.Kind.Inputs.FirstOrDefault(i => i.Differentiable && i.Shape == soft.Shape);
        if (like is null || !inputs.TryGetValue(like.Name, out LossTensor? rows) || rows.Rank != 2) return null;
        var result = Subject.Copy(inputs);
        result.Remove("targets");
        result["soft_targets"] = LossTensor.Matrix(GradientCheck.RandomDistributions(rng, rows.Shape[0], rows.Shape[1]), rows.Shape[0], rows.Shape[1]);
        try { s.Kind.Prepare<double>(s.Fresh(), result); }
        catch (ArgumentException e) when (e.ParamName == "soft_targets") { return null; }   // the loss does not take them
        return result;
    }

    /// <summary>|a − b|, 0 when both are the same infinity, ∞ when one is NaN.</summary>
    private static double Diff(double a, double b) =>
        a.Equals(b) ? 0 : double.IsNaN(a) || double.IsNaN(b) ? double.PositiveInfinity : Math.Abs(a - b);
}
