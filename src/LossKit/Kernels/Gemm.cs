using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace LossKit.Kernels;

/// <summary>
/// General matrix multiply on row-major spans: <c>C = α·op(A)·op(B) + β·C</c> with op(X) = X or Xᵀ, where
/// op(A) is m×k, op(B) is k×n and C is m×n. Packed and cache-blocked (Goto/BLIS style) around a
/// register-blocked micro-kernel: 8 rows × 2 vectors of C in registers (8×32 floats with AVX-512, 8×16
/// doubles), 6 × 2 vectors with AVX2 or 128-bit vectors; tiny products (m·n·k ≤ 1024) use a plain loop.
/// Parallel over blocks of C with <see cref="Parallelism.MaxThreads"/> threads.
/// <para>Deterministic: k is never split across threads and its blocking depends only on k, so results are
/// bit-identical for any thread count. Packed panels come from small pools; a single-threaded call does not
/// allocate once the pools are warm.</para>
/// <para>BLAS conventions: when β = 0, C is only written (NaN or ∞ already in C does not propagate); when
/// α = 0 or k = 0, A and B are not read and C = β·C. C must not overlap A or B.</para>
/// </summary>
public static class Gemm
{
    /// <summary>Below this m·n·k a plain loop beats packing.</summary>
    private const long TinyVolume = 1024;

