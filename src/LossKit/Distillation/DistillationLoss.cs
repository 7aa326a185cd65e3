using System.Numerics.Tensors;
using System.Numerics;
using LossKit.Core;
using LossKit.Divergence;
using LossKit.Kernels;

namespace LossKit.Distillation;

/// <summary>
/// Knowledge distillation, spec <c>kd(temperature=4, alpha=0.5)</c> (Hinton, Vinyals &amp; Dean 2015):
/// <c>ℓ = α·τ²·KL(softmax(t/τ) ‖ softmax(z/τ)) + (1−α)·CE(z, y)</c> with teacher logits t,
/// <c>∇ = α·τ·(softmax(z/τ) − softmax(t/τ)) + (1−α)·(softmax(z) − e_y)</c>.
/// <para>Rows whose target is ignore_index are dropped entirely (KD part included: 0 loss, 0 gradient, out of the
/// mean), as padding positions are in sequence distillation; the mean divides by the number of kept rows, which
/// without ignored rows is PyTorch's <c>kl_div(reduction='batchmean')·τ² </c> plus <c>cross_entropy</c>'s mean.
/// No class weights. Teacher classes at −∞ carry no mass (0·log 0 = 0); a student class at −∞ where the teacher
/// has mass makes the KD term +∞. A teacher row with NaN, +∞ or only −∞ gives a NaN row; a student row of only −∞
/// gives +∞ and a zero gradient. Rows run in double with O(K) scratch per block.</para>
/// </summary>
public sealed class DistillationLoss : IDistillationLoss
{
    /// <summary>The common temperature with Hinton et al.'s default τ = 4 and its meaning here.</summary>
    public static readonly LossParameter TemperatureParameter = CommonParameters.Temperature with
    {
        Description = "τ: softening temperature of both softmaxes in the KD term",
        Default = 4,
    };
    public static readonly LossParameter AlphaParameter = new("alpha", ParameterKind.Number,
        "α: weight of the KD term (1 − α on the hard-label cross-entropy)") { Default = 0.5, Min = 0, Max = 1 };

    /// <summary>The divergence of the KD term: <c>kl</c> (Hinton et al.), or any divergence of the catalog with its own
    /// arguments, e.g. <c>divergence=jsd(beta=0.5)</c> (GKD) or <c>divergence=reverse_kl</c>.</summary>
    public static readonly LossParameter DivergenceParameter = new("divergence", ParameterKind.Choice,
        "the KD term's divergence D(teacher ‖ student) on the softened distributions, e.g. jsd(beta=0.5)")
    {
        Choices = ["kl", "reverse_kl", "jsd", "tvd", "hellinger", "cauchy_schwarz", "wasserstein1"],
        NestedSpec = true,
    };

