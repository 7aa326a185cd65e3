using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using LossKit.Catalog;

namespace LossKit.Classification;

/// <summary>
/// Base of the catalog section C losses that are not functions of softmax(z) (margin, normalised-transform,
/// z-loss and sparse losses): one parallel row driver with the softmax family's <c>weight</c>,
/// <c>ignore_index</c> and <c>reduction</c> semantics, Half support through float scratch, and
/// per-block partial sums added in block order (bit-identical for any thread count). A loss supplies only
/// <see cref="EvaluateRow{TC}"/>: one row's unweighted loss and its gradient, in float (for float and Half)
/// or double.
/// </summary>
/// <remarks>
/// Rows: a row with target <see cref="IgnoreIndex"/> gives loss 0 and gradient 0 and leaves the mean. Class
/// weights multiply a row's loss and gradient by w_y; the mean divides by Σ w_y over kept rows (0 when there are
/// none) unless <see cref="MeanOverAllRows"/> says otherwise. A row holding NaN or +∞ gets NaN loss and gradient;
/// a row whose logits are all −∞ gets loss +∞ and a zero gradient; a single −∞ logit masks its class (each loss
/// documents what that means for it).
/// </remarks>
public abstract class RowLoss : IClassificationLoss
{
    private readonly double[]? _weight;

