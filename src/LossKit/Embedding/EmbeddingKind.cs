namespace LossKit.Embedding;

/// <summary>
/// Embeddings with class labels (<see cref="EmbeddingLoss"/>, <see cref="ProxyLoss"/>): <c>embeddings</c> N×d and
/// <c>labels</c> N (class ids; rows with equal labels are positives of each other), and for the proxy and margin-softmax
/// losses <c>proxies</c> K×d (one per class; labels in [0, K)). Outputs <c>unreduced</c> (N: each anchor's share of the
/// reduced loss, so that they add up to it; a proxy loss's per-row losses), <c>grad_embeddings</c> (N×d) and, for the
/// proxy losses, <c>grad_proxies</c> (K×d). Its losses share no type below <see cref="ILoss"/>, so the kind takes any loss
/// and tells them apart itself.
/// </summary>
public sealed class EmbeddingKind : LossKind<EmbeddingKind, ILoss>
{
    private EmbeddingKind() : base("embeddings",
    [
        new("embeddings", "N×d", true, "one embedding per sample"),
        new("labels", "N", false, $"the class id of each sample, a whole number in [0, {EmbeddingLoss.MaxLabel}] (proxy losses: [0, K))"),
        new("proxies", "K×d", true, "one proxy (class weight) per class, for the proxy and margin-softmax losses") { Optional = true },
        new("pairs", "P×2", false, "ntxent only, in place of labels: explicit positive pairs of row indices; every other pair of rows is a negative") { Optional = true },
    ]) { }

    /// <summary>Which call depends on the loss: <see cref="NtXentLoss"/> with <c>pairs</c>, a <see cref="ProxyLoss"/>
    /// (with its proxies), or any other <see cref="EmbeddingLoss"/>.</summary>
    protected override LossCall Call<T>(ILoss loss, LossInputs inputs)
    {
        LossTensor x = inputs.Required("embeddings", this);
        var (rows, dim) = Matrix(x, "embeddings", "one row of d values per sample, N×d");
        T[] e = ValuesAs<T>(x);
        if (inputs.Optional("pairs") is { } pairs)
        {
            if (loss is not NtXentLoss ntxent)
                throw new ArgumentException($"{loss.Card.Name} takes no pairs: only ntxent takes explicit positive pairs; give labels.", "pairs");
            if (inputs.Optional("labels") is not null)
                throw new ArgumentException("labels and pairs are both given: give one (with pairs, every pair of rows not given is a negative).", "pairs");
            var (_, columns) = Matrix(pairs, "pairs", "one positive pair of row indices per row, P×2");
            if (columns != 2) throw new ArgumentException($"pairs has shape {pairs.ShapeText}: expected P×2, one pair of row indices per row.", "pairs");
            int[] p = pairs.AsIntegers("pairs");
            return new LogitsCall<T>(rows, dim, BytesOf(e) + sizeof(int) * (long)p.Length,
                (unreduced, gradient) => ntxent.ComputePairs<T>(e, dim, p, unreduced, gradient), "embeddings");
        }
        int[] y = ClassIndices(inputs.Required("labels", this), rows, "labels");
        LossTensor? proxies = inputs.Optional("proxies");
        if (loss is ProxyLoss proxy)
        {
            LossTensor w = proxies ?? throw new ArgumentException($"proxies is required by {loss.Card.Name}: give one proxy of d = {dim} per class, K×{dim}.", "proxies");
            var (classes, proxyDim) = Matrix(w, "proxies", "one row of d values per class, K×d");
            if (proxyDim != dim) throw new ArgumentException($"proxies has shape {w.ShapeText} but the embeddings have d = {dim}; give K×{dim}.", "proxies");
            T[] p = ValuesAs<T>(w);
            return new GradientsCall<T>([("embeddings", [rows, dim]), ("proxies", [classes, dim])], [rows], BytesOf(e, p) + sizeof(int) * (long)rows,
                (unreduced, g) => proxy.Compute<T>(e, dim, y, p, unreduced, g[0].Span, g[1].Span));
        }
        var embedding = Expect<EmbeddingLoss>(loss);
        if (proxies is not null) throw new ArgumentException($"{loss.Card.Name} takes no proxies.", "proxies");
        return new LogitsCall<T>(rows, dim, BytesOf(e) + sizeof(int) * (long)rows,
            (unreduced, gradient) => embedding.Compute<T>(e, dim, y, unreduced, gradient), "embeddings");
    }

    /// <summary>N = rows samples of d = width values uniform in [−scale, scale], labels from max(2, N/4) classes with
    /// rows 0 and 1 of one class and row 2 (when N ≥ 3) of another, so that a positive and a negative pair exist.</summary>
    protected override LossInputs SampleFor(ILoss loss, SampleSize size, Random random, double scale)
    {
        int classes = Math.Max(2, size.Rows / 4);
        double[] labels = RandomIndices(random, size.Rows, classes);
        if (size.Rows >= 2) labels[1] = labels[0];
        if (size.Rows >= 3) labels[2] = (labels[0] + 1) % classes;
        var inputs = new LossInputs
        {
            ["embeddings"] = RandomMatrix(random, size.Rows, Math.Max(size.Width, 1), scale),
            ["labels"] = LossTensor.Vector(labels),
        };
        if (loss is ProxyLoss) inputs["proxies"] = RandomMatrix(random, classes, Math.Max(size.Width, 1), scale);
        else Expect<EmbeddingLoss>(loss);
        return inputs;
    }
}
