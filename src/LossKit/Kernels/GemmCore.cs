using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LossKit.Kernels;

/// <summary>
/// The blocked GEMM driver (Goto/BLIS loop nest) for one element type and one micro-kernel:
/// <code>
/// for jc in n by NC:                   columns of C and B
///   for pc in k by KC:                 k steps (blocks of equal size, depending on k only)
///     for rows of C (parallel items):  A[rows, pc..] packed per item into MR-high micro-panels (L2)
///       for jr in NR micro-panels:     B[pc.., jr..] packed once, shared by all items (L1/L2 while used)
///         for ir in MR micro-panels:   micro-kernel on an MR×NR tile of C
/// </code>
/// The (jc, pc) blocks are processed in rounds: as many consecutive blocks as fit in one packed-B buffer
/// (KC×NC values; all of B for most problems). A round is one parallel loop over work items (row blocks of
/// C, or column shares when there are fewer row blocks than threads); each item walks the round's blocks in
/// order and packs a B micro-panel on first use, so packing B is spread over the threads without a barrier.
/// <para>Work is split over rows and columns of C, never over k, and the k blocks depend only on k, so each
/// element of C is the same chain of fused multiply-adds whatever the thread count: results are
/// bit-identical for any <see cref="Parallelism.MaxThreads"/>.</para>
/// </summary>
internal static unsafe class GemmCore<T, TKernel>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TKernel : struct, IGemmKernel<T>
{
    private static readonly int MR = TKernel.Rows;
    private static readonly int NR = TKernel.Columns;

    /// <summary>k steps per block: the packed A block (MC×KC) stays in L2, and C is read and written once
    /// per KC steps. 512 floats / 256 doubles (2 KiB a row).</summary>
    private static readonly int KC = 2048 / sizeof(T);

    /// <summary>Rows of A packed per work item (a multiple of MR).</summary>
    private static readonly int MC = RoundUp(168, TKernel.Rows);

    /// <summary>Columns per block; the packed B buffer holds KC×NC values (8 MiB for float), reused for
    /// as many (jc, pc) blocks as fit.</summary>
    private static readonly int NC = RoundUp(4096, TKernel.Columns);

    /// <summary>Below this many flops (2·m·n·k) the call runs on one thread: starting workers costs more.</summary>
    private const long ParallelThreshold = 1L << 22;

    private static readonly GemmBufferPool<T> s_aPool = new(MC * KC + MR * NR + 64);
    private static readonly GemmBufferPool<T> s_bPool = new(KC * NC);
    private static readonly Job?[] s_jobs = new Job?[Environment.ProcessorCount + 2];
    private static int s_jobCount;

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>C = α·op(A)·op(B) + β·C for m, n, k ≥ 1 and α ≠ 0 (the caller handles the degenerate cases).</summary>
    public static void Run(T* a, nint lda, bool transposeA, T* b, nint ldb, bool transposeB, T* c, nint ldc,
        int m, int n, int k, T alpha, T beta)
    {
        Job job = RentJob();
        GemmBuffer<T> packedB = s_bPool.Rent();
        try
        {
            job.A = a; job.Lda = lda; job.TransposeA = transposeA;
            job.B = b; job.Ldb = ldb; job.TransposeB = transposeB;
            job.C = c; job.Ldc = ldc;
            job.M = m; job.N = n; job.K = k; job.Alpha = alpha; job.Beta = beta;
            job.PackedB = packedB.Pointer;

            // k blocks of (nearly) equal size; they depend on k only, never on the thread count.
            int kBlocks = (k + KC - 1) / KC;
            job.KcStep = (k + kBlocks - 1) / kBlocks;
            job.KBlocks = (k + job.KcStep - 1) / job.KcStep;
            int blocks = (n + NC - 1) / NC * job.KBlocks;

            int threads = 2L * m * n * k < ParallelThreshold ? 1 : Parallelism.MaxThreads;
            int panelsM = (m + MR - 1) / MR;
            int mItems = (panelsM + MC / MR - 1) / (MC / MR);
            if (threads > 1) mItems = Math.Min(panelsM, RoundUp(Math.Max(mItems, threads), threads));
            job.PanelsM = panelsM;
            job.MItems = mItems;
            job.NParts = mItems >= threads ? 1 : Math.Min((Math.Min(NC, n) + NR - 1) / NR, (threads + mItems - 1) / mItems);
            job.Threads = threads;
            int items = job.MItems * job.NParts;

            // Rounds of consecutive (jc, pc) blocks whose packed B fits in the buffer together; within a
            // round each work item walks the blocks in order, packing B panels on first use.
            for (int first = 0; first < blocks;)
            {
                long size = 0;
                int end = first, panels = 0;
                for (; end < blocks; end++)
                {
                    (_, int nc, _, int kc) = job.Block(end);
                    long blockSize = (long)kc * RoundUp(nc, NR);
                    if (end > first && size + blockSize > packedB.Length) break;
                    size += blockSize;
                    panels += (nc + NR - 1) / NR;
                }
                job.FirstBlock = first;
                job.EndBlock = end;
                job.ResetPanels(panels);
                if (threads > 1 && items > 1) WorkerTeam.For(items, threads, job);
                else for (int i = 0; i < items; i++) job.Run(i);
                first = end;
            }
        }
        finally
        {
            s_bPool.Return(packedB);
            ReturnJob(job);
        }
    }

