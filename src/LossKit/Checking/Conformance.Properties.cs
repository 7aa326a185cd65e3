using LossKit.Binary;
using LossKit.Core;

namespace LossKit.Checking;

public static partial class Conformance
{
    /// <summary>One result per property the configured loss claims. Shift and scale invariance, non-negativity, the
    /// bound and convexity are checked through the kind; symmetry, calibration and the binary margin symmetry through
    /// the interface of the kind they are defined for; a claim not defined for the loss's kind fails.</summary>
    private static List<ConformanceResult> Properties(Subject s, int seed)
    {
        var results = new List<ConformanceResult>();
        foreach (LossProperties p in Enum.GetValues<LossProperties>())
        {
            if (p == LossProperties.None || !s.Claims.HasFlag(p)) continue;
            var rng = new Random(seed + (int)p);
            ILoss copy = s.Fresh();
            ConformanceResult? r = p switch
            {
                LossProperties.ShiftInvariant => ShiftInvariant(s, rng),
                LossProperties.ScaleInvariant => ScaleInvariant(s, rng),
                LossProperties.NonNegative => NonNegative(s, rng),
                LossProperties.Bounded => Bounded(s, rng),
                LossProperties.ConvexInLogits => Convex(s, rng),
                LossProperties.Symmetric => copy is IClassificationLoss c ? RowProperties.Symmetric(c, rng) : null,
                LossProperties.ClassificationCalibrated => copy switch
                {
                    IClassificationLoss c => RowProperties.Calibrated(c, rng),
                    IBinaryLoss b => BinaryProperties.Calibrated(b, b.FixedWidth ?? 3, rng),
                    _ => null,
                },
                LossProperties.MarginBased => copy is IBinaryLoss b ? BinaryProperties.MarginBased(b, b.FixedWidth ?? 3, rng) : null,
                _ => null,
            };
            results.Add((r ?? new ConformanceResult(ConformanceChecks.Property, $"{LossCard.PropertyName(p)}: not defined for {s.Kind.Name} losses",
                double.PositiveInfinity, 0, "the card claims a property the suite cannot check for this kind")) with { Property = p });
        }
        return results;
    }

    /// <summary>ℓ(x + c) = ℓ(x) and ∇(x + c) = ∇(x), every differentiable input shifted by c ∈ {−50, 3, 1000}.</summary>
    private static ConformanceResult ShiftInvariant(Subject s, Random rng)
    {
        double worst = 0;
        foreach (double shift in new[] { -50.0, 3.0, 1e3 })
        {
            LossInputs x = s.Sample(s.Size(rows: 6, width: 7), rng, 2);
            LossOutputs a = s.Evaluate(x), b = s.Evaluate(s.MapDifferentiable(x, v => v + shift));
            for (int i = 0; i < a.Unreduced.Length; i++) worst = Math.Max(worst, Relative(b.Unreduced.Values[i], a.Unreduced.Values[i]));
            foreach (var (name, g) in a.Gradients)
                for (int i = 0; i < g.Length; i++) worst = Math.Max(worst, Diff(b.Gradients[name].Values[i], g.Values[i]));
        }
        return new ConformanceResult(ConformanceChecks.Property, "shift-invariant: ℓ(z + c) = ℓ(z)", worst, 1e-9, "c ∈ {−50, 3, 1000}");
    }

    /// <summary>ℓ(αx + β) = ℓ(x) and ∇(αx + β) = ∇(x)/α for α ∈ {0.01, 3, 1e6}, β ∈ {0, −7, 50}.</summary>
    private static ConformanceResult ScaleInvariant(Subject s, Random rng)
    {
        double worst = 0;
        foreach (var (alpha, beta) in new[] { (0.01, 0.0), (3.0, -7.0), (1e6, 50.0) })
        {
            LossInputs x = s.Sample(s.Size(rows: 6, width: 6), rng, 2);
            LossOutputs a = s.Evaluate(x), b = s.Evaluate(s.MapDifferentiable(x, v => alpha * v + beta));
            for (int i = 0; i < a.Unreduced.Length; i++) worst = Math.Max(worst, Relative(b.Unreduced.Values[i], a.Unreduced.Values[i]));
            foreach (var (name, g) in a.Gradients)
            {
                double norm = Math.Max(1, g.Values.Max(Math.Abs));
                for (int i = 0; i < g.Length; i++) worst = Math.Max(worst, Diff(alpha * b.Gradients[name].Values[i], g.Values[i]) / norm);
            }
        }
        return new ConformanceResult(ConformanceChecks.Property, "scale-invariant: ℓ(αz + β) = ℓ(z), ∇ scales by 1/α", worst, 1e-9,
            "α ∈ {0.01, 3, 1e6}, β ∈ {0, −7, 50}");
    }

