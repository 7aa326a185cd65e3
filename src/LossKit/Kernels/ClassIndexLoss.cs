using System.Numerics.Tensors;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LossKit.Core;

namespace LossKit.Kernels;

/// <summary>
/// The frame every multi-class loss on logits with class-index (or soft) targets shares: PyTorch's
/// <c>weight</c>, <c>ignore_index</c> and <c>reduction</c> options and their semantics, the spec string, argument
/// checks with messages naming argument, row and value, and a deterministic parallel driver that hands fixed row
/// blocks to the family's per-block kernel and adds block sums in block order (bit-identical for any thread count).
/// Families (<c>SoftmaxLoss</c>, <see cref="RowLoss"/>) supply only the per-block row math.
/// </summary>
/// <remarks>Mean: Σ_n ℓ_n / D with D = Σ_n w_{y_n} over rows that are not ignored (N for soft targets, or the number of
/// kept rows when <see cref="MeanOverAllRows"/>); D = 0 gives 0 and a zero gradient (PyTorch: NaN).</remarks>
public abstract class ClassIndexLoss : IClassificationLoss
{
    private readonly double[]? _weight;
    private readonly float[]? _weightF;

    /// <param name="weight">Optional per-class weights w (length K, each finite and ≥ 0).</param>
    /// <param name="ignoreIndex">Target value whose rows are skipped (PyTorch default −100).</param>
    /// <param name="reduction">none, sum or mean.</param>
    private protected ClassIndexLoss(IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction)
    {
        _weight = CommonParameters.Weight.Resolve(weight);
        _weightF = _weight?.Select(w => (float)w).ToArray();
        IgnoreIndex = ignoreIndex;
        Reduction = CommonParameters.Resolve(reduction);
    }

    /// <summary>Per-class weights, or null.</summary>
    public IReadOnlyList<double>? Weight => _weight;
    /// <summary>Rows with this target are ignored.</summary>
    public int IgnoreIndex { get; }
    /// <inheritdoc/>
    public Reduction Reduction { get; }
    /// <inheritdoc/>
    public abstract LossCard Card { get; }
    /// <summary>The properties this configured loss has (the card's, less any an option breaks).</summary>
    public virtual LossProperties Properties => Card.Properties;
    /// <summary>The number of classes this configuration requires (class weights fix it), or null.</summary>
    public virtual int? FixedClassCount => _weight?.Length;
    /// <summary>The largest logit magnitude for which value and gradient are finite doubles (1e30 for most losses;
    /// one that grows exponentially in the logits says less).</summary>
    public virtual double FiniteLogitScale => 1e30;

    /// <summary>The class weights as compute-type values (empty without weights).</summary>
    private protected ReadOnlySpan<TC> WeightsAs<TC>() where TC : unmanaged =>
        typeof(TC) == typeof(float) ? MemoryMarshal.Cast<float, TC>(_weightF) : MemoryMarshal.Cast<double, TC>(_weight);

    /// <summary>Σ_k w_k (K without weights).</summary>
    private protected double WeightSum(int classes) => _weight is null ? classes : _weight.Sum();

    /// <summary>w_y (1 without weights or for y &lt; 0).</summary>
    private protected double WeightOf(int y) => _weight is null || y < 0 ? 1 : _weight[y];

    /// <inheritdoc/>
    public string Spec => LossSpec.Of(this);

    /// <summary>weight, ignore_index and reduction; a loss adds its own parameters' values to these.</summary>
    public virtual IEnumerable<ParameterValue> ParameterValues =>
        [CommonParameters.Weight.Of(_weight), CommonParameters.IgnoreIndex.Of(IgnoreIndex), CommonParameters.Reduction.Of(Reduction)];

    /// <inheritdoc/>
    public override string ToString() => Spec;

    /// <summary>True when the mean divides by the number of kept rows rather than by Σ w_y (PyTorch's MultiMarginLoss).</summary>
    protected virtual bool MeanOverAllRows => false;

    /// <summary>Checks that the configuration fits <paramref name="classes"/> (called before any row is computed).</summary>
    protected virtual void CheckClassCount(int classes) { }

