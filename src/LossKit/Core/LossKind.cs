using System.Numerics;

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
}

/// <summary>The size of sample inputs a kind makes for checks and benchmarks.</summary>
/// <param name="Rows">N: rows (samples, lists, pairs).</param>
/// <param name="Width">Columns per row: classes, outputs per sample, list length, vocabulary.</param>
/// <param name="Dim">The feature dimension for kinds that have one (hidden size, embedding size); 0 elsewhere.</param>
public readonly record struct SampleSize(int Rows, int Width, int Dim = 0);

/// <summary>
/// A kind of loss (classification, binary, distillation, large vocabulary, ...): the named inputs a loss of that kind
/// takes and the outputs it gives (<c>spec/io.md</c>), and the one place that knows how to call such a loss. Every
/// consumer that is not itself a loss — <c>losskit eval</c>, <c>check</c>, <c>bench</c>, the conformance suite — goes
/// through <see cref="ILoss.Kind"/>, so a new kind needs no edit outside its own folder.
/// </summary>
public abstract class LossKind
{
    /// <summary>The kind's name, e.g. <c>classification</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The inputs, in the order a user would give them.</summary>
    public abstract IReadOnlyList<LossInput> Inputs { get; }

    /// <summary>Older output names this kind also writes, mapped to the name they repeat (e.g. <c>per_row</c> →
    /// <c>unreduced</c>, <c>gradient</c> → <c>grad_logits</c>).</summary>
    public virtual IReadOnlyDictionary<string, string> OutputAliases { get; } = new Dictionary<string, string>();

    /// <summary>Converts <paramref name="inputs"/> to <typeparamref name="T"/> (float, double or Half), checks them, and
    /// returns a call that runs the loss on them into buffers it owns (no allocation per run).</summary>
    public abstract LossCall Prepare<T>(ILoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Valid inputs of <paramref name="size"/> for <paramref name="loss"/>: seeded random values of typical
    /// magnitude <paramref name="scale"/> for the differentiable inputs and valid targets (for checks and benchmarks).</summary>
    public abstract LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1);

    /// <summary>Prepares, runs once with gradients, and returns the outputs.</summary>
    public LossOutputs Evaluate<T>(ILoss loss, LossInputs inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        LossCall call = Prepare<T>(loss, inputs);
        call.Run();
        return call.Outputs();
    }

    /// <summary>The inputs in words, for error messages: <c>"logits" (N×K), "targets" (N) ...</c>.</summary>
    public string InputsText => string.Join(", ", Inputs.Select(i => $"\"{i.Name}\" ({i.Shape}{(i.Optional ? ", optional" : "")})"));

    /// <summary>Throws unless <paramref name="loss"/> is a <typeparamref name="TLoss"/>; returns it.</summary>
    protected TLoss Expect<TLoss>(ILoss loss) where TLoss : class, ILoss =>
        loss as TLoss ?? throw new ArgumentException($"{loss.Spec} is a {loss.Kind.Name} loss, not a {Name} loss.", nameof(loss));

    /// <summary>An input as a <typeparamref name="T"/> array.</summary>
    protected static T[] ValuesAs<T>(LossTensor tensor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new T[tensor.Length];
        for (int i = 0; i < result.Length; i++) result[i] = T.CreateTruncating(tensor.Values[i]);
        return result;
    }

    /// <summary>Seeded values uniform in [−scale, scale].</summary>
    protected static double[] RandomValues(Random random, int count, double scale)
    {
        var v = new double[count];
        for (int i = 0; i < count; i++) v[i] = scale * (2 * random.NextDouble() - 1);
        return v;
    }

    /// <summary>An output buffer as a double tensor.</summary>
    protected static LossTensor ToTensor<T>(T[] values, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < result.Length; i++) result[i] = double.CreateTruncating(values[i]);
        return new LossTensor(result, shape);
    }
}

/// <summary>
/// A loss bound to prepared inputs and output buffers of one precision: <see cref="Run"/> is exactly the library's typed
/// call (what a benchmark times), <see cref="Outputs"/> reads the results back as doubles.
/// </summary>
public abstract class LossCall
{
    /// <summary>Runs the loss: with <paramref name="gradients"/>, the unreduced losses and every gradient are written;
    /// without, only the forward pass runs. Returns the reduced loss.</summary>
    public abstract double Run(bool gradients = true);

    /// <summary>The results of the last <see cref="Run"/> with gradients.</summary>
    public abstract LossOutputs Outputs();

    /// <summary>Bytes a run must read and write at least (inputs once, outputs once), for bandwidth figures.</summary>
    public abstract long Bytes(bool gradients);
}
