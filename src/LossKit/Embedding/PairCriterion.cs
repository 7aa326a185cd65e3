using System.Globalization;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Embedding;

/// <summary>
/// PyTorch's pair and triplet criteria (<c>MarginRankingLoss</c>, <c>CosineEmbeddingLoss</c>, <c>HingeEmbeddingLoss</c>,
/// <c>TripletMarginLoss</c>) with PyTorch's semantics, options and defaults: the base owns the checks of the inputs
/// (targets are ±1), the reduction (<c>mean</c> over the unreduced values, as PyTorch) and the conversion to and from
/// float, double or Half; a criterion gives its math in double (<see cref="Evaluate"/>). Pairs are few and cheap:
/// plain loops in a fixed order, so any thread count gives the same bits.
/// </summary>
/// <remarks>PyTorch gives 0 loss to a target that is neither +1 nor −1 without a word; LossKit rejects it (an error names
/// the element), since such a target is always a mistake.</remarks>
public abstract class PairCriterion : ReducedLoss
{
    /// <summary>The shared reduction over pairs or triplets.</summary>
    public static readonly LossParameter ReductionParameter =
        ReductionOf("mean divides by the number of unreduced values (pairs, triplets, elements); none returns each");

    /// <param name="margin">The criterion's margin parameter.</param>
    /// <param name="value">The margin (null: the parameter's default).</param>
    /// <param name="reduction">mean, sum or none.</param>
    /// <param name="kind">The kind whose inputs it takes.</param>
    /// <param name="vectorRows">See <see cref="VectorRows"/>.</param>
    private protected PairCriterion(LossParameter margin, double? value, Reduction reduction, LossKind kind, bool vectorRows) : base(reduction) =>
        (_margin, MarginValue, Kind, VectorRows) = (margin, margin.Resolve(value), kind, vectorRows);

    private readonly LossParameter _margin;

    /// <summary>The margin.</summary>
    public double MarginValue { get; }

    /// <summary>True when each pair (triplet) is a row of d values (N×d inputs); false for one value per element.</summary>
    public bool VectorRows { get; }

    /// <inheritdoc/>
    public override LossKind Kind { get; }

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues => [_margin.Of(MarginValue), .. OwnValues, ReductionParameter.Of(Reduction)];

    /// <summary>The values of the parameters between the margin and the reduction, in card order (none by default).</summary>
    private protected virtual IEnumerable<ParameterValue> OwnValues => [];

    /// <summary>The card of a pair criterion, with the reduction after its own parameters.</summary>
    private protected static LossCard PairCard(string name, string title, string formula, string gradient, string reference,
        LossProperties properties, string notes, params LossParameter[] parameters) =>
        ReducedCard("pair and triplet criteria (PyTorch)", ReductionParameter, name, title, formula, gradient, reference, properties, notes, parameters);

    /// <summary>
    /// The shared library call: <paramref name="count"/> pairs (triplets) of <paramref name="dim"/> values per member in
    /// <paramref name="a"/>, <paramref name="b"/>, <paramref name="c"/> (empty when the criterion has fewer members), ±1
    /// <paramref name="target"/> (empty for triplets); writes the unreduced values and ∂(reduced loss)/∂ each member
    /// (each output may be empty to skip it) and returns the reduced loss (the sum for <see cref="Reduction.None"/>).
    /// </summary>
    internal T Run<T>(int count, int dim, ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, ReadOnlySpan<T> target,
        Span<T> unreduced, Span<T> gradA, Span<T> gradB, Span<T> gradC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        int members = Kind.Inputs.Count(i => i.Differentiable);
        var names = Kind.Inputs.Select(i => i.Name).ToArray();
        var batch = new PairBatch(count, dim,
            Member(a, count * dim, names[0], 0, members), Member(b, count * dim, names[Math.Min(1, names.Length - 1)], 1, members),
            Member(c, count * dim, names[Math.Min(2, names.Length - 1)], 2, members), Targets(target, count));
        Output(unreduced, count, "unreduced");
        Output(gradA, count * dim, "gradA");
        Output(gradB, members > 1 ? count * dim : 0, "gradB");
        Output(gradC, members > 2 ? count * dim : 0, "gradC");
        double[] losses = new double[count];
        double[][] grads = [new double[count * dim], new double[members > 1 ? count * dim : 0], new double[members > 2 ? count * dim : 0]];
        Evaluate(batch, losses, grads);
        double scale = Reduction == Reduction.Mean ? (count > 0 ? 1.0 / count : 0) : 1, total = 0;
        for (int i = 0; i < count; i++)
        {
            total += losses[i];
            if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(losses[i]);
        }
        Write(gradA, grads[0], scale);
        Write(gradB, grads[1], scale);
        Write(gradC, grads[2], scale);
        return T.CreateTruncating(total * scale);
    }

    /// <summary>The loss of each pair (triplet) and its derivatives by each member's values (into
    /// <paramref name="grads"/>[0..2], zeroed, of the members' lengths).</summary>
    private protected abstract void Evaluate(PairBatch batch, Span<double> loss, double[][] grads);

    private static void Write<T>(Span<T> output, double[] values, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (output.IsEmpty) return;
        for (int i = 0; i < values.Length; i++) output[i] = T.CreateTruncating(scale * values[i]);
    }

    private static double[] Member<T>(ReadOnlySpan<T> values, int length, string name, int index, int members) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (index >= members) return [];
        if (values.Length != length)
            throw new ArgumentException($"{name} has {values.Length} values: expected {length} (the shape of the first input).", name);
        var result = new double[length];
        for (int i = 0; i < length; i++) result[i] = double.CreateTruncating(values[i]);
        return result;
    }

    private double[] Targets<T>(ReadOnlySpan<T> values, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Kind.Inputs.Any(i => i.Name == "target")) return [];
        if (values.Length != count)
            throw new ArgumentException($"target has {values.Length} values but there are {count} pairs; give one ±1 per pair.", "target");
        var result = new double[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
            if (result[i] is not (1 or -1))
                throw new RowException("target", i, string.Create(CultureInfo.InvariantCulture, $"target[{i}] = {result[i]}: expected +1 or −1."));
        }
        return result;
    }

    private static void Output<T>(Span<T> span, int n, string name)
    {
        if (!span.IsEmpty && span.Length != n) throw new ArgumentException($"{name} has {span.Length} values: expected {n} or none.", name);
    }
}

/// <summary>A batch of pairs or triplets in double: <paramref name="Count"/> of them, <paramref name="Dim"/> values per
/// member, members <paramref name="A"/>, <paramref name="B"/>, <paramref name="C"/> (empty when absent), ±1 targets (or empty).</summary>
internal sealed record PairBatch(int Count, int Dim, double[] A, double[] B, double[] C, double[] Target);
