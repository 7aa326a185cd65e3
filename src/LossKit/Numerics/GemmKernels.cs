using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Numerics;

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


/// <summary>4 rows × 4 vectors of C held in 16 registers.</summary>
internal readonly struct Kernel4x4<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 4;
    public static int Columns => 4 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        TVec c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default, c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TSimd.Load(ref b, 0), b1 = TSimd.Load(ref b, 1 * w), b2 = TSimd.Load(ref b, 2 * w), b3 = TSimd.Load(ref b, 3 * w);
            TVec s;
            s = TSimd.Broadcast(Unsafe.Add(ref a, 0)); c00 = TSimd.MultiplyAdd(s, b0, c00); c01 = TSimd.MultiplyAdd(s, b1, c01); c02 = TSimd.MultiplyAdd(s, b2, c02); c03 = TSimd.MultiplyAdd(s, b3, c03);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 1)); c10 = TSimd.MultiplyAdd(s, b0, c10); c11 = TSimd.MultiplyAdd(s, b1, c11); c12 = TSimd.MultiplyAdd(s, b2, c12); c13 = TSimd.MultiplyAdd(s, b3, c13);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 2)); c20 = TSimd.MultiplyAdd(s, b0, c20); c21 = TSimd.MultiplyAdd(s, b1, c21); c22 = TSimd.MultiplyAdd(s, b2, c22); c23 = TSimd.MultiplyAdd(s, b3, c23);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 3)); c30 = TSimd.MultiplyAdd(s, b0, c30); c31 = TSimd.MultiplyAdd(s, b1, c31); c32 = TSimd.MultiplyAdd(s, b2, c32); c33 = TSimd.MultiplyAdd(s, b3, c33);
            a = ref Unsafe.Add(ref a, 4);
            b = ref Unsafe.Add(ref b, 4 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        ref T row = ref c;
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c00, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c01, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c02, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c03, va, vb, update);
        if (rows <= 1) return;
        row = ref Unsafe.Add(ref c, 1 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c10, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c11, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c12, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c13, va, vb, update);
        if (rows <= 2) return;
        row = ref Unsafe.Add(ref c, 2 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c20, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c21, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c22, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c23, va, vb, update);
        if (rows <= 3) return;
        row = ref Unsafe.Add(ref c, 3 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c30, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c31, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c32, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c33, va, vb, update);
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

/// <summary>6 rows × 3 vectors of C held in 18 registers.</summary>
internal readonly struct Kernel6x3<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 6;
    public static int Columns => 3 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        TVec c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default, c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default, c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TSimd.Load(ref b, 0), b1 = TSimd.Load(ref b, 1 * w), b2 = TSimd.Load(ref b, 2 * w);
            TVec s;
            s = TSimd.Broadcast(Unsafe.Add(ref a, 0)); c00 = TSimd.MultiplyAdd(s, b0, c00); c01 = TSimd.MultiplyAdd(s, b1, c01); c02 = TSimd.MultiplyAdd(s, b2, c02);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 1)); c10 = TSimd.MultiplyAdd(s, b0, c10); c11 = TSimd.MultiplyAdd(s, b1, c11); c12 = TSimd.MultiplyAdd(s, b2, c12);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 2)); c20 = TSimd.MultiplyAdd(s, b0, c20); c21 = TSimd.MultiplyAdd(s, b1, c21); c22 = TSimd.MultiplyAdd(s, b2, c22);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 3)); c30 = TSimd.MultiplyAdd(s, b0, c30); c31 = TSimd.MultiplyAdd(s, b1, c31); c32 = TSimd.MultiplyAdd(s, b2, c32);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 4)); c40 = TSimd.MultiplyAdd(s, b0, c40); c41 = TSimd.MultiplyAdd(s, b1, c41); c42 = TSimd.MultiplyAdd(s, b2, c42);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 5)); c50 = TSimd.MultiplyAdd(s, b0, c50); c51 = TSimd.MultiplyAdd(s, b1, c51); c52 = TSimd.MultiplyAdd(s, b2, c52);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 3 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        ref T row = ref c;
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c00, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c01, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c02, va, vb, update);
        if (rows <= 1) return;
        row = ref Unsafe.Add(ref c, 1 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c10, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c11, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c12, va, vb, update);
        if (rows <= 2) return;
        row = ref Unsafe.Add(ref c, 2 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c20, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c21, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c22, va, vb, update);
        if (rows <= 3) return;
        row = ref Unsafe.Add(ref c, 3 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c30, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c31, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c32, va, vb, update);
        if (rows <= 4) return;
        row = ref Unsafe.Add(ref c, 4 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c40, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c41, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c42, va, vb, update);
        if (rows <= 5) return;
        row = ref Unsafe.Add(ref c, 5 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c50, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c51, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c52, va, vb, update);
    }
}

