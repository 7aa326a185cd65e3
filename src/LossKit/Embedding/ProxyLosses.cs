using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Embedding;

/// <summary>
/// The proxy and margin-softmax losses: each embedding against K class proxies (a K×d weight matrix, the kind's
/// <c>proxies</c> input), both normalised (x / max(‖x‖, 1e-12)), c_ik = cos(x_i, w_k) through the GEMM, then a softmax
/// cross-entropy over logits z_ik = f(c_ik) with the margin on the label's column. The base owns the checks (labels in
/// [0, K)), the GEMMs forward and back, the normalisations' backward passes and the reduction; a loss gives f and f'.
/// Returns the gradients of the embeddings and of the proxies.
/// </summary>
public abstract class ProxyLoss : ReducedLoss
{
    /// <summary>The reduction over rows.</summary>
    public static readonly LossParameter ReductionParameter = ReductionOf("mean divides by the number of rows N; none returns each row's loss");

    public static readonly LossParameter Scale = new("s", ParameterKind.Number, "s: the scale of the cosine logits") { Default = 64, Min = 0, MinExclusive = true };

    private protected ProxyLoss(double scale, Reduction reduction) : base(reduction) => ScaleValue = scale;

    /// <summary>s.</summary>
    public double ScaleValue { get; }

    /// <inheritdoc/>
    public override LossKind Kind => EmbeddingKind.Instance;

    /// <summary>The card of a proxy loss, with the reduction after its own parameters.</summary>
    private protected static LossCard ProxyCard(string name, string title, string formula, string gradient, string reference, string notes,
        params LossParameter[] parameters) =>
        ReducedCard("metric learning (embeddings, labels and class proxies)", ReductionParameter, name, title, formula, gradient, reference,
            LossProperties.NonNegative, notes, parameters);

    /// <summary>The loss of N embeddings against K proxies and its gradients.</summary>
    /// <param name="embeddings">N×d row-major.</param>
    /// <param name="dim">d ≥ 1.</param>
    /// <param name="labels">N class ids in [0, K).</param>
    /// <param name="proxies">K×d row-major: one proxy (class weight) per class.</param>
    /// <param name="unreduced">Empty, or N.</param>
    /// <param name="gradEmbeddings">Empty, or N×d.</param>
    /// <param name="gradProxies">Empty, or K×d.</param>
    /// <returns>The reduced loss (the sum for <see cref="Reduction.None"/>).</returns>
    public T Compute<T>(ReadOnlySpan<T> embeddings, int dim, ReadOnlySpan<int> labels, ReadOnlySpan<T> proxies,
        Span<T> unreduced = default, Span<T> gradEmbeddings = default, Span<T> gradProxies = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        int n = labels.Length;
        if (embeddings.Length != (long)n * dim)
            throw new ArgumentException($"embeddings has {embeddings.Length} values but there are {n} labels of d = {dim}: expected {(long)n * dim}.", "embeddings");
        if (proxies.IsEmpty || proxies.Length % dim != 0)
            throw new ArgumentException($"proxies has {proxies.Length} values: expected K×{dim} (one proxy of d = {dim} per class); {Card.Name} needs them.", "proxies");
        int k = proxies.Length / dim;
        for (int i = 0; i < n; i++)
            if ((uint)labels[i] >= (uint)k)
                throw new RowException("labels", i, string.Create(CultureInfo.InvariantCulture, $"labels[{i}] = {labels[i]}: expected a class in [0, {k}) (one proxy per class)."));
        if (!unreduced.IsEmpty && unreduced.Length != n) throw new ArgumentException($"unreduced has {unreduced.Length} values: expected {n} or none.", nameof(unreduced));
        if (!gradEmbeddings.IsEmpty && gradEmbeddings.Length != embeddings.Length) throw new ArgumentException($"gradEmbeddings has {gradEmbeddings.Length} values: expected {embeddings.Length} or none.", nameof(gradEmbeddings));
        if (!gradProxies.IsEmpty && gradProxies.Length != proxies.Length) throw new ArgumentException($"gradProxies has {gradProxies.Length} values: expected {proxies.Length} or none.", nameof(gradProxies));

        using Pooled<double> embeddingRows = ToDouble(embeddings), proxyRows = ToDouble(proxies);
        using var x = new UnitRows(embeddingRows.Values, n, dim);
        using var w = new UnitRows(proxyRows.Values, k, dim);
        using var losses = Pooled<double>.Of(n, clear: true);
        using var y = Pooled<int>.Of(n);
        labels.CopyTo(y.Values);
        using Pooled<double> gx = gradEmbeddings.IsEmpty ? default : Pooled<double>.Of(n * dim),
            gw = gradProxies.IsEmpty ? default : Pooled<double>.Of(k * dim);
        Pooled<double> valueScratch = default;
        try
        {
            double[] values = CallValues(n, ref valueScratch);
            double scale = Reduction == Reduction.Mean ? (n > 0 ? 1.0 / n : 0) : 1;
            var rows = new ProxyRows(x.Values, w.Values, n, k, dim, y.Values, values, losses.Values, scale, gx.Values, gw.Values);
            if (typeof(T) == typeof(float) && MarginSoftmax) SingleRows(rows);
            else DoubleRows(rows);
            double total = 0;
            for (int i = 0; i < n; i++)
            {
                total += losses.Values[i];
                if (!unreduced.IsEmpty) unreduced[i] = T.CreateTruncating(losses.Values[i]);
            }
            if (gx.Values is not null) Write(x, gx.Values, gradEmbeddings);
            if (gw.Values is not null) Write(w, gw.Values, gradProxies);
            return T.CreateTruncating(total * scale);
        }
        finally { valueScratch.Dispose(); }
    }