    /// <summary>Copies <paramref name="count"/> values (NR: a multiple of 32 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(T* src, T* dst, int count)
    {
        if (Vector512.IsHardwareAccelerated && count % Vector512<T>.Count == 0)
            for (int j = 0; j < count; j += Vector512<T>.Count) Vector512.Store(Vector512.Load(src + j), dst + j);
        else if (Vector256.IsHardwareAccelerated)
            for (int j = 0; j < count; j += Vector256<T>.Count) Vector256.Store(Vector256.Load(src + j), dst + j);
        else
            for (int j = 0; j < count; j += Vector128<T>.Count) Vector128.Store(Vector128.Load(src + j), dst + j);
    }

    /// <summary>dst[p·stride] = src[p] for p &lt; count (zero when <paramref name="src"/> is null): one row of a
    /// matrix becomes one column of a packed panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strided(T* src, T* dst, nint stride, int count)
    {
        int p = 0;
        if (src == null)
        {
            for (; p < count; p++, dst += stride) *dst = T.Zero;
            return;
        }
        for (; p <= count - 4; p += 4, dst += 4 * stride)
        {
            T x0 = src[p], x1 = src[p + 1], x2 = src[p + 2], x3 = src[p + 3];
            dst[0] = x0;
            dst[stride] = x1;
            dst[2 * stride] = x2;
            dst[3 * stride] = x3;
        }
        for (; p < count; p++, dst += stride) *dst = src[p];
    }

    private static Job RentJob()
    {
        lock (s_jobs)
        {
            if (s_jobCount > 0)
            {
                Job j = s_jobs[--s_jobCount]!;
                s_jobs[s_jobCount] = null;
                return j;
            }
        }
        return new Job();
    }

    private static void ReturnJob(Job job)
    {
        job.A = job.B = job.C = job.PackedB = null;
        lock (s_jobs)
        {
            if (s_jobCount < s_jobs.Length) s_jobs[s_jobCount++] = job;
        }
    }

    /// <summary>One call's arguments and current round of blocks; the items of the worker team's loop itself, so that a
    /// call allocates nothing on any number of threads.</summary>
    private sealed class Job : WorkerTeam.IItems
    {
        public T* A, B, C, PackedB;
        public nint Lda, Ldb, Ldc;
        public bool TransposeA, TransposeB;
        public int M, N, K;
        public T Alpha, Beta;
        public int KcStep, KBlocks, FirstBlock, EndBlock, PanelsM, MItems, NParts, Threads;

        /// <summary>Per packed B panel of the round: 0 not packed, 1 being packed, 2 ready.</summary>
        private int[] _panelState = new int[64];

        /// <summary>Block b of the (jc, pc) sequence, in jc-major order: columns jc..jc+nc, k steps pc..pc+kc.</summary>
        public (int Jc, int Nc, int Pc, int Kc) Block(int b)
        {
            int jc = b / KBlocks * NC, pc = b % KBlocks * KcStep;
            return (jc, Math.Min(NC, N - jc), pc, Math.Min(KcStep, K - pc));
        }

        public void ResetPanels(int panels)
        {
            if (_panelState.Length < panels) _panelState = new int[Math.Max(panels, 2 * _panelState.Length)];
            else Array.Clear(_panelState, 0, panels);
        }

        /// <summary>Makes packed panel <paramref name="index"/> of the round ready if it can without waiting:
        /// true when it was ready or this thread packed it, false while another thread is packing it. The packed
        /// values do not depend on which thread packs them.</summary>
        private bool TryPanel(int index, T* dst, int jc, int nc, int q, int pc, int kc)
        {
            ref int state = ref _panelState[index];
            if (Volatile.Read(ref state) == 2) return true;
            if (Interlocked.CompareExchange(ref state, 1, 0) != 0) return Volatile.Read(ref state) == 2;
            PackB(dst, jc, nc, q, pc, kc);
            Volatile.Write(ref state, 2);
            return true;
        }

