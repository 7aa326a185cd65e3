using System.Numerics;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Tests.Checking;

/// <summary>
/// A registered multi-class loss seen through <see cref="IClassificationLoss"/> under a card of its own (never registered),
/// with hooks to break it: the deliberately wrong losses of <see cref="WrongLossTests"/> are built on it. Unless a hook
/// says otherwise it computes exactly what the wrapped loss computes.
/// </summary>
internal class WrappedLoss : IClassificationLoss
{
    public WrappedLoss(string name, string spec, LossProperties claims = LossProperties.None, Func<ILoss, int, double>? bound = null)
    {
        Inner = LossRegistry.CreateClassification(spec);
        InnerSpec = spec;
        Card = Inner.Card with
        {
            Name = name,
            Properties = Inner.Properties | claims,
            UpperBound = bound ?? Inner.Card.UpperBound,
        };
    }

    protected IClassificationLoss Inner { get; }
    public string InnerSpec { get; }
    public LossCard Card { get; }
    public virtual string Spec => $"{Card.Name}[{InnerSpec}]";
    public Reduction Reduction => Inner.Reduction;
    public LossProperties Properties => Card.Properties;
    public int? FixedClassCount => Inner.FixedClassCount;
    public double FiniteLogitScale => Inner.FiniteLogitScale;

    public virtual T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Inner.Compute(logits, classes, targets, rowLosses, gradient);
}

/// <summary>A loss whose card claims properties it does not have.</summary>
internal sealed class ClaimingLoss(string spec, LossProperties claims, Func<ILoss, int, double>? bound = null)
    : WrappedLoss("claims_too_much", spec, claims, bound);

/// <summary>ℓ − 1 with the right gradient: negative where ℓ &lt; 1, while the card claims non-negative.</summary>
internal sealed class ShiftedDownLoss(string spec) : WrappedLoss("shifted_down", spec, LossProperties.NonNegative)
{
    public override T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
    {
        var rows = rowLosses.IsEmpty ? new T[targets.Length] : null;
        Span<T> perRow = rows ?? rowLosses;
        Inner.Compute(logits, classes, targets, perRow, gradient);
        T sum = T.Zero;
        for (int i = 0; i < perRow.Length; i++) sum += perRow[i] -= T.One;
        return Reduction == Reduction.Mean ? sum / T.CreateTruncating(perRow.Length) : sum;
    }
}

/// <summary>ℓ(−z) with its exact gradient: convex and shift-invariant like the wrapped loss, but its minimiser puts the
/// most likely class last, while the card (the wrapped loss's) claims classification calibration.</summary>
internal sealed class FlippedLoss(string spec) : WrappedLoss("flipped", spec)
{
    public override T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
    {
        var negated = new T[logits.Length];
        for (int i = 0; i < negated.Length; i++) negated[i] = -logits[i];
        T value = Inner.Compute<T>(negated, classes, targets, rowLosses, gradient);
        for (int i = 0; i < gradient.Length; i++) gradient[i] = -gradient[i];
        return value;
    }
}

/// <summary>The wrapped loss with its gradient multiplied by <paramref name="factor"/>.</summary>
internal sealed class ScaledGradientLoss(string spec, double factor) : WrappedLoss("scaled_gradient", spec)
{
    public override T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
    {
        T value = Inner.Compute(logits, classes, targets, rowLosses, gradient);
        for (int i = 0; i < gradient.Length; i++) gradient[i] *= T.CreateTruncating(factor);
        return value;
    }
}

/// <summary>Reduces the per-row losses itself, in one partial sum per thread (<see cref="Parallelism.MaxThreads"/>
/// chunks of rows, added in the loss's type): its value depends on the thread count.</summary>
internal sealed class ThreadDependentLoss(string spec) : WrappedLoss("thread_dependent", spec)
{
    public override T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
    {
        var rows = rowLosses.IsEmpty ? new T[targets.Length] : null;
        Span<T> perRow = rows ?? rowLosses;
        T inner = Inner.Compute(logits, classes, targets, perRow, gradient), plain = T.Zero;
        foreach (T v in perRow) plain += v;
        int chunks = Math.Clamp(Parallelism.MaxThreads, 1, Math.Max(perRow.Length, 1));
        T total = T.Zero;
        for (int c = 0; c < chunks; c++)
        {
            T partial = T.Zero;
            for (int i = c * perRow.Length / chunks; i < (c + 1) * perRow.Length / chunks; i++) partial += perRow[i];
            total += partial;
        }
        return Reduction == Reduction.Mean ? total * (inner / plain) : total;   // the mean's own denominator
    }
}

/// <summary>With <c>reduction=none</c> returns the mean instead of the sum of the per-row losses (everything else as
/// the wrapped loss): the reductions disagree. Built from specs <c>bad_reduction(...)</c> by <see cref="Rebuild"/>.</summary>
internal sealed class DisagreeingReductionLoss(string spec) : WrappedLoss("bad_reduction", spec)
{
    /// <summary>Builds <c>bad_reduction(args)</c> over <c>ce(args)</c>, as the registry builds a spec.</summary>
    public static ILoss Rebuild(string spec) => new DisagreeingReductionLoss("ce" + spec[spec.IndexOf('(', StringComparison.Ordinal)..]);

    public override string Spec => "bad_reduction" + (InnerSpec.Contains('(', StringComparison.Ordinal) ? InnerSpec[InnerSpec.IndexOf('(', StringComparison.Ordinal)..] : "");

    public override T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
    {
        T value = Inner.Compute(logits, classes, targets, rowLosses, gradient);
        return Reduction == Reduction.None ? value / T.CreateTruncating(targets.Length) : value;
    }
}

/// <summary>Clamps out-of-range class indices into [0, K) instead of rejecting them.</summary>
internal sealed class SilentLoss(string spec) : WrappedLoss("silent", spec)
{
    public override T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
    {
        var clamped = new int[targets.Length];
        for (int i = 0; i < clamped.Length; i++) clamped[i] = Math.Clamp(targets[i], 0, classes - 1);
        return Inner.Compute<T>(logits, classes, clamped, rowLosses, gradient);
    }
}

/// <summary>A registered binary loss under its own card, claiming more, with an optional gradient factor.</summary>
internal sealed class WrappedBinaryLoss(string spec, LossProperties claims = LossProperties.None, double gradientFactor = 1) : IBinaryLoss
{
    private readonly BinaryLoss _inner = (BinaryLoss)LossRegistry.Create(spec);
    public LossCard Card => _inner.Card with { Name = "wrapped_binary", Properties = _inner.Properties | claims };
    public string Spec => $"wrapped_binary[{spec}]";
    public Reduction Reduction => _inner.Reduction;

    public T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T value = _inner.Compute(logits, targets, elementLosses, gradient);
        for (int i = 0; i < gradient.Length; i++) gradient[i] *= T.CreateTruncating(gradientFactor);
        return value;
    }
}