    /// <summary>One call's operands: the unit rows X̂ (N×d) and Ŵ (K×d), the labels, the call's values of the label
    /// column (<see cref="CallValues"/>), the rows' losses (N, zeros on entry), the factor of the reduction, and the
    /// outputs ∂/∂X̂ and ∂/∂Ŵ (null when not wanted). Pooled arrays of exact lengths.</summary>
    private readonly record struct ProxyRows(double[] X, double[] W, int N, int K, int Dim, int[] Labels, double[] Values, double[] Losses,
        double Scale, double[]? GradX, double[]? GradW);

    /// <summary>The double path (double and Half inputs, and the losses that are not a margin softmax): the cosines, the
    /// rows' losses and ∂/∂c in double, then ∂/∂(unit rows) of the embeddings and of the proxies (each when wanted) in
    /// double. The N×K matrices are pooled.</summary>
    private void DoubleRows(in ProxyRows r)
    {
        int n = r.N, k = r.K;
        using var cosines = Pooled<double>.Of(n * k);
        using var gradient = Pooled<double>.Of(n * k, clear: true);
        double[] c = cosines.Values, g = gradient.Values;
        Gemm.Multiply<double>(r.X, r.W, c, n, k, r.Dim, transposeB: true);
        Rows(c, n, k, r.Labels, r.Values, r.Losses, g);
        if (r.Scale != 1) TensorPrimitives.Multiply(g, r.Scale, g);
        if (r.GradX is not null) Gemm.Multiply<double>(g, r.W, r.GradX, n, r.Dim, k);
        if (r.GradW is not null) Gemm.Multiply<double>(g, r.X, r.GradW, k, r.Dim, n, transposeA: true);
    }

    /// <summary>The float path of the margin-softmax losses (float inputs): the unit rows narrowed to float, the cosines
    /// through the float GEMM, each row through the cross-entropy row kernel in float (<see cref="SingleRow"/>, which
    /// writes the reduction's factor times ∂ℓ/∂c over the row's cosines), and the two backward products in float; the
    /// results widened to double for the normalisations' backward passes. Pooled float matrices.</summary>
    private void SingleRows(in ProxyRows r)
    {
        int n = r.N, k = r.K, dim = r.Dim;
        using var xs = Pooled<float>.Of(n * dim);
        using var ws = Pooled<float>.Of(k * dim);
        TensorPrimitives.ConvertTruncating<double, float>(r.X, xs.Span);
        TensorPrimitives.ConvertTruncating<double, float>(r.W, ws.Span);
        using var cosines = Pooled<float>.Of(n * k);
        Gemm.Multiply<float>(xs.Span, ws.Span, cosines.Span, n, k, dim, transposeB: true);
        Parallelism.ForElements(n, RowsPerBlock, new SingleRowBlocks(this, cosines.Values, k, r.Labels, r.Values, r.Losses, r.Scale));
        if (r.GradX is not null)
        {
            using var product = Pooled<float>.Of(n * dim);
            Gemm.Multiply<float>(cosines.Span, ws.Span, product.Span, n, dim, k);
            TensorPrimitives.ConvertTruncating<float, double>(product.Span, r.GradX);
        }
        if (r.GradW is not null)
        {
            using var product = Pooled<float>.Of(k * dim);
            Gemm.Multiply<float>(cosines.Span, xs.Span, product.Span, k, dim, n, transposeA: true);
            TensorPrimitives.ConvertTruncating<float, double>(product.Span, r.GradW);
        }
    }

