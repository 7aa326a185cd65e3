using System.Globalization;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Divergence;

/// <summary>How a divergence's values are combined: PyTorch <c>KLDivLoss</c>'s reductions.</summary>
public enum DivergenceReduction
{
    /// <summary>The mean of the unreduced values: over all N·K elements for <c>kl</c> (PyTorch's <c>mean</c>, which is not
    /// the KL divergence per row), over the N rows for the row-wise divergences.</summary>
    Mean,
    /// <summary>The sum over all values divided by the number of rows N: the divergence per distribution.</summary>
    BatchMean,
    /// <summary>The sum of all values.</summary>
    Sum,
    /// <summary>No reduction: the unreduced values are the result; the returned scalar is their sum and the gradient that of the sum.</summary>
    None,
}

/// <summary>
/// The divergences between a model's distribution q (its log-probabilities <c>input</c> = log q, as PyTorch's
/// <c>KLDivLoss</c> takes them) and a target distribution p (<c>target</c>: probabilities, or log-probabilities with
/// <c>log_target=true</c>), row by row. Each loss gives its row math as a small operator struct
/// (<see cref="IDivergenceRow"/>); this base owns the options, the target checks and the reductions, and runs the rows
/// on <see cref="RowRunner"/> (in double, on the rows driver: bit-identical for any thread count).
/// </summary>
/// <remarks>
/// The input is used as given: rows are not renormalised, so the gradient is ∂ℓ/∂(log q) for the values passed (chain
/// it through the model's log-softmax). Targets must lie in [0, 1] (log-targets in [−∞, 0]); rows need not sum to 1
/// (truncated teacher distributions are common). A zero target probability contributes p·log p = 0.
/// </remarks>
public abstract class DivergenceLoss : ILoss
{
    /// <summary>Whether <c>target</c> holds log-probabilities (PyTorch's <c>log_target</c>).</summary>
    public static readonly LossParameter LogTargetParameter = new("log_target", ParameterKind.Choice,
        "true: target holds log-probabilities (PyTorch log_target)") { Choices = ["false", "true"] };

    /// <summary>The reduction, with PyTorch's <c>batchmean</c>.</summary>
    public static readonly LossParameter ReductionParameter = new("reduction", ParameterKind.Choice,
        "mean of the unreduced values (kl: over N·K elements, as PyTorch); batchmean: sum / N; none returns the unreduced values")
    { Choices = ["mean", "batchmean", "sum", "none"] };

