using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Core;

/// <summary>One named input of a kind of loss.</summary>
/// <param name="Name">The name (<c>logits</c>, <c>targets</c>, ...), as in PyTorch where PyTorch has the loss.</param>
/// <param name="Shape">The shape in words, e.g. <c>N×K</c>.</param>
/// <param name="Differentiable">True when the call returns <c>grad_&lt;name&gt;</c>.</param>
/// <param name="Description">One line for help texts.</param>
public sealed record LossInput(string Name, string Shape, bool Differentiable, string Description)
{
    /// <summary>True when the input may be left out (or given instead of another, like <c>soft_targets</c>).</summary>
    public bool Optional { get; init; }

    /// <summary>True when the input's values must be ≥ 0 (a variance, a scale, a prediction of a positive quantity): a
    /// negative value is an error naming the element. Checks and samples keep such an input ≥ 0 (they use |x|).</summary>
    public bool NonNegative { get; init; }

    /// <summary>True when the input's values must be ≤ 0 (log-probabilities): a positive value is an error naming the
    /// element. Checks keep such an input ≤ 0 (they use −|x|).</summary>
    public bool NonPositive { get; init; }
}

/// <summary>The size of sample inputs a kind makes for checks and benchmarks.</summary>
/// <param name="Rows">N: rows (samples, lists, pairs).</param>
/// <param name="Width">Columns per row: classes, outputs per sample, list length, vocabulary.</param>
/// <param name="Dim">The feature dimension for kinds that have one (hidden size, embedding size); 0 elsewhere.</param>
public readonly record struct SampleSize(int Rows, int Width, int Dim = 0);

/// <summary>What a <see cref="LossCall.Run(RunOutputs)"/> writes besides the reduced loss it returns.</summary>
public enum RunOutputs
{
    /// <summary>Nothing: the forward pass only.</summary>
    Loss,

    /// <summary>The gradient of every differentiable input that was given — what a training step asks for, and the
    /// call <c>losskit bench</c> times.</summary>
    Gradients,

    /// <summary>Everything <see cref="LossCall.Outputs"/> reads: the gradients, the unreduced losses and, where a kind
    /// says so, the gradient an optional input would get when it is left out (<c>linear_ce</c>'s <c>grad_bias</c>).</summary>
    All,
}

/// <summary>
/// A kind of loss (classification, binary, distillation, large vocabulary, ...): the named inputs a loss of that kind
/// takes and the outputs it gives (<c>spec/io.md</c>), and the one place that knows how to call such a loss. Every
/// consumer that is not itself a loss — <c>losskit eval</c>, <c>check</c>, <c>bench</c>, the conformance suite — goes
/// through <see cref="ILoss.Kind"/>, so a new kind needs no edit outside its own folder.
/// </summary>
/// <param name="name">The kind's name, e.g. <c>classification</c>.</param>
/// <param name="inputs">The inputs, in the order a user would give them.</param>
/// <param name="outputAliases">Older output names the kind also writes (see <see cref="OutputAliases"/>), or null.</param>
public abstract class LossKind(string name, IReadOnlyList<LossInput> inputs, IReadOnlyDictionary<string, string>? outputAliases = null)
{
    /// <summary>The aliases of a kind whose one differentiable input is <c>logits</c>: <c>per_row</c> and <c>gradient</c>,
    /// the names <c>losskit eval</c> wrote before there were kinds.</summary>
    protected static IReadOnlyDictionary<string, string> LogitsAliases { get; } =
        new Dictionary<string, string> { ["per_row"] = "unreduced", ["gradient"] = "grad_logits" };

    /// <summary>The kind's name, e.g. <c>classification</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The inputs, in the order a user would give them.</summary>
    public IReadOnlyList<LossInput> Inputs { get; } = inputs;

    /// <summary>Older output names this kind also writes, mapped to the name they repeat (e.g. <c>per_row</c> →
    /// <c>unreduced</c>, <c>gradient</c> → <c>grad_logits</c>).</summary>
    public IReadOnlyDictionary<string, string> OutputAliases { get; } = outputAliases ?? new Dictionary<string, string>();

