using LossKit.Core;

namespace LossKit.Embedding;

/// <summary>
/// Embeddings with class labels (<see cref="EmbeddingLoss"/>): <c>embeddings</c> N×d and <c>labels</c> N (class ids;
/// rows with equal labels are positives of each other). Outputs <c>unreduced</c> (N: each anchor's share of the
/// reduced loss, so that they add up to it) and <c>grad_embeddings</c> (N×d).
/// </summary>
public sealed class EmbeddingKind : LossKind
{
    /// <summary>The one instance, shared by every embedding loss.</summary>
    public static EmbeddingKind Instance { get; } = new();

    private EmbeddingKind() : base("embeddings",
    [
        new("embeddings", "N×d", true, "one embedding per sample"),
        new("labels", "N", false, $"the class id of each sample, a whole number in [0, {EmbeddingLoss.MaxLabel}]"),
    ]) { }

    protected override LossCall PrepareCall<T>(ILoss loss, LossInputs inputs)
    {
        var embedding = Expect<EmbeddingLoss>(loss);
        LossTensor x = inputs.Required("embeddings", this), labels = inputs.Required("labels", this);
        var (rows, dim) = Matrix(x, "embeddings", "one row of d values per sample, N×d");
        int[] y = ClassIndices(labels, rows, "labels");
        T[] e = ValuesAs<T>(x);
        return new LogitsCall<T>([rows, dim], [rows], BytesOf(e) + sizeof(int) * (long)rows,
            (unreduced, gradient) => embedding.Compute<T>(e, dim, y, unreduced, gradient), "embeddings");
    }

    /// <summary>N = rows samples of d = width values uniform in [−scale, scale], labels from max(2, N/4) classes with
    /// rows 0 and 1 of one class and row 2 (when N ≥ 3) of another, so that a positive and a negative pair exist.</summary>
    public override LossInputs Sample(ILoss loss, SampleSize size, Random random, double scale = 1)
    {
        Expect<EmbeddingLoss>(loss);
        int classes = Math.Max(2, size.Rows / 4);
        var labels = new double[size.Rows];
        for (int i = 0; i < labels.Length; i++) labels[i] = random.Next(classes);
        if (size.Rows >= 2) labels[1] = labels[0];
        if (size.Rows >= 3) labels[2] = (labels[0] + 1) % classes;
        return new LossInputs
        {
            ["embeddings"] = RandomMatrix(random, size.Rows, Math.Max(size.Width, 1), scale),
            ["labels"] = LossTensor.Vector(labels),
        };
    }
}