/// <summary>6 rows × 4 vectors of C held in 24 registers.</summary>
internal readonly struct Kernel6x4<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 6;
    public static int Columns => 4 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        TVec c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default, c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default, c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TSimd.Load(ref b, 0), b1 = TSimd.Load(ref b, 1 * w), b2 = TSimd.Load(ref b, 2 * w), b3 = TSimd.Load(ref b, 3 * w);
            TVec s;
            s = TSimd.Broadcast(Unsafe.Add(ref a, 0)); c00 = TSimd.MultiplyAdd(s, b0, c00); c01 = TSimd.MultiplyAdd(s, b1, c01); c02 = TSimd.MultiplyAdd(s, b2, c02); c03 = TSimd.MultiplyAdd(s, b3, c03);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 1)); c10 = TSimd.MultiplyAdd(s, b0, c10); c11 = TSimd.MultiplyAdd(s, b1, c11); c12 = TSimd.MultiplyAdd(s, b2, c12); c13 = TSimd.MultiplyAdd(s, b3, c13);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 2)); c20 = TSimd.MultiplyAdd(s, b0, c20); c21 = TSimd.MultiplyAdd(s, b1, c21); c22 = TSimd.MultiplyAdd(s, b2, c22); c23 = TSimd.MultiplyAdd(s, b3, c23);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 3)); c30 = TSimd.MultiplyAdd(s, b0, c30); c31 = TSimd.MultiplyAdd(s, b1, c31); c32 = TSimd.MultiplyAdd(s, b2, c32); c33 = TSimd.MultiplyAdd(s, b3, c33);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 4)); c40 = TSimd.MultiplyAdd(s, b0, c40); c41 = TSimd.MultiplyAdd(s, b1, c41); c42 = TSimd.MultiplyAdd(s, b2, c42); c43 = TSimd.MultiplyAdd(s, b3, c43);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 5)); c50 = TSimd.MultiplyAdd(s, b0, c50); c51 = TSimd.MultiplyAdd(s, b1, c51); c52 = TSimd.MultiplyAdd(s, b2, c52); c53 = TSimd.MultiplyAdd(s, b3, c53);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 4 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        ref T row = ref c;
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c00, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c01, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c02, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c03, va, vb, update);
        if (rows <= 1) return;
        row = ref Unsafe.Add(ref c, 1 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c10, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c11, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c12, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c13, va, vb, update);
        if (rows <= 2) return;
        row = ref Unsafe.Add(ref c, 2 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c20, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c21, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c22, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c23, va, vb, update);
        if (rows <= 3) return;
        row = ref Unsafe.Add(ref c, 3 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c30, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c31, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c32, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c33, va, vb, update);
        if (rows <= 4) return;
        row = ref Unsafe.Add(ref c, 4 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c40, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c41, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c42, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c43, va, vb, update);
        if (rows <= 5) return;
        row = ref Unsafe.Add(ref c, 5 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c50, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c51, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c52, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 3 * w, c53, va, vb, update);
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

/// <summary>8 rows × 3 vectors of C held in 24 registers.</summary>
internal readonly struct Kernel8x3<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 8;
    public static int Columns => 3 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        TVec c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default, c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default, c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default, c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TSimd.Load(ref b, 0), b1 = TSimd.Load(ref b, 1 * w), b2 = TSimd.Load(ref b, 2 * w);
            TVec s;
            s = TSimd.Broadcast(Unsafe.Add(ref a, 0)); c00 = TSimd.MultiplyAdd(s, b0, c00); c01 = TSimd.MultiplyAdd(s, b1, c01); c02 = TSimd.MultiplyAdd(s, b2, c02);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 1)); c10 = TSimd.MultiplyAdd(s, b0, c10); c11 = TSimd.MultiplyAdd(s, b1, c11); c12 = TSimd.MultiplyAdd(s, b2, c12);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 2)); c20 = TSimd.MultiplyAdd(s, b0, c20); c21 = TSimd.MultiplyAdd(s, b1, c21); c22 = TSimd.MultiplyAdd(s, b2, c22);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 3)); c30 = TSimd.MultiplyAdd(s, b0, c30); c31 = TSimd.MultiplyAdd(s, b1, c31); c32 = TSimd.MultiplyAdd(s, b2, c32);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 4)); c40 = TSimd.MultiplyAdd(s, b0, c40); c41 = TSimd.MultiplyAdd(s, b1, c41); c42 = TSimd.MultiplyAdd(s, b2, c42);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 5)); c50 = TSimd.MultiplyAdd(s, b0, c50); c51 = TSimd.MultiplyAdd(s, b1, c51); c52 = TSimd.MultiplyAdd(s, b2, c52);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 6)); c60 = TSimd.MultiplyAdd(s, b0, c60); c61 = TSimd.MultiplyAdd(s, b1, c61); c62 = TSimd.MultiplyAdd(s, b2, c62);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 7)); c70 = TSimd.MultiplyAdd(s, b0, c70); c71 = TSimd.MultiplyAdd(s, b1, c71); c72 = TSimd.MultiplyAdd(s, b2, c72);
            a = ref Unsafe.Add(ref a, 8);
            b = ref Unsafe.Add(ref b, 3 * (int)w);
        }
        TVec va = TSimd.Broadcast(alpha), vb = TSimd.Broadcast(beta);
        ref T row = ref c;
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c00, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c01, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c02, va, vb, update);
        if (rows <= 1) return;
        row = ref Unsafe.Add(ref c, 1 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c10, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c11, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c12, va, vb, update);
        if (rows <= 2) return;
        row = ref Unsafe.Add(ref c, 2 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c20, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c21, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c22, va, vb, update);
        if (rows <= 3) return;
        row = ref Unsafe.Add(ref c, 3 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c30, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c31, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c32, va, vb, update);
        if (rows <= 4) return;
        row = ref Unsafe.Add(ref c, 4 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c40, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c41, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c42, va, vb, update);
        if (rows <= 5) return;
        row = ref Unsafe.Add(ref c, 5 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c50, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c51, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c52, va, vb, update);
        if (rows <= 6) return;
        row = ref Unsafe.Add(ref c, 6 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c60, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c61, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c62, va, vb, update);
        if (rows <= 7) return;
        row = ref Unsafe.Add(ref c, 7 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c70, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c71, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 2 * w, c72, va, vb, update);
    }
}