    public static LossCard Definition { get; } = new()
    {
        Name = "kd",
        Family = "knowledge distillation (teacher logits)",
        Title = "Knowledge distillation: softened KL to the teacher plus hard-label cross-entropy",
        Formula = "ℓ = α·τ²·Σ_k q_k (log q_k − log p^τ_k) + (1−α)·(lse(z) − z_y), q = softmax(t/τ), p^τ = softmax(z/τ)",
        Gradient = "∇ = α·τ·(p^τ − q) + (1−α)·(softmax(z) − e_y)",
        Reference = "Hinton, Vinyals & Dean 2015, Distilling the knowledge in a neural network; PyTorch F.kl_div(F.log_softmax(z/τ), F.softmax(t/τ), reduction='batchmean')·τ² + F.cross_entropy",
        Parameters = [TemperatureParameter, AlphaParameter, DivergenceParameter, CommonParameters.IgnoreIndex, CommonParameters.Reduction],
        Properties = LossProperties.NonNegative | LossProperties.ConvexInLogits,
        Notes = "ignore_index drops the whole row (KD part too) and the mean divides by the kept rows. No class weights. "
              + "The KD term is shift-invariant in z and in t, the CE term in z. Teacher classes at −∞ carry no mass. "
              + "divergence= replaces KL by another divergence D(input = log softmax(z/τ), target = softmax(t/τ)) of the catalog "
              + "(with its own arguments, e.g. jsd(beta=0.5) as in GKD): ℓ = α·τ²·D + (1−α)·CE, its gradient chained through the log-softmax.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new DistillationLoss(a.Number(TemperatureParameter),
        a.Number(AlphaParameter), a.IgnoreIndex(), a.Reduction(), a.Choice(DivergenceParameter)));

    /// <summary>A null option takes its default from the card.</summary>
    /// <param name="temperature">τ &gt; 0 (null: 4).</param>
    /// <param name="alpha">α in [0, 1] (null: ½).</param>
    /// <param name="ignoreIndex">Target value whose rows are dropped.</param>
    /// <param name="reduction">mean over kept rows, sum or none.</param>
    /// <param name="divergence">The KD term's divergence as a spec (null or <c>kl</c>: Hinton et al.'s KL), e.g. <c>jsd(beta=0.5)</c>.</param>
    public DistillationLoss(double? temperature = null, double? alpha = null, int ignoreIndex = CommonParameters.DefaultIgnoreIndex,
        Reduction reduction = Reduction.Mean, string? divergence = null)
    {
        DivergenceSpec = divergence ?? DivergenceParameter.Choices[0];
        _divergence = DivergenceSpec == "kl" ? null : DivergenceLoss.FromSpec(DivergenceSpec, "divergence");
        if (_divergence is not null) DivergenceSpec = _divergence.Spec;
        TemperatureValue = TemperatureParameter.Resolve(temperature);
        Alpha = AlphaParameter.Resolve(alpha);
        IgnoreIndex = ignoreIndex;
        Reduction = CommonParameters.Resolve(reduction);
    }

    private readonly DivergenceLoss? _divergence;

    /// <summary>The KD term's divergence, as a spec (<c>kl</c> by default).</summary>
    public string DivergenceSpec { get; }

    public double TemperatureValue { get; }
    public double Alpha { get; }
    public int IgnoreIndex { get; }
    public Reduction Reduction { get; }
    public LossCard Card => Definition;

    public IEnumerable<ParameterValue> ParameterValues =>
    [
        TemperatureParameter.Of(TemperatureValue), AlphaParameter.Of(Alpha), DivergenceParameter.Of(DivergenceSpec), CommonParameters.IgnoreIndex.Of(IgnoreIndex),
        CommonParameters.Reduction.Of(Reduction),
    ];

    public string Spec => LossSpec.Of(this);

    /// <summary>Finite for logits up to ±1e30, except with a divergence that is +∞ on disjoint supports
    /// (<c>cauchy_schwarz</c>): the softened distributions stop overlapping once logit gaps exceed about 700·τ.</summary>
    public double FiniteInputScale => _divergence is { FiniteOnDisjointSupports: false } ? 300 * TemperatureValue : 1e30;

    /// <summary>The card's properties; with another divergence than KL the KD term is no longer convex in z (reverse KL,
    /// TVD, ...), so that claim is dropped (every divergence of the catalog stays ≥ 0).</summary>
    public LossProperties Properties => _divergence is null ? Definition.Properties : Definition.Properties & ~LossProperties.ConvexInLogits;

    public override string ToString() => Spec;

    public unsafe T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> teacherLogits, ReadOnlySpan<int> targets,
        Span<T> rowLosses = default, Span<T> gradient = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = InputChecks.Shape(logits.Length, classes, targets.Length, "targets", rowLosses.Length, gradient.Length);
        if (teacherLogits.Length != logits.Length)
            throw new ArgumentException($"teacherLogits has {teacherLogits.Length} values but logits has {logits.Length} ({rows} × {classes}); the teacher needs the student's shape.", nameof(teacherLogits));
        int kept = 0;
        for (int n = 0; n < rows; n++)
        {
            int y = targets[n];
            if (y == IgnoreIndex) continue;
            if ((uint)y >= (uint)classes)
                throw new RowException("targets", n, $"targets[{n}] = {y} is not a class index: expected 0 ≤ target < {classes}, or ignore_index ({IgnoreIndex}).");
            kept++;
        }
        double scale = Reduction == Reduction.Mean ? (kept > 0 ? 1.0 / kept : 0) : 1;
        double total;
        fixed (int* py = targets)
            total = RowRunner.Run(logits, teacherLogits, rows, classes, rowLosses, gradient, new Rows(this, py, scale));
        return T.CreateTruncating(Reduction == Reduction.Mean ? total * scale : total);
    }

    /// <summary>The row math for <see cref="RowRunner"/>: row r against its target.</summary>
    private readonly unsafe struct Rows(DistillationLoss loss, int* targets, double scale) : IDoubleRow
    {
        public double Evaluate(int row, ReadOnlySpan<double> z, ReadOnlySpan<double> t, Span<double> gradient, Span<double> _, Span<double> scratch) =>
            loss.Row(targets[row], z, t, gradient, scratch, scale);
    }

    private double Row(int y, ReadOnlySpan<double> z, ReadOnlySpan<double> t, Span<double> g, Span<double> scratch, double scale)
    {
        if (y == IgnoreIndex) { g.Clear(); return 0; }
        int k = z.Length;
        double tau = TemperatureValue, alpha = Alpha;
        Span<double> lps = scratch[..k], ps = scratch.Slice(k, k), lpt = scratch.Slice(2 * k, k), pt = scratch.Slice(3 * k, k);
        Span<double> lp1 = scratch.Slice(4 * k, k), p1 = scratch.Slice(5 * k, k);
        if (!RowRunner.Softmax(z, tau, lps, ps, out double mz))
        {
            bool allMasked = double.IsNegativeInfinity(mz);
            if (allMasked) g.Clear(); else g.Fill(double.NaN);
            return allMasked ? double.PositiveInfinity : double.NaN;
        }
        if (!RowRunner.Softmax(t, tau, lpt, pt, out _)) { g.Fill(double.NaN); return double.NaN; }
        double loss = 0;
        if (alpha > 0 && _divergence is not null) return loss + DivergenceRow(y, z, g, scratch, scale, lps, ps, lpt, pt, lp1, p1);
        if (alpha > 0)
        {
            double kl = 0;
            for (int j = 0; j < k; j++)
                if (pt[j] > 0) kl += pt[j] * (lpt[j] - lps[j]);
            loss += alpha * tau * tau * kl;
        }
        if (alpha < 1)
        {
            if (tau == 1) { lp1 = lps; p1 = ps; }
            else RowRunner.Softmax(z, 1, lp1, p1, out _);
            loss += (1 - alpha) * -lp1[y];
        }
        if (!g.IsEmpty)
        {
            g.Clear();
            if (alpha > 0)
            {
                TensorPrimitives.Subtract(ps, pt, g);
                TensorPrimitives.Multiply(g, alpha * tau * scale, g);
            }
            if (alpha < 1)
            {
                double c = (1 - alpha) * scale;
                for (int j = 0; j < k; j++) g[j] += c * p1[j];
                g[y] -= c;
            }
        }
        return loss;
    }

    /// <summary>A row with another divergence D: α·τ²·D(log p^τ, q) + (1 − α)·CE, with ∂D/∂(log p^τ) = d chained through
    /// the log-softmax: ∂/∂z = α·τ·(d − p^τ·Σd) (the τ² of the loss times the 1/τ of the softening).</summary>
    private double DivergenceRow(int y, ReadOnlySpan<double> z, Span<double> g, Span<double> scratch, double scale,
        Span<double> lps, Span<double> ps, Span<double> lpt, Span<double> pt, Span<double> lp1, Span<double> p1)
    {
        int k = z.Length;
        double tau = TemperatureValue, alpha = Alpha;
        Span<double> d = scratch.Slice(6 * k, k), work = scratch.Slice(7 * k, k);
        d.Clear();
        double loss = alpha * tau * tau * _divergence!.RowValue(lps, pt, lpt, d, work);
        if (alpha < 1)
        {
            if (tau == 1) { lp1 = lps; p1 = ps; }
            else RowRunner.Softmax(z, 1, lp1, p1, out _);
            loss += (1 - alpha) * -lp1[y];
        }
        if (!g.IsEmpty)
        {
            double sum = 0;
            for (int j = 0; j < k; j++) sum += d[j];
            double c = alpha * tau * scale;
            for (int j = 0; j < k; j++) g[j] = c * (d[j] - ps[j] * sum);
            if (alpha < 1)
            {
                double h = (1 - alpha) * scale;
                for (int j = 0; j < k; j++) g[j] += h * p1[j];
                g[y] -= h;
            }
        }
        return loss;
    }
}
