namespace LossKit.Ranking;

/// <summary>
/// Learning to rank on padded lists (<see cref="RankingLoss"/>): <c>scores</c> N×L (one row per query, one score per
/// item), <c>labels</c> N×L (graded relevance 0..30) and an optional <c>mask</c> N×L (1 = a real item, 0 = padding;
/// without it every item is real), optional per-list <c>weights</c> N (each list's loss is multiplied by its weight) and,
/// for the pairwise losses, <c>item_weights</c> N×L (each pair weighted by its preferred item's weight, Rax). Outputs <c>unreduced</c> (N, one loss per list) and <c>grad_scores</c> (N×L, 0 on padding).
/// </summary>
public sealed class RankingKind : LossKind<RankingKind, RankingLoss>
{
    private RankingKind() : base("ranking",
    [
        new("scores", "N×L", true, "the model's score of each item, one row per list"),
        new("labels", "N×L", false, "graded relevance of each item, 0..30"),
        new("mask", "N×L", false, "1 for a real item, 0 for padding (all real when left out)") { Optional = true },
        new("weights", "N", false, "a weight ≥ 0 per list, multiplying its loss (1 when left out)") { Optional = true, NonNegative = true },
        new("item_weights", "N×L", false, "pairwise losses: a weight ≥ 0 per item; pair (i, j) with y_i > y_j is weighted by w_i (Rax)") { Optional = true, NonNegative = true },
    ]) { }

    protected override LossCall Call<T>(RankingLoss ranking, LossInputs inputs)
    {
        var (scores, labels, lists, length) = MatrixAndLike(inputs, "scores", "one row of L item scores per list, N×L", "labels");
        LossTensor? mask = OptionalLike(inputs, "mask", scores, "scores"), weights = inputs.Optional("weights");
        if (weights is not null && (weights.Rank != 1 || weights.Length != lists))
            throw new ArgumentException($"weights has shape {weights.ShapeText}: expected one weight per list, [{lists}].", "weights");
        LossTensor? itemWeights = OptionalLike(inputs, "item_weights", scores, "scores");
        T[] s = ValuesAs<T>(scores), y = ValuesAs<T>(labels), m = ValuesAs<T>(mask), w = ValuesAs<T>(weights), v = ValuesAs<T>(itemWeights);
        return new LogitsCall<T>(lists, length, BytesOf(s, y, m, w, v),
            (unreduced, gradient) => ranking.Compute<T>(s, length, y, m, unreduced, gradient, w, v), "scores");
    }

    /// <summary>Lists of 2..L real items padded to L, labels 0..4.</summary>
    protected override LossInputs SampleFor(RankingLoss loss, SampleSize size, Random random, double scale)
    {
        int count = size.Rows * size.Width;
        var labels = new double[count];
        var mask = new double[count];
        for (int r = 0; r < size.Rows; r++)
        {
            int real = size.Width <= 2 ? size.Width : 2 + random.Next(size.Width - 1);   // lists of 2..L items, padded to L
            for (int j = 0; j < size.Width; j++)
            {
                labels[r * size.Width + j] = random.Next(5);
                mask[r * size.Width + j] = j < real ? 1 : 0;
            }
        }
        return new LossInputs
        {
            ["scores"] = RandomMatrix(random, size.Rows, size.Width, scale),
            ["labels"] = LossTensor.Matrix(labels, size.Rows, size.Width),
            ["mask"] = LossTensor.Matrix(mask, size.Rows, size.Width),
        };
    }
}