    /// <param name="weight">Optional per-class weights w (length K, each finite and ≥ 0).</param>
    /// <param name="ignoreIndex">Target value whose rows are skipped (PyTorch default −100).</param>
    /// <param name="reduction">none, sum or mean.</param>
    protected RowLoss(IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction)
    {
        if (weight is not null)
        {
            if (weight.Count == 0) throw new ArgumentException("weight is empty: give one weight per class, or none.", nameof(weight));
            _weight = CommonParameters.Weight.Check(weight);
        }
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "reduction must be None, Sum or Mean.");
        IgnoreIndex = ignoreIndex;
        Reduction = reduction;
    }

    /// <summary>Per-class weights, or null.</summary>
    public IReadOnlyList<double>? Weight => _weight;
    /// <summary>Rows with this target are ignored.</summary>
    public int IgnoreIndex { get; }
    /// <inheritdoc/>
    public Reduction Reduction { get; }
    /// <inheritdoc/>
    public abstract LossCard Card { get; }

    /// <summary>The number of classes this configuration requires (class weights fix it), or null.</summary>
    public int? FixedClassCount => _weight?.Length;

    /// <summary>The largest logit magnitude for which value and gradient are finite in double (float: see the card).</summary>
    public virtual double FiniteLogitScale => 1e30;

    /// <summary>True when the mean divides by the number of kept rows rather than by Σ w_y (PyTorch's MultiMarginLoss).</summary>
    protected virtual bool MeanOverAllRows => false;

    /// <summary>Scratch elements <see cref="EvaluateRow{TC}"/> needs per row (for a K-class row).</summary>
    protected virtual int WorkLength(int classes) => 0;

    /// <inheritdoc/>
    public string Spec
    {
        get
        {
            var parts = new List<string>(SpecParts());
            if (_weight is not null) parts.Add("weight=[" + string.Join(",", _weight.Select(LossParameter.Fmt)) + "]");
            if (IgnoreIndex != CommonParameters.DefaultIgnoreIndex) parts.Add("ignore_index=" + IgnoreIndex.ToString(CultureInfo.InvariantCulture));
            if (Reduction != Reduction.Mean) parts.Add("reduction=" + Reduction.ToString().ToLowerInvariant());
            return parts.Count == 0 ? Card.Name : $"{Card.Name}({string.Join(", ", parts)})";
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Spec;

    /// <summary>The loss's own non-default parameters as <c>key=value</c> strings.</summary>
    protected virtual IEnumerable<string> SpecParts() => [];

    /// <summary>
    /// One row: returns the unweighted loss and, when <paramref name="gradient"/> is not empty, writes
    /// <paramref name="gradientScale"/>·∂ℓ/∂z into all K entries of it.
    /// </summary>
    /// <param name="z">The row's logits (finite or −∞; at least one finite).</param>
    /// <param name="target">Class index y, or −1 for a soft-target row.</param>
    /// <param name="soft">The soft-target row q (empty for class-index targets).</param>
    /// <param name="gradient">Empty, or the row's gradient (length K), to be overwritten.</param>
    /// <param name="gradientScale">The factor (reduction scale × w_y) the gradient is multiplied by.</param>
    /// <param name="work">Scratch of <see cref="WorkLength"/> elements.</param>
    protected abstract double EvaluateRow<TC>(ReadOnlySpan<TC> z, int target, ReadOnlySpan<TC> soft, Span<TC> gradient, TC gradientScale, Span<TC> work)
        where TC : unmanaged, IFloatingPointIeee754<TC>;

    /// <inheritdoc/>
    public T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = InputChecks.Shape(logits.Length, classes, targets.Length, "targets", rowLosses.Length, gradient.Length);
        CheckWeightLength(classes);
        double denominator = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            int y = targets[n];
            if (y == IgnoreIndex) continue;
            if ((uint)y >= (uint)classes)
                throw new RowException("targets", n, $"targets[{n}] = {y} is not a class index: expected 0 ≤ target < {classes}, or ignore_index ({IgnoreIndex}).");
            denominator += _weight is null || MeanOverAllRows ? 1 : _weight[y];
        }
        return Run(logits, classes, rows, targets, default, denominator, rowLosses, gradient);
    }

    /// <summary>Soft-target form for subclasses that support it (each row of q non-negative, summing to 1 within
    /// 1e-3); the mean divides by N. With class weights a soft row's weight is its expected class weight Σ_k w_k q_k
    /// (w_y for a one-hot row).</summary>
    protected T ComputeSoftCore<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be at least 1.");
        if (softTargets.Length != logits.Length)
            throw new ArgumentException($"softTargets has {softTargets.Length} values but logits has {logits.Length}; soft targets need one probability per logit ([rows, {classes}]).", nameof(softTargets));
        int rows = InputChecks.Shape(logits.Length, classes, logits.Length / classes, "logits", rowLosses.Length, gradient.Length);
        CheckWeightLength(classes);
        return Run(logits, classes, rows, default, softTargets, rows, rowLosses, gradient);
    }

    private void CheckWeightLength(int classes)
    {
        if (_weight is not null && _weight.Length != classes)
            throw new ArgumentException($"weight has {_weight.Length} values but the logits have {classes} classes; give one weight per class.", "weight");
    }

    private unsafe T Run<T>(ReadOnlySpan<T> logits, int classes, int rows, ReadOnlySpan<int> targets, ReadOnlySpan<T> soft,
        double denominator, Span<T> rowLosses, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double) && typeof(T) != typeof(Half))
            throw new NotSupportedException($"{typeof(T).Name} is not supported: use float, double or Half.");
        double scale = Reduction == Reduction.Mean ? (denominator > 0 ? 1 / denominator : 0) : 1;
        int blocks = Parallelism.BlockCount(rows, classes);
        double[] partial = ArrayPool<double>.Shared.Rent(blocks);
        try
        {
            fixed (T* pz = logits)
            fixed (int* py = targets)
            fixed (T* pq = soft)
            fixed (T* pl = rowLosses)
            fixed (T* pg = gradient)
            {
                var job = new Job<T>
                {
                    Logits = pz, Targets = py, Soft = pq, Losses = pl, Gradient = pg,
                    IsSoft = targets.IsEmpty, HasLosses = !rowLosses.IsEmpty, HasGradient = !gradient.IsEmpty,
                    Classes = classes, Scale = scale,
                };
                Parallelism.ForBlocks(rows, classes, (b, start, end) =>
                    partial[b] = typeof(T) == typeof(double) ? Block<T, double>(job, start, end) : Block<T, float>(job, start, end));
            }
            double total = 0;
            for (int b = 0; b < blocks; b++) total += partial[b];
            return T.CreateTruncating(Reduction == Reduction.Mean ? total * scale : total);
        }
        finally { ArrayPool<double>.Shared.Return(partial); }
    }

    private unsafe struct Job<T> where T : unmanaged
    {
        public T* Logits, Soft, Losses, Gradient;
        public int* Targets;
        public bool IsSoft, HasLosses, HasGradient;
        public int Classes;
        public double Scale;
    }

    /// <summary>Rows [start, end) in compute type TC (float for float and Half, double for double); returns their loss sum.</summary>
    private unsafe double Block<T, TC>(Job<T> job, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T> where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        int K = job.Classes;
        bool converted = typeof(T) != typeof(TC);            // Half: compute in float scratch
        int workLength = WorkLength(K);
        TC[] scratch = ArrayPool<TC>.Shared.Rent((converted ? 3 * K : 0) + workLength + 1);
        Span<TC> zBuf = converted ? scratch.AsSpan(0, K) : default;
        Span<TC> gBuf = converted ? scratch.AsSpan(K, K) : default;
        Span<TC> qBuf = converted ? scratch.AsSpan(2 * K, K) : default;
        Span<TC> work = scratch.AsSpan(converted ? 3 * K : 0, workLength);
        double sum = 0;
        try
        {
            for (int r = start; r < end; r++)
            {
                long offset = (long)r * K;
                int y = job.IsSoft ? -1 : job.Targets[r];
                Span<T> gOut = job.HasGradient ? new Span<T>(job.Gradient + offset, K) : default;
                if (!job.IsSoft && y == IgnoreIndex)
                {
                    if (job.HasLosses) job.Losses[r] = T.Zero;
                    gOut.Clear();
                    continue;
                }

                var zIn = new ReadOnlySpan<T>(job.Logits + offset, K);
                ReadOnlySpan<TC> z;
                if (converted) { TensorPrimitives.ConvertToSingle(Cast<T, Half>(zIn), CastMut<TC, float>(zBuf)); z = zBuf; }
                else z = Cast<T, TC>(zIn);

                ReadOnlySpan<TC> q = default;
                if (job.IsSoft)
                {
                    var qIn = new ReadOnlySpan<T>(job.Soft + offset, K);
                    if (converted) { TensorPrimitives.ConvertToSingle(Cast<T, Half>(qIn), CastMut<TC, float>(qBuf)); q = qBuf; }
                    else q = Cast<T, TC>(qIn);
                    CheckSoftRow(q, r);
                }

                Span<TC> g = job.HasGradient ? (converted ? gBuf : CastMut<T, TC>(gOut)) : default;
                double w = 1;
                if (_weight is not null)
                {
                    if (y >= 0) w = _weight[y];
                    else { w = 0; for (int k = 0; k < K; k++) w += _weight[k] * double.CreateTruncating(q[k]); }
                }
                TC max = TensorPrimitives.Max(z);                 // NaN if any element is NaN
                double loss;
                if (TC.IsNaN(max) || TC.IsPositiveInfinity(max))
                {
                    loss = double.NaN;
                    g.Fill(TC.NaN);
                }
                else if (TC.IsNegativeInfinity(max))
                {
                    loss = double.PositiveInfinity;            // every class masked: nothing can be predicted
                    g.Clear();
                }
                else
                {
                    loss = EvaluateRow(z, y, q, g, TC.CreateTruncating(job.Scale * w), work);
                    if (w != 1) loss *= w;
                }
                if (job.HasLosses) job.Losses[r] = T.CreateTruncating(loss);
                if (converted && job.HasGradient) TensorPrimitives.ConvertToHalf(CastMut<TC, float>(g), CastMut<T, Half>(gOut));
                sum += loss;
            }
        }
        finally { ArrayPool<TC>.Shared.Return(scratch); }
        return sum;
    }

    private static void CheckSoftRow<TC>(ReadOnlySpan<TC> q, int row) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        double sum = 0;
        for (int k = 0; k < q.Length; k++)
        {
            if (!(q[k] >= TC.Zero) || TC.IsPositiveInfinity(q[k]))
                throw new RowException("softTargets", row, $"softTargets[row {row}, class {k}] = {q[k]} is not a probability: expected finite values ≥ 0.");
            sum += double.CreateTruncating(q[k]);
        }
        if (!(Math.Abs(sum - 1) <= 1e-3))
            throw new RowException("softTargets", row, $"softTargets row {row} sums to {sum}: expected a probability vector summing to 1 (within 1e-3).");
    }

    /// <summary>Card parameters shared by every loss of this base: weight, ignore_index, reduction.</summary>
    protected static IReadOnlyList<LossParameter> CommonRowParameters => CommonParameters.Softmax;

    private protected static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
        MemoryMarshal.Cast<TFrom, TTo>(s);
    private protected static Span<TTo> CastMut<TFrom, TTo>(Span<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
        MemoryMarshal.Cast<TFrom, TTo>(s);
}