    /// <summary>A block of rows of the float path: <see cref="SingleRow"/> for each.</summary>
    private readonly struct SingleRowBlocks(ProxyLoss loss, float[] c, int k, int[] y, double[] values, double[] losses, double scale)
        : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            for (int i = first; i < end; i++)
                losses[i] = loss.SingleRow(c.AsSpan(i * k, k), y[i], loss.LabelColumn(i, c[(long)i * k + y[i]], values), scale);
            return 0;
        }
    }

    /// <summary>One row of the float path: the logits s·c with s·φ on the label column, overwritten by the cross-entropy
    /// row kernel (max, Σexp stored over the logits, the fused gradient pass) with <paramref name="scale"/>·∂ℓ/∂c — the
    /// label column's times φ' — and returns the row's loss.</summary>
    private double SingleRow(Span<float> row, int y, (double Phi, double Slope) label, double scale)
    {
        Row.ScaleInPlace(row, (float)ScaleValue, streaming: false);
        row[y] = (float)(ScaleValue * label.Phi);
        var setup = new RowSetup<float> { WeightSum = row.Length, Scale = ScaleValue * scale, ExpOverwritesLogits = true };
        var terms = new CrossEntropyTerms<float>(0, 0);
        CrossEntropyRow.Evaluate(row, y, default, 1, row, row, default, setup, ref terms, out double loss);
        row[y] = (float)(row[y] * label.Slope);
        return loss;
    }

    /// <summary>True for the losses whose rows are a softmax cross-entropy over s·f(c) (<see cref="MarginRow"/>): they
    /// have the float path for float inputs. Proxy-Anchor computes in double for every input type.</summary>
    private protected virtual bool MarginSoftmax => true;

    /// <summary>The values this call's label columns depend on (none by default; a scheduled loss's λ or margins, taken
    /// once per call), in a pooled array given to <paramref name="scratch"/> when one is rented.</summary>
    private protected virtual double[] CallValues(int rows, ref Pooled<double> scratch) => [];

    /// <summary>The label column's φ and φ' of row i from c_iy, given the call's <paramref name="values"/>: by default
    /// <see cref="Target"/> and <see cref="TargetSlope"/>.</summary>
    private protected virtual (double Phi, double Slope) LabelColumn(int row, double cy, double[] values) => (Target(cy), TargetSlope(cy));

    /// <summary>Each row's loss into <paramref name="losses"/> and ∂(Σ losses)/∂c into <paramref name="g"/> (N×K, zeros on
    /// entry), from the cosines <paramref name="c"/> (N×K): by default the softmax cross-entropy over s·f(c) with f on the
    /// label's column (<see cref="MarginRow"/> for every row, on fixed blocks of rows in parallel: each row writes only
    /// its loss and its row of <paramref name="g"/>, the same bits for any thread count).</summary>
    private protected virtual void Rows(double[] c, int n, int k, int[] labels, double[] values, double[] losses, double[] g) =>
        Parallelism.ForElements(n, RowsPerBlock, new MarginRowBlocks(this, c, k, labels, values, losses, g));

    /// <summary>Rows per block of the rows driver over the N×K cosines (fixed: the blocks never depend on the thread count).</summary>
    private protected const int RowsPerBlock = 8;

    /// <summary>A block of rows of the double path: <see cref="MarginRow"/> for each, with one pooled scratch row.</summary>
    private readonly struct MarginRowBlocks(ProxyLoss loss, double[] c, int k, int[] y, double[] values, double[] losses, double[] g)
        : Parallelism.IBlockBody
    {
        public double Run(int block, int first, int end)
        {
            using var z = Pooled<double>.Of(k);
            for (int i = first; i < end; i++)
            {
                var (phi, slope) = loss.LabelColumn(i, c[(long)i * k + y[i]], values);
                losses[i] = loss.MarginRow(c.AsSpan(i * k, k), y[i], phi, slope, z.Span, g.AsSpan(i * k, k));
            }
            return 0;
        }
    }

    /// <summary>One row's softmax cross-entropy over the logits s·c_ij, the label column's replaced by s·φ: returns the
    /// row's loss and writes ∂loss/∂c_i into <paramref name="gi"/> (the label column's through <paramref name="slope"/>
    /// = dφ/dc). The one row kernel of every margin-softmax loss.</summary>
    private protected double MarginRow(ReadOnlySpan<double> ci, int y, double phi, double slope, Span<double> z, Span<double> gi)
    {
        int k = ci.Length;
        for (int j = 0; j < k; j++) z[j] = ScaleValue * (j == y ? phi : ci[j]);
        double lse = AnchorLoss.LogSumExpOf(z, double.NegativeInfinity, gi);
        for (int j = 0; j < k; j++) gi[j] = ScaleValue * (gi[j] - (j == y ? 1 : 0)) * (j == y ? slope : 1);
        return lse - z[y];
    }

    /// <summary>f(c): the label column's logit before the scale s (c itself for no margin).</summary>
    private protected abstract double Target(double c);

    /// <summary>f'(c).</summary>
    private protected abstract double TargetSlope(double c);

    /// <summary>The values in double, in a pooled array.</summary>
    private static Pooled<double> ToDouble<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Pooled<double> result = Pooled<double>.Of(values.Length);
        for (int i = 0; i < values.Length; i++) result.Values[i] = double.CreateTruncating(values[i]);
        return result;
    }

    /// <summary>∂/∂(rows) from ∂/∂(unit rows) <paramref name="gradUnit"/> (taken back in place), into <paramref name="output"/>.</summary>
    private static void Write<T>(UnitRows rows, double[] gradUnit, Span<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        rows.Backward(gradUnit, gradUnit);
        for (int i = 0; i < gradUnit.Length; i++) output[i] = T.CreateTruncating(gradUnit[i]);
    }
}

