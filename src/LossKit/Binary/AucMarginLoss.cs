using System.Buffers;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>The gradient of the AUC-M objective with respect to its state variables.</summary>
/// <param name="A">∂F/∂a (a is minimised).</param>
/// <param name="B">∂F/∂b (b is minimised).</param>
/// <param name="Alpha">∂F/∂α (α is maximised: gradient ascent).</param>
public readonly record struct AucMarginStateGradient(double A, double B, double Alpha);

/// <summary>How <see cref="AucMarginLoss.Step(double, double, AucDualUpdate)"/> moves α.</summary>
public enum AucDualUpdate
{
    /// <summary>Projected gradient ascent on the batch objective: α ← max(0, α + η_α·∂F/∂α).</summary>
    Gradient,
    /// <summary>LibAUC's PESG rule: α ← clamp(α + η_α·(2(m + b − a) − 2α), 0, 999), using a and b after their own
    /// update (what <c>libauc.optimizers.PESG.step</c> does; its batch-gradient line is commented out there).</summary>
    Pesg,
}

/// <summary>
/// AUC-margin min–max loss, spec <c>auc_m(margin=1, imratio=0)</c>: LibAUC's <c>AUCMLoss</c> (version v1, the default) of
/// Yuan, Yan, Sonka &amp; Yang 2021, Large-scale robust deep AUC maximization. Batch-level and stateful.
/// </summary>
/// <remarks>
/// <para><b>Formula</b> (verified against LibAUC's public code, <c>libauc/losses/auc.py</c>, class <c>AUCMLoss</c>, v1):
/// the scores are h_i = σ(s_i) (LibAUC is fed sigmoid outputs; here the logits go in and the sigmoid is applied inside,
/// so the returned gradient is ∂F/∂s = ∂F/∂h·h(1 − h)). With p the share of positives,
/// <code>
/// F = (1/N)Σ_i [(1−p)·t_i·(h_i − a)² + p·(1−t_i)·(h_i − b)² + 2α·(p·(1−t_i) − (1−p)·t_i)·h_i]
///     + 2α·p(1−p)·m − p(1−p)·α²
/// </code>
/// (LibAUC's <c>torch.mean</c> over the whole batch is the 1/N). p is the batch's Σt/N, as LibAUC computes it by default
/// (<c>auto=True</c>), or the fixed <c>imratio</c> when one is given. For t ∈ {0, 1} the indicator masks of LibAUC are
/// t and 1 − t; a soft target counts as t of a positive and 1 − t of a negative.</para>
/// <para><b>State</b>: a, b (running centres of positive and negative scores, minimised) and α (the dual variable,
/// maximised, kept ≥ 0), all 0 at construction as in LibAUC. <see cref="Compute{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T})"/>
/// does not change the state: it returns F and ∂F/∂s and records ∂F/∂(a, b, α) in <see cref="LastStateGradient"/>;
/// the overload with an <c>out</c> <see cref="AucMarginStateGradient"/> returns it without recording anything.
/// A training loop calls <see cref="Step(double)"/> after each backward pass: a ← a − η·∂F/∂a, b ← b − η·∂F/∂b,
/// α ← max(0, α + η·∂F/∂α) (descent for a, b; ascent for α — the min–max problem of the paper, solved by LibAUC's PESG).</para>
/// <para><b>Per-element losses</b> are shares that add up to F: element i gets its bracket above divided by N plus
/// (2α·p(1−p)·m − p(1−p)·α²)/N. The reduction is fixed (the batch objective). Not thread-safe across concurrent calls
/// (the recorded state gradient and the state are shared).</para>
/// </remarks>
public sealed class AucMarginLoss : BinaryLoss, IStatefulLoss, IOwnStateLoss
{
    public static readonly LossParameter Margin = new("margin", ParameterKind.Number, "margin m of the squared-hinge surrogate (LibAUC default 1)") { Default = 1, Min = 0 };
    public static readonly LossParameter ImRatio = new("imratio", ParameterKind.Number,
        "fixed share of positives p (LibAUC imratio with auto=False); 0 = the batch's Σt/N (LibAUC's default)") { Default = 0, Min = 0, Max = 1, MaxExclusive = true };

