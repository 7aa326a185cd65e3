using System.Buffers;
using System.Numerics.Tensors;
using System.Numerics;
using LossKit.Embedding;
using LossKit.Kernels;

namespace LossKit.LargeVocabulary;

public sealed partial class LinearCrossEntropyLoss
{
    /// <summary>Automatic <c>vocab_block</c>: whole rows of logits while at least this many rows fit the scratch budget.</summary>
    public const int MinWholeRowChunk = 64;

    /// <summary>Classes per vocabulary block when the automatic rule picks blocks.</summary>
    public const int AutoVocabBlock = 2048;

    /// <summary>Classes per vocabulary block for this problem, or 0 for whole rows of logits: the configured
    /// <see cref="VocabBlock"/> (0 = automatic: blocks of <see cref="AutoVocabBlock"/> once fewer than
    /// <see cref="MinWholeRowChunk"/> whole rows fit <see cref="ChunkBudgetBytes"/>), and 0 when a block would hold every class.</summary>
    public int VocabBlockFor(int vocab, int dim, int elementSize)
    {
        int block = VocabBlock > 0 ? VocabBlock : AutoChunkRows(vocab, dim, elementSize) >= MinWholeRowChunk ? 0 : AutoVocabBlock;
        return block >= vocab ? 0 : block;
    }

    /// <summary>Vocabulary blocks are processed by this many groups at most (each group's blocks in order on one thread).</summary>
    private static int BlockGroups(int vocab, int block) => Math.Min(HiddenGroups, (vocab + block - 1) / block);

    /// <summary>Rows per chunk with vocabulary blocks: as many as fit the budget with each group's R×block logits and
    /// R×d ∂H partial sums, 8 to <see cref="MaxAutoChunkRows"/>, or the configured <see cref="ChunkRows"/>.</summary>
    private int BlockedChunkRows(int predictions, int vocab, int dim, int elementSize, int block)
    {
        int groups = BlockGroups(vocab, block);
        long perRow = ((long)groups * block + (long)groups * dim) * elementSize;
        int r = ChunkRows > 0 ? ChunkRows : (int)Math.Clamp(ChunkBudgetBytes / perRow / 8 * 8, 8, MaxAutoChunkRows);
        r = Math.Max(1, Math.Min(r, predictions));
        if ((long)r * groups * ((long)block + dim) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(ChunkRows), r,
                $"chunk_rows = {r} with {groups} vocabulary groups of {block} classes needs more scratch than one array can hold; use fewer chunk rows or a smaller vocab_block.");
        return r;
    }