/// <summary>
/// NormFace, spec <c>normface(s=16)</c>: softmax cross-entropy over s·cos(x, w_k). Reference: Wang et al. 2017, NormFace:
/// L2 hypersphere embedding for face verification; pytorch-metric-learning <c>NormalizedSoftmaxLoss</c> (temperature
/// 1/s, default 0.05).
/// </summary>
public sealed class NormFaceLoss : ProxyLoss
{
    private static readonly LossParameter s_scale = Scale with { Default = 16 };

    public static LossCard Definition { get; } = ProxyCard("normface", "NormFace: normalised softmax",
        "ℓ = −log softmax_y(s·cos θ_k), cos θ_k = x̂·ŵ_k", "∂ℓ/∂cos θ_k = s·(p_k − [k = y])",
        "Wang et al. 2017 (ACM MM); pytorch-metric-learning NormalizedSoftmaxLoss", "", s_scale);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new NormFaceLoss(a.Number(s_scale), a.Reduction()));

    public NormFaceLoss(double? s = null, Reduction reduction = Reduction.Mean) : base(s_scale.Resolve(s), reduction) { }

    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [s_scale.Of(ScaleValue), ReductionParameter.Of(Reduction)];
    private protected override double Target(double c) => c;
    private protected override double TargetSlope(double c) => 1;
}

/// <summary>
/// CosFace (large margin cosine loss), spec <c>cosface(s=64, m=0.35)</c>: the label's logit is s·(cos θ_y − m).
/// Reference: Wang et al. 2018, CosFace: large margin cosine loss for deep face recognition; pytorch-metric-learning
/// <c>CosFaceLoss</c>.
/// </summary>
public sealed class CosFaceLoss : ProxyLoss
{
    public static readonly LossParameter Margin = new("m", ParameterKind.Number, "m: the additive cosine margin") { Default = 0.35, Min = 0 };

    public static LossCard Definition { get; } = ProxyCard("cosface", "CosFace: additive cosine margin",
        "ℓ = −log(e^{s(cos θ_y − m)} / (e^{s(cos θ_y − m)} + Σ_{k≠y} e^{s·cos θ_k}))", "∂ℓ/∂cos θ_k = s·(p_k − [k = y])",
        "Wang et al. 2018 (CVPR); pytorch-metric-learning CosFaceLoss", "", Scale, Margin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new CosFaceLoss(a.Number(Scale), a.Number(Margin), a.Reduction()));