        /// <summary>Waits until another thread has finished packing panel <paramref name="index"/>.</summary>
        private void WaitPanel(int index)
        {
            ref int state = ref _panelState[index];
            var spin = new SpinWait();
            while (Volatile.Read(ref state) != 2) spin.SpinOnce(sleep1Threshold: -1);
        }

        /// <summary>Packs NR-wide micro-panel q of op(B)[pc..pc+kc, jc..jc+nc]: kc rows of NR values,
        /// zero-padded past column nc.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackB(T* dst, int jc, int nc, int q, int pc, int kc)
        {
            int nr = NR;
            int j0 = jc + q * nr, cols = Math.Min(nr, nc - q * nr);
            if (!TransposeB)
            {
                T* src = B + pc * Ldb + j0;
                if (cols == nr)
                {
                    for (int p = 0; p < kc; p++, src += Ldb, dst += nr) CopyRow(src, dst, nr);
                }
                else
                {
                    for (int p = 0; p < kc; p++, src += Ldb, dst += nr)
                    {
                        int j = 0;
                        for (; j < cols; j++) dst[j] = src[j];
                        for (; j < nr; j++) dst[j] = T.Zero;
                    }
                }
                return;
            }
            // op(B)[p, j] = B[j, p]: column j of the panel is a contiguous run of row j of B. Blocks of 16
            // k steps keep the 16·NR values being written in L1.
            int fastColumns = 0, fastSteps = 0;
            if (typeof(T) == typeof(float) && Avx.IsSupported && nr % 8 == 0)
            {
                // 8×8 transposes for whole groups of 8 columns and 8 k steps; the rest goes one by one.
                fastColumns = cols / 8 * 8;
                fastSteps = kc / 8 * 8;
                for (int p0 = 0; p0 < fastSteps; p0 += 8)
                    for (int j = 0; j < fastColumns; j += 8)
                        GemmTranspose.Transpose8x8((float*)(B + (j0 + j) * Ldb + pc + p0), Ldb, (float*)(dst + p0 * nr + j), nr);
            }
            for (int p0 = 0; p0 < kc; p0 += 16)
            {
                int len = Math.Min(16, kc - p0);
                T* d = dst + p0 * nr;
                int j = p0 + len <= fastSteps ? fastColumns : 0;
                for (; j < cols; j++) Strided(B + (j0 + j) * Ldb + pc + p0, d + j, nr, len);
                for (; j < nr; j++) Strided(null, d + j, nr, len);
            }
        }

        /// <summary>Packs MR-high micro-panels of op(A)[i0..i0+rows, pc..pc+kc] (zero-padded below row
        /// <paramref name="rows"/>): panel r holds kc columns of MR values.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackA(T* dst, int i0, int rows, int pc, int kc)
        {
            int mr = MR;
            if (!TransposeA)
            {
                bool transpose8 = typeof(T) == typeof(float) && Avx.IsSupported && mr == 8;
                for (int r0 = 0; r0 < rows; r0 += mr, dst += kc * mr)
                {
                    int h = Math.Min(mr, rows - r0), r = 0, p0 = 0;
                    T* src = A + (i0 + r0) * Lda + pc;
                    if (transpose8 && h == 8)
                        for (; p0 <= kc - 8; p0 += 8) GemmTranspose.Transpose8x8((float*)(src + p0), Lda, (float*)(dst + p0 * 8), 8);
                    for (; r < h; r++) Strided(src + r * Lda + p0, dst + p0 * mr + r, mr, kc - p0);
                    for (; r < mr; r++) Strided(null, dst + p0 * mr + r, mr, kc - p0);
                }
                return;
            }
            // op(A)[i, p] = A[p, i]: each k step is a contiguous run of the block's rows in row pc + p of A.
            // Walk k in the outer loop so each row of A is read once, front to back.
            int full = rows / mr * mr;
            bool v256 = mr <= Vector256<T>.Count && Vector256.IsHardwareAccelerated;
            bool v512 = !v256 && mr <= Vector512<T>.Count && Vector512.IsHardwareAccelerated;
            int vectorWidth = v256 ? Vector256<T>.Count : v512 ? Vector512<T>.Count : int.MaxValue;
            // Panels whose vector read stays inside the row. The extra lanes spill into the next k step's
            // slots, which are written later; the last k step is copied exactly.
            int vectorEnd = Math.Clamp(M - vectorWidth - i0 + 1, 0, full);
            nint panel = (nint)kc * mr;
            for (int p = 0; p < kc; p++)
            {
                T* src = A + (pc + p) * Lda + i0;
                T* d = dst + p * mr;
                int r0 = 0;
                if (p == kc - 1) { }
                else if (v256) for (; r0 < vectorEnd; r0 += mr, d += panel) Vector256.Store(Vector256.Load(src + r0), d);
                else if (v512) for (; r0 < vectorEnd; r0 += mr, d += panel) Vector512.Store(Vector512.Load(src + r0), d);
                for (; r0 < rows; r0 += mr, d += panel)
                {
                    int h = Math.Min(mr, rows - r0), r = 0;
                    for (; r < h; r++) d[r] = src[r0 + r];
                    for (; r < mr; r++) d[r] = T.Zero;
                }
            }
        }

