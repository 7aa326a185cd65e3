using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LossKit.Kernels;

/// <summary>How a micro-kernel writes its accumulated tile <c>acc</c> into C.</summary>
internal enum GemmUpdate
{
    /// <summary>c = α·acc (the first k block when β = 0: C is not read, so NaNs in it do not leak).</summary>
    Overwrite,
    /// <summary>c = α·acc + β·c, fused (the first k block when β ≠ 0).</summary>
    Scale,
    /// <summary>c = α·acc + c, fused (every later k block).</summary>
    Accumulate,
}

/// <summary>
/// A register-blocked GEMM micro-kernel: C[0..Rows, 0..Columns] (row stride ldc) is updated with the product
/// of a packed A micro-panel (kc steps of Rows values) and a packed B micro-panel (kc steps of Columns values);
/// only the first <c>rows</c> rows of C are written (the packed A is zero below them).
/// Each C element is a single chain of fused multiply-adds in increasing k, so the result does not depend
/// on which thread runs the tile.
/// </summary>
internal interface IGemmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract int Rows { get; }
    static abstract int Columns { get; }
    static abstract void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update);
}

internal static class GemmKernel<T, TVec, TSimd>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    /// <summary>Starts loading the C tile (rows × columns values) into cache while the k loop runs, so
    /// the final read-modify-write of C does not wait on memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch(ref T c, nint ldc, int rows, int columns)
    {
        if (!Sse.IsSupported) return;
        byte* row = (byte*)Unsafe.AsPointer(ref c);
        nint stride = ldc * sizeof(T), last = columns * sizeof(T) - 1;
        for (int r = 0; r < rows; r++, row += stride)
        {
            for (nint offset = 0; offset < last; offset += 64) Sse.Prefetch0(row + offset);
            Sse.Prefetch0(row + last);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Update(ref T row, nuint offset, TVec acc, TVec alpha, TVec beta, GemmUpdate update)
    {
        TVec result = update switch
        {
            GemmUpdate.Overwrite => TSimd.Multiply(alpha, acc),
            GemmUpdate.Scale => TSimd.MultiplyAdd(alpha, acc, TSimd.Multiply(beta, TSimd.Load(ref row, offset))),
            _ => TSimd.MultiplyAdd(alpha, acc, TSimd.Load(ref row, offset)),
        };
        TSimd.Store(result, ref row, offset);
    }
}

/// <summary>The number of rows of C a micro-kernel holds in registers: a constant the JIT folds, so the rows a
/// kernel does not have cost no code and no registers.</summary>
internal interface IRowCount { static abstract int Value { get; } }

/// <summary>8 rows: 16 accumulators, for 32 vector registers (AVX-512).</summary>
internal readonly struct EightRows : IRowCount { public static int Value => 8; }

/// <summary>6 rows: 12 accumulators, for 16 vector registers (AVX2, 128-bit vectors).</summary>
internal readonly struct SixRows : IRowCount { public static int Value => 6; }

/// <summary>
/// <typeparamref name="TRows"/> rows (6 or 8) × 2 vectors of C held in registers. Each row's two accumulators are
/// written once; the rows beyond <typeparamref name="TRows"/> are removed by the JIT (their condition is a constant).
/// </summary>
internal readonly struct KernelRx2<T, TVec, TSimd, TRows> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
    where TRows : struct, IRowCount
{
    public static int Rows => TRows.Value;
    public static int Columns => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        bool eight = TRows.Value == 8;
        GemmKernel<T, TVec, TSimd>.Prefetch(ref c, ldc, rows, 2 * (int)w);
        TVec c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TSimd.Load(ref b, 0), b1 = TSimd.Load(ref b, 1 * w);
            TVec s;
            s = TSimd.Broadcast(Unsafe.Add(ref a, 0)); c00 = TSimd.MultiplyAdd(s, b0, c00); c01 = TSimd.MultiplyAdd(s, b1, c01);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 1)); c10 = TSimd.MultiplyAdd(s, b0, c10); c11 = TSimd.MultiplyAdd(s, b1, c11);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 2)); c20 = TSimd.MultiplyAdd(s, b0, c20); c21 = TSimd.MultiplyAdd(s, b1, c21);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 3)); c30 = TSimd.MultiplyAdd(s, b0, c30); c31 = TSimd.MultiplyAdd(s, b1, c31);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 4)); c40 = TSimd.MultiplyAdd(s, b0, c40); c41 = TSimd.MultiplyAdd(s, b1, c41);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 5)); c50 = TSimd.MultiplyAdd(s, b0, c50); c51 = TSimd.MultiplyAdd(s, b1, c51);
            if (eight)
            {
                s = TSimd.Broadcast(Unsafe.Add(ref a, 6)); c60 = TSimd.MultiplyAdd(s, b0, c60); c61 = TSimd.MultiplyAdd(s, b1, c61);
                s = TSimd.Broadcast(Unsafe.Add(ref a, 7)); c70 = TSimd.MultiplyAdd(s, b0, c70); c71 = TSimd.MultiplyAdd(s, b1, c71);
            }
            a = ref Unsafe.Add(ref a, TRows.Value);
            b = ref Unsafe.Add(ref b, 2 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        Update(ref c, 0, ldc, w, c00, c01, va, vb, update);
        if (rows <= 1) return;
        Update(ref c, 1, ldc, w, c10, c11, va, vb, update);
        if (rows <= 2) return;
        Update(ref c, 2, ldc, w, c20, c21, va, vb, update);
        if (rows <= 3) return;
        Update(ref c, 3, ldc, w, c30, c31, va, vb, update);
        if (rows <= 4) return;
        Update(ref c, 4, ldc, w, c40, c41, va, vb, update);
        if (rows <= 5) return;
        Update(ref c, 5, ldc, w, c50, c51, va, vb, update);
        if (!eight || rows <= 6) return;
        Update(ref c, 6, ldc, w, c60, c61, va, vb, update);
        if (rows <= 7) return;
        Update(ref c, 7, ldc, w, c70, c71, va, vb, update);
    }

    /// <summary>Writes row <paramref name="r"/> of the tile: its two accumulated vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(ref T c, int r, nint ldc, nuint w, TVec first, TVec second, TVec alpha, TVec beta, GemmUpdate update)
    {
        ref T row = ref Unsafe.Add(ref c, r * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, first, alpha, beta, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, w, second, alpha, beta, update);
    }
}