    private protected DivergenceLoss(bool logTarget, DivergenceReduction reduction)
    {
        if (!Enum.IsDefined(reduction))
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, $"reduction = {reduction} is not valid: expected Mean, BatchMean, Sum or None.");
        (LogTarget, Reduction) = (logTarget, reduction);
    }

    /// <summary>The card of a divergence, with the shared options after its own parameters.</summary>
    private protected static LossCard DivergenceCard(string name, string title, string formula, string gradient, string reference,
        string notes, params LossParameter[] parameters) =>
        LossCard.ForFamily("divergence (rows of log q against p)", name, title, formula, gradient, reference, LossProperties.None,
            [.. parameters, LogTargetParameter, ReductionParameter], notes);

    /// <summary>Builds a divergence from a spec: <paramref name="create"/> gets the shared options, <c>log_target</c> and <c>reduction</c>.</summary>
    private protected static ILoss FromSpec(SpecArguments a, Func<bool, DivergenceReduction, ILoss> create) =>
        create(a.Flag(LogTargetParameter), a.Choice(ReductionParameter) switch
        {
            "batchmean" => DivergenceReduction.BatchMean,
            "sum" => DivergenceReduction.Sum,
            "none" => DivergenceReduction.None,
            _ => DivergenceReduction.Mean,
        });

    /// <summary>True when <c>target</c> holds log-probabilities.</summary>
    public bool LogTarget { get; }

    /// <summary>The reduction.</summary>
    public DivergenceReduction Reduction { get; }

    /// <summary>True when the unreduced output is one value per element (N×K: <c>kl</c>, as PyTorch), false when one per row.</summary>
    public virtual bool ElementwiseUnreduced => false;

    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <inheritdoc/>
    public LossKind Kind => DivergenceKind.Instance;

    /// <inheritdoc/>
    public virtual IEnumerable<ParameterValue> ParameterValues =>
        [LogTargetParameter.Of(LogTarget), ReductionParameter.Of(Reduction.ToString().ToLowerInvariant())];

    /// <inheritdoc/>
    public virtual double FiniteInputScale => 80;

    /// <summary>False for a divergence that is +∞ when p and q have disjoint supports (<c>cauchy_schwarz</c>): a loss that
    /// composes it on softmax outputs is then finite only while those overlap.</summary>
    public virtual bool FiniteOnDisjointSupports => true;

    /// <summary>
    /// The divergence of each row of <paramref name="input"/> (log q, row-major <c>[rows, classes]</c>) from the same row
    /// of <paramref name="target"/>.
    /// </summary>
    /// <param name="input">The model's log-probabilities, rows × classes; float, double or Half.</param>
    /// <param name="classes">K ≥ 1.</param>
    /// <param name="target">Probabilities in [0, 1] (log-probabilities ≤ 0 with <see cref="LogTarget"/>), same shape.</param>
    /// <param name="unreduced">Empty, or the unreduced values: rows × classes when <see cref="ElementwiseUnreduced"/>, else rows.</param>
    /// <param name="gradient">Empty (forward only), or rows × classes: receives ∂(reduced loss)/∂input.</param>
    /// <param name="targetGradient">Empty, or rows × classes: receives ∂(reduced loss)/∂target (<c>grad_target</c>) — by
    /// the log-probabilities with <see cref="LogTarget"/> — where the divergence offers it (<see cref="OffersTargetGradient"/>:
    /// <c>jsd</c> and <c>reverse_kl</c>, as io.md says; computed in double from the scalar reference rows).</param>
    /// <returns>The reduced loss (the sum for <see cref="DivergenceReduction.None"/>).</returns>
    public T Compute<T>(ReadOnlySpan<T> input, int classes, ReadOnlySpan<T> target, Span<T> unreduced = default, Span<T> gradient = default,
        Span<T> targetGradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = CheckShapes(input.Length, classes, target.Length, unreduced.Length, gradient.Length);
        if (!targetGradient.IsEmpty && targetGradient.Length != input.Length)
            throw new ArgumentException($"targetGradient has {targetGradient.Length} values: expected {input.Length} (target's shape) or none.", nameof(targetGradient));
        if (!targetGradient.IsEmpty && !OffersTargetGradient)
            throw new ArgumentException($"{Card.Name} does not offer the gradient by its target (grad_target): jsd and reverse_kl do.", nameof(targetGradient));
        if (!HasVectorPath || typeof(T) == typeof(double)) CheckTarget(target, classes, LogTarget);   // the vector path checks each row as it reads it
        double count = Reduction switch
        {
            DivergenceReduction.Mean => ElementwiseUnreduced ? (double)rows * classes : rows,
            DivergenceReduction.BatchMean => rows,
            _ => 1,
        };
        double scale = count > 0 ? 1 / count : 0;
        Span<T> rowLosses = ElementwiseUnreduced ? default : unreduced, elements = ElementwiseUnreduced ? unreduced : default;
        double total = Run(input, target, rows, classes, rowLosses, gradient, elements, scale);
        if (!targetGradient.IsEmpty) RunTargetGradient(input, target, rows, classes, targetGradient, scale);
        return T.CreateTruncating(total * scale);
    }

    /// <summary>True when <see cref="Compute{T}"/> can give the gradient by the target (<c>grad_target</c>).</summary>
    public abstract bool OffersTargetGradient { get; }

    /// <summary>∂(reduced loss)/∂target into <paramref name="targetGradient"/>, row by row in double on the rows driver.</summary>
    private protected abstract void RunTargetGradient<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes,
        Span<T> targetGradient, double scale) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>A target row as p and log p (from p, or from log p with <c>log_target</c>).</summary>
    private static void TargetRow(ReadOnlySpan<double> target, bool logTarget, Span<double> p, Span<double> logP)
    {
        for (int j = 0; j < target.Length; j++)
        {
            double t = target[j];
            (p[j], logP[j]) = logTarget ? (Math.Exp(t), t) : (t, Math.Log(t));
        }
    }

    /// <summary>The target-gradient rows: the row's ∂ℓ/∂p (by p, or by log p with <c>log_target</c>) times the reduction's factor.</summary>
    internal readonly struct TargetRows<TOp>(TOp op, bool logTarget, double scale) : IDoubleRow where TOp : struct, IDivergenceRow
    {
        public double Evaluate(int row, ReadOnlySpan<double> x, ReadOnlySpan<double> target, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            int k = x.Length;
            Span<double> p = scratch[..k], logP = scratch.Slice(k, k);
            TargetRow(target, logTarget, p, logP);
            op.TargetGradient(x, p, logP, gradient);
            for (int j = 0; j < k; j++)
            {
                // By log p: ∂/∂(log p) = p·∂/∂p, 0 where p = 0 (the limit of p·log p terms).
                double g = logTarget ? (p[j] > 0 ? p[j] * gradient[j] : 0) : gradient[j];
                gradient[j] = g * scale;
            }
            return 0;
        }
    }

    /// <summary>One row's divergence and ∂/∂x (unscaled) in double, for a loss that composes a divergence (<c>kd</c>):
    /// <paramref name="x"/> = log q, <paramref name="p"/> and <paramref name="logP"/> the target row; <paramref name="scratch"/>
    /// holds K doubles.</summary>
    internal abstract double RowValue(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> scratch);

    /// <summary>The divergences by name, for specs that name one (<c>kd(divergence=jsd(beta=0.5))</c>).</summary>
    public static IReadOnlyList<LossDefinition> Registrations =>
    [
        KlDivergenceLoss.Registration, ReverseKlDivergenceLoss.Registration, JsdLoss.Registration, TvdLoss.Registration,
        HellingerLoss.Registration, CauchySchwarzLoss.Registration, Wasserstein1Loss.Registration,
    ];

    /// <summary>The divergence a nested spec names, with its own parameters only: <c>log_target</c> and <c>reduction</c>
    /// belong to the loss that composes it.</summary>
    public static DivergenceLoss FromSpec(string spec, string parameter)
    {
        ParsedSpec parsed = SpecParser.Parse(spec);
        LossDefinition definition = Registrations.FirstOrDefault(d => d.Card.Name == parsed.Name)
            ?? throw new ArgumentException($"{parameter}={spec}: '{parsed.Name}' is not a divergence; expected one of {string.Join(", ", Registrations.Select(d => d.Card.Name))}.", "spec");
        foreach (string key in parsed.Arguments.Keys)
            if (key is "log_target" or "reduction" || definition.Card.Parameter(key) is null)
                throw new ArgumentException($"{parameter}={spec}: '{key}' is not a parameter {parsed.Name} takes here" +
                    (definition.Card.Parameters.Count > 2 ? $" (it takes {string.Join(", ", definition.Card.Parameters.SkipLast(2).Select(q => q.Name))})." : " (it takes none)."), "spec");
        try { return (DivergenceLoss)definition.Create(new SpecArguments(spec, definition.Card, parsed.Arguments)); }
        catch (ArgumentException e) { throw new ArgumentException($"{parameter}={spec}: {e.Message}", "spec", e); }
    }

    /// <summary>True when float and Half inputs run on the vector kernel (<see cref="DivergenceKernel"/>), which checks the
    /// target as it reads each row.</summary>
    private protected abstract bool HasVectorPath { get; }

    /// <summary>Runs the loss's row math on the rows driver (<see cref="DivergenceLoss{TRow}"/> does it for a row struct).</summary>
    private protected abstract double Run<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, Span<T> rowLosses,
        Span<T> gradient, Span<T> elements, double scale) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The row frame of every divergence: the target row as p and log p, then the loss's math, then the reduction's factor.</summary>
    internal readonly struct Rows<TOp>(TOp op, bool logTarget, double scale) : IDoubleRow where TOp : struct, IDivergenceRow
    {
        public double Evaluate(int row, ReadOnlySpan<double> x, ReadOnlySpan<double> target, Span<double> gradient, Span<double> elements, Span<double> scratch)
        {
            int k = x.Length;
            Span<double> p = scratch[..k], logP = scratch.Slice(k, k);
            TargetRow(target, logTarget, p, logP);
            double loss = op.Row(x, p, logP, gradient, elements, scratch[(2 * k)..]);
            for (int j = 0; j < gradient.Length; j++) gradient[j] *= scale;
            return loss;
        }
    }

    private int CheckShapes(int inputLength, int classes, int targetLength, int unreducedLength, int gradientLength)
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes = {classes}: expected at least 1.");
        if (inputLength % classes != 0)
            throw new ArgumentException($"input has {inputLength} values, not a whole number of rows of {classes} classes.", "input");
        int rows = inputLength / classes;
        if (targetLength != inputLength)
            throw new ArgumentException($"target has {targetLength} values but input has {rows}×{classes} = {inputLength}; they must have the same shape.", "target");
        long unreducedExpected = ElementwiseUnreduced ? inputLength : rows;
        if (unreducedLength != 0 && unreducedLength != unreducedExpected)
            throw new ArgumentException($"unreduced has {unreducedLength} values: expected {unreducedExpected} ({(ElementwiseUnreduced ? "rows × classes" : "one per row")}) or none.", "unreduced");
        if (gradientLength != 0 && gradientLength != inputLength)
            throw new ArgumentException($"gradient has {gradientLength} values: expected {inputLength} (input's shape) or none.", "gradient");
        return rows;
    }

    /// <summary>Throws the <see cref="RowException"/> of the first target outside the domain; <paramref name="target"/>
    /// starts at row <paramref name="firstRow"/>.</summary>
    internal static void CheckTarget<T>(ReadOnlySpan<T> target, int classes, bool logTarget, int firstRow = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < target.Length; i++)
        {
            T t = target[i];
            bool valid = logTarget ? t <= T.Zero : t >= T.Zero && t <= T.One;   // false for NaN
            if (!valid)
            {
                int row = firstRow + i / classes;
                throw new RowException("target", row, string.Create(CultureInfo.InvariantCulture,
                    $"target[{row}][{i % classes}] = {t}: expected {(logTarget ? "a log-probability ≤ 0 (log_target=true)" : "a probability in [0, 1] (log_target=true for log-probabilities)")}."));
            }
        }
    }
}