    /// <summary>Checks that every input is one of <see cref="Inputs"/> (an unknown name is an error that names it and
    /// lists the kind's inputs), converts the inputs to <typeparamref name="T"/> (float, double or Half), checks their
    /// shapes, and returns a call that runs the loss on them into buffers it owns (no allocation per run). A NaN in any
    /// input is an error naming the element (<c>logits[3][7] is NaN</c>): a loss of NaN says nothing, so the named-input
    /// path refuses it here, once, before the kernels (which propagate NaN and never scan for it). ±∞ passes on to the
    /// loss, which defines it where it can (−∞ masks a class).</summary>
    public LossCall Prepare<T>(ILoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (string key in inputs.Keys)
            if (!Inputs.Any(i => i.Name == key))
                throw new ArgumentException($"\"{key}\" is not an input of {Name} losses: they take {InputsText}.", key);
        foreach (var (key, tensor) in inputs)
            if (tensor.IndexOfNaN() is int at and >= 0)
                throw new ArgumentException($"{key}{tensor.IndexText(at)} is NaN: inputs must be numbers (±∞ is allowed where the loss defines it).", key);
        return PrepareCall<T>(loss, inputs);
    }

    /// <summary><see cref="Prepare{T}"/> once the input names are known to be the kind's.</summary>
    protected abstract LossCall PrepareCall<T>(ILoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Valid inputs of <paramref name="size"/> for <paramref name="loss"/>: seeded random values of typical
    /// magnitude <paramref name="scale"/> for the differentiable inputs and valid targets (for checks and benchmarks).</summary>
    public abstract LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1);

    /// <summary>Prepares, runs once with every output, and returns the outputs.</summary>
    public LossOutputs Evaluate<T>(ILoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossCall call = Prepare<T>(loss, inputs);
        call.Run(RunOutputs.All);
        return call.Outputs();
    }

    /// <summary>The inputs in words, for error messages: <c>"logits" (N×K), "targets" (N) ...</c>.</summary>
    public string InputsText => string.Join(", ", Inputs.Select(i => $"\"{i.Name}\" ({i.Shape}{(i.Optional ? ", optional" : "")})"));

    /// <summary>Throws unless <paramref name="loss"/> is a <typeparamref name="TLoss"/>; returns it.</summary>
    protected TLoss Expect<TLoss>(ILoss loss) where TLoss : class, ILoss =>
        loss as TLoss ?? throw new ArgumentException($"{loss.Spec} is a {loss.Kind.Name} loss, not a {Name} loss.", nameof(loss));

    /// <summary>An input as a <typeparamref name="T"/> array; an optional input left out (null) as an empty one.</summary>
    protected static T[] ValuesAs<T>(LossTensor? tensor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (tensor is null) return [];
        var result = new T[tensor.Length];
        for (int i = 0; i < result.Length; i++) result[i] = T.CreateTruncating(tensor.Values[i]);
        return result;
    }

    /// <summary>The bytes <paramref name="arrays"/> hold, for <see cref="LossCall.Bytes(RunOutputs)"/>.</summary>
    protected static long BytesOf<TElement>(params ReadOnlySpan<TElement[]> arrays) where TElement : unmanaged
    {
        long count = 0;
        foreach (TElement[] a in arrays) count += a.Length;
        return count * Unsafe.SizeOf<TElement>();
    }

    /// <summary>The shape of a two-dimensional input: <c>(rows, columns)</c>; any other rank is an error that says what
    /// the input holds (<paramref name="what"/>, e.g. <c>one row of K logits per sample, N×K</c>).</summary>
    protected static (int Rows, int Columns) Matrix(LossTensor tensor, string name, string what) =>
        tensor.Rank == 2 ? (tensor.Shape[0], tensor.Shape[1])
        : throw new ArgumentException($"{name} has shape {tensor.ShapeText}: expected {what}" +
            (tensor.Rank == 1 ? $" (one sample of {tensor.Length} values is [[...]], shape [1, {tensor.Length}])." : "."), name);