    /// <inheritdoc/>
    public T Compute<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> targets, Span<T> rowLosses = default, Span<T> gradient = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = InputChecks.Shape(logits.Length, classes, targets.Length, "targets", rowLosses.Length, gradient.Length);
        CheckWeightLength(classes);
        CheckClassCount(classes);
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
    /// 1e-3, checked row by row in the kernel); the mean divides by N.</summary>
    protected T ComputeSoftCore<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<T> softTargets, Span<T> rowLosses, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be at least 1.");
        if (softTargets.Length != logits.Length)
            throw new ArgumentException($"softTargets has {softTargets.Length} values but logits has {logits.Length}; soft targets need one probability per logit ([rows, {classes}]).", nameof(softTargets));
        int rows = InputChecks.Shape(logits.Length, classes, logits.Length / classes, "logits", rowLosses.Length, gradient.Length);
        CheckWeightLength(classes);
        CheckClassCount(classes);
        return Run(logits, classes, rows, default, softTargets, rows, rowLosses, gradient);
    }

    private void CheckWeightLength(int classes)
    {
        if (_weight is not null && _weight.Length != classes)
            throw new ArgumentException($"weight has {_weight.Length} values but the logits have {classes} classes; give one weight per class.", "weight");
    }

    /// <summary>Called once per call before the blocks run (e.g. to cache derived parameters).</summary>
    private protected virtual void BeforeRun() { }

    private unsafe T Run<T>(ReadOnlySpan<T> logits, int classes, int rows, ReadOnlySpan<int> targets, ReadOnlySpan<T> soft,
        double denominator, Span<T> rowLosses, Span<T> gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double) && typeof(T) != typeof(Half))
            throw new NotSupportedException($"{typeof(T).Name} is not supported: use float, double or Half.");
        double scale = Reduction == Reduction.Mean ? (denominator > 0 ? 1 / denominator : 0) : 1;
        BeforeRun();
        double total;
        fixed (T* pz = logits, pq = soft, pl = rowLosses, pg = gradient)
        fixed (int* py = targets)
        {
            var job = new RowJob<T>
            {
                Logits = pz, Targets = py, Soft = pq, Losses = pl, Gradient = pg,
                IsSoft = !soft.IsEmpty || targets.IsEmpty, HasLosses = !rowLosses.IsEmpty, HasGradient = !gradient.IsEmpty,
                Classes = classes, Scale = scale, Rows = rows,
                // A gradient larger than the last-level cache can be streamed out with non-temporal stores, when its rows
                // are long: a short row's non-temporal stores cover partial cache lines at both ends (262 144 × 100
                // streamed took 3× as long as stored through the cache).
                StreamGradient = (long)gradient.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() >= StreamingThresholdBytes
                    && classes >= StreamingMinClasses,
            };
            total = typeof(T) == typeof(double)
                ? Parallelism.SumBlocks(rows, classes, new Blocks<T, double>(this, job))
                : Parallelism.SumBlocks(rows, classes, new Blocks<T, float>(this, job));
        }
        return T.CreateTruncating(Reduction == Reduction.Mean ? total * scale : total);
    }

    /// <summary>The rows driver's body: the family's <see cref="Block{T, TC}"/> (a struct, so a call allocates no closure).</summary>
    private readonly unsafe struct Blocks<T, TC>(ClassIndexLoss loss, RowJob<T> job) : Parallelism.IBlockBody
        where T : unmanaged, IFloatingPointIeee754<T> where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        public double Run(int block, int start, int end) => loss.Block<T, TC>(job, start, end);
    }

    /// <summary>Gradients at least this large may be written with non-temporal stores (they would not stay in cache).</summary>
    internal const long StreamingThresholdBytes = 64L << 20;

    /// <summary>Rows shorter than this are never streamed (see <see cref="StreamingThresholdBytes"/>).</summary>
    internal const int StreamingMinClasses = 1024;

    /// <summary>Computes rows [start, end) of <paramref name="job"/> in compute type TC (float for float and Half,
    /// double for double) and returns the sum of their losses.</summary>
    private protected abstract unsafe double Block<T, TC>(RowJob<T> job, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T> where TC : unmanaged, IFloatingPointIeee754<TC>;

    /// <summary>
    /// Row r of <paramref name="job"/> in compute type TC: its target y (−1 for soft targets), logits z and soft targets q
    /// (the caller's memory, or for Half a float copy in <paramref name="zBuffer"/>/<paramref name="qBuffer"/>; q checked to
    /// be a probability row), the gradient row g to compute into (the caller's, or for Half <paramref name="gBuffer"/>) and
    /// the caller's gradient row. Returns false for a row whose target is the ignore index: loss 0 and a zero gradient
    /// are written here and the caller skips it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected unsafe bool ReadRow<T, TC>(RowJob<T> job, int r, Span<TC> zBuffer, Span<TC> qBuffer, Span<TC> gBuffer,
        out int y, out ReadOnlySpan<TC> z, out ReadOnlySpan<TC> q, out Span<TC> g, out Span<T> gradientRow)
        where T : unmanaged, INumberBase<T> where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        int K = job.Classes;
        long offset = (long)r * K;
        gradientRow = job.HasGradient ? new Span<T>(job.Gradient + offset, K) : default;
        y = job.IsSoft ? -1 : job.Targets[r];
        z = default;
        q = default;
        g = default;
        if (!job.IsSoft && y == IgnoreIndex)
        {
            if (job.HasLosses) job.Losses[r] = T.Zero;
            gradientRow.Clear();
            return false;
        }
        z = RowOf(job.Logits, offset, K, zBuffer);
        if (job.IsSoft)
        {
            q = RowOf(job.Soft, offset, K, qBuffer);
            CheckSoftRow(q, r);
        }
        if (job.HasGradient) g = typeof(T) != typeof(TC) ? gBuffer : MemoryMarshal.Cast<T, TC>(gradientRow);
        return true;
    }

    /// <summary>Stores row r's loss and, for Half, converts its float gradient <paramref name="g"/> into the caller's row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected static unsafe void WriteRow<T, TC>(RowJob<T> job, int r, double loss, Span<TC> g, Span<T> gradientRow)
        where T : unmanaged, INumberBase<T> where TC : unmanaged
    {
        if (job.HasLosses) job.Losses[r] = T.CreateTruncating(loss);
        if (typeof(T) != typeof(TC) && job.HasGradient)
            TensorPrimitives.ConvertToHalf(MemoryMarshal.Cast<TC, float>(g), MemoryMarshal.Cast<T, Half>(gradientRow));
    }

    /// <summary>Row r of <paramref name="source"/> as compute-type values: the caller's memory, or (for Half) a
    /// float copy in <paramref name="buffer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected static unsafe ReadOnlySpan<TC> RowOf<T, TC>(T* source, long offset, int classes, Span<TC> buffer)
        where T : unmanaged where TC : unmanaged
    {
        var row = new ReadOnlySpan<T>(source + offset, classes);
        if (typeof(T) == typeof(TC)) return MemoryMarshal.Cast<T, TC>(row);
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<T, Half>(row), MemoryMarshal.Cast<TC, float>(buffer));
        return buffer;
    }

    /// <summary>Throws a <see cref="RowException"/> unless q is a probability vector (finite, ≥ 0, sum 1 ± 1e-3).</summary>
    private protected static void CheckSoftRow<TC>(ReadOnlySpan<TC> q, int row) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        var (sum, min) = Row.SumAndMin(q);
        if (!(min >= TC.Zero) || !TC.IsFinite(sum))
        {
            int col = 0;
            while (col < q.Length - 1 && q[col] >= TC.Zero && TC.IsFinite(q[col])) col++;
            throw new RowException("softTargets", row, $"softTargets[row {row}, class {col}] = {q[col]} is not a probability: expected finite values ≥ 0.");
        }
        if (!(Math.Abs(double.CreateTruncating(sum) - 1) <= 1e-3))
            throw new RowException("softTargets", row, $"softTargets row {row} sums to {sum}: expected a probability vector summing to 1 (within 1e-3).");
    }
}

/// <summary>One call's inputs and outputs as raw pointers, shared by the blocks of a parallel run.</summary>
internal unsafe struct RowJob<T> where T : unmanaged
{
    public T* Logits, Soft, Losses, Gradient;
    public int* Targets;
    public bool IsSoft, HasLosses, HasGradient, StreamGradient;
    public int Classes, Rows;
    public double Scale;
}
