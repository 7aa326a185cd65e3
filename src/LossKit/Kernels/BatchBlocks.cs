namespace LossKit.Kernels;

/// <summary>
/// Fixed blocks of elements for the batch-level losses' passes: the partition depends only on the batch length, each
/// block writes its own partial sums, and callers add them in block order, so results do not depend on threads.
/// </summary>
internal static class BatchBlocks
{
    public const int BlockLength = 16384;

    public static int Count(int n) => (n + BlockLength - 1) / BlockLength;

    /// <summary>Runs <paramref name="body"/>(block, start, end) for every block (<see cref="Parallelism.ForElements"/>).</summary>
    public static void For(int n, Action<int, int, int> body) => Parallelism.ForElements(n, BlockLength, body);

    /// <summary><see cref="For(int, Action{int, int, int})"/> for a struct body: no allocation.</summary>
    public static void For<TBody>(int n, TBody body) where TBody : struct, Parallelism.IBlockBody => Parallelism.ForElements(n, BlockLength, body);
}
