using System.Buffers;
using System.Numerics.Tensors;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Softmax;

/// <summary>
/// Base of every loss that is a function of softmax(z) and the target: one fused, vectorised, parallel
/// row kernel (max pass, Σexp pass, gradient pass over a row that stays in cache) with PyTorch's
/// <c>weight</c>, <c>ignore_index</c> and <c>reduction</c> semantics. A loss supplies only
/// <see cref="EvaluateRow(in RowStats)"/>, a few scalar operations per row.
/// </summary>
/// <remarks>
/// Numerics: logits may be anything finite (±1e30 included) or −∞ (a masked class). A row whose target logit
/// is −∞ has loss +∞ and a finite gradient; a row whose logits are all −∞ has loss +∞ and a zero gradient.
/// NaN or +∞ in a row makes that row's loss and gradient NaN (so the reduced loss is NaN); the per-row losses
/// say which rows. Call <see cref="InputChecks.RequireFinite{T}"/> first to get an exception instead.
/// </remarks>
public abstract class SoftmaxLoss : ClassIndexLoss
{
    /// <param name="weight">Optional per-class weights w (length K, each finite and ≥ 0).</param>
    /// <param name="ignoreIndex">Target value whose rows are skipped (PyTorch default −100).</param>
    /// <param name="reduction">none, sum or mean.</param>
    protected SoftmaxLoss(IReadOnlyList<double>? weight, int ignoreIndex, Reduction reduction) : base(weight, ignoreIndex, reduction) { }

    /// <summary>True when <see cref="RowStats.WeightedLogitSum"/> is needed (one extra vector pass).</summary>
    protected virtual bool NeedsWeightedLogitSum => false;

    /// <summary>Softcap c (0 = off): z ← c·tanh(z/c) before everything else.</summary>
    protected virtual double Softcap => 0;

    /// <summary>Temperature T (1 = off): z ← z/T after the softcap.</summary>
    protected virtual double Temperature => 1;

    /// <summary>The row's loss and gradient coefficients from its statistics.</summary>
    protected abstract RowTerms EvaluateRow(in RowStats s);

    /// <summary>Per-class logit offsets o (length K, finite), or null: z ← z + o after softcap, margin and temperature
    /// (logit adjustment). The offsets do not change the chain rule (∂z'/∂z is unaffected).</summary>
    protected virtual IReadOnlyList<double>? LogitOffsets => null;

    /// <summary>Target-logit margin c (0 = off): z_y ← z_y − c after the softcap and before the temperature, so the
    /// working row is <c>(softcap(z) − c·e_y)/T + o</c>. Class-index targets only (soft-target rows ignore it).</summary>
    protected virtual double TargetMargin => 0;

    /// <summary>True when the loss adds <see cref="RowExtra"/> to each row.</summary>
    protected virtual bool HasRowExtra => false;

    /// <summary>True when <see cref="RowExtra"/> adds into the gradient (by default, when there is an extra): the gradient
    /// is then formed in a cached row and streamed out after it. False for an extra that only adds to the loss (its
    /// gradient given by <see cref="RowTerms.Linear"/> in the fused pass).</summary>
    protected virtual bool RowExtraWritesGradient => HasRowExtra;

    /// <summary>An extra per-row term evaluated after <see cref="EvaluateRow"/> on rows whose max logit is finite:
    /// <paramref name="z"/> is the working (transformed) row, <paramref name="gradient"/> is empty or holds the row's
    /// fused gradient already multiplied by <paramref name="scale"/> (the reduction's factor); the hook adds
    /// <c>scale·∂extra/∂z</c> into it and returns the extra loss (unscaled). The chain rule through the transform is
    /// applied afterwards.</summary>
    protected virtual double RowExtra<TC>(ReadOnlySpan<TC> z, in RowStats s, Span<TC> gradient, double scale)
        where TC : unmanaged, IFloatingPointIeee754<TC> => 0;

    private double[]? _offsets;
    private float[]? _offsetsF;

    private void EnsureOffsets()
    {
        if (_offsets is not null || LogitOffsets is not { } o) return;
        _offsetsF = o.Select(v => (float)v).ToArray();
        _offsets = o.ToArray();
    }

    private protected override void BeforeRun() => EnsureOffsets();

