using System.Buffers;
using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Binary;

/// <summary>
/// EnsLoss, spec <c>ensloss(lambda=0, period=1, seed=0, reduction=mean)</c> (Wang &amp; Dai 2024, EnsLoss: stochastic
/// calibrated loss ensembles for preventing overfitting in classification): a derivative-level method that draws a
/// new convex, classification-calibrated loss every <c>period</c> calls by drawing its derivatives directly.
/// </summary>
/// <remarks>
/// <para><b>Algorithm</b> (the catalog's, which is what the authors' <c>ensLoss.forward</c> in github.com/statmlben/ensLoss
/// does): margins m_i = y_i·s_i with y = 2t − 1, plus one extra margin 0 (B + 1 in all); draw B + 1 values
/// z ~ N(0, 1), g = −BoxCoxInverse_λ(z) (λ = 0: −exp(z); otherwise −max(1 + λz, 0)^{1/λ}); sort g ascending and clamp
/// at −1; give the sorted g to the margins sorted ascending (the most negative derivative to the smallest margin;
/// equal margins keep index order); where m &gt; 1 divide g by m; subtract 1e-6. The extra margin's value is dropped.
/// The gradient with respect to s_i is g_i·y_i (then the reduction: 1/B for the mean), and the per-element
/// loss is g_i·m_i, so the reported value is mean(g·m) (sum or per-element likewise). The g are constants of the call
/// (the reference code detaches them): the gradient is not the derivative of the reported value through the ranks.</para>
/// <para><b>State and seeding</b>: the loss counts its <see cref="Compute{T}"/> calls (<see cref="Calls"/>). Call c uses draw
/// k = c / period (integer division): the normals are the first B + 1 values of a stream seeded by (seed, k)
/// (SplitMix64 and Box–Muller), so calls within one period with the same batch size use the very same derivative
/// sequence, a new period draws a new one, and the same seed replays the same sequence of draws.
/// <see cref="Reset(long)"/> rewinds the counter; <see cref="PeekDerivatives"/> gives the next call's g without
/// advancing, and <see cref="ComputeWithDerivatives{T}"/> evaluates with given g. Not for concurrent calls.</para>
/// </remarks>
public sealed class EnsLoss : BinaryLoss, IOwnStateLoss
{
    public static readonly LossParameter Lambda = new("lambda", ParameterKind.Number, "Box–Cox λ of the derivative distribution (0: g = −exp(z))") { Default = 0 };
    public static readonly LossParameter Period = new("period", ParameterKind.Integer, "calls per draw: a new derivative sequence every `period` calls") { Default = 1, Min = 1 };
    public static readonly LossParameter Seed = new("seed", ParameterKind.Integer, "seed of the draws") { Default = 0 };

