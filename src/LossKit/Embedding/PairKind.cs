namespace LossKit.Embedding;

/// <summary>
/// The kinds of PyTorch's pair and triplet criteria (<see cref="PairCriterion"/>), with PyTorch's argument names
/// (<c>spec/io.md</c>): <see cref="Pairs"/> — <c>input1</c>, <c>input2</c> (N scores for <c>margin_ranking</c>, N×d
/// vectors for <c>cosine_embedding</c>) and <c>target</c> (N, ±1); <see cref="Distances"/> — <c>input</c> (N, usually
/// distances) and <c>target</c> (N, ±1) for <c>hinge_embedding</c>; <see cref="Triplets"/> — <c>anchor</c>,
/// <c>positive</c>, <c>negative</c> (N×d). Outputs <c>unreduced</c> (one value per element, pair or triplet) and the
/// gradient of every input but <c>target</c>.
/// </summary>
public sealed class PairKind : LossKind<PairCriterion>
{
    /// <summary><c>input1</c>, <c>input2</c>, <c>target</c>: <c>margin_ranking</c>, <c>cosine_embedding</c>.</summary>
    public static PairKind Pairs { get; } = new("pairs",
    [
        new("input1", "N or N×d", true, "the first of each pair: a score (margin_ranking) or a vector (cosine_embedding)"),
        new("input2", "N or N×d", true, "the second of each pair, the shape of input1"),
        new("target", "N", false, "+1 or −1 per pair (margin_ranking: +1 = input1 should rank higher; cosine_embedding: +1 = similar)"),
    ]);

    /// <summary><c>input</c>, <c>target</c>: <c>hinge_embedding</c>.</summary>
    public static PairKind Distances { get; } = new("pair-distances",
    [
        new("input", "N", true, "one value per pair, usually the distance between its two members"),
        new("target", "N", false, "+1 (similar: the loss is the input) or −1 (dissimilar: the loss is max(0, margin − input))"),
    ]);

    /// <summary><c>anchor</c>, <c>positive</c>, <c>negative</c>: <c>triplet_margin</c>.</summary>
    public static PairKind Triplets { get; } = new("triplets",
    [
        new("anchor", "N×d", true, "the anchor of each triplet"),
        new("positive", "N×d", true, "an example of the anchor's class"),
        new("negative", "N×d", true, "an example of another class"),
    ]);

    private readonly LossInput[] _differentiable;
    private readonly bool _hasTarget;

    private PairKind(string name, IReadOnlyList<LossInput> inputs) : base(name, inputs) =>
        (_differentiable, _hasTarget) = ([.. inputs.Where(i => i.Differentiable)], inputs.Any(i => i.Name == "target"));

    protected override LossCall Call<T>(PairCriterion criterion, LossInputs inputs)
    {
        if (!ReferenceEquals(criterion.Kind, this)) throw new ArgumentException($"{criterion.Spec} is a {criterion.Kind.Name} loss, not a {Name} loss.", "loss");
        string firstName = _differentiable[0].Name;
        LossTensor first = inputs.Required(firstName, this);
        int count, dim;
        if (criterion.VectorRows)
        {
            (count, dim) = Matrix(first, firstName, "one row of d values per pair, N×d");
        }
        else
        {
            if (first.Rank < 1) throw new ArgumentException($"{firstName} has shape {first.ShapeText}: expected one value per pair, [N].", firstName);
            (count, dim) = (first.Length, 1);
        }
        var values = new T[_differentiable.Length + 1][];
        for (int i = 0; i < _differentiable.Length; i++)
        {
            LossTensor tensor = inputs.Required(_differentiable[i].Name, this);
            if (i > 0) SameShape(tensor, _differentiable[i].Name, first, firstName);
            values[i] = ValuesAs<T>(tensor);
        }
        values[^1] = [];
        if (_hasTarget)
        {
            LossTensor target = inputs.Required("target", this);
            if (criterion.VectorRows)
            {
                if (target.Rank != 1 || target.Length != count)
                    throw new ArgumentException($"target has shape {target.ShapeText} but there are {count} pairs; give one ±1 per pair, [{count}].", "target");
            }
            else SameShape(target, "target", first, firstName);
            values[^1] = ValuesAs<T>(target);
        }
        int[] unreducedShape = criterion.VectorRows ? [count] : first.Shape;
        var gradients = _differentiable.Select(i => (i.Name, first.Shape)).ToArray();
        return new GradientsCall<T>(gradients, unreducedShape, BytesOf(values), (unreduced, g) => criterion.Run<T>(count, dim,
            values[0], values.Length > 2 ? values[1] : default, values.Length > 3 ? values[2] : default, values[^1],
            unreduced, g[0].Span, g.Length > 1 ? g[1].Span : default, g.Length > 2 ? g[2].Span : default));
    }

    protected override LossInputs SampleFor(PairCriterion criterion, SampleSize size, Random random, double scale)
    {
        int dim = size.Dim > 0 ? size.Dim : Math.Max(size.Width, 1);
        var inputs = new LossInputs();
        foreach (LossInput input in _differentiable)
            inputs[input.Name] = criterion.VectorRows ? RandomMatrix(random, size.Rows, dim, scale) : LossTensor.Vector(RandomValues(random, size.Rows, scale));
        if (_hasTarget)
        {
            var target = new double[size.Rows];
            for (int i = 0; i < target.Length; i++) target[i] = random.Next(2) == 0 ? -1 : 1;
            inputs["target"] = LossTensor.Vector(target);
        }
        return inputs;
    }
}