    /// <summary>
    /// <c>C = α·op(A)·op(B) + β·C</c> for dense row-major matrices in float or double: A holds m×k values (k×m when
    /// <paramref name="transposeA"/>), B holds k×n values (n×k when <paramref name="transposeB"/>) and C holds
    /// m×n values.
    /// </summary>
    /// <exception cref="ArgumentException">A span does not hold exactly the values its shape needs, or C
    /// overlaps A or B.</exception>
    /// <exception cref="ArgumentOutOfRangeException">m, n or k is negative.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, T? alpha = null, T? beta = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckDense(a.Length, b.Length, c.Length, m, n, k);
        Run(a, transposeA ? m : k, transposeA, b, transposeB ? k : n, transposeB, c, n, m, n, k, alpha ?? T.One, beta ?? T.Zero);
    }

    /// <summary>
    /// <c>C = α·op(A)·op(B) + β·C</c> with leading dimensions (row strides), in float or double: row i of the stored
    /// A starts at a[i·lda] (the stored A is m×k, or k×m when <paramref name="transposeA"/>), likewise B with
    /// <paramref name="ldb"/> (k×n, or n×k when <paramref name="transposeB"/>) and C (m×n) with
    /// <paramref name="ldc"/>. Values between rows are neither read nor written.
    /// </summary>
    /// <exception cref="ArgumentException">A span is too short for its shape and stride, or C overlaps A or B.</exception>
    /// <exception cref="ArgumentOutOfRangeException">m, n or k is negative, or a leading dimension is smaller
    /// than its row length.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void Multiply<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc,
        int m, int n, int k, bool transposeA = false, bool transposeB = false, T? alpha = null, T? beta = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckStrided(a.Length, lda, b.Length, ldb, c.Length, ldc, m, n, k, transposeA, transposeB);
        Run(a, lda, transposeA, b, ldb, transposeB, c, ldc, m, n, k, alpha ?? T.One, beta ?? T.Zero);
    }

    private static void CheckSizes(int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
    }

    private static void CheckDense(int aLength, int bLength, int cLength, int m, int n, int k)
    {
        CheckSizes(m, n, k);
        CheckExact(aLength, (long)m * k, "m×k", "a");
        CheckExact(bLength, (long)k * n, "k×n", "b");
        CheckExact(cLength, (long)m * n, "m×n", "c");
    }

    private static void CheckExact(int length, long expected, string formula, string name)
    {
        if (length != expected)
            throw new ArgumentException($"{name} has {length} values; expected {formula} = {expected}.", name);
    }

    private static void CheckStrided(int aLength, int lda, int bLength, int ldb, int cLength, int ldc,
        int m, int n, int k, bool transposeA, bool transposeB)
    {
        CheckSizes(m, n, k);
        if (transposeA) CheckMatrix(aLength, lda, k, m, "a", "lda", "k", "m");
        else CheckMatrix(aLength, lda, m, k, "a", "lda", "m", "k");
        if (transposeB) CheckMatrix(bLength, ldb, n, k, "b", "ldb", "n", "k");
        else CheckMatrix(bLength, ldb, k, n, "b", "ldb", "k", "n");
        CheckMatrix(cLength, ldc, m, n, "c", "ldc", "m", "n");
    }

    /// <summary>A stored rows×cols matrix with row stride ld needs (rows − 1)·ld + cols values.</summary>
    private static void CheckMatrix(int length, int ld, int rows, int cols, string name, string ldName, string rowsName, string colsName)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentOutOfRangeException(ldName, ld, $"{ldName} is {ld}; it must be at least {colsName} = {cols} (and at least 1).");
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException(
                $"{name} has {length} values; expected at least ({rowsName}−1)·{ldName} + {colsName} = {needed} for a {rows}×{cols} matrix with {ldName} = {ld}.", name);
    }

    private static unsafe void Run<T>(ReadOnlySpan<T> a, int lda, bool transposeA, ReadOnlySpan<T> b, int ldb, bool transposeB,
        Span<T> c, int ldc, int m, int n, int k, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Gemm multiplies float or double matrices, not {typeof(T).Name}.");
        if (m == 0 || n == 0) return;
        int cExtent = (m - 1) * ldc + n;
        Span<T> cUsed = c[..cExtent];
        if (k > 0 && cUsed.Overlaps(a)) throw new ArgumentException("c overlaps a; the product cannot be written over an input.", "c");
        if (k > 0 && cUsed.Overlaps(b)) throw new ArgumentException("c overlaps b; the product cannot be written over an input.", "c");

        if (k == 0 || T.IsZero(alpha))
        {
            for (int i = 0; i < m; i++) ScaleRow(c.Slice(i * ldc, n), beta);
            return;
        }
        fixed (T* pa = a, pb = b, pc = c)
        {
            if ((long)m * n * k <= TinyVolume) Tiny(pa, lda, transposeA, pb, ldb, transposeB, pc, ldc, m, n, k, alpha, beta);
            else Blocked(pa, lda, transposeA, pb, ldb, transposeB, pc, ldc, m, n, k, alpha, beta);
        }
    }

    private static void ScaleRow<T>(Span<T> row, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (T.IsZero(beta)) row.Clear();
        else if (beta != T.One) TensorPrimitives.Multiply(row, beta, row);
    }

    /// <summary>The packed, cache-blocked product with the widest micro-kernel the machine runs.</summary>
    private static unsafe void Blocked<T>(T* a, nint lda, bool ta, T* b, nint ldb, bool tb, T* c, nint ldc,
        int m, int n, int k, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated)
            GemmCore<T, KernelRx2<T, Vector512<T>, Simd512<T>, EightRows>>.Run(a, lda, ta, b, ldb, tb, c, ldc, m, n, k, alpha, beta);
        else if (Vector256.IsHardwareAccelerated)
            GemmCore<T, KernelRx2<T, Vector256<T>, Simd256<T>, SixRows>>.Run(a, lda, ta, b, ldb, tb, c, ldc, m, n, k, alpha, beta);
        else
            GemmCore<T, KernelRx2<T, Vector128<T>, Simd128<T>, SixRows>>.Run(a, lda, ta, b, ldb, tb, c, ldc, m, n, k, alpha, beta);
    }

    /// <summary>Small products: one fused multiply-add chain per element, in increasing k.</summary>
    private static unsafe void Tiny<T>(T* a, nint lda, bool ta, T* b, nint ldb, bool tb, T* c, nint ldc,
        int m, int n, int k, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint aRow = ta ? 1 : lda, aStep = ta ? lda : 1;
        nint bCol = tb ? ldb : 1, bStep = tb ? 1 : ldb;
        bool overwrite = T.IsZero(beta);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T* pa = a + i * aRow, pb = b + j * bCol;
                T acc = T.Zero;
                for (int p = 0; p < k; p++, pa += aStep, pb += bStep) acc = T.FusedMultiplyAdd(*pa, *pb, acc);
                T* pc = c + i * ldc + j;
                *pc = overwrite ? alpha * acc : T.FusedMultiplyAdd(alpha, acc, beta * *pc);
            }
        }
    }
}
