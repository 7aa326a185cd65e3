using System.Buffers;
using System.Numerics;
using LossKit.Core;

namespace LossKit.Regression;

/// <summary>A loss on aggregate responses: N instance predictions, B bag responses, and the bag of each instance.</summary>
public interface IBagLoss : ILoss
{
    /// <summary>Bag losses are seen through <see cref="BagKind"/>.</summary>
    LossKind ILoss.Kind => BagKind.Instance;

    /// <summary>The reduction this loss was configured with.</summary>
    Reduction Reduction { get; }

    /// <summary>Computes one loss per bag, the reduced loss (mean over the B bags, or their sum) and ∂(reduced loss)/∂ŷ.</summary>
    /// <param name="input">ŷ, one prediction per instance (N).</param>
    /// <param name="target">ȳ_b, one finite response per bag (B).</param>
    /// <param name="bags">The bag of each instance, in [0, B) (N).</param>
    /// <param name="unreduced">Empty, or B: receives each bag's loss (0 for a bag without instances).</param>
    /// <param name="gradInput">Empty, or N: receives ∂(reduced loss)/∂ŷ.</param>
    T Compute<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<int> bags, Span<T> unreduced = default, Span<T> gradInput = default)
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// Loss on aggregate responses, spec <c>bag(rho=1)</c>: for each bag b with response ȳ_b and instance predictions ŷ_i
/// (i ∈ b, n_b of them, mean m_b), <c>ℓ_b = ρ·(ȳ_b − m_b)² + (1 − ρ)·(1/n_b)·Σ_{i∈b} (ȳ_b − ŷ_i)²</c>: ρ = 1 is the
/// bag-level loss, ρ = 0 the instance-level loss, in between the interpolating estimator of Javanmard et al. 2024
/// (the instance-level loss is the bag-level loss plus (1 − ρ) times the bag's variance of the predictions).
/// ∂ℓ_b/∂ŷ_i = (2/n_b)·(ρ(m_b − ȳ_b) + (1 − ρ)(ŷ_i − ȳ_b)). Computed in double, in index order, on one thread: the
/// same bits for any thread count.
/// </summary>
/// <param name="rho">ρ ∈ [0, 1].</param>
/// <param name="reduction">none, sum or mean (over bags).</param>
public sealed class BagLoss(double? rho = null, Reduction reduction = Reduction.Mean) : IBagLoss
{
    public static readonly LossParameter Rho = new("rho", ParameterKind.Number, "ρ: weight of the bag-level term (1: bag-level loss, 0: instance-level loss)")
    { Default = 1, Min = 0, Max = 1 };

    public static LossCard Definition { get; } = LossCard.ForFamily("bag regression (aggregate responses)", "bag", "Loss on aggregate (bag) responses",
        "ℓ_b = ρ(ȳ_b − m_b)² + (1 − ρ)·mean_{i∈b}(ȳ_b − ŷ_i)², m_b = mean_{i∈b} ŷ_i",
        "∂ℓ_b/∂ŷ_i = (2/n_b)(ρ(m_b − ȳ_b) + (1 − ρ)(ŷ_i − ȳ_b))",
        "Javanmard, Chen, Mirrokni, Badanidiyuru & Fu 2024, Learning from aggregate responses: instance level versus bag level loss functions (ICLR)",
        LossProperties.NonNegative | LossProperties.ConvexInLogits, [Rho, RegressionParameters.Reduction with
        {
            Description = "mean divides by the number of bags B; none returns one loss per bag",
        }], "Inputs: input (N predictions), target (B bag responses), bags (N bag ids in 0..B−1). A bag without instances has loss 0.");

    public static LossDefinition Registration { get; } = new(Definition, a => new BagLoss(a.Number(Rho), a.Reduction()));

    public double RhoValue { get; } = Rho.Resolve(rho);

    public Reduction Reduction { get; } = CommonParameters.Resolve(reduction);

    public LossCard Card => Definition;

    public string Spec => LossSpec.Of(this);

    public IEnumerable<ParameterValue> ParameterValues => [Rho.Of(RhoValue), Definition.Parameters[1].Of(Reduction)];

    /// <summary>Squares overflow float beyond about 1e19.</summary>
    public double FiniteInputScale => 1e18;

    public override string ToString() => Spec;