    /// <summary>Every unreduced value ≥ 0 at scales 0.1 … 100 (NaN fails).</summary>
    private static ConformanceResult NonNegative(Subject s, Random rng)
    {
        double worst = 0;
        foreach (double scale in new[] { 0.1, 1, 10, 100 })
            foreach (LossInputs x in s.Samples(s.Size(rows: 32, width: 5), rng, scale))
                foreach (double v in s.Evaluate(x).Unreduced.Values)
                    worst = Math.Max(worst, double.IsNaN(v) ? double.PositiveInfinity : -v);
        return new ConformanceResult(ConformanceChecks.Property, "non-negative: ℓ ≥ 0", worst, 1e-12, "scales 0.1..100 (and soft labels)");
    }

    /// <summary>Every unreduced value, and the value of a mean-reduced (or unreducible) loss, at most the card's bound —
    /// times the largest class weight when the spec gives weights — at scales 1 … 1e30 (within the finite range).</summary>
    private static ConformanceResult Bounded(Subject s, Random rng)
    {
        SampleSize size = s.Size(rows: 32, width: 5);
        int width = s.Width(s.Sample(size, new Random(0), 1));
        double bound = s.Loss.Card.UpperBound?.Invoke(s.Fresh(), width) ?? double.NaN;
        bound *= s.Weights is { Count: > 0 } w ? w.Max() : 1;
        bool valueBounded = s.Reduction is null or "mean";
        double worst = 0;
        foreach (double scale in new[] { 1, 10, 100, 1e30 }.Select(v => Math.Min(v, s.FiniteScale)).Distinct())
        foreach (LossInputs x in s.Samples(size, rng, scale))
        {
            LossOutputs o = s.Evaluate(x);
            foreach (double v in o.Unreduced.Values) worst = Math.Max(worst, double.IsNaN(v) ? double.PositiveInfinity : v - bound);
            if (valueBounded) worst = Math.Max(worst, double.IsNaN(o.Loss) ? double.PositiveInfinity : o.Loss - bound);
        }
        if (double.IsNaN(bound)) worst = double.PositiveInfinity;
        return new ConformanceResult(ConformanceChecks.Property, $"bounded: ℓ ≤ {G(bound)}", Math.Max(worst, 0), 1e-12,
            double.IsNaN(bound) ? "the card claims bounded but gives no UpperBound" : $"scales 1..{G(Math.Min(1e30, s.FiniteScale))}, K = {width}");
    }

    /// <summary>ℓ(λa + (1−λ)b) ≤ λℓ(a) + (1−λ)ℓ(b) for every unreduced value, on 8 random segments of the differentiable
    /// inputs (the other inputs held).</summary>
    private static ConformanceResult Convex(Subject s, Random rng)
    {
        double worst = 0;
        for (int t = 0; t < 8; t++)
        {
            SampleSize size = s.Size(rows: 16, width: 5);
            LossInputs a = s.Sample(size, rng, 3), other = s.Sample(size, rng, 3);
            if (t % 2 == 1 && s.SoftLabels(a, rng) is { } soft) a = soft;
            double lambda = rng.NextDouble();
            LossInputs b = Subject.Copy(a), mid = Subject.Copy(a);
            foreach (string name in s.Differentiable(a))
            {
                LossTensor u = a[name], v = other[name];
                b[name] = v;
                mid[name] = new LossTensor(u.Values.Zip(v.Values, (p, q) => lambda * p + (1 - lambda) * q).ToArray(), u.Shape);
            }
            double[] la = s.Evaluate(a).Unreduced.Values, lb = s.Evaluate(b).Unreduced.Values, lm = s.Evaluate(mid).Unreduced.Values;
            for (int i = 0; i < lm.Length; i++)
            {
                double excess = lm[i] - (lambda * la[i] + (1 - lambda) * lb[i]);
                worst = Math.Max(worst, double.IsNaN(excess) ? double.PositiveInfinity : excess);
            }
        }
        return new ConformanceResult(ConformanceChecks.Property, "convex in z: ℓ(λa + (1−λ)b) ≤ λℓ(a) + (1−λ)ℓ(b)", Math.Max(worst, 0), 1e-9,
            "8 random segments (half with soft labels where the kind has them), every unreduced value");
    }
}