    public static LossCard Definition { get; } = new()
    {
        Name = "auc_m",
        Family = "batch-level binary (stateful min–max)",
        Title = "AUC-margin loss (LibAUC AUCMLoss v1)",
        Formula = "F = (1/N)Σ[(1−p)t(h−a)² + p(1−t)(h−b)² + 2α(p(1−t) − (1−p)t)h] + 2αp(1−p)m − p(1−p)α², h = σ(s), p = Σt/N",
        Gradient = "∂F/∂s_i = (2/N)[(1−p)t_i(h_i−a) + p(1−t_i)(h_i−b) + α(p(1−t_i) − (1−p)t_i)]·h_i(1−h_i); " +
                   "∂F/∂a = −(2(1−p)/N)Σt(h−a), ∂F/∂b = −(2p/N)Σ(1−t)(h−b), ∂F/∂α = (2/N)Σ(p(1−t) − (1−p)t)h + 2p(1−p)(m − α)",
        Reference = "Yuan, Yan, Sonka & Yang 2021, Large-scale robust deep AUC maximization (ICCV); LibAUC libauc/losses/auc.py AUCMLoss (v1)",
        Parameters = [Margin, ImRatio],
        Properties = LossProperties.None,
        Notes = "Stateful: a, b descend and α ascends via Step(learningRate) after each Compute; α is kept ≥ 0 (PESG's projection). " +
                "Per-element losses are shares summing to F.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new AucMarginLoss(a.Number(Margin), a.Number(ImRatio)));

    /// <param name="margin">m ≥ 0 (null: the card's default, LibAUC's).</param>
    /// <param name="imratio">Fixed p ∈ (0, 1), or 0 to use the batch's share of positives (null: the card's default, LibAUC's).</param>
    /// <param name="a">Initial a (LibAUC: 0).</param>
    /// <param name="b">Initial b (LibAUC: 0).</param>
    /// <param name="alpha">Initial α ≥ 0 (LibAUC: 0).</param>
    public AucMarginLoss(double? margin = null, double? imratio = null, double a = 0, double b = 0, double alpha = 0) : base(Reduction.Mean)
    {
        MarginValue = Margin.Resolve(margin);
        ImRatioValue = ImRatio.Resolve(imratio);
        if (!double.IsFinite(a)) throw new ArgumentOutOfRangeException(nameof(a), a, $"a = {a} is not finite.");
        if (!double.IsFinite(b)) throw new ArgumentOutOfRangeException(nameof(b), b, $"b = {b} is not finite.");
        if (!(alpha >= 0 && double.IsFinite(alpha))) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"alpha = {alpha} is out of range: expected a finite value ≥ 0.");
        A = a;
        B = b;
        Alpha = alpha;
    }

    /// <summary>The margin m.</summary>
    public double MarginValue { get; }
    /// <summary>The fixed share of positives, or 0 for the batch's.</summary>
    public double ImRatioValue { get; }
    /// <summary>State a (centre of the positives' scores).</summary>
    public double A { get; private set; }
    /// <summary>State b (centre of the negatives' scores).</summary>
    public double B { get; private set; }
    /// <summary>State α ≥ 0 (dual variable).</summary>
    public double Alpha { get; private set; }
    /// <summary>∂F/∂(a, b, α) recorded by the last <see cref="Compute{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T})"/>, or null before any.</summary>
    public AucMarginStateGradient? LastStateGradient { get; private set; }

    /// <inheritdoc/>
    public override LossCard Card => Definition;
    /// <inheritdoc/>
    public override bool IsBatchLevel => true;

    /// <summary>margin and imratio (the reduction is fixed: the batch objective).</summary>
    public override IEnumerable<ParameterValue> ParameterValues => [Margin.Of(MarginValue), ImRatio.Of(ImRatioValue)];

    /// <summary>A copy with the same margin and ratio and the given state (for checks and for resuming training).</summary>
    public AucMarginLoss WithState(double a, double b, double alpha) => new(MarginValue, ImRatioValue, a, b, alpha);

    /// <summary>Computes F and ∂F/∂s, and records ∂F/∂(a, b, α) in <see cref="LastStateGradient"/> for <see cref="Step(double)"/>.</summary>
    public override T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
    {
        T value = Compute(logits, targets, elementLosses, gradient, out AucMarginStateGradient state);
        LastStateGradient = state;
        return value;
    }