    public static LossCard Definition { get; } = new()
    {
        Name = "ensloss",
        Family = "batch-level binary (stochastic, derivative-level)",
        Title = "EnsLoss (stochastic calibrated loss ensembles)",
        Formula = "ℓ_i = g_i·m_i, m = y·s; g = sorted(max(−BoxCoxInv_λ(z), −1)), z ~ N(0,1), assigned by margin rank with an extra margin 0; g ← g/m where m > 1; g ← g − 1e−6",
        Gradient = "∂ℓ/∂s_i = g_i·y_i (g held fixed), then the reduction",
        Reference = "Wang & Dai 2024, EnsLoss: stochastic calibrated loss ensembles for preventing overfitting in classification; github.com/statmlben/ensLoss",
        Parameters = [Lambda, Period, Seed, BinaryParameters.Reduction],
        Properties = LossProperties.None,
        Notes = "Stateful: a new draw every `period` calls (draw k = calls / period, seeded by (seed, k)). The gradient is drawn, not derived from the value.",
    };

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new EnsLoss(a.Number(Lambda), a.Integer(Period),
        a.Integer(Seed), a.Reduction()));

    private long _calls;

    /// <param name="lambda">Box–Cox λ (any finite value; 0: g = −exp(z)); null: the card's default.</param>
    /// <param name="period">Calls per draw, ≥ 1; null: the card's default.</param>
    /// <param name="seed">Seed of the draws; null: the card's default.</param>
    /// <param name="reduction">none, sum or mean (mean divides by the batch size B).</param>
    public EnsLoss(double? lambda = null, int? period = null, int? seed = null, Reduction reduction = Reduction.Mean) : base(reduction)
    {
        LambdaValue = Lambda.Resolve(lambda);
        PeriodValue = Period.Resolve(period);
        SeedValue = Seed.Resolve(seed);
    }

    public double LambdaValue { get; }
    public int PeriodValue { get; }
    public int SeedValue { get; }

    /// <summary>The number of <see cref="Compute{T}"/> calls so far (the next call uses draw Calls / period).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Sets the call counter (0: start over; the same counter replays the same draws).</summary>
    public void Reset(long calls = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(calls);
        Interlocked.Exchange(ref _calls, calls);
    }

    /// <inheritdoc/>
    public override LossCard Card => Definition;
    /// <inheritdoc/>
    public override bool IsBatchLevel => true;

    /// <inheritdoc/>
    public override IEnumerable<ParameterValue> ParameterValues =>
        [Lambda.Of(LambdaValue), Period.Of(PeriodValue), Seed.Of(SeedValue), .. base.ParameterValues];

    /// <summary>Draws this call's derivatives, advances the call counter, and returns the reduced g·m with gradient g·y.</summary>
    public override T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
    {
        BinaryInput.CheckShape(logits.Length, targets.Length, elementLosses.Length, gradient.Length);
        int n = logits.Length;
        double[] g = ArrayPool<double>.Shared.Rent(n);
        try
        {
            Derivatives(logits, targets, Calls / PeriodValue, g.AsSpan(0, n));
            T value = Evaluate(logits, targets, g.AsSpan(0, n), elementLosses, gradient);
            Interlocked.Increment(ref _calls);
            return value;
        }
        finally { ArrayPool<double>.Shared.Return(g); }
    }

    /// <summary>The derivatives g the next <see cref="Compute{T}"/> on this batch would use; the counter does not move.</summary>
    public double[] PeekDerivatives<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets) where T : unmanaged, IFloatingPointIeee754<T>
    {
        BinaryInput.CheckShape(logits.Length, targets.Length, 0, 0);
        var g = new double[logits.Length];
        Derivatives(logits, targets, Calls / PeriodValue, g);
        return g;
    }

    /// <summary>Evaluates with given per-element derivatives g (held fixed): value = reduction of g_i·m_i, gradient g_i·y_i
    /// reduced. Does not draw or advance.</summary>
    public T ComputeWithDerivatives<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, ReadOnlySpan<double> derivatives,
        Span<T> elementLosses = default, Span<T> gradient = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        BinaryInput.CheckShape(logits.Length, targets.Length, elementLosses.Length, gradient.Length);
        if (derivatives.Length != logits.Length)
            throw new ArgumentException($"derivatives has {derivatives.Length} values but logits has {logits.Length}; give one per logit.", nameof(derivatives));
        for (int i = 0; i < targets.Length; i++) BinaryInput.Target(targets, i);
        return Evaluate(logits, targets, derivatives, elementLosses, gradient);
    }

    private T Evaluate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, ReadOnlySpan<double> g, Span<T> elementLosses, Span<T> gradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Length;
        double scale = Reduction == Reduction.Mean ? 1.0 / n : 1.0;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double y = 2 * double.CreateTruncating(targets[i]) - 1;
            double m = y * double.CreateTruncating(logits[i]);
            double l = g[i] * m;
            sum += l;
            if (!elementLosses.IsEmpty) elementLosses[i] = T.CreateTruncating(l);
            if (!gradient.IsEmpty) gradient[i] = T.CreateTruncating(g[i] * y * scale);
        }
        return T.CreateTruncating(sum * scale);
    }

    /// <summary>The catalog's draw for one batch: g per element (the extra margin's value is dropped).</summary>
    private void Derivatives<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, long draw, Span<double> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Length, count = n + 1;
        double[] margins = ArrayPool<double>.Shared.Rent(count);
        double[] drawn = ArrayPool<double>.Shared.Rent(count);
        int[] order = ArrayPool<int>.Shared.Rent(count);
        try
        {
            for (int i = 0; i < n; i++)
            {
                double y = 2 * BinaryInput.Target(targets, i) - 1;
                margins[i] = y * double.CreateTruncating(logits[i]);
            }
            margins[n] = 0;                                                    // the extra margin

            var rng = new NormalStream(SeedValue, draw);
            for (int j = 0; j < count; j++) drawn[j] = Math.Max(-BoxCoxInverse(rng.Next(), LambdaValue), -1);
            Array.Sort(drawn, 0, count);

            for (int j = 0; j < count; j++) order[j] = j;
            // Ascending margins (a NaN margin sorts first, as double.CompareTo orders it), ties in index order: a deterministic rank.
            MarginOrder byMargin = MarginOrder.For(margins);
            try { order.AsSpan(0, count).Sort(byMargin.Comparison); }
            finally { byMargin.Release(); }
            for (int r = 0; r < count; r++)
            {
                int i = order[r];
                if (i == n) continue;                                          // drop the extra margin's value
                double gi = drawn[r];
                if (margins[i] > 1) gi /= margins[i];
                g[i] = gi - 1e-6;
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(margins);
            ArrayPool<double>.Shared.Return(drawn);
            ArrayPool<int>.Shared.Return(order);
        }
    }

    /// <summary>Orders indices by ascending margin, ties by index (the same comparison a lambda over the margins would make).
    /// One instance per thread, with its comparison delegate, is kept and pointed at the call's margins, so a sort allocates
    /// nothing (a sort through an <see cref="IComparer{T}"/> would make a new delegate of it on every call).</summary>
    private sealed class MarginOrder
    {
        [ThreadStatic] private static MarginOrder? t_instance;
        private double[] _margins = [];

        private MarginOrder() => Comparison = Compare;

        /// <summary><see cref="Compare"/> as a delegate, made once per instance.</summary>
        public Comparison<int> Comparison { get; }

        /// <summary>This thread's comparer over <paramref name="margins"/>; <see cref="Release"/> when the sort is done.</summary>
        public static MarginOrder For(double[] margins)
        {
            MarginOrder order = t_instance ??= new MarginOrder();
            order._margins = margins;
            return order;
        }

        /// <summary>Drops the margins (a rented array goes back to its pool after the sort).</summary>
        public void Release() => _margins = [];

        private int Compare(int a, int b)
        {
            int c = _margins[a].CompareTo(_margins[b]);
            return c != 0 ? c : a.CompareTo(b);
        }
    }

    /// <summary>For the conformance suite: a copy with the same parameters and call counter (it draws what this loss
    /// would draw next).</summary>
    ILoss IOwnStateLoss.CheckCopy()
    {
        var copy = new EnsLoss(LambdaValue, PeriodValue, SeedValue, Reduction);
        copy.Reset(Calls);
        return copy;
    }

    /// <summary>This loss with the derivatives it would draw next on the inputs' <c>logits</c> and <c>targets</c> held
    /// fixed: its value, the reduction of g_i·m_i, has exactly the gradient <see cref="Compute{T}"/> returns.</summary>
    ILoss IOwnStateLoss.HeldFixed(LossInputs inputs)
    {
        LossKind kind = ((ILoss)this).Kind;
        return new FixedDraw(this, PeekDerivatives<double>(inputs.Required("logits", kind).Values, inputs.Required("targets", kind).Values));
    }

    /// <summary>EnsLoss with its derivatives g held fixed (<see cref="ComputeWithDerivatives{T}"/>).</summary>
    private sealed class FixedDraw(EnsLoss owner, double[] derivatives) : BinaryLoss(owner.Reduction)
    {
        public override LossCard Card => owner.Card;
        public override bool IsBatchLevel => true;
        public override IEnumerable<ParameterValue> ParameterValues => owner.ParameterValues;
        public override T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default) =>
            owner.ComputeWithDerivatives(logits, targets, derivatives, elementLosses, gradient);
    }

    /// <summary>Inverse Box–Cox transform: λ = 0: eᶻ; otherwise max(1 + λz, 0)^{1/λ} (which is +∞ for λ &lt; 0 at 0).</summary>
    public static double BoxCoxInverse(double z, double lambda) =>
        lambda == 0 ? Math.Exp(z) : Math.Pow(Math.Max(1 + lambda * z, 0), 1 / lambda);
}
