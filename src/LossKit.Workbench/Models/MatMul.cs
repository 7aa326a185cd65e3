using System.Numerics.Tensors;

namespace LossKit.Workbench.Models;

/// <summary>
/// Every matrix product of the workbench goes through here: row-major single-precision
/// C = alpha·op(A)·op(B) + beta·C, op(A) being m×k and op(B) k×n.
/// </summary>
/// <remarks>
/// Placeholder until <c>LossKit.Numerics.Gemm</c> lands on main: a straightforward vectorised implementation
/// (row-by-row AXPYs or dot products, parallel over rows of C when the product is large). Each element of C is
/// computed by one thread in a fixed order, so the result does not depend on the thread count.
/// </remarks>
internal static class MatMul
{
    private const long ParallelThreshold = 1L << 18;

    /// <summary>C = alpha·op(A)·op(B) + beta·C (row-major). A is m×k (k×m when <paramref name="transposeA"/>),
    /// B is k×n (n×k when <paramref name="transposeB"/>), C is m×n. With beta = 0, C is overwritten (NaNs in C
    /// do not propagate).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, float alpha = 1, float beta = 0)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"negative dimension m={m}, n={n}, k={k}.");
        if (a.Length < (long)m * k) throw new ArgumentException($"a has {a.Length} values; expected at least {(long)m * k}.", nameof(a));
        if (b.Length < (long)k * n) throw new ArgumentException($"b has {b.Length} values; expected at least {(long)k * n}.", nameof(b));
        if (c.Length < (long)m * n) throw new ArgumentException($"c has {c.Length} values; expected at least {(long)m * n}.", nameof(c));
        if (m == 0 || n == 0) return;
        var cc = c[..(m * n)];
        if (beta == 0) cc.Clear();
        else if (beta != 1) TensorPrimitives.Multiply(cc, beta, cc);
        if (k == 0 || alpha == 0) return;

        long work = (long)m * n * k;
        int threads = Math.Min(Parallelism.MaxThreads, m);
        if (work < ParallelThreshold || threads <= 1)
        {
            Rows(a, b, c, 0, m, m, n, k, transposeA, transposeB, alpha);
            return;
        }
        unsafe
        {
            fixed (float* pa = a, pb = b, pc = c)
            {
                nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
                int la = a.Length, lb = b.Length, lc = c.Length;
                int chunks = threads * 4;
                int per = (m + chunks - 1) / chunks;
                Parallel.For(0, (m + per - 1) / per, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
                {
                    var sa = new ReadOnlySpan<float>((float*)ia, la);
                    var sb = new ReadOnlySpan<float>((float*)ib, lb);
                    var sc = new Span<float>((float*)ic, lc);
                    int start = chunk * per;
                    Rows(sa, sb, sc, start, Math.Min(m, start + per), m, n, k, transposeA, transposeB, alpha);
                });
            }
        }
    }

    /// <summary>Rows [start, end) of C += alpha·op(A)·op(B).</summary>
    private static void Rows(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int start, int end,
        int m, int n, int k, bool transposeA, bool transposeB, float alpha)
    {
        for (int i = start; i < end; i++)
        {
            var crow = c.Slice(i * n, n);
            if (!transposeB)
            {
                // C[i,:] += Σ_p alpha·op(A)[i,p] · B[p,:]
                for (int p = 0; p < k; p++)
                {
                    float aip = transposeA ? a[p * m + i] : a[i * k + p];
                    if (aip == 0) continue;
                    TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), alpha * aip, crow, crow);
                }
            }
            else if (!transposeA)
            {
                // C[i,j] += alpha · A[i,:] · B[j,:]
                var arow = a.Slice(i * k, k);
                for (int j = 0; j < n; j++) crow[j] += alpha * TensorPrimitives.Dot(arow, b.Slice(j * k, k));
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    float s = 0;
                    for (int p = 0; p < k; p++) s += a[p * m + i] * b[j * k + p];
                    crow[j] += alpha * s;
                }
            }
        }
    }
}
