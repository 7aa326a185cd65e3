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

/// <summary>8 rows × 2 vectors of C held in 16 registers.</summary>
internal readonly struct Kernel8x2<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 8;
    public static int Columns => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
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
            s = TSimd.Broadcast(Unsafe.Add(ref a, 6)); c60 = TSimd.MultiplyAdd(s, b0, c60); c61 = TSimd.MultiplyAdd(s, b1, c61);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 7)); c70 = TSimd.MultiplyAdd(s, b0, c70); c71 = TSimd.MultiplyAdd(s, b1, c71);
            a = ref Unsafe.Add(ref a, 8);
            b = ref Unsafe.Add(ref b, 2 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        ref T row = ref c;
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c00, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c01, va, vb, update);
        if (rows <= 1) return;
        row = ref Unsafe.Add(ref c, 1 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c10, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c11, va, vb, update);
        if (rows <= 2) return;
        row = ref Unsafe.Add(ref c, 2 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c20, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c21, va, vb, update);
        if (rows <= 3) return;
        row = ref Unsafe.Add(ref c, 3 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c30, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c31, va, vb, update);
        if (rows <= 4) return;
        row = ref Unsafe.Add(ref c, 4 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c40, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c41, va, vb, update);
        if (rows <= 5) return;
        row = ref Unsafe.Add(ref c, 5 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c50, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c51, va, vb, update);
        if (rows <= 6) return;
        row = ref Unsafe.Add(ref c, 6 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c60, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c61, va, vb, update);
        if (rows <= 7) return;
        row = ref Unsafe.Add(ref c, 7 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c70, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c71, va, vb, update);
    }
}

/// <summary>6 rows × 2 vectors of C held in 12 registers.</summary>
internal readonly struct Kernel6x2<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 6;
    public static int Columns => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        GemmKernel<T, TVec, TSimd>.Prefetch(ref c, ldc, rows, 2 * (int)w);
        TVec c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
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
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 2 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        ref T row = ref c;
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c00, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c01, va, vb, update);
        if (rows <= 1) return;
        row = ref Unsafe.Add(ref c, 1 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c10, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c11, va, vb, update);
        if (rows <= 2) return;
        row = ref Unsafe.Add(ref c, 2 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c20, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c21, va, vb, update);
        if (rows <= 3) return;
        row = ref Unsafe.Add(ref c, 3 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c30, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c31, va, vb, update);
        if (rows <= 4) return;
        row = ref Unsafe.Add(ref c, 4 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c40, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c41, va, vb, update);
        if (rows <= 5) return;
        row = ref Unsafe.Add(ref c, 5 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c50, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c51, va, vb, update);
    }
}