    public CosFaceLoss(double? s = null, double? m = null, Reduction reduction = Reduction.Mean) : base(Scale.Resolve(s), reduction) =>
        MarginValue = Margin.Resolve(m);

    public double MarginValue { get; }
    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [Scale.Of(ScaleValue), Margin.Of(MarginValue), ReductionParameter.Of(Reduction)];
    private protected override double Target(double c) => c - MarginValue;
    private protected override double TargetSlope(double c) => 1;
}

/// <summary>
/// ArcFace (additive angular margin), spec <c>arcface(s=64, m=0.5, easy_margin=false)</c>: the label's logit is
/// s·cos(θ_y + m), computed as φ(c) = c·cos m − sin θ·sin m with sin θ = √(1 − c²) (c clamped to [−1, 1]). Where θ + m
/// would pass π (c ≤ cos(π − m)) φ continues linearly, φ = c − m·sin m (InsightFace's default); with
/// <c>easy_margin=true</c> the margin applies only where c &gt; 0 (φ = c elsewhere).
/// <para><b>At cos θ = ±1.</b> dφ/dc = cos m + sin m·c/sin θ is infinite at sin θ = 0, where implementations that
/// differentiate arccos (or √(1 − c²)) return NaN. But c enters the gradients only through ∂c/∂x = (ŵ − c·x̂)/‖x‖ and
/// ∂c/∂w = (x̂ − c·ŵ)/‖w‖, whose length is sin θ/‖·‖: the product dφ/dc·∂c/∂x is bounded by (cos m + sin m)/‖x‖ for every
/// sin θ &gt; 0, and at sin θ = 0 exactly the direction is 0 (x̂ = ±ŵ), so any finite slope gives the same gradient —
/// the minimum-norm subgradient of the cone φ ≈ cos m − θ·sin m. LossKit uses the finite slope cos m there (and clamps
/// c to [−1, 1] against rounding), so loss and gradients are finite for every input.</para>
/// Reference: Deng et al. 2019, ArcFace: additive angular margin loss for deep face recognition; InsightFace;
/// pytorch-metric-learning <c>ArcFaceLoss</c>.
/// </summary>
public sealed class ArcFaceLoss : ProxyLoss
{
    public static readonly LossParameter Margin = new("m", ParameterKind.Number, "m: the additive angular margin (radians)") { Default = 0.5, Min = 0, Max = Math.PI / 2 };
    public static readonly LossParameter EasyMargin = new("easy_margin", ParameterKind.Choice, "apply the margin only where cos θ > 0") { Choices = ["false", "true"] };

    public static LossCard Definition { get; } = ProxyCard("arcface", "ArcFace: additive angular margin",
        "ℓ = −log(e^{s·φ(cos θ_y)} / (e^{s·φ(cos θ_y)} + Σ_{k≠y} e^{s·cos θ_k})), φ(c) = cos(θ + m) = c·cos m − √(1 − c²)·sin m; c ≤ cos(π − m): φ = c − m·sin m",
        "∂ℓ/∂cos θ_y = s·(p_y − 1)·φ'(c), φ' = cos m + sin m·c/sin θ (its sin m term 0 at sin θ = 0: the cone's minimum-norm subgradient)",
        "Deng et al. 2019 (CVPR); InsightFace; pytorch-metric-learning ArcFaceLoss",
        "Finite at cos θ = ±1 exactly (see the doc comment: the cone at θ = 0 takes its minimum-norm subgradient). easy_margin=true: φ(c) = c for c ≤ 0.",
        Scale, Margin, EasyMargin);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition,
        a => new ArcFaceLoss(a.Number(Scale), a.Number(Margin), a.Flag(EasyMargin), a.Reduction()));

    private readonly double _cos, _sin, _threshold, _linear;

    public ArcFaceLoss(double? s = null, double? m = null, bool easyMargin = false, Reduction reduction = Reduction.Mean) : base(Scale.Resolve(s), reduction)
    {
        (MarginValue, EasyMarginValue) = (Margin.Resolve(m), easyMargin);
        (_cos, _sin) = (Math.Cos(MarginValue), Math.Sin(MarginValue));
        (_threshold, _linear) = (Math.Cos(Math.PI - MarginValue), Math.Sin(Math.PI - MarginValue) * MarginValue);
    }

    public double MarginValue { get; }
    public bool EasyMarginValue { get; }
    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues =>
        [Scale.Of(ScaleValue), Margin.Of(MarginValue), EasyMargin.Of(EasyMarginValue), ReductionParameter.Of(Reduction)];

    private bool Angular(double c) => EasyMarginValue ? c > 0 : c > _threshold;

    private protected override double Target(double c)
    {
        c = Math.Clamp(c, -1, 1);
        if (!Angular(c)) return EasyMarginValue ? c : c - _linear;
        return AdditiveAngularMargin.Phi(c, _cos, _sin);
    }

    private protected override double TargetSlope(double c)
    {
        c = Math.Clamp(c, -1, 1);
        return Angular(c) ? AdditiveAngularMargin.Slope(c, _cos, _sin) : 1;
    }
}

