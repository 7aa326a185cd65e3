using LossKit.Binary;










namespace LossKit.Checking;

public static partial class GradientCheck
{
    /// <summary>Checks a binary or multi-label loss at the given logits and targets (in double, with its own reduction
    /// and options): the analytic ∂(reduced loss)/∂s against central differences.</summary>
    public static GradientCheckResult Check(IBinaryLoss loss, double[] logits, double[] targets, string? name = null, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return Check((x, g) => loss.Compute<double>(x, targets, default, g is null ? default : g.AsSpan()), logits, name ?? loss.Spec, tolerance);
    }

    /// <summary>
    /// Checks a binary loss on seeded random batches of <paramref name="rows"/> × <paramref name="columns"/> logits at each
    /// scale (default <see cref="DefaultScales"/>; scales above the loss's <see cref="BinaryLoss.FiniteLogitScale"/> become
    /// one check at that scale, and draws are clamped to a quarter of it), with hard 0/1 targets and with soft targets, every batch holding both a positive and a negative.
    /// A loss with per-column options is checked with its own column count. Batch-level losses get their own extra
    /// checks: <see cref="AucMarginLoss"/> also checks ∂/∂a, ∂/∂b, ∂/∂α at a non-zero state, and <see cref="EnsLoss"/>, whose
    /// gradient is drawn rather than derived, is checked with its draw held fixed (its value then is Σ g_i·y_i·s_i
    /// reduced, whose gradient is exact) without advancing its call counter.
    /// </summary>
    /// <remarks>Generic in the loss type only so that it is a separate method group from the multi-class
    /// <c>CheckRandom(IClassificationLoss, ...)</c> (whose documentation refers to it by its bare name); call it as
    /// <c>GradientCheck.CheckRandom(loss)</c>.</remarks>
    public static IReadOnlyList<GradientCheckResult> CheckRandom<TLoss>(TLoss loss, int rows = 4, int columns = 3, int seed = 0,
        IEnumerable<double>? scales = null, double tolerance = DefaultTolerance) where TLoss : IBinaryLoss
    {
        ArgumentNullException.ThrowIfNull(loss);
        return CheckRandomBinary(loss, rows, columns, seed, scales, tolerance);
    }

    private static List<GradientCheckResult> CheckRandomBinary(IBinaryLoss loss, int rows, int columns, int seed,
        IEnumerable<double>? scales, double tolerance)
    {
        var results = new List<GradientCheckResult>();
        var rng = new Random(seed);
        var binary = loss as BinaryLoss;
        columns = binary?.FixedColumnCount ?? columns;
        double finite = binary?.FiniteLogitScale ?? 1e30;
        if (loss is AucMarginLoss auc)
        {
            // Zero state hides terms; check at a generic one.
            loss = auc = auc.WithState(0.3, -0.2, 0.5);
        }
        // Scales beyond the loss's finite range are replaced by one check at that range.
        var used = (scales ?? DefaultScales).Select(v => Math.Min(v, finite)).Distinct().ToList();
        foreach (double scale in used)
        {
            // Normal draws reach a few times the scale: keep them within a quarter of the finite range, where the central
            // difference of a loss growing like e^{β|s|} (step 1e-5·|s|) is still accurate to 1e-6.
            double[] z = RandomLogits(rng, rows, columns, scale).Select(v => Math.Clamp(v, -finite / 4, finite / 4)).ToArray();
            foreach (bool soft in new[] { false, true })
            {
                double[] t = RandomBinaryTargets(rng, rows * columns, soft);
                string name = $"{loss.Spec} at scale {scale:G3}, {(soft ? "soft" : "0/1")} targets";
                results.Add(loss is EnsLoss ens ? CheckFrozen(ens, z, t, name, tolerance) : Check(loss, z, t, name, tolerance));
            }
        }
        if (loss is AucMarginLoss a)
        {
            double[] z = RandomLogits(rng, rows, columns, 1);
            double[] t = RandomBinaryTargets(rng, rows * columns, soft: false);
            results.Add(CheckAucState(a, z, t, tolerance));
        }
        return results;
    }

    /// <summary>Random targets in [0, 1]: 0/1 labels, or (soft) a mixture of 0, 1 and uniform values; the first two are
    /// always 1 and 0 so every batch has both classes.</summary>
    public static double[] RandomBinaryTargets(Random rng, int count, bool soft)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = new double[count];
        for (int i = 0; i < count; i++)
        {
            t[i] = i switch
            {
                0 => 1,
                1 => 0,
                _ => soft && rng.Next(3) == 0 ? rng.NextDouble() : rng.Next(2),
            };
            if (soft && i >= 2 && rng.Next(4) == 0) t[i] = 0.05 + 0.9 * rng.NextDouble();
        }
        return t;
    }

    /// <summary>EnsLoss with its draw held fixed: the value is the reduction of g_i·y_i·s_i, whose exact gradient is
    /// g_i·y_i (reduced); also checks that <see cref="EnsLoss.Compute{T}"/> with the same draw returns that gradient.</summary>
    private static GradientCheckResult CheckFrozen(EnsLoss loss, double[] z, double[] t, string name, double tolerance)
    {
        double[] g = loss.PeekDerivatives(z, t);
        var result = Check((x, grad) => loss.ComputeWithDerivatives<double>(x, t, g, default, grad is null ? default : grad.AsSpan()), z, name + " (draw fixed)", tolerance);
        // The call's own gradient must be the frozen one (same draw: the counter is restored afterwards).
        long calls = loss.Calls;
        var viaCompute = new double[z.Length];
        var frozen = new double[z.Length];
        loss.Compute<double>(z, t, default, viaCompute);
        loss.Reset(calls);
        loss.ComputeWithDerivatives<double>(z, t, g, default, frozen);
        double worst = 0;
        for (int i = 0; i < z.Length; i++) worst = Math.Max(worst, Math.Abs(viaCompute[i] - frozen[i]));
        return worst > result.MaxError ? result with { MaxError = worst, Case = name + " (Compute vs fixed draw)" } : result;
    }

    /// <summary>∂F/∂a, ∂F/∂b, ∂F/∂α of AUC-M against central differences in the state (a, b, α).</summary>
    private static GradientCheckResult CheckAucState(AucMarginLoss loss, double[] z, double[] t, double tolerance) =>
        Check((x, g) =>
        {
            double v = loss.WithState(x[0], x[1], x[2]).Compute<double>(z, t, default, default, out AucMarginStateGradient sg);
            if (g is not null) { g[0] = sg.A; g[1] = sg.B; g[2] = sg.Alpha; }
            return v;
        }, [loss.A, loss.B, loss.Alpha], $"{loss.Spec}: ∂/∂(a, b, α) of the state", tolerance);
}