    /// <summary>
    /// Checks the input <c>weight</c> of a linear classifier on <paramref name="hidden"/> (rows of <paramref name="dim"/>
    /// values) and its optional input <c>bias</c>: weight V×d with V ≥ 1 rows, one per <paramref name="row"/> (e.g.
    /// <c>class</c>), and bias one value per row of weight (per <paramref name="biasRow"/>). Returns V.
    /// </summary>
    protected static int LinearClassifier(LossTensor weight, LossTensor? bias, LossTensor hidden, int dim, string row, string biasRow)
    {
        var (vocab, weightDim) = Matrix(weight, "weight", $"one row of d values per {row}, V×d");
        if (vocab == 0) throw new ArgumentException($"weight is empty: give one row per {row}.", "weight");
        if (weightDim != dim)
            throw new ArgumentException($"weight has shape {weight.ShapeText} but hidden has {hidden.ShapeText}: each row of weight must have dim = {dim} values.", "weight");
        if (bias is not null && (bias.Rank != 1 || bias.Length != vocab))
            throw new ArgumentException($"bias has shape {bias.ShapeText} but weight has {vocab} rows; give one bias per {biasRow}, [{vocab}].", "bias");
        return vocab;
    }

    /// <summary>Throws unless <paramref name="tensor"/> has the shape of <paramref name="like"/> (named <paramref name="likeName"/>).</summary>
    protected static void SameShape(LossTensor tensor, string name, LossTensor like, string likeName)
    {
        if (!tensor.Shape.AsSpan().SequenceEqual(like.Shape))
            throw new ArgumentException($"{name} has shape {tensor.ShapeText} but {likeName} has {like.ShapeText}; they must have the same shape.", name);
    }

    /// <summary>The two required inputs of a kind whose inputs are rows of equal shape: <paramref name="name"/>, N×K (an
    /// error says it holds <paramref name="what"/>), and <paramref name="likeName"/> of its shape (the teacher's logits,
    /// the target distribution, the positives, the labels). Missing inputs are reported before shapes, the first before
    /// the second.</summary>
    protected (LossTensor Matrix, LossTensor Like, int Rows, int Columns) MatrixAndLike(LossInputs inputs, string name, string what, string likeName)
    {
        LossTensor matrix = inputs.Required(name, this), like = inputs.Required(likeName, this);
        var (rows, columns) = Matrix(matrix, name, what);
        SameShape(like, likeName, matrix, name);
        return (matrix, like, rows, columns);
    }

    /// <summary>The optional input <paramref name="name"/>, which must have the shape of <paramref name="like"/> (named
    /// <paramref name="likeName"/>) when given; null when left out.</summary>
    protected static LossTensor? OptionalLike(LossInputs inputs, string name, LossTensor like, string likeName)
    {
        LossTensor? tensor = inputs.Optional(name);
        if (tensor is not null) SameShape(tensor, name, like, likeName);
        return tensor;
    }

    /// <summary>One class index per row: a vector of <paramref name="rows"/> whole numbers (an error names the first
    /// value that is not one); whether each is a valid class is the loss's check.</summary>
    protected static int[] ClassIndices(LossTensor targets, int rows, string name = "targets", LossTensor? rowsFrom = null, string rowsName = "logits")
    {
        if (targets.Rank != 1 || targets.Length != rows)
            throw new ArgumentException($"{name} has shape {targets.ShapeText} but " +
                (rowsFrom is null ? $"there are {rows} rows" : $"{rowsName} has shape {rowsFrom.ShapeText} ({rows} rows)") +
                $"; give one class index per row, [{rows}].", name);
        return targets.AsIntegers(name);
    }

    /// <summary>A <c>[rows, columns]</c> tensor of seeded values uniform in [−scale, scale].</summary>
    protected static LossTensor RandomMatrix(Random random, int rows, int columns, double scale) =>
        LossTensor.Matrix(RandomValues(random, rows * columns, scale), rows, columns);

    /// <summary>Seeded values uniform in [−scale, scale].</summary>
    protected static double[] RandomValues(Random random, int count, double scale)
    {
        var v = new double[count];
        for (int i = 0; i < count; i++) v[i] = scale * (2 * random.NextDouble() - 1);
        return v;
    }

