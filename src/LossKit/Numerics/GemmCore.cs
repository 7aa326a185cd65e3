using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LossKit.Numerics;

/// <summary>
/// The blocked GEMM driver (Goto/BLIS loop nest) for one element type and one micro-kernel:
/// <code>
/// for jc in n by NC:                 columns of C and B
///   for pc in k by KC:               B[pc.., jc..] packed once into NR-wide micro-panels (shared by all threads)
///     parallel for blocks of rows:   A[ic.., pc..] packed per thread into MR-high micro-panels
///       for jr in NR micro-panels:   the B micro-panel stays in L1
///         for ir in MR micro-panels: micro-kernel on an MR×NR tile of C
/// </code>
/// Work is split over rows (and, when there are fewer row blocks than threads, over column panels) of C,
/// never over k, and the k blocking depends only on k, so every element of C is accumulated in the same
/// order whatever the thread count: results are bit-identical for any <see cref="Parallelism.MaxThreads"/>.
/// </summary>
internal static unsafe class GemmCore<T, TKernel>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TKernel : struct, IGemmKernel<T>
{
    private static readonly int MR = TKernel.Rows;
    private static readonly int NR = TKernel.Columns;
    private static readonly int KC = Tune("KC", 2048 / sizeof(T));
    private static readonly int MC = RoundUp(Tune("MC", 168), TKernel.Rows);
    private static readonly int NC = RoundUp(Tune("NC", 4096), TKernel.Columns);

    private static readonly bool s_noKernel = Environment.GetEnvironmentVariable("LOSSKIT_GEMM_NOKERNEL") == "1";
    private static readonly bool s_noPackA = Environment.GetEnvironmentVariable("LOSSKIT_GEMM_NOPACKA") == "1";
    private static readonly bool s_noPackB = Environment.GetEnvironmentVariable("LOSSKIT_GEMM_NOPACKB") == "1";
    private static int Tune(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("LOSSKIT_GEMM_" + name), out int v) && v > 0 ? v : fallback;

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

            int threads = 2L * m * n * k < ParallelThreshold ? 1 : Parallelism.MaxThreads;
            int panelsM = (m + MR - 1) / MR;
            int mItems = (panelsM + MC / MR - 1) / (MC / MR);
            if (threads > 1) mItems = Math.Min(panelsM, RoundUp(Math.Max(mItems, threads), threads));
            job.PanelsM = panelsM;
            job.MItems = mItems;
            job.Options.MaxDegreeOfParallelism = threads;

