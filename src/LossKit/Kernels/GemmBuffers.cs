using System.Numerics;
using System.Runtime.CompilerServices;

namespace LossKit.Kernels;

/// <summary>
/// A pinned, 64-byte-aligned scratch array on the pinned object heap, so a raw pointer to it stays valid
/// for its whole life. Used for GEMM's packed panels.
/// </summary>
internal sealed unsafe class GemmBuffer<T> where T : unmanaged
{
    private readonly T[] _array;

    public GemmBuffer(int length)
    {
        Length = length;
        int pad = 64 / sizeof(T);
        _array = GC.AllocateUninitializedArray<T>(length + pad, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref _array[0]);
        int skip = (int)((64 - (address & 63)) & 63) / sizeof(T);
        Pointer = (T*)Unsafe.AsPointer(ref _array[skip]);
    }

    /// <summary>Usable elements from <see cref="Pointer"/>.</summary>
    public int Length { get; }

    /// <summary>The first 64-byte-aligned element; valid as long as this object is reachable.</summary>
    public T* Pointer { get; }
}

/// <summary>
/// A small lock-protected pool of <see cref="GemmBuffer{T}"/> of one fixed length. It holds at most a few
/// buffers per processor, so memory stays O(threads × block size) however many calls run.
/// </summary>
internal sealed class GemmBufferPool<T>(int length) where T : unmanaged, INumberBase<T>
{
    private readonly GemmBuffer<T>?[] _free = new GemmBuffer<T>?[2 * Environment.ProcessorCount + 2];
    private int _count;

    public int Length { get; } = length;

    public GemmBuffer<T> Rent()
    {
        lock (_free)
        {
            if (_count > 0)
            {
                GemmBuffer<T> b = _free[--_count]!;
                _free[_count] = null;
                return b;
            }
        }
        return new GemmBuffer<T>(Length);
    }

    public void Return(GemmBuffer<T> buffer)
    {
        lock (_free)
        {
            if (_count < _free.Length) _free[_count++] = buffer;
        }
    }
}