    /// <summary>A vector of <paramref name="rows"/> seeded class indices in [0, <paramref name="classes"/>).</summary>
    protected static LossTensor RandomClasses(Random random, int rows, int classes) => LossTensor.Vector(RandomIndices(random, rows, classes));

    /// <summary>Seeded whole numbers in [0, <paramref name="count"/>): class indices, labels 0/1.</summary>
    protected static double[] RandomIndices(Random random, int length, int count)
    {
        var v = new double[length];
        for (int i = 0; i < v.Length; i++) v[i] = random.Next(count);
        return v;
    }

    /// <summary>Seeded log-probabilities of sequences, uniform in [−1.05·scale, −0.05·scale] (below 0, as a sequence's
    /// log-probability is).</summary>
    protected static double[] RandomLogProbabilities(Random random, int count, double scale)
    {
        var v = new double[count];
        for (int i = 0; i < v.Length; i++) v[i] = -scale * (0.05 + random.NextDouble());
        return v;
    }

    /// <summary>The shape of the sample inputs of an element-wise kind with <paramref name="columns"/> outputs per row:
    /// <c>[rows]</c> for one (or none given), <c>[rows, columns]</c> otherwise; and the number of values.</summary>
    protected static (int[] Shape, int Count) ElementShape(int rows, int columns) =>
        (columns <= 1 ? [rows] : [rows, columns], rows * Math.Max(columns, 1));

    /// <summary>A seeded linear classifier on d = <paramref name="dim"/> features: <c>weight</c> V×d uniform in ±2/√d (so
    /// that the logits keep the magnitude of the hidden states whatever d) and <c>bias</c> (V) uniform in ±1, drawn in
    /// that order.</summary>
    protected static (LossTensor Weight, LossTensor Bias) RandomClassifier(Random random, int vocab, int dim)
    {
        LossTensor weight = RandomMatrix(random, vocab, dim, 2 / Math.Sqrt(dim));
        return (weight, LossTensor.Vector(RandomValues(random, vocab, 1)));
    }
}

/// <summary>
/// A kind whose losses are all <typeparamref name="TLoss"/>s: it checks, once for every kind, that the loss handed to
/// <see cref="LossKind.Prepare{T}"/> or <see cref="LossKind.Sample"/> is one (else an error naming the loss's kind and
/// this one) and hands it on typed. A kind then writes only what is its own: how its inputs reach the loss
/// (<see cref="Call{T}"/>) and what valid inputs look like (<see cref="SampleFor"/>).
/// </summary>
/// <param name="name">The kind's name, e.g. <c>binary</c>.</param>
/// <param name="inputs">The inputs, in the order a user would give them.</param>
/// <param name="outputAliases">Older output names the kind also writes, or null.</param>
public abstract class LossKind<TLoss>(string name, IReadOnlyList<LossInput> inputs, IReadOnlyDictionary<string, string>? outputAliases = null)
    : LossKind(name, inputs, outputAliases) where TLoss : class, ILoss
{
    protected sealed override LossCall PrepareCall<T>(ILoss loss, LossInputs inputs) => Call<T>(Expect<TLoss>(loss), inputs);

    public sealed override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1) =>
        SampleFor(Expect<TLoss>(loss), size, random, scale);

    /// <summary>Checks the shapes of <paramref name="inputs"/> (their names are the kind's, none is NaN), converts them
    /// to <typeparamref name="T"/> and returns the call of <paramref name="loss"/> on them.</summary>
    protected abstract LossCall Call<T>(TLoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Valid inputs of <paramref name="size"/> for <paramref name="loss"/> (see <see cref="LossKind.Sample"/>).</summary>
    protected abstract LossInputs SampleFor(TLoss loss, SampleSize size, Random random, double scale);
}

/// <summary>
/// A kind with one instance, <see cref="Instance"/>, shared by every <typeparamref name="TLoss"/> (every binary loss,
/// every distillation loss, ...). <typeparamref name="TKind"/> is the kind itself; it has a private parameterless
/// constructor that gives its name and inputs, so that no other instance can be made.
/// </summary>
public abstract class LossKind<TKind, TLoss>(string name, IReadOnlyList<LossInput> inputs, IReadOnlyDictionary<string, string>? outputAliases = null)
    : LossKind<TLoss>(name, inputs, outputAliases) where TKind : LossKind<TKind, TLoss> where TLoss : class, ILoss
{
    /// <summary>The one instance of the kind.</summary>
    public static TKind Instance { get; } = (TKind)Activator.CreateInstance(typeof(TKind), nonPublic: true)!;
}

