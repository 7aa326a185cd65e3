using LossKit.Core;

namespace LossKit.Checking;

public static partial class Conformance
{
    private const string ReductionsName = "reductions agree: none sums to sum, sum = mean·D";

    /// <summary>
    /// The loss rebuilt with <c>reduction=mean</c>, <c>sum</c> and <c>none</c> on one sample without ignored rows (double): the same
    /// unreduced values; <c>none</c> and <c>sum</c> return Σ unreduced; grad(none) = grad(sum); sum = mean·D and
    /// grad(sum) = D·grad(mean), where D is the number of unreduced values, or — with class weights, whose mean divides
    /// by the targets' total weight — the D = sum/mean that value and every gradient must agree on.
    /// Errors are relative to max(1, |value|) and max(1, ‖gradient‖∞).
    /// </summary>
    private static List<ConformanceResult> Reductions(Subject s, int seed)
    {
        LossInputs inputs = WithoutIgnoredRows(s, s.Sample(s.Size(rows: 6, width: 5), new Random(seed), 1));
        var results = new List<ConformanceResult> { AsConfigured(s, inputs) };
        if (s.Reduction is null)
            results.Add(new ConformanceResult(ConformanceChecks.Reductions, ReductionsName, 0, 0,
                $"{s.Loss.Card.Name} has no reduction parameter") { Skipped = true });
        else if (!s.CanRebuild)
            results.Add(new ConformanceResult(ConformanceChecks.Reductions, ReductionsName, 0, 0,
                "the loss is not registered: give Conformance.Run a rebuild function to build it with each reduction") { Skipped = true });
        else results.Add(Variants(s, inputs));
        return results;
    }

    /// <summary>The configured loss's value against its unreduced values: their sum for <c>sum</c> and <c>none</c>, their
    /// mean for <c>mean</c> (without class weights; with them the denominator is theirs, checked by <see cref="Variants"/>),
    /// and one of the two for a loss without a reduction parameter (a batch-level loss's shares add up to its value).</summary>
    private static ConformanceResult AsConfigured(Subject s, LossInputs inputs)
    {
        const string name = "the value reduces the unreduced values as configured";
        LossOutputs o = s.Evaluate(inputs);
        double total = Sum(o.Unreduced.Values);
        double toSum = Relative(o.Loss, total), toMean = Relative(o.Loss, total / Math.Max(o.Unreduced.Length, 1));
        var (error, detail) = s.Reduction switch
        {
            "sum" or "none" => (toSum, $"reduction={s.Reduction}: value = Σ unreduced"),
            "mean" when s.Weights is null => (toMean, "reduction=mean: value = Σ unreduced / their number"),
            "mean" => (0.0, "reduction=mean with class weights: its denominator is checked against sum's"),
            null => (Math.Min(toSum, toMean), $"no reduction parameter: value = Σ unreduced or their mean (here {(toSum <= toMean ? "the sum" : "the mean")})"),
            _ => (0.0, $"reduction={s.Reduction}: not checked"),
        };
        return new ConformanceResult(ConformanceChecks.Reductions, name, error, 1e-12, $"{o.Unreduced.Length} unreduced values; {detail}");
    }

    private static ConformanceResult Variants(Subject s, LossInputs inputs)
    {
        LossOutputs mean = s.Evaluate<double>(s.Rebuild("reduction", "mean"), inputs);
        LossOutputs sum = s.Evaluate<double>(s.Rebuild("reduction", "sum"), inputs);
        LossOutputs none = s.Evaluate<double>(s.Rebuild("reduction", "none"), inputs);

        double[] terms = sum.Unreduced.Values;
        double total = Sum(terms);
        bool weighted = s.Weights is not null;
        double d = weighted ? sum.Loss / mean.Loss : terms.Length;
        var worst = (Value: 0.0, Where: "");
        void Note(double error, string where)
        {
            if (double.IsNaN(error)) error = double.PositiveInfinity;
            if (error > worst.Value) worst = (error, where);
        }
        Note(Relative(none.Loss, total), "none's value − Σ unreduced");
        Note(Relative(sum.Loss, total), "sum's value − Σ unreduced");
        Note(Relative(sum.Loss, d * mean.Loss), "sum's value − D·mean's");
        if (!double.IsFinite(d) || d <= 0) Note(double.PositiveInfinity, $"D = sum/mean = {G(d)}");
        for (int i = 0; i < terms.Length; i++)
        {
            Note(Relative(none.Unreduced.Values[i], terms[i]), $"unreduced[{i}] of none vs sum");
            Note(Relative(mean.Unreduced.Values[i], terms[i]), $"unreduced[{i}] of mean vs sum");
        }
        foreach (var (name, g) in sum.Gradients)
        {
            double norm = Math.Max(1, g.Values.Max(Math.Abs));
            for (int i = 0; i < g.Length; i++)
            {
                Note(Diff(none.Gradients[name].Values[i], g.Values[i]) / norm, $"grad_{name}[{i}] of none vs sum");
                Note(Diff(d * mean.Gradients[name].Values[i], g.Values[i]) / norm, $"grad_{name}[{i}] of D·mean vs sum");
            }
        }
        return new ConformanceResult(ConformanceChecks.Reductions, ReductionsName, worst.Value, 1e-12,
            $"{terms.Length} unreduced values, D = {G(d)}{(weighted ? " (class weights)" : "")}" + (worst.Where.Length > 0 ? $"; worst: {worst.Where}" : ""));
    }

    /// <summary>The sample with every class-index target that is the loss's ignore index replaced by a kept row's
    /// target, so that the mean divides by the number of unreduced values (or, with class weights, their weights).</summary>
    private static LossInputs WithoutIgnoredRows(Subject s, LossInputs inputs)
    {
        if (s.IgnoreIndex is not { } ignore || inputs.Optional("targets") is not { Rank: 1 } targets || !targets.Values.Contains(ignore)) return inputs;
        double kept = targets.Values.FirstOrDefault(v => v != ignore, double.NaN);
        if (double.IsNaN(kept)) kept = ignore + 1;   // every row drew the ignore index: the class above it
        var result = Subject.Copy(inputs);
        result["targets"] = new LossTensor(targets.Values.Select(v => v == ignore ? kept : v).ToArray(), targets.Shape);
        return result;
    }

    /// <summary>|a − b| / max(1, |b|) (0 for equal infinities, ∞ for NaN).</summary>
    private static double Relative(double a, double b) => Diff(a, b) / Math.Max(1, double.IsFinite(b) ? Math.Abs(b) : 1);

    /// <summary>Σ in index order.</summary>
    private static double Sum(double[] values)
    {
        double total = 0;
        foreach (double v in values) total += v;
        return total;
    }
}
