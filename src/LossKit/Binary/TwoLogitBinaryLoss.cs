using System.Buffers;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Binary;

/// <summary>
/// Presents a binary loss as a two-class loss on logits [z₀, z₁] with class-index targets y ∈ {0, 1}:
/// <c>ℓ(z, y) = binary(s = z₁ − z₀, t = y)</c>, so <c>∂ℓ/∂z₁ = ∂ℓ/∂s</c> and <c>∂ℓ/∂z₀ = −∂ℓ/∂s</c>.
/// softmax([z₀, z₁])₁ = σ(s), so a two-class classifier trained through this adapter is a logistic model in s and
/// every multi-class metric (accuracy, ECE, AUROC on z₁ − z₀) applies unchanged. This is how the workbench
/// trains binary losses; batch-level losses see the whole minibatch as their batch.
/// </summary>
public sealed class TwoLogitBinaryLoss(IBinaryLoss inner) : IClassificationLoss, IStatefulLoss
{
    /// <summary>The wrapped binary loss.</summary>
    public IBinaryLoss Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));
    public LossCard Card => Inner.Card;
    public string Spec => Inner.Spec;
    public IEnumerable<ParameterValue> ParameterValues => Inner.ParameterValues;
    public Reduction Reduction => Inner.Reduction;

    /// <summary>Forwards to the inner loss when it has state (<see cref="IStatefulLoss"/>); otherwise nothing.</summary>
    public void Step(double learningRate)
    {
        if (Inner is IStatefulLoss stateful) stateful.Step(learningRate);
    }

    public T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (classes != 2)
            throw new ArgumentException($"{Inner.Spec} is a binary loss: it needs exactly 2 classes, but the logits have {classes}.", nameof(classes));
        int rows = InputChecks.Shape(logits.Length, classes, targets.Length, "targets", rowLosses.Length, gradient.Length);
        T[] buffer = ArrayPool<T>.Shared.Rent(3 * rows);
        try
        {
            Span<T> s = buffer.AsSpan(0, rows), t = buffer.AsSpan(rows, rows), g = buffer.AsSpan(2 * rows, rows);
            for (int n = 0; n < rows; n++)
            {
                int y = targets[n];
                if ((uint)y > 1)
                    throw new RowException("targets", n, $"targets[{n}] = {y} is not a class of a binary problem: expected 0 or 1.");
                s[n] = logits[2 * n + 1] - logits[2 * n];
                t[n] = y == 1 ? T.One : T.Zero;
            }
            T value = Inner.Compute<T>(s, t, rowLosses, gradient.IsEmpty ? default : g);
            if (!gradient.IsEmpty)
                for (int n = 0; n < rows; n++)
                {
                    gradient[2 * n] = -g[n];
                    gradient[2 * n + 1] = g[n];
                }
            return value;
        }
        finally { ArrayPool<T>.Shared.Return(buffer); }
    }
}