    public T Compute<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<int> bags, Span<T> unreduced = default, Span<T> gradInput = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = input.Length, b = target.Length;
        if (n == 0) throw new ArgumentException("input is empty: a batch needs at least one instance.", nameof(input));
        if (b == 0) throw new ArgumentException("target is empty: give one response per bag.", nameof(target));
        if (bags.Length != n) throw new ArgumentException($"bags has {bags.Length} values but input has {n}; give the bag of each instance.", nameof(bags));
        if (!unreduced.IsEmpty && unreduced.Length != b) throw new ArgumentException($"unreduced has {unreduced.Length} values; expected {b} (one per bag) or none.", nameof(unreduced));
        if (!gradInput.IsEmpty && gradInput.Length != n) throw new ArgumentException($"gradInput has {gradInput.Length} values; expected {n} (one per instance) or none.", nameof(gradInput));
        for (int j = 0; j < b; j++)
        {
            double y = double.CreateTruncating(target[j]);
            if (!double.IsFinite(y)) throw RegressionDomain.FiniteReal.OutOfRange("target", j, y, Card.Name);
        }
        int[] countBuffer = ArrayPool<int>.Shared.Rent(b);
        double[] sums = ArrayPool<double>.Shared.Rent(2 * b);
        try
        {
            Span<int> count = countBuffer.AsSpan(0, b);
            Span<double> mean = sums.AsSpan(0, b), spread = sums.AsSpan(b, b);
            count.Clear();
            mean.Clear();
            spread.Clear();
            return Evaluate(input, target, bags, unreduced, gradInput, count, mean, spread);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(countBuffer);
            ArrayPool<double>.Shared.Return(sums);
        }
    }

    /// <summary>The two passes over the instances (per-bag counts and means, then squared deviations) and the outputs,
    /// in pooled per-bag scratch.</summary>
    private T Evaluate<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> target, ReadOnlySpan<int> bags, Span<T> unreduced, Span<T> gradInput,
        Span<int> count, Span<double> mean, Span<double> spread) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = input.Length, b = target.Length;
        for (int i = 0; i < n; i++)
        {
            int bag = bags[i];
            if ((uint)bag >= (uint)b) throw new RowException("bags", i, $"bags[{i}] = {bag} is not a bag: expected an id in [0, {b}) (one per target).");
            count[bag]++;
            mean[bag] += double.CreateTruncating(input[i]);
        }
        for (int j = 0; j < b; j++) if (count[j] > 0) mean[j] /= count[j];
        for (int i = 0; i < n; i++)
        {
            double d = double.CreateTruncating(target[bags[i]]) - double.CreateTruncating(input[i]);
            spread[bags[i]] += d * d;
        }
        double rho = RhoValue, total = 0, scale = Reduction == Reduction.Mean ? 1.0 / b : 1;
        for (int j = 0; j < b; j++)
        {
            double loss = 0;
            if (count[j] > 0)
            {
                double d = double.CreateTruncating(target[j]) - mean[j];
                loss = rho * d * d + (1 - rho) * spread[j] / count[j];
            }
            if (!unreduced.IsEmpty) unreduced[j] = T.CreateTruncating(loss);
            total += loss;
        }
        if (!gradInput.IsEmpty)
            for (int i = 0; i < n; i++)
            {
                int j = bags[i];
                double y = double.CreateTruncating(target[j]);
                gradInput[i] = T.CreateTruncating(scale * 2.0 / count[j] * (rho * (mean[j] - y) + (1 - rho) * (double.CreateTruncating(input[i]) - y)));
            }
        return T.CreateTruncating(total * scale);
    }
}

/// <summary>
/// Bag regression (<see cref="IBagLoss"/>): <c>input</c> (N instance predictions), <c>target</c> (B bag responses) and
/// <c>bags</c> (N bag ids in 0..B−1); outputs <c>unreduced</c> (one per bag) and <c>grad_input</c> (N).
/// </summary>
public sealed class BagKind : LossKind
{
    /// <summary>The one instance.</summary>
    public static BagKind Instance { get; } = new();

    private BagKind() : base("bag regression",
    [
        new("input", "N", true, "one prediction per instance"),
        new("target", "B", false, "one response per bag"),
        new("bags", "N", false, "the bag of each instance, an id in 0..B−1"),
    ]) { }

    protected override LossCall PrepareCall<T>(ILoss loss, LossInputs inputs)
    {
        var bag = Expect<IBagLoss>(loss);
        LossTensor input = inputs.Required("input", this), target = inputs.Required("target", this), bags = inputs.Required("bags", this);
        if (input.Rank != 1) throw new ArgumentException($"input has shape {input.ShapeText}: expected one prediction per instance, [N].", "input");
        if (target.Rank != 1) throw new ArgumentException($"target has shape {target.ShapeText}: expected one response per bag, [B].", "target");
        if (bags.Rank != 1 || bags.Length != input.Length)
            throw new ArgumentException($"bags has shape {bags.ShapeText} but input has {input.ShapeText}; give the bag of each instance, [{input.Length}].", "bags");
        T[] x = ValuesAs<T>(input), y = ValuesAs<T>(target);
        int[] ids = bags.AsIntegers("bags");
        return new RegressionCall<T>([x.Length], [y.Length], BytesOf(x, y) + BytesOf(ids), [],
            (unreduced, gradient, _, _) => bag.Compute<T>(x, y, ids, unreduced, gradient));
    }

    /// <summary>B = Rows bags of Width instances each (N = Rows·Width), the instances of a bag spread over the batch.</summary>
    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<IBagLoss>(loss);
        int b = Math.Max(size.Rows, 1), per = Math.Max(size.Width, 1), n = b * per;
        var ids = new double[n];
        for (int i = 0; i < n; i++) ids[i] = i % b;
        for (int i = n - 1; i > 0; i--)
        {
            int k = random.Next(i + 1);
            (ids[i], ids[k]) = (ids[k], ids[i]);
        }
        var target = new double[b];
        for (int j = 0; j < b; j++) target[j] = 4 * random.NextDouble() - 2;
        return new LossInputs
        {
            ["input"] = LossTensor.Vector(RandomValues(random, n, scale)),
            ["target"] = LossTensor.Vector(target),
            ["bags"] = LossTensor.Vector(ids),
        };
    }
}