/// <summary>12 rows × 2 vectors of C held in 24 registers.</summary>
internal readonly struct Kernel12x2<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 12;
    public static int Columns => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        TVec c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default, c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default;
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
            s = TSimd.Broadcast(Unsafe.Add(ref a, 8)); c80 = TSimd.MultiplyAdd(s, b0, c80); c81 = TSimd.MultiplyAdd(s, b1, c81);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 9)); c90 = TSimd.MultiplyAdd(s, b0, c90); c91 = TSimd.MultiplyAdd(s, b1, c91);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 10)); c100 = TSimd.MultiplyAdd(s, b0, c100); c101 = TSimd.MultiplyAdd(s, b1, c101);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 11)); c110 = TSimd.MultiplyAdd(s, b0, c110); c111 = TSimd.MultiplyAdd(s, b1, c111);
            a = ref Unsafe.Add(ref a, 12);
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
        if (rows <= 8) return;
        row = ref Unsafe.Add(ref c, 8 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c80, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c81, va, vb, update);
        if (rows <= 9) return;
        row = ref Unsafe.Add(ref c, 9 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c90, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c91, va, vb, update);
        if (rows <= 10) return;
        row = ref Unsafe.Add(ref c, 10 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c100, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c101, va, vb, update);
        if (rows <= 11) return;
        row = ref Unsafe.Add(ref c, 11 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c110, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c111, va, vb, update);
    }
}

/// <summary>14 rows × 2 vectors of C held in 28 registers.</summary>
internal readonly struct Kernel14x2<T, TVec, TSimd> : IGemmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TSimd : struct, ISimd<TVec, T>
{
    public static int Rows => 14;
    public static int Columns => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, ref T a, ref T b, ref T c, nint ldc, int rows, T alpha, T beta, GemmUpdate update)
    {
        nuint w = (nuint)TSimd.Count;
        TVec c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default, c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default, c120 = default, c121 = default, c130 = default, c131 = default;
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
            s = TSimd.Broadcast(Unsafe.Add(ref a, 8)); c80 = TSimd.MultiplyAdd(s, b0, c80); c81 = TSimd.MultiplyAdd(s, b1, c81);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 9)); c90 = TSimd.MultiplyAdd(s, b0, c90); c91 = TSimd.MultiplyAdd(s, b1, c91);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 10)); c100 = TSimd.MultiplyAdd(s, b0, c100); c101 = TSimd.MultiplyAdd(s, b1, c101);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 11)); c110 = TSimd.MultiplyAdd(s, b0, c110); c111 = TSimd.MultiplyAdd(s, b1, c111);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 12)); c120 = TSimd.MultiplyAdd(s, b0, c120); c121 = TSimd.MultiplyAdd(s, b1, c121);
            s = TSimd.Broadcast(Unsafe.Add(ref a, 13)); c130 = TSimd.MultiplyAdd(s, b0, c130); c131 = TSimd.MultiplyAdd(s, b1, c131);
            a = ref Unsafe.Add(ref a, 14);
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
        if (rows <= 8) return;
        row = ref Unsafe.Add(ref c, 8 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c80, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c81, va, vb, update);
        if (rows <= 9) return;
        row = ref Unsafe.Add(ref c, 9 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c90, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c91, va, vb, update);
        if (rows <= 10) return;
        row = ref Unsafe.Add(ref c, 10 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c100, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c101, va, vb, update);
        if (rows <= 11) return;
        row = ref Unsafe.Add(ref c, 11 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c110, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c111, va, vb, update);
        if (rows <= 12) return;
        row = ref Unsafe.Add(ref c, 12 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c120, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c121, va, vb, update);
        if (rows <= 13) return;
        row = ref Unsafe.Add(ref c, 13 * ldc);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 0, c130, va, vb, update);
        GemmKernel<T, TVec, TSimd>.Update(ref row, 1 * w, c131, va, vb, update);
    }
}

