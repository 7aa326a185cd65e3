using LossKit.Core;

namespace LossKit.Checking;

/// <summary>
/// Masked (−∞) classes, for kinds that have them. A kind has masks where its inputs name a class axis, as
/// <c>spec/io.md</c> writes it: an N×K input (logits, teacher logits: a column per class) or a K or V input (a bias
/// per class), beside class-index <c>targets</c> (N) or multi-hot <c>positives</c> (N×K) saying which classes a row
/// must keep. The same classes are masked in every such input that is not a label input.
/// </summary>
internal static class Masks
{
    /// <summary>The inputs with up to <paramref name="perRow"/> non-target classes per row set to −∞ (and, for a
    /// class-axis vector, one class that is no row's target), or null when the kind has no masks.</summary>
    public static LossInputs? Apply(LossKind kind, LossInputs inputs, int perRow)
    {
        LossTensor? targets = inputs.Optional("targets") is { Rank: 1 } t ? t : null;
        LossTensor? positives = inputs.Optional("positives") is { Rank: 2 } p ? p : null;
        if (targets is null && positives is null) return null;
        var result = Subject.Copy(inputs);
        bool any = false;
        foreach (LossInput input in kind.Inputs)
        {
            if (!inputs.TryGetValue(input.Name, out LossTensor? tensor) || Subject.IsLabels(input, tensor)) continue;
            if (input.Shape == "N×K" && tensor.Rank == 2 && tensor.Shape[1] >= 3)
            {
                var masked = (double[])tensor.Values.Clone();
                int rows = tensor.Shape[0], classes = tensor.Shape[1];
                for (int r = 0; r < rows; r++)
                    foreach (int k in Maskable(r, classes, targets, positives).Take(perRow))
                        masked[r * classes + k] = double.NegativeInfinity;
                result[input.Name] = new LossTensor(masked, tensor.Shape);
                any = true;
            }
            else if (input.Shape is "K" or "V" && tensor.Rank == 1 && targets is not null)
            {
                var used = new HashSet<double>(targets.Values);
                int k = Enumerable.Range(0, tensor.Length).FirstOrDefault(c => !used.Contains(c), -1);
                if (k < 0) continue;
                var masked = (double[])tensor.Values.Clone();
                masked[k] = double.NegativeInfinity;
                result[input.Name] = new LossTensor(masked, tensor.Shape);
                any = true;
            }
        }
        return any ? result : null;
    }

    /// <summary>Classes of row <paramref name="row"/> that may be masked, in the order to mask them: those after the
    /// row's target, or the row's non-positives (none in a row without positives).</summary>
    private static IEnumerable<int> Maskable(int row, int classes, LossTensor? targets, LossTensor? positives)
    {
        if (targets is not null)
        {
            double y = row < targets.Length ? targets.Values[row] : -1;
            int start = y >= 0 && y < classes ? (int)y : 0;
            for (int j = 1; j < classes; j++) yield return (start + j) % classes;
            yield break;
        }
        var mask = positives!.Values.AsSpan(row * classes, classes).ToArray();
        if (!mask.Contains(1)) yield break;
        for (int j = 0; j < classes; j++)
        {
            int k = (row + j) % classes;
            if (mask[k] == 0) yield return k;
        }
    }
}