    /// <summary>Computes rows [start, end) in compute type TC (float for float and Half, double for double)
    /// and returns the sum of their losses.</summary>
    private protected override unsafe double Block<T, TC>(RowJob<T> job, int start, int end)
    {
        int K = job.Classes;
        bool converted = typeof(T) != typeof(TC);            // Half: compute in float scratch
        bool transform = Softcap > 0 || Temperature != 1 || _offsets is not null || TargetMargin != 0;
        var hooks = new Hooks<TC>(this);
        // A streamed gradient gets exp(z − max) in a scratch row first (it stays in cache), so that the gradient row is
        // only ever written with non-temporal stores and never read into the cache first.
        bool expInScratch = job.HasGradient && job.StreamGradient && !converted && !transform;
        // A loss with a row extra adds into its gradient after the fused pass: the whole gradient is then formed in the
        // scratch row (in cache) and streamed out once, rather than written to memory and read back.
        bool gradientInScratch = expInScratch && RowExtraWritesGradient;
        TC[]? scratch = converted || transform || expInScratch ? ArrayPool<TC>.Shared.Rent(3 * K) : null;
        Span<TC> zBuf = scratch is null ? default : scratch.AsSpan(0, K);
        Span<TC> gBuf = scratch is null ? default : scratch.AsSpan(K, K);
        Span<TC> qBuf = scratch is null ? default : scratch.AsSpan(2 * K, K);
        var setup = new RowSetup<TC>
        {
            Weights = WeightsAs<TC>(), WeightSum = WeightSum(K), Scale = job.Scale, Stream = job.StreamGradient && !converted && !transform,
        };
        double sum = 0;
        try
        {
            for (int r = start; r < end; r++)
            {
                if (!ReadRow(job, r, zBuf, qBuf, gBuf, out int y, out ReadOnlySpan<TC> z, out ReadOnlySpan<TC> q, out Span<TC> g, out Span<T> gOut))
                    continue;
                // The working row z: the caller's logits, or a converted/transformed copy in scratch.
                if (transform) { Transform(z, zBuf, y); z = zBuf; }
                // With a gradient wanted, exp(z − max) is stored in its row now and rescaled later: one exp per logit.
                Span<TC> e = expInScratch ? gBuf : g;
                // Prefetch the next row during the compute-bound Σexp pass (only when z is the caller's own row).
                ReadOnlySpan<TC> next = !converted && !transform && r + 1 < job.Rows ? Cast<T, TC>(new ReadOnlySpan<T>(job.Logits + (long)(r + 1) * K, K)) : default;
                if (CrossEntropyRow.Evaluate(z, y, q, WeightOf(y), e, gradientInScratch ? gBuf : g, next, setup, ref hooks, out double loss)
                    && job.HasGradient && transform)
                    ChainTransform(g, zBuf, y);
                if (gradientInScratch) Row.Scale<TC>(gBuf, TC.One, TC.Zero, g, streaming: true);   // 1·g is g, bit for bit
                WriteRow(job, r, loss, g, gOut);
                sum += loss;
            }
        }
        finally { if (scratch is not null) ArrayPool<TC>.Shared.Return(scratch); }
        return sum;
    }

    /// <summary>This loss's row terms and extra term for <see cref="CrossEntropyRow"/> (the virtual hooks, read once per block).</summary>
    private readonly struct Hooks<TC>(SoftmaxLoss loss) : IRowTerms<TC> where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        public bool NeedsWeightedLogitSum { get; } = loss.NeedsWeightedLogitSum;
        public bool HasExtra { get; } = loss.HasRowExtra;
        public bool ExtraWritesGradient { get; } = loss.RowExtraWritesGradient;
        public RowTerms Evaluate(in RowStats s) => loss.EvaluateRow(s);
        public double Extra(ReadOnlySpan<TC> z, in RowStats s, Span<TC> gradient, double scale) => loss.RowExtra(z, s, gradient, scale);
    }

    /// <summary>z' = (c·tanh(z/c) − margin·e_y)/T + o (softcap, target margin, temperature, offsets) into
    /// <paramref name="destination"/> (may alias z).</summary>
    private void Transform<TC>(ReadOnlySpan<TC> z, Span<TC> destination, int y) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        double temperature = Temperature;
        SoftcapTemperature.Apply(z, destination, Softcap, temperature);
        double margin = TargetMargin;
        if (margin != 0 && y >= 0) destination[y] -= TC.CreateTruncating(margin / temperature);
        if (_offsets is not null) TensorPrimitives.Add(destination, Offsets<TC>(), destination);
    }

    private ReadOnlySpan<TC> Offsets<TC>() where TC : unmanaged, IFloatingPointIeee754<TC> =>
        typeof(TC) == typeof(float) ? Cast<float, TC>(_offsetsF) : Cast<double, TC>(_offsets);

    /// <summary>Chain rule through <see cref="Transform"/>: g ← g·dz'/dz with dz'/dz = (1 − tanh²(z/c))/T;
    /// <paramref name="transformed"/> holds z' and is overwritten.</summary>
    private void ChainTransform<TC>(Span<TC> g, Span<TC> transformed, int y) where TC : unmanaged, IFloatingPointIeee754<TC>
    {
        if (Softcap > 0)
        {
            // Undo the offsets and the margin first: they do not enter dz'/dz.
            if (_offsets is not null) TensorPrimitives.Subtract(transformed, Offsets<TC>(), transformed);
            if (TargetMargin != 0 && y >= 0) transformed[y] += TC.CreateTruncating(TargetMargin / Temperature);
        }
        SoftcapTemperature.Chain(g, transformed, Softcap, Temperature);
    }

    private static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);
}