/// <summary>A divergence's math on one row, in double: all a <see cref="DivergenceLoss{TRow}"/> needs.</summary>
public interface IDivergenceRow
{
    /// <summary><paramref name="x"/> = log q (the input row), <paramref name="p"/> and <paramref name="logP"/> the target
    /// row (log p = −∞ where p = 0). Writes ∂ℓ/∂x into <paramref name="gradient"/> and each element's loss into
    /// <paramref name="elements"/> when they are not empty; returns the row's loss. <paramref name="scratch"/> holds at least K doubles.</summary>
    double Row(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> elements, Span<double> scratch);

    /// <summary>Whether <see cref="TargetGradient"/> is implemented.</summary>
    bool HasTargetGradient => false;

    /// <summary>∂ℓ/∂p_j of the row (by the probabilities, whatever form the target came in) into <paramref name="gradient"/>.</summary>
    void TargetGradient(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient) =>
        throw new NotSupportedException("This divergence does not offer the gradient by its target.");
}

/// <summary>A divergence given by its card and its row math <typeparamref name="TRow"/>: options, target checks,
/// reductions and the rows driver come with the base.</summary>
public abstract class DivergenceLoss<TRow>(LossCard card, TRow row, bool logTarget, DivergenceReduction reduction) : DivergenceLoss(logTarget, reduction)
    where TRow : struct, IDivergenceRow
{
    /// <summary>The row math, with its parameters.</summary>
    protected TRow RowMath { get; } = row;

    /// <inheritdoc/>
    public sealed override LossCard Card => card;

    /// <summary>The vector form of the row math for float and Half inputs (<see cref="DivergenceKernel"/>), or null: then every
    /// type runs the scalar reference row. Double inputs always run the reference, whose results are the recorded ones.</summary>
    private protected virtual VectorPath<TRow>? Vector => null;

    private protected sealed override bool HasVectorPath => Vector is not null;

    /// <inheritdoc/>
    public sealed override bool OffersTargetGradient => RowMath.HasTargetGradient;

    private protected sealed override void RunTargetGradient<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes,
        Span<T> targetGradient, double scale) =>
        RowRunner.Run(input, target, rows, classes, default, targetGradient, new TargetRows<TRow>(RowMath, LogTarget, scale));

    private protected sealed override double Run<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, Span<T> rowLosses,
        Span<T> gradient, Span<T> elements, double scale) =>
        typeof(T) != typeof(double) && Vector is { } vector
            ? vector.Run(RowMath, input, target, rows, classes, LogTarget, rowLosses, gradient, elements, scale)
            : RowRunner.Run(input, target, rows, classes, rowLosses, gradient, new Rows<TRow>(RowMath, LogTarget, scale), elements);

    internal sealed override double RowValue(ReadOnlySpan<double> x, ReadOnlySpan<double> p, ReadOnlySpan<double> logP, Span<double> gradient, Span<double> scratch) =>
        RowMath.Row(x, p, logP, gradient, default, scratch);
}