        /// <summary>Work item <paramref name="item"/>: a block of MR-row micro-panels of C against a share of
        /// the B micro-panels, for every (jc, pc) block of the round in order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int item)
        {
            int mi = item / NParts, ni = item % NParts;
            int p0 = (int)((long)mi * PanelsM / MItems), p1 = (int)((long)(mi + 1) * PanelsM / MItems);
            if (p0 == p1) return;
            int nr = NR;
            int i0 = p0 * MR, rows = Math.Min(M, p1 * MR) - i0;
            GemmBuffer<T> buffer = s_aPool.Rent();
            try
            {
                T* packedA = buffer.Pointer;
                T* edge = packedA + MC * KC + 64;
                Span<int> deferred = stackalloc int[(NC + nr - 1) / nr];
                nint offset = 0;
                int panelBase = 0;
                for (int blk = FirstBlock; blk < EndBlock; blk++)
                {
                    (int jc, int nc, int pc, int kc) = Block(blk);
                    int nPanels = (nc + nr - 1) / nr;
                    int q0 = (int)((long)ni * nPanels / NParts), q1 = (int)((long)(ni + 1) * nPanels / NParts);
                    if (q0 < q1)
                    {
                        GemmUpdate update = pc > 0 ? GemmUpdate.Accumulate : T.IsZero(Beta) ? GemmUpdate.Overwrite : GemmUpdate.Scale;
                        PackA(packedA, i0, rows, pc, kc);
                        T* cBlock = C + i0 * Ldc + jc;
                        T* bBlock = PackedB + offset;
                        // Items on different threads start at different panels, so they pack different panels
                        // at the same time; a panel another thread is still packing is put off until the end.
                        int start = q0 + (int)((long)(mi % Threads) * (q1 - q0) / Threads), waiting = 0;
                        for (int step = q0; step < q1; step++)
                        {
                            int q = step - q0 + start;
                            if (q >= q1) q -= q1 - q0;
                            T* bp = bBlock + (nint)q * kc * nr;
                            if (TryPanel(panelBase + q, bp, jc, nc, q, pc, kc))
                                Tiles(packedA, bp, cBlock + q * nr, rows, Math.Min(nr, nc - q * nr), kc, update, edge);
                            else
                                deferred[waiting++] = q;
                        }
                        for (int i = 0; i < waiting; i++)
                        {
                            int q = deferred[i];
                            T* bp = bBlock + (nint)q * kc * nr;
                            WaitPanel(panelBase + q);
                            Tiles(packedA, bp, cBlock + q * nr, rows, Math.Min(nr, nc - q * nr), kc, update, edge);
                        }
                    }
                    offset += (nint)kc * nPanels * nr;
                    panelBase += nPanels;
                }
            }
            finally
            {
                s_aPool.Return(buffer);
            }
        }

        /// <summary>Runs the micro-kernel down one packed B micro-panel: the MR×NR tiles of C rows
        /// 0..rows (from <paramref name="c"/>) in this column panel, <paramref name="cols"/> of whose NR columns
        /// lie inside C.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Tiles(T* ap, T* bp, T* c, int rows, int cols, int kc, GemmUpdate update, T* edge)
        {
            int mr = MR, nr = NR;
            T alpha = Alpha, beta = Beta;
            nint ldc = Ldc;
            for (int r0 = 0; r0 < rows; r0 += mr, ap += kc * mr, c += mr * ldc)
            {
                int h = Math.Min(mr, rows - r0);
                if (cols == nr)
                {
                    TKernel.Run(kc, ref *ap, ref *bp, ref *c, ldc, h, alpha, beta, update);
                    continue;
                }
                // Right edge: run the same kernel on a full-width copy, then write back the columns inside C.
                uint bytes = (uint)(cols * sizeof(T));
                for (int r = 0; r < h; r++)
                {
                    if (update != GemmUpdate.Overwrite) Unsafe.CopyBlockUnaligned(edge + r * nr, c + r * ldc, bytes);
                    new Span<T>(edge + r * nr + cols, nr - cols).Clear();
                }
                TKernel.Run(kc, ref *ap, ref *bp, ref *edge, nr, h, alpha, beta, update);
                for (int r = 0; r < h; r++) Unsafe.CopyBlockUnaligned(c + r * ldc, edge + r * nr, bytes);
            }
        }
    }
}