            int kBlocks = (k + KC - 1) / KC;
            int kcStep = (k + kBlocks - 1) / kBlocks; // balanced k blocks; depends on k only
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                int nPanels = (nc + NR - 1) / NR;
                job.Jc = jc; job.Nc = nc; job.NPanels = nPanels;
                job.NParts = mItems >= threads ? 1 : Math.Min(nPanels, (threads + mItems - 1) / mItems);
                for (int pc = 0; pc < k; pc += kcStep)
                {
                    job.Pc = pc;
                    job.Kc = Math.Min(kcStep, k - pc);
                    job.Update = pc > 0 ? GemmUpdate.Accumulate : T.IsZero(beta) ? GemmUpdate.Overwrite : GemmUpdate.Scale;

                    int bChunks = threads > 1 && (long)job.Kc * nc >= 16_384 ? Math.Min(threads, nPanels) : 1;
                    job.BChunks = bChunks;
                    if (bChunks > 1) Parallel.For(0, bChunks, job.Options, job.PackBAction);
                    else job.PackB(0);

                    int items = job.MItems * job.NParts;
                    if (threads > 1 && items > 1) Parallel.For(0, items, job.Options, job.ComputeAction);
                    else for (int i = 0; i < items; i++) job.Compute(i);
                }
            }
        }
        finally
        {
            s_bPool.Return(packedB);
            ReturnJob(job);
        }
    }

    /// <summary>Copies <paramref name="count"/> values, a multiple of 32 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(T* src, T* dst, int count)
    {
        if (Vector512.IsHardwareAccelerated && count % Vector512<T>.Count == 0)
        {
            for (int j = 0; j < count; j += Vector512<T>.Count) Vector512.Store(Vector512.Load(src + j), dst + j);
        }
        else
        {
            for (int j = 0; j < count; j += Vector256<T>.Count) Vector256.Store(Vector256.Load(src + j), dst + j);
        }
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

    /// <summary>One call's arguments and current block, with its delegates cached so that a call allocates
    /// nothing on one thread.</summary>
    private sealed class Job
    {
        public T* A, B, C, PackedB;
        public nint Lda, Ldb, Ldc;
        public bool TransposeA, TransposeB;
        public int M, N, K;
        public T Alpha, Beta;
        public int Jc, Nc, NPanels, Pc, Kc, BChunks, PanelsM, MItems, NParts;
        public GemmUpdate Update;
        public readonly ParallelOptions Options = new();
        public readonly Action<int> PackBAction, ComputeAction;

        public Job()
        {
            PackBAction = PackB;
            ComputeAction = Compute;
        }

        /// <summary>Packs chunk <paramref name="chunk"/> of the NR-wide micro-panels of op(B)[Pc.., Jc..]:
        /// panel q holds Kc rows of NR values, zero-padded past column Nc.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackB(int chunk)
        {
            if (s_noPackB) return;
            int q0 = (int)((long)chunk * NPanels / BChunks), q1 = (int)((long)(chunk + 1) * NPanels / BChunks);
            int kc = Kc, nr = NR;
            for (int q = q0; q < q1; q++)
            {
                T* dst = PackedB + (nint)q * kc * nr;
                int j0 = Jc + q * nr, cols = Math.Min(nr, Nc - q * nr);
                if (!TransposeB)
                {
                    T* src = B + Pc * Ldb + j0;
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
                }
                else
                {
                    // op(B)[p, j] = B[j, p]: column j of the panel is a contiguous run of row j of B.
                    // Blocks of 16 k steps keep the 16·NR values being written in L1.
                    for (int p0 = 0; p0 < kc; p0 += 16)
                    {
                        int len = Math.Min(16, kc - p0);
                        T* d = dst + p0 * nr;
                        int j = 0;
                        for (; j < cols; j++) Strided(B + (j0 + j) * Ldb + Pc + p0, d + j, nr, len);
                        for (; j < nr; j++) Strided(null, d + j, nr, len);
                    }
                }
            }
        }

        /// <summary>Packs MR-high micro-panels of op(A)[i0..i0+rows, Pc..Pc+Kc] (zero-padded below row
        /// <paramref name="rows"/>): panel r holds Kc columns of MR values.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackA(T* dst, int i0, int rows)
        {
            int kc = Kc, mr = MR;
            if (!TransposeA)
            {
                for (int r0 = 0; r0 < rows; r0 += mr, dst += kc * mr)
                {
                    int h = Math.Min(mr, rows - r0), r = 0;
                    for (; r < h; r++) Strided(A + (i0 + r0 + r) * Lda + Pc, dst + r, mr, kc);
                    for (; r < mr; r++) Strided(null, dst + r, mr, kc);
                }
                return;
            }
            // op(A)[i, p] = A[p, i]: each k step is a contiguous run of the block's rows in row Pc + p of A.
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
                T* src = A + (Pc + p) * Lda + i0;
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

        /// <summary>Work item <paramref name="item"/>: a block of MR-row micro-panels of C against a range of
        /// the packed B micro-panels.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Compute(int item)
        {
            int mi = item / NParts, ni = item % NParts;
            int p0 = (int)((long)mi * PanelsM / MItems), p1 = (int)((long)(mi + 1) * PanelsM / MItems);
            int q0 = (int)((long)ni * NPanels / NParts), q1 = (int)((long)(ni + 1) * NPanels / NParts);
            if (p0 == p1 || q0 == q1) return;
            int mr = MR, nr = NR, kc = Kc;
            int i0 = p0 * mr, rows = Math.Min(M, p1 * mr) - i0;

            GemmBuffer<T> buffer = s_aPool.Rent();
            try
            {
                T* packedA = buffer.Pointer;
                T* edge = packedA + MC * KC + 64;
                if (!s_noPackA) PackA(packedA, i0, rows);
                T alpha = Alpha, beta = Beta;
                GemmUpdate update = Update;
                nint ldc = Ldc;
                for (int q = q0; q < q1; q++)
                {
                    T* bp = PackedB + (nint)q * kc * nr;
                    int cols = Math.Min(nr, Nc - q * nr);
                    T* cRow = C + i0 * ldc + Jc + q * nr;
                    T* ap = packedA;
                    for (int r0 = 0; r0 < rows; r0 += mr, ap += kc * mr, cRow += mr * ldc)
                    {
                        int h = Math.Min(mr, rows - r0);
                        if (s_noKernel) continue;
                        if (cols == nr)
                        {
                            TKernel.Run(kc, ref *ap, ref *bp, ref *cRow, ldc, h, alpha, beta, update);
                            continue;
                        }
                        // Right edge: run the same kernel on a full-width copy, then write back the columns inside C.
                        nint bytes = cols * sizeof(T);
                        for (int r = 0; r < h; r++)
                        {
                            if (update != GemmUpdate.Overwrite) Unsafe.CopyBlockUnaligned(edge + r * nr, cRow + r * ldc, (uint)bytes);
                            new Span<T>(edge + r * nr + cols, nr - cols).Clear();
                        }
                        TKernel.Run(kc, ref *ap, ref *bp, ref *edge, nr, h, alpha, beta, update);
                        for (int r = 0; r < h; r++) Unsafe.CopyBlockUnaligned(cRow + r * ldc, edge + r * nr, (uint)bytes);
                    }
                }
            }
            finally
            {
                s_aPool.Return(buffer);
            }
        }
    }
}