/// <summary>
/// cos(θ + m) as a function of c = cos θ ∈ [−1, 1], and its slope, for ArcFace and ElasticFace-Arc:
/// φ(c) = c·cos m − √(1 − c²)·sin m, φ'(c) = cos m + sin m·c/sin θ. At sin θ = 0 the slope is infinite, but c reaches
/// the embedding and the proxy only through ∂c/∂x̂ = ŵ − c·x̂ (and ∂c/∂ŵ = x̂ − c·ŵ), which is the zero vector there: any
/// finite slope gives the same gradient, and the slope cos m (the minimum-norm subgradient of the cone
/// φ ≈ cos m − θ·sin m) is returned, so loss and gradients stay finite at cos θ = ±1 exactly.
/// </summary>
internal static class AdditiveAngularMargin
{
    /// <summary>φ(c) = cos(arccos c + m), given cos m and sin m; c in [−1, 1].</summary>
    public static double Phi(double c, double cos, double sin) => c * cos - Math.Sqrt(Math.Max(1 - c * c, 0)) * sin;

    /// <summary>φ'(c), the finite slope cos m where sin θ = 0.</summary>
    public static double Slope(double c, double cos, double sin)
    {
        double sine = Math.Sqrt(Math.Max(1 - c * c, 0));
        return sine > 0 ? cos + sin * c / sine : cos;
    }
}

/// <summary>
/// ProxyNCA, spec <c>proxy_nca(scale=1)</c>: NCA against one proxy per class, ℓ = −log softmax_y(−scale·‖x̂ − ŵ_k‖²);
/// for unit rows ‖x̂ − ŵ_k‖² = 2 − 2·cos θ_k, so this is the cross-entropy of 2·scale·cos θ_k (the row's constant drops out
/// of the softmax; a zero-norm proxy is taken at the same constant). The positive proxy is in the denominator, as
/// pytorch-metric-learning (the paper leaves it out). Reference: Movshovitz-Attias et al. 2017, No fuss distance metric
/// learning using proxies; pytorch-metric-learning <c>ProxyNCALoss</c> (softmax_scale = 1).
/// </summary>
public sealed class ProxyNcaLoss : ProxyLoss
{
    public static readonly LossParameter SoftmaxScale = new("scale", ParameterKind.Number, "the softmax scale on −‖x̂ − ŵ‖²") { Default = 1, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = ProxyCard("proxy_nca", "ProxyNCA",
        "ℓ = −log softmax_y(−scale·‖x̂ − ŵ_k‖²) = −log softmax_y(2·scale·cos θ_k) for unit rows", "∂ℓ/∂cos θ_k = 2·scale·(p_k − [k = y])",
        "Movshovitz-Attias et al. 2017 (ICCV); pytorch-metric-learning ProxyNCALoss", "The positive proxy stays in the denominator, as pytorch-metric-learning.", SoftmaxScale);

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ProxyNcaLoss(a.Number(SoftmaxScale), a.Reduction()));

    public ProxyNcaLoss(double? scale = null, Reduction reduction = Reduction.Mean) : base(2 * SoftmaxScale.Resolve(scale), reduction) { }

    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [SoftmaxScale.Of(ScaleValue / 2), ReductionParameter.Of(Reduction)];
    private protected override double Target(double c) => c;
    private protected override double TargetSlope(double c) => 1;
}

