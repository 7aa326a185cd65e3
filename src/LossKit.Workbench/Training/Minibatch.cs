namespace LossKit.Workbench.Training;

/// <summary>Gathering a shuffled minibatch, as the classification and regression trainers do it.</summary>
internal static class Minibatch
{
    /// <summary>Copies the rows <paramref name="rows"/> of <paramref name="x"/> (row-major, <paramref name="d"/> values
    /// each) and their <paramref name="targets"/> to the front of <paramref name="batchX"/> and
    /// <paramref name="batchTargets"/>, in that order.</summary>
    public static void Gather<TTarget>(float[] x, int d, TTarget[] targets, ReadOnlySpan<int> rows, float[] batchX, TTarget[] batchTargets)
    {
        for (int r = 0; r < rows.Length; r++)
        {
            int source = rows[r];
            x.AsSpan(source * d, d).CopyTo(batchX.AsSpan(r * d, d));
            batchTargets[r] = targets[source];
        }
    }
}
