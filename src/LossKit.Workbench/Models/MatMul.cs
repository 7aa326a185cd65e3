using LossKit.Kernels;

namespace LossKit.Workbench.Models;

/// <summary>
/// Every matrix product of the workbench goes through here: row-major single-precision
/// C = alpha·op(A)·op(B) + beta·C, op(A) being m×k and op(B) k×n, computed by <see cref="Gemm"/> (packed,
/// cache-blocked, parallel with <see cref="Parallelism.MaxThreads"/> threads, bit-identical for any thread count).
/// </summary>
internal static class MatMul
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C (row-major). A is m×k (k×m when <paramref name="transposeA"/>),
    /// B is k×n (n×k when <paramref name="transposeB"/>), C is m×n; each span holds exactly its matrix. With beta = 0,
    /// C is overwritten (NaNs in C do not propagate).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, float alpha = 1, float beta = 0) =>
        Gemm.Multiply(a, b, c, m, n, k, transposeA, transposeB, alpha, beta);
}
