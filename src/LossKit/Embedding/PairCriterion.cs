using System.Buffers;
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
        IReadOnlyList<LossInput> inputs = Kind.Inputs;
        int members = 0;
        bool hasTarget = false;
        for (int i = 0; i < inputs.Count; i++) (members, hasTarget) = (members + (inputs[i].Differentiable ? 1 : 0), hasTarget || inputs[i].Name == "target");
        int length = count * dim, lengthB = members > 1 ? length : 0, lengthC = members > 2 ? length : 0;
        Output(unreduced, count, "unreduced");
        Output(gradA, length, "gradA");
        Output(gradB, lengthB, "gradB");
        Output(gradC, lengthC, "gradC");
        // The members and targets in double, each pair's loss and the members' gradients: rented for the call.
        double[] buffer = ArrayPool<double>.Shared.Rent(2 * (length + lengthB + lengthC) + (hasTarget ? count : 0) + count);
        try
        {
            int offset = 0;
            var batch = new PairBatch(count, dim,
                Member(a, length, inputs[0].Name, 0, members, Take(buffer, ref offset, length)),
                Member(b, length, inputs[Math.Min(1, inputs.Count - 1)].Name, 1, members, Take(buffer, ref offset, lengthB)),
                Member(c, length, inputs[Math.Min(2, inputs.Count - 1)].Name, 2, members, Take(buffer, ref offset, lengthC)),
                Targets(target, count, hasTarget, Take(buffer, ref offset, hasTarget ? count : 0)));
            Span<double> losses = Take(buffer, ref offset, count), gA = Take(buffer, ref offset, length),
                gB = Take(buffer, ref offset, lengthB), gC = Take(buffer, ref offset, lengthC);
            buffer.AsSpan(offset - length - lengthB - lengthC - count, count + length + lengthB + lengthC).Clear();   // rented: old values
            Evaluate(batch, losses, gA, gB, gC);
            double scale = Reduction == Reduction.Mean ? (count > 0 ? 1.0 / count : 0) : 1, total = 0;
            for (int i = 0; i < count; i++)
            {
                total += losses[i];
                if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(losses[i]);
            }
            Write(gradA, gA, scale);
            Write(gradB, gB, scale);
            Write(gradC, gC, scale);
            return T.CreateTruncating(total * scale);
        }
        finally { ArrayPool<double>.Shared.Return(buffer); }
    }

    /// <summary>The next <paramref name="length"/> doubles of a rented buffer, from <paramref name="offset"/> (moved past them).</summary>
    private static Span<double> Take(double[] buffer, ref int offset, int length)
    {
        Span<double> part = buffer.AsSpan(offset, length);
        offset += length;
        return part;
    }

    /// <summary>The loss of each pair (triplet) and its derivatives by each member's values (into
    /// <paramref name="gradA"/>, <paramref name="gradB"/>, <paramref name="gradC"/>, zeroed, of the members' lengths:
    /// empty for a member the criterion does not have).</summary>
    private protected abstract void Evaluate(PairBatch batch, Span<double> loss, Span<double> gradA, Span<double> gradB, Span<double> gradC);

    private static void Write<T>(Span<T> output, ReadOnlySpan<double> values, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (output.IsEmpty) return;
        for (int i = 0; i < values.Length; i++) output[i] = T.CreateTruncating(scale * values[i]);
    }

    /// <summary>Member <paramref name="index"/>'s values in double (into <paramref name="result"/>), or empty when the
    /// criterion has fewer members.</summary>
    private static ReadOnlySpan<double> Member<T>(ReadOnlySpan<T> values, int length, string name, int index, int members, Span<double> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (index >= members) return [];
        if (values.Length != length)
            throw new ArgumentException($"{name} has {values.Length} values: expected {length} (the shape of the first input).", name);
        for (int i = 0; i < length; i++) result[i] = double.CreateTruncating(values[i]);
        return result;
    }

    /// <summary>The ±1 targets in double (into <paramref name="result"/>), checked; empty when the criterion takes none.</summary>
    private static ReadOnlySpan<double> Targets<T>(ReadOnlySpan<T> values, int count, bool hasTarget, Span<double> result) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!hasTarget) return [];
        if (values.Length != count)
            throw new ArgumentException($"target has {values.Length} values but there are {count} pairs; give one ±1 per pair.", "target");
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

/// <summary>A batch of pairs or triplets in double: <paramref name="count"/> of them, <paramref name="dim"/> values per
/// member, members <paramref name="a"/>, <paramref name="b"/>, <paramref name="c"/> (empty when absent), ±1 targets (or
/// empty): views of arrays rented for the call (a ref struct, so none outlives it).</summary>
internal readonly ref struct PairBatch(int count, int dim, ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> c, ReadOnlySpan<double> target)
{
    public int Count { get; } = count;
    public int Dim { get; } = dim;
    public ReadOnlySpan<double> A { get; } = a;
    public ReadOnlySpan<double> B { get; } = b;
    public ReadOnlySpan<double> C { get; } = c;
    public ReadOnlySpan<double> Target { get; } = target;
}