    /// <summary>
    /// The chunked computation with the vocabulary in blocks as well (Cut Cross-Entropy's scheme): per chunk of rows,
    /// pass 1 computes each block's logits and folds them into an online log-sum-exp per row (running max, Σexp,
    /// the smoothing sum and the target logit); pass 2 recomputes each block's logits, turns them into ∂ℓ/∂z with the
    /// row's final statistics (times the reduction's factor s) and feeds them to ∂W, ∂b and ∂H. Scratch is R×block logits per group instead of R×V;
    /// the price is the second logits GEMM (8·N·d·V flops instead of 6). The blocks are split into at most
    /// <see cref="HiddenGroups"/> contiguous groups fixed by V and the block size; a group's blocks run in order on one
    /// thread and the groups' ∂H partial sums are added in group order, so results do not depend on the thread count.
    /// Returns the sum of the per-row losses.
    /// </summary>
    private unsafe double VocabBlocked<T>(in Pinned<T> io, Span<T> rowLosses, int dim, int vocab, int n, double scale, int block)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool half = io.HiddenHalf != null;
        int chunk = BlockedChunkRows(n, vocab, dim, System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), block);
        int groups = BlockGroups(vocab, block);
        long logitsLength = (long)groups * chunk * block;
        int partials = io.GradHidden == null && !io.ReserveBackward ? 0 : (groups - 1) * chunk * dim;
        T[] buffer = ChunkBuffer<T>.Rent((int)(logitsLength + partials + (half ? chunk * dim : 0)));
        double[] stats = ArrayPool<double>.Shared.Rent(groups * chunk * BlockState.Count + VocabBlockWork<T>.RowFinalCount * chunk);
        // The call's task object: this thread's kept one (a call allocates none once warm).
        VocabBlockWork<T> work = PerThread<VocabBlockWork<T>>.Take(static () => new VocabBlockWork<T>());
        double total = 0;
        try
        {
            fixed (T* pBuffer = buffer)
            fixed (double* pStats = stats)
            {
                (work.Owner, work.ClassWeights, work.WeightSum, work.Scale) = (this, ClassWeights<T>(), WeightSum(vocab), scale);
                work.Logits = pBuffer;
                work.Partials = pBuffer + logitsLength;
                work.HiddenScratch = pBuffer + logitsLength + partials;
                work.Bias = io.BiasLength == 0 ? null : io.Bias;
                work.States = pStats;
                work.RowFinal = pStats + groups * chunk * BlockState.Count;
                (work.Dim, work.Vocab, work.Block, work.Groups, work.Chunk) = (dim, vocab, block, groups, chunk);
                work.Use(io);
                work.RowScales = io.RowScales;
                for (int c0 = 0; c0 < n; c0 += chunk)
                {
                    int r = Math.Min(chunk, n - c0);
                    work.First = c0;
                    work.Rows = r;
                    work.Targets = io.Targets + c0;
                    work.ConvertHiddenChunk();

                    Parallelism.ForTasks(groups, new ChunkTasks<T>(work, ChunkPass.Forward));
                    for (int i = 0; i < r; i++)
                    {
                        double loss = work.FinishRow(i);
                        total += loss;
                        if (!rowLosses.IsEmpty) rowLosses[c0 + i] = T.CreateTruncating(loss);
                        if (io.RowLossesDouble != null) io.RowLossesDouble[c0 + i] = loss;
                    }
                    if (!io.WantsGradient) continue;

                    Parallelism.ForTasks(groups, new ChunkTasks<T>(work, ChunkPass.Backward));
                    if (io.GradHidden != null) work.AddHiddenPartials();
                }
            }
        }
        finally
        {
            ChunkBuffer<T>.Return(buffer);
            ArrayPool<double>.Shared.Return(stats);
            (work.Owner, work.ClassWeights) = (null!, null);   // the instance is kept for the thread's next call: keep nothing alive
            PerThread<VocabBlockWork<T>>.Keep(work);
        }
        return total;
    }

    /// <summary>A row's online log-sum-exp state over the classes seen so far: the max M (NaN once a NaN or +∞ logit was
    /// seen), S = Σ exp(z − M), L = Σ w_k·(z_k − M) (the smoothing sum; unweighted: w = 1) and Wt = Σ w_k.</summary>
    private static unsafe class BlockState
    {
        public const int Count = 4;

        public static void Reset(double* s)
        {
            s[0] = double.NegativeInfinity;
            s[1] = 0;
            s[2] = 0;
            s[3] = 0;
        }

        /// <summary>Folds (m, sum, l, wt) into the state <paramref name="s"/>. With no finite max on a side, its Σexp is 0
        /// and its L is 0 or −∞ (a masked class with weight &gt; 0), which needs no shift.</summary>
        public static void Merge(double* s, double m, double sum, double l, double wt)
        {
            double m0 = s[0];
            if (double.IsNaN(m0) || double.IsNaN(m))
            {
                s[0] = double.NaN;
                return;
            }
            double mx = Math.Max(m0, m);
            if (double.IsNegativeInfinity(mx))
            {
                s[2] += l;
            }
            else
            {
                double a = double.IsNegativeInfinity(m0) ? 0 : s[1] * Math.Exp(m0 - mx);
                double b = double.IsNegativeInfinity(m) ? 0 : sum * Math.Exp(m - mx);
                double la = double.IsNegativeInfinity(m0) ? s[2] : s[2] + (m0 - mx) * s[3];
                double lb = double.IsNegativeInfinity(m) ? l : l + (m - mx) * wt;
                s[1] = a + b;
                s[2] = la + lb;
            }
            s[0] = mx;
            s[3] += wt;
        }
    }

    /// <summary>One call's vocabulary-block tasks: pass 1 (statistics) and pass 2 (gradients) per group of blocks.</summary>
    private sealed unsafe class VocabBlockWork<T> : ChunkInputs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>The loss of the current call.</summary>
        public LinearCrossEntropyLoss Owner = null!;
        public T* Logits, Partials, Bias;
        public int* Targets;
        /// <summary>Per group and chunk row: a <see cref="BlockState"/>.</summary>
        public double* States;
        /// <summary>Per chunk row after pass 1: max, Σexp, the target logit and the row terms' A and B.</summary>
        public double* RowFinal;
        public const int RowFinalCount = 5;
        public int Block, Groups, Chunk;
        /// <summary>The reduction's factor s: pass 2 writes s·∂ℓ/∂z, as the whole-row kernel does.</summary>
        public double Scale;
        /// <summary>Null (every row takes <see cref="Scale"/>), or one gradient factor per prediction of the call.</summary>
        public double* RowScales;
        public T[]? ClassWeights;
        public double WeightSum;

        /// <summary>Forward: <see cref="Statistics"/> of group <paramref name="task"/>; backward: its <see cref="Backward"/>.</summary>
        public override void RunTask(ChunkPass pass, int task)
        {
            if (pass == ChunkPass.Forward) Statistics(task);
            else Backward(task);
        }

        public void AddHiddenPartials() => AddPartials(Partials, Groups);

        /// <summary>Blocks [b0, b1) of group g: a contiguous share of the ⌈V/block⌉ blocks.</summary>
        private (int B0, int B1) GroupBlocks(int g)
        {
            int blocks = (Vocab + Block - 1) / Block;
            return ((int)((long)g * blocks / Groups), (int)((long)(g + 1) * blocks / Groups));
        }

        /// <summary>Z = H_c·W[j0..j0+count]ᵀ into group g's buffer (R×count) and the bias added; returns it.</summary>
        private Span<T> BlockLogits(int g, int j0, int count)
        {
            var z = new Span<T>(Logits + (long)g * Chunk * Block, Rows * count);
            T[]? scratch = null;
            try { Gemm.Multiply<T>(HiddenChunk, WeightRows(j0, count, ref scratch), z, Rows, count, Dim, transposeB: true); }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
            return z;
        }

        private bool Ignored(int r) => Targets[r] == Owner.IgnoreIndex;

        /// <summary>Pass 1 for group g: each block's logits folded into the group's row states.</summary>
        private void Statistics(int g)
        {
            var (b0, b1) = GroupBlocks(g);
            double* states = States + (long)g * Chunk * BlockState.Count;
            for (int r = 0; r < Rows; r++) BlockState.Reset(states + r * BlockState.Count);
            double eps = Owner.Smoothing;
            for (int b = b0; b < b1; b++)
            {
                int j0 = b * Block, count = Math.Min(Block, Vocab - j0);
                var z = BlockLogits(g, j0, count);
                ReadOnlySpan<T> w = ClassWeights is null ? default : ClassWeights.AsSpan(j0, count);
                double wt = ClassWeights is null ? count : double.CreateTruncating(Row.SumShifted(w, T.Zero));   // fixed order, unlike TensorPrimitives.Sum
                for (int r = 0; r < Rows; r++)
                {
                    if (Ignored(r)) continue;
                    var row = z.Slice(r * count, count);
                    Prepare(row, j0, count, default);
                    int y = Targets[r];
                    if (y >= j0 && y < j0 + count) RowFinal[RowFinalCount * r + 2] = double.CreateTruncating(row[y - j0]);
                    T max = Row.Max<T>(row);
                    double m = double.CreateTruncating(max), sum = 0, l = 0;
                    if (T.IsNaN(max) || T.IsPositiveInfinity(max)) m = double.NaN;
                    else
                    {
                        T shift = T.IsNegativeInfinity(max) ? T.Zero : max;
                        if (!T.IsNegativeInfinity(max)) sum = double.CreateTruncating(Row.SumExp<T>(row, max));
                        if (eps > 0) l = double.CreateTruncating(w.IsEmpty ? Row.SumShifted<T>(row, shift) : Row.MaskedDot<T>(w, row, shift));
                    }
                    BlockState.Merge(states + r * BlockState.Count, m, sum, l, wt);
                }
            }
        }

        /// <summary>Adds the bias slice and applies softcap/temperature in place (keeping the transformed values in
        /// <paramref name="transformed"/> when given, for the chain rule).</summary>
        private void Prepare(Span<T> row, int j0, int count, Span<T> transformed)
        {
            if (Bias != null) TensorPrimitives.Add(row, new ReadOnlySpan<T>(Bias + j0, count), row);
            if (Owner.Softcap > 0 || Owner.Temperature != 1)
            {
                SoftcapTemperature.Apply<T>(row, row, Owner.Softcap, Owner.Temperature);
                if (!transformed.IsEmpty) row.CopyTo(transformed);
            }
        }

        /// <summary>Combines the groups' states of chunk row r in group order and returns its loss (ce's row formula);
        /// leaves the max, Σexp and the gradient coefficients for pass 2 in <see cref="RowFinal"/>.</summary>
        public double FinishRow(int r)
        {
            double* final = RowFinal + RowFinalCount * r;
            int y = Targets[r];
            if (y == Owner.IgnoreIndex) return 0;
            double* s = stackalloc double[BlockState.Count];
            BlockState.Reset(s);
            for (int g = 0; g < Groups; g++)
            {
                double* gs = States + ((long)g * Chunk + r) * BlockState.Count;
                BlockState.Merge(s, gs[0], gs[1], gs[2], gs[3]);
            }
            double m = s[0];
            final[0] = m;
            if (double.IsNaN(m)) return double.NaN;
            if (double.IsNegativeInfinity(m)) return double.PositiveInfinity;
            double wy = Owner._weight is null ? 1 : Owner._weight[y];
            var stats = new RowStats(Vocab, y, m, m + Math.Log(s[1]), final[2], wy, WeightSum, s[2], 0, 0);
            RowTerms t = CrossEntropyRow.Terms(stats, Owner.Smoothing, Owner.LseSquared);
            final[1] = s[1];
            final[3] = t.A;
            final[4] = t.B;
            return t.Loss;
        }

        /// <summary>Pass 2 for group g: each block's logits again, turned into G = s·∂ℓ/∂z with the rows' final statistics,
        /// then ∂W[block] (+)= Gᵀ·H_c, ∂b[block] += Σ_rows G and the group's ∂H partial sum += G·W[block].</summary>
        private void Backward(int g)
        {
            var (b0, b1) = GroupBlocks(g);
            T* partial = g == 0 ? GradHidden + (long)First * Dim : Partials + (long)(g - 1) * Rows * Dim;
            bool transform = Owner.Softcap > 0 || Owner.Temperature != 1;
            T[]? scratch = transform ? ArrayPool<T>.Shared.Rent(Block) : null;
            double eps = Owner.Smoothing;
            try
            {
                for (int b = b0; b < b1; b++)
                {
                    int j0 = b * Block, count = Math.Min(Block, Vocab - j0);
                    var z = BlockLogits(g, j0, count);
                    ReadOnlySpan<T> w = ClassWeights is null ? default : ClassWeights.AsSpan(j0, count);
                    for (int r = 0; r < Rows; r++)
                    {
                        var row = z.Slice(r * count, count);
                        double m = RowFinal[RowFinalCount * r];
                        if (Ignored(r) || double.IsNegativeInfinity(m)) { row.Clear(); continue; }
                        if (double.IsNaN(m)) { row.Fill(T.NaN); continue; }
                        Span<T> transformed = scratch is null ? default : scratch.AsSpan(0, count);
                        Prepare(row, j0, count, transformed);
                        Row.SumExp<T>(row, T.CreateTruncating(m), row);
                        int y = Targets[r] - j0;
                        var t = new RowTerms(0, RowFinal[RowFinalCount * r + 3], RowFinal[RowFinalCount * r + 4], eps / Vocab);
                        CrossEntropyRow.Gradient<T>(row, row, t, RowScales == null ? Scale : RowScales[First + r], RowFinal[RowFinalCount * r + 1], (uint)y < (uint)count ? y : -1, w, default, stream: false);
                        if (transform) SoftcapTemperature.Chain(row, transformed, Owner.Softcap, Owner.Temperature);
                    }
                    T[]? wScratch = null;
                    try
                    {
                        ReadOnlySpan<T> wRows = WeightRows(j0, count, ref wScratch);
                        if (GradWeight != null)
                            Gemm.Multiply<T>(z, HiddenChunk, new Span<T>(GradWeight + (long)j0 * Dim, count * Dim), count, Dim, Rows,
                                transposeA: true, beta: First == 0 ? T.Zero : T.One);
                        if (GradHidden != null)
                            Gemm.Multiply<T>(z, wRows, new Span<T>(partial, Rows * Dim), Rows, Dim, count, beta: b == b0 ? T.Zero : T.One);
                    }
                    finally { if (wScratch is not null) ArrayPool<T>.Shared.Return(wScratch); }
                    if (GradBias != null)
                    {
                        var acc = new Span<T>(GradBias + j0, count);
                        if (First == 0) acc.Clear();
                        for (int r = 0; r < Rows; r++) TensorPrimitives.Add(acc, z.Slice(r * count, count), acc);
                    }
                }
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
        }
    }
}