    /// <summary>Computes F, its per-element shares and ∂F/∂s, and returns ∂F/∂(a, b, α) in <paramref name="stateGradient"/>;
    /// changes nothing.</summary>
    public unsafe T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses, Span<T> gradient,
        out AucMarginStateGradient stateGradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        BinaryInput.CheckShape(logits.Length, targets.Length, elementLosses.Length, gradient.Length);
        int n = logits.Length;
        double positives = 0;
        for (int i = 0; i < n; i++) positives += BinaryInput.Target(targets, i);
        double p = ImRatioValue > 0 ? ImRatioValue : positives / n;
        double a = A, b = B, alpha = Alpha, m = MarginValue;
        double constant = 2 * alpha * p * (1 - p) * m - p * (1 - p) * alpha * alpha;
        int blocks = BatchBlocks.Count(n);
        double[] partial = ArrayPool<double>.Shared.Rent(4 * blocks);
        try
        {
            fixed (T* ps = logits, pt = targets, pl = elementLosses, pg = gradient)
            {
                BatchBlocks.For(n, new Blocks<T>(ps, pt, elementLosses.IsEmpty ? null : pl, gradient.IsEmpty ? null : pg, partial,
                    a, b, alpha, p, constant, n));
            }
            double f = 0, ga = 0, gb = 0, gAlpha = 0;
            for (int k = 0; k < blocks; k++)
            {
                f += partial[4 * k];
                ga += partial[4 * k + 1];
                gb += partial[4 * k + 2];
                gAlpha += partial[4 * k + 3];
            }
            stateGradient = new AucMarginStateGradient(
                -2 * (1 - p) * ga / n,
                -2 * p * gb / n,
                2 * gAlpha / n + 2 * p * (1 - p) * (m - alpha));
            return T.CreateTruncating(f / n + constant);
        }
        finally { ArrayPool<double>.Shared.Return(partial); }
    }

    /// <summary>One block of the batch pass: each element's share of F (into <paramref name="l"/>, when there) and ∂F/∂s
    /// (into <paramref name="g"/>, when there); the block's Σ bracket, Σt(h − a), Σ(1 − t)(h − b) and Σc·h go to
    /// <paramref name="partial"/>[4·block ..]. A struct body of the elements driver, so a call allocates nothing.</summary>
    private readonly unsafe struct Blocks<T>(T* s, T* tt, T* l, T* g, double[] partial, double a, double b, double alpha, double p, double constant, int n)
        : Parallelism.IBlockBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Run(int block, int start, int end)
        {
            double sumF = 0, sumA = 0, sumB = 0, sumAlpha = 0;
            for (int i = start; i < end; i++)
            {
                double t = double.CreateTruncating(tt[i]);
                var (h, hc) = Scalar.Sigmoid(double.CreateTruncating(s[i]));
                double da = h - a, db = h - b, c = p * (1 - t) - (1 - p) * t;
                double pos = (1 - p) * t * da, neg = p * (1 - t) * db;
                double term = pos * da + neg * db + 2 * alpha * c * h;
                sumF += term;
                sumA += t * da;
                sumB += (1 - t) * db;
                sumAlpha += c * h;
                if (l is not null) l[i] = T.CreateTruncating((term + constant) / n);
                if (g is not null) g[i] = T.CreateTruncating(2 * (pos + neg + alpha * c) * (h * hc) / n);
            }
            partial[4 * block] = sumF;
            partial[4 * block + 1] = sumA;
            partial[4 * block + 2] = sumB;
            partial[4 * block + 3] = sumAlpha;
            return 0;
        }
    }

    /// <summary>One step on the state with the same rate for a, b and α (PESG uses one learning rate for all):
    /// see <see cref="Step(double, double, AucDualUpdate)"/>.</summary>
    public void Step(double learningRate) => Step(learningRate, learningRate);

    /// <summary>Updates the state from <see cref="LastStateGradient"/>: a ← a − η·∂F/∂a, b ← b − η·∂F/∂b (descent), then
    /// α ← max(0, α + η_α·∂F/∂α) (ascent; or LibAUC's PESG rule, see <see cref="AucDualUpdate.Pesg"/>).</summary>
    /// <exception cref="InvalidOperationException">No <c>Compute</c> has recorded a state gradient yet.</exception>
    public void Step(double learningRate, double dualLearningRate, AucDualUpdate rule = AucDualUpdate.Gradient)
    {
        if (!(learningRate >= 0 && double.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, $"learningRate = {learningRate} is out of range: expected a finite value ≥ 0.");
        if (!(dualLearningRate >= 0 && double.IsFinite(dualLearningRate)))
            throw new ArgumentOutOfRangeException(nameof(dualLearningRate), dualLearningRate, $"dualLearningRate = {dualLearningRate} is out of range: expected a finite value ≥ 0.");
        if (LastStateGradient is not { } g)
            throw new InvalidOperationException("Step needs a state gradient: call Compute on a batch first (each Compute records ∂F/∂(a, b, α)).");
        A -= learningRate * g.A;
        B -= learningRate * g.B;
        Alpha = rule == AucDualUpdate.Pesg
            ? Math.Clamp(Alpha + dualLearningRate * (2 * (MarginValue + B - A) - 2 * Alpha), 0, 999)
            : Math.Max(0, Alpha + dualLearningRate * g.Alpha);
    }

    /// <summary>For the conformance suite: a copy at a state away from zero (a zero state hides terms).</summary>
    ILoss IOwnStateLoss.CheckCopy() => WithState(0.3, -0.2, 0.5);

    /// <summary>(a, b, α).</summary>
    double[] IOwnStateLoss.State => [A, B, Alpha];

    /// <summary>F on the inputs' <c>logits</c> and <c>targets</c> at state (a, b, α), and ∂F/∂(a, b, α).</summary>
    double IOwnStateLoss.StateLoss(LossInputs inputs, double[] state, double[]? gradient)
    {
        LossKind kind = ((ILoss)this).Kind;
        double value = WithState(state[0], state[1], state[2]).Compute<double>(inputs.Required("logits", kind).Values,
            inputs.Required("targets", kind).Values, default, default, out AucMarginStateGradient g);
        if (gradient is not null) (gradient[0], gradient[1], gradient[2]) = (g.A, g.B, g.Alpha);
        return value;
    }
}