/// <summary>How a divergence's row struct runs on the vector kernel: <see cref="ElementPath{TRow}"/> for a sum of element
/// terms, <see cref="RowPath{TRow}"/> for a whole-row computation.</summary>
internal abstract class VectorPath<TRow> where TRow : struct
{
    public abstract double Run<T>(TRow row, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, Span<T> elements, double scale) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>An element-wise divergence on the kernel's one element loop.</summary>
internal sealed class ElementPath<TRow> : VectorPath<TRow> where TRow : struct, IElementDivergence
{
    public static ElementPath<TRow> Instance { get; } = new();

    public override double Run<T>(TRow row, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, Span<T> elements, double scale) =>
        DivergenceKernel.RunElements(row, input, target, rows, classes, logTarget, rowLosses, gradient, elements, scale);
}

/// <summary>A whole-row divergence on the kernel's row frame.</summary>
internal sealed class RowPath<TRow> : VectorPath<TRow> where TRow : struct, IRowDivergence
{
    public static RowPath<TRow> Instance { get; } = new();

    public override double Run<T>(TRow row, ReadOnlySpan<T> input, ReadOnlySpan<T> target, int rows, int classes, bool logTarget,
        Span<T> rowLosses, Span<T> gradient, Span<T> elements, double scale) =>
        DivergenceKernel.RunRows(row, input, target, rows, classes, logTarget, rowLosses, gradient, scale);
}