/// <summary>
/// A loss bound to prepared inputs and output buffers of one precision: <see cref="Run(RunOutputs)"/> is exactly the
/// library's typed call (what a benchmark times), <see cref="Outputs"/> reads the results back as doubles.
/// </summary>
public abstract class LossCall
{
    /// <summary>Runs the loss, writing <paramref name="outputs"/>; returns the reduced loss. No allocation beyond the
    /// library call's own.</summary>
    public abstract double Run(RunOutputs outputs);

    /// <summary>Runs the loss: with <paramref name="gradients"/>, every output <see cref="Outputs"/> reads
    /// (<see cref="RunOutputs.All"/>); without, only the forward pass. Returns the reduced loss.</summary>
    public double Run(bool gradients = true) => Run(gradients ? RunOutputs.All : RunOutputs.Loss);

    /// <summary>The results of the last <see cref="Run(RunOutputs)"/> with <see cref="RunOutputs.All"/>.</summary>
    public abstract LossOutputs Outputs();

    /// <summary>Bytes a run that writes <paramref name="outputs"/> must read and write at least (inputs once, outputs
    /// once), for bandwidth figures.</summary>
    public abstract long Bytes(RunOutputs outputs);

    /// <summary><see cref="Bytes(RunOutputs)"/> of <see cref="Run(bool)"/>.</summary>
    public long Bytes(bool gradients) => Bytes(gradients ? RunOutputs.All : RunOutputs.Loss);

    /// <summary>Floating-point operations of a run, for calls whose cost is counted in them (matrix products); 0 for
    /// calls that are bound by memory.</summary>
    public virtual double Flops(RunOutputs outputs) => 0;

    /// <summary>The same loss computed a simpler way on the same inputs into the same outputs, for a benchmark to time
    /// next to this call (<c>linear_ce</c>: the N×V logits materialised, then <c>ce</c>); null when there is none.</summary>
    public virtual LossCall? Baseline => null;

    /// <summary>How the call computes, in a word or two, for benchmark tables (<c>fused</c>, <c>materialised</c>).</summary>
    public virtual string Method => "library call";

    /// <summary>Sizes the call chose for its shape, for a benchmark to report (<c>linear_ce</c>: <c>chunk_rows</c>,
    /// <c>vocab_block</c>); empty for most calls.</summary>
    public virtual IReadOnlyList<KeyValuePair<string, int>> Settings => [];

    /// <summary>The size of <typeparamref name="T"/> in bytes.</summary>
    protected static int SizeOf<T>() where T : unmanaged => Unsafe.SizeOf<T>();

    /// <summary>The number of values of a tensor of <paramref name="shape"/>.</summary>
    protected static int ElementCount(int[] shape) => checked((int)shape.Aggregate(1L, (n, d) => n * d));

    /// <summary><see cref="Bytes(RunOutputs)"/> of a call that reads <paramref name="inputBytes"/> and writes, as
    /// <paramref name="outputs"/> ask, <paramref name="gradientValues"/> gradient values and (with every output)
    /// <paramref name="unreducedValues"/> unreduced losses, each a <typeparamref name="T"/>.</summary>
    protected static long RunBytes<T>(RunOutputs outputs, long inputBytes, long gradientValues, long unreducedValues) where T : unmanaged =>
        inputBytes + (long)SizeOf<T>() * outputs switch
        {
            RunOutputs.Loss => 0,
            RunOutputs.Gradients => gradientValues,
            _ => gradientValues + unreducedValues,
        };

    /// <summary>A zeroed output buffer, written once now so that it is resident before the first run: the memory a run
    /// adds is then its own scratch only.</summary>
    protected static T[] OutputBuffer<T>(int length) where T : unmanaged
    {
        T[] buffer = GC.AllocateUninitializedArray<T>(length);
        Array.Clear(buffer);
        return buffer;
    }
}