/// <summary>
/// Proxy-Anchor, spec <c>proxy_anchor(margin=0.1, alpha=32)</c>: each proxy is an anchor for the whole batch,
/// <c>ℓ = (1/|P⁺|)·Σ_{k ∈ P⁺} log(1 + Σ_{i: yᵢ = k} e^{−α(cos θ_ik − δ)}) + (1/K)·Σ_k log(1 + Σ_{i: yᵢ ≠ k} e^{α(cos θ_ik + δ)})</c>,
/// P⁺ the proxies with a positive in the batch. A batch-level loss: <c>unreduced</c> gives each row its share of every
/// proxy's term (in proportion to its exponential), so the rows' values add up to the loss. Reference: Kim et al. 2020,
/// Proxy anchor loss for deep metric learning; pytorch-metric-learning <c>ProxyAnchorLoss</c>.
/// </summary>
public sealed class ProxyAnchorLoss : ProxyLoss
{
    public static readonly LossParameter Delta = new("margin", ParameterKind.Number, "δ: the margin") { Default = 0.1, Min = 0 };
    public static readonly LossParameter Alpha = new("alpha", ParameterKind.Number, "α: the scale") { Default = 32, Min = 0, MinExclusive = true };

    public static LossCard Definition { get; } = LossCard.ForFamily("metric learning (embeddings, labels and class proxies)", "proxy_anchor", "Proxy-Anchor loss",
        "ℓ = (1/|P⁺|)·Σ_{k∈P⁺} log(1 + Σ_{yᵢ=k} e^{−α(c_ik − δ)}) + (1/K)·Σ_k log(1 + Σ_{yᵢ≠k} e^{α(c_ik + δ)})",
        "∂ℓ/∂c_ik = −α·w⁺_ik/|P⁺| (yᵢ = k), α·w⁻_ik/K (yᵢ ≠ k); w the softmax weights of each log(1 + Σ e)",
        "Kim et al. 2020 (CVPR); pytorch-metric-learning ProxyAnchorLoss", LossProperties.NonNegative, [Delta, Alpha],
        "Batch-level: no reduction option; unreduced holds each row's share of the proxies' terms.");

    /// <summary>How the registry builds this loss from a spec string.</summary>
    public static LossDefinition Registration { get; } = new(Definition, a => new ProxyAnchorLoss(a.Number(Delta), a.Number(Alpha)));

    public ProxyAnchorLoss(double? margin = null, double? alpha = null) : base(Alpha.Resolve(alpha), Reduction.Sum) => DeltaValue = Delta.Resolve(margin);

    public double DeltaValue { get; }
    public override LossCard Card => Definition;
    public override IEnumerable<ParameterValue> ParameterValues => [Delta.Of(DeltaValue), Alpha.Of(ScaleValue)];
    private protected override bool MarginSoftmax => false;
    private protected override double Target(double c) => c;
    private protected override double TargetSlope(double c) => 1;

    private protected override void Rows(double[] c, int n, int k, int[] labels, double[] values, double[] losses, double[] g)
    {
        using var classesWithPositive = Pooled<bool>.Of(k, clear: true);
        bool[] withPositive = classesWithPositive.Values;
        foreach (int y in labels) withPositive[y] = true;
        int positives = withPositive.AsSpan().Count(true);
        using Pooled<double> exponents = Pooled<double>.Of(n), softmaxWeights = Pooled<double>.Of(n);
        using var members = Pooled<int>.Of(n);
        double[] t = exponents.Values, weights = softmaxWeights.Values;
        int[] rows = members.Values;
        for (int j = 0; j < k; j++)
            for (int side = 0; side < 2; side++)
            {
                bool positive = side == 0;
                if (positive && !withPositive[j]) continue;
                int count = 0;
                for (int i = 0; i < n; i++)
                    if ((labels[i] == j) == positive)
                    {
                        double cij = c[i * k + j];
                        t[count] = positive ? -ScaleValue * (cij - DeltaValue) : ScaleValue * (cij + DeltaValue);
                        rows[count++] = i;
                    }
                double divisor = positive ? positives : k;
                double term = AnchorLoss.LogSumExpOf(t.AsSpan(0, count), 0, weights) / divisor, sumWeights = 0;
                for (int r = 0; r < count; r++) sumWeights += weights[r];
                for (int r = 0; r < count; r++)
                {
                    int i = rows[r];
                    if (sumWeights > 0) losses[i] += term * weights[r] / sumWeights;
                    g[i * k + j] += (positive ? -ScaleValue : ScaleValue) * weights[r] / divisor;
                }
            }
    }
}
