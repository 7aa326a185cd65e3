using System.Buffers;
using System.Numerics.Tensors;
using System.Numerics;
using System.Runtime.InteropServices;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Kernels;

namespace LossKit.LargeVocabulary;

public sealed partial class LinearCrossEntropyLoss
{
    /// <summary>Most vocabulary columns per task: the logits and ∂W GEMMs of a chunk are split into slices of at most
    /// this many classes (at least <see cref="MinSliceColumns"/>, about 4 slices per thread), each a single-threaded GEMM,
    /// scheduled dynamically over the threads. The slicing does not change any result: every element of Z and ∂W is
    /// the same chain of multiply-adds however the columns are split.</summary>
    internal const int MaxSliceColumns = 2048;
    internal const int MinSliceColumns = 512;

    /// <summary>∂H_c = G_c·W is split over the vocabulary (its k) into up to this many contiguous groups of at least
    /// 1024 classes, whose partial products are added in group order. The groups depend only on V, never on the
    /// threads, so the sum is deterministic.</summary>
    internal const int HiddenGroups = 4;

    /// <summary>The ∂H groups for a vocabulary: min(4, ⌊V/1024⌋) (at least 1).</summary>
    internal static int HiddenGroupCount(int vocab) => Math.Clamp(vocab / 1024, 1, HiddenGroups);

    /// <summary>Columns per slice task for a vocabulary and thread count: about V / (4·threads), a multiple of 64,
    /// between <see cref="MinSliceColumns"/> and <see cref="MaxSliceColumns"/>.</summary>
    internal static int SliceWidth(int vocab, int threads) =>
        Math.Clamp(vocab / (4 * Math.Max(threads, 1)) / 64 * 64, MinSliceColumns, MaxSliceColumns);

    /// <summary>The chunked computation in T (float or double). With <paramref name="half"/>, H and W are read from
    /// <paramref name="hiddenHalf"/> and <paramref name="weightHalf"/> (T is float; <paramref name="hidden"/> and
    /// <paramref name="weight"/> are empty): each chunk of H and each slice of W is converted to float as a task needs it.</summary>
    private unsafe T Fused<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<T> rowLosses, Span<T> gradHidden, Span<T> gradWeight, Span<T> gradBias,
        bool half = false, ReadOnlySpan<Half> hiddenHalf = default, ReadOnlySpan<Half> weightHalf = default,
        ReadOnlySpan<double> rowScales = default, Span<double> rowLossesDouble = default, bool reserveBackward = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"linear_ce computes in float or double, not {typeof(T).Name}.");
        var (n, denominator) = Validate(half ? hiddenHalf.Length : hidden.Length, half ? weightHalf.Length : weight.Length, bias.Length,
            rows, dim, vocab, targets, rowLosses.Length, gradHidden.Length, gradWeight.Length, gradBias.Length);
        if (!rowScales.IsEmpty && rowScales.Length != n)
            throw new ArgumentException($"rowScales has {rowScales.Length} values; expected one per prediction ({n}).", nameof(rowScales));
        if (!rowLossesDouble.IsEmpty && rowLossesDouble.Length != n)
            throw new ArgumentException($"rowLossesDouble has {rowLossesDouble.Length} values; expected one per prediction ({n}).", nameof(rowLossesDouble));
        double scale = ReductionScale(denominator);
        int vocabBlock = VocabBlockFor(vocab, dim, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        double total;
        fixed (T* pHidden = hidden)
        fixed (T* pWeight = weight)
        fixed (Half* pHiddenHalf = hiddenHalf)
        fixed (Half* pWeightHalf = weightHalf)
        fixed (T* pBias = bias)
        fixed (int* pTargets = targets)
        fixed (T* pGradHidden = gradHidden)
        fixed (T* pGradWeight = gradWeight)
        fixed (T* pGradBias = gradBias)
        fixed (double* pRowScales = rowScales)
        fixed (double* pRowLossesDouble = rowLossesDouble)
        {
            var io = new Pinned<T>
            {
                Hidden = pHidden, Weight = pWeight, HiddenHalf = half ? pHiddenHalf : null, WeightHalf = half ? pWeightHalf : null,
                Bias = pBias, BiasLength = bias.Length, Targets = pTargets + (Shift ? 1 : 0),
                GradHidden = pGradHidden, GradWeight = pGradWeight, GradBias = pGradBias,
                RowScales = pRowScales, RowLossesDouble = pRowLossesDouble, ReserveBackward = reserveBackward,
            };
            total = vocabBlock > 0
                ? VocabBlocked(io, rowLosses, dim, vocab, n, scale, vocabBlock)
                : WholeRows(io, rowLosses, dim, vocab, n, scale);
        }
        return Finish(total, scale, n, dim, gradHidden);
    }

    /// <summary>A call's pinned inputs and outputs (null where the span is empty); <see cref="Targets"/> starts at the
    /// first prediction's target (targets[1] with shift).</summary>
    private unsafe struct Pinned<T> where T : unmanaged
    {
        public T* Hidden, Weight, Bias, GradHidden, GradWeight, GradBias;
        public Half* HiddenHalf, WeightHalf;
        public int* Targets;
        public int BiasLength;
        /// <summary>Null, or one gradient factor per prediction used instead of the reduction's factor (the fused
        /// preference loss's ∂loss/∂log π of the row's sequence, negated).</summary>
        public double* RowScales;
        /// <summary>Null, or one per prediction: the per-row losses in double, as the kernel computed them.</summary>
        public double* RowLossesDouble;
        /// <summary>A forward-only call followed by a call with ∂H: the chunk buffer is rented at the size the second call
        /// needs (with the ∂H partial sums), so that the second call reuses it instead of allocating a larger one.</summary>
        public bool ReserveBackward;

        public readonly bool WantsGradient => GradHidden != null || GradWeight != null || GradBias != null;
    }

    /// <summary>Whole rows of logits, chunk by chunk: Z_c by vocabulary slices, the ce row kernel in place, then the
    /// backward GEMMs. Returns the sum of the per-row losses.</summary>
    private unsafe double WholeRows<T>(in Pinned<T> io, Span<T> rowLosses, int dim, int vocab, int n, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool wantGrad = io.WantsGradient, half = io.HiddenHalf != null;
        int chunk = ChunkRowsFor(n, vocab, dim, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        int threads = Parallelism.MaxThreads;
        int sliceWidth = SliceWidth(vocab, threads);
        int slices = (vocab + sliceWidth - 1) / sliceWidth;
        int groups = HiddenGroupCount(vocab);

        int partials = io.GradHidden == null && !io.ReserveBackward ? 0 : (groups - 1) * chunk * dim;
        T[] logits = ChunkBuffer<T>.Rent(chunk * vocab + partials + (half ? chunk * dim : 0));
        double[] losses = ArrayPool<double>.Shared.Rent(chunk);
        // The call's task object: this thread's kept one (a call allocates none once warm).
        ChunkGemms<T> gemms = PerThread<ChunkGemms<T>>.Take(static () => new ChunkGemms<T>());
        double total = 0;
        try
        {
            fixed (T* pLogits = logits)
            fixed (double* pLosses = losses)
            {
                var job = new RowJob<T>(this, pLogits, io.Bias, io.BiasLength, pLosses, vocab, wantGrad, ClassWeights<T>(), WeightSum(vocab), scale);
                gemms.Logits = pLogits;
                gemms.Partials = pLogits + (long)chunk * vocab;
                gemms.HiddenScratch = pLogits + (long)chunk * vocab + partials;
                (gemms.Dim, gemms.Vocab, gemms.SliceWidth, gemms.Groups) = (dim, vocab, sliceWidth, groups);
                gemms.Use(io);
                for (int c0 = 0; c0 < n; c0 += chunk)
                {
                    int r = Math.Min(chunk, n - c0);
                    gemms.First = c0;
                    gemms.Rows = r;
                    gemms.ConvertHiddenChunk();

                    // Z_c = H_c·Wᵀ slice by slice, then the ce row kernel turns each row into s·∂ℓ/∂z in place.
                    Parallelism.ForTasks(slices, new ChunkTasks<T>(gemms, ChunkPass.Forward));
                    job.Targets = io.Targets + c0;
                    job.Scales = io.RowScales == null ? null : io.RowScales + c0;
                    Parallelism.ForBlocks(r, vocab, job);
                    for (int i = 0; i < r; i++)
                    {
                        total += losses[i];
                        if (!rowLosses.IsEmpty) rowLosses[c0 + i] = T.CreateTruncating(losses[i]);
                        if (io.RowLossesDouble != null) io.RowLossesDouble[c0 + i] = losses[i];
                    }
                    if (!wantGrad) continue;

                    // ∂H_c = G_c·W (group partials), ∂W[slice] (+)= G_c[:, slice]ᵀ·H_c in chunk order, ∂b += Σ_rows G_c (G_c = s·∂ℓ/∂Z_c).
                    int hiddenTasks = io.GradHidden == null ? 0 : groups;
                    int sliceTasks = io.GradWeight == null && io.GradBias == null ? 0 : slices;
                    gemms.HiddenTasks = hiddenTasks;
                    Parallelism.ForTasks(hiddenTasks + sliceTasks, new ChunkTasks<T>(gemms, ChunkPass.Backward));
                    if (hiddenTasks > 0) gemms.AddHiddenPartials(groups);
                }
            }
        }
        finally
        {
            ChunkBuffer<T>.Return(logits);
            ArrayPool<double>.Shared.Return(losses);
            PerThread<ChunkGemms<T>>.Keep(gemms);
        }
        return total;
    }

    /// <summary>The end of every call: the unused last row of ∂H with shift cleared, the reduced loss.</summary>
    private T Finish<T>(double total, double scale, int predictions, int dim, Span<T> gradHidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!gradHidden.IsEmpty && Shift) gradHidden[(predictions * dim)..].Clear();
        return T.CreateTruncating(Reduction == Reduction.Mean ? total * scale : total);
    }

    /// <summary>The two passes of a chunk's tasks: the logits (or the vocabulary blocks' statistics), then the gradients.</summary>
    private enum ChunkPass { Forward, Backward }

    /// <summary>One pass of a chunk's tasks as a struct body of <see cref="Parallelism.ForTasks{TBody}"/> (no allocation):
    /// task i is <paramref name="work"/>'s task i of <paramref name="pass"/>.</summary>
    private readonly struct ChunkTasks<T>(ChunkInputs<T> work, ChunkPass pass) : Parallelism.IBlockBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Run(int task, int start, int end)
        {
            work.RunTask(pass, task);
            return 0;
        }
    }

    /// <summary>Where a chunk's inputs come from: H and W in T, or (Half input) converted chunk by chunk and slice by slice.</summary>
    private abstract unsafe class ChunkInputs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Hidden, Weight, GradHidden, GradWeight, GradBias, HiddenScratch;
        public Half* HiddenHalf, WeightHalf;
        public int Dim, Vocab, First, Rows;

        /// <summary>Takes the call's pinned inputs and outputs.</summary>
        public void Use(in Pinned<T> io)
        {
            Hidden = io.Hidden;
            Weight = io.Weight;
            HiddenHalf = io.HiddenHalf;
            WeightHalf = io.WeightHalf;
            GradHidden = io.GradHidden;
            GradWeight = io.GradWeight;
            GradBias = io.GradBias;
        }

        /// <summary>Task <paramref name="task"/> of <paramref name="pass"/> on the current chunk.</summary>
        public abstract void RunTask(ChunkPass pass, int task);

        /// <summary>Half input: converts the current chunk of H to float in <see cref="HiddenScratch"/>.</summary>
        public void ConvertHiddenChunk()
        {
            if (HiddenHalf != null)
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(HiddenHalf + (long)First * Dim, Rows * Dim), new Span<float>((float*)HiddenScratch, Rows * Dim));
        }

        /// <summary>∂H_c += the ∂H partial sums of groups 1..groups−1 (in <paramref name="partials"/>, R×d each), in group order.</summary>
        protected void AddPartials(T* partials, int groups)
        {
            var dh = new Span<T>(GradHidden + (long)First * Dim, Rows * Dim);
            for (int g = 1; g < groups; g++) TensorPrimitives.Add(dh, new ReadOnlySpan<T>(partials + (long)(g - 1) * Rows * Dim, Rows * Dim), dh);
        }

        /// <summary>The chunk's rows of H (R×d).</summary>
        protected ReadOnlySpan<T> HiddenChunk => HiddenHalf == null ? new(Hidden + (long)First * Dim, Rows * Dim) : new(HiddenScratch, Rows * Dim);

        /// <summary>Rows [j0, j0 + count) of W in T: the caller's own, or (Half input) converted into
        /// <paramref name="scratch"/>, rented here and returned by the caller.</summary>
        protected ReadOnlySpan<T> WeightRows(int j0, int count, ref T[]? scratch)
        {
            if (WeightHalf == null) return new(Weight + (long)j0 * Dim, count * Dim);
            scratch = ArrayPool<T>.Shared.Rent(count * Dim);
            Span<T> converted = scratch.AsSpan(0, count * Dim);
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(WeightHalf + (long)j0 * Dim, count * Dim), MemoryMarshal.Cast<T, float>(converted));
            return converted;
        }
    }

    /// <summary>The GEMMs of one chunk, as tasks over vocabulary slices (and ∂H groups).</summary>
    private sealed unsafe class ChunkGemms<T> : ChunkInputs<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Logits, Partials;
        public int SliceWidth, Groups, HiddenTasks;

        /// <summary>Forward: the logits of slice <paramref name="task"/>; backward: <see cref="Backward"/>'s task.</summary>
        public override void RunTask(ChunkPass pass, int task)
        {
            if (pass == ChunkPass.Forward) LogitsSlice(task);
            else Backward(task);
        }

        private (int Start, int Count) Slice(int s)
        {
            int j0 = s * SliceWidth;
            return (j0, Math.Min(SliceWidth, Vocab - j0));
        }

        /// <summary>Columns of vocabulary group g: [⌊g·V/G⌋₆₄, ⌊(g+1)·V/G⌋₆₄), the last ending at V.</summary>
        private (int Start, int Count) Group(int g)
        {
            int j0 = (int)((long)g * Vocab / Groups) / 64 * 64;
            int j1 = g + 1 == Groups ? Vocab : (int)((long)(g + 1) * Vocab / Groups) / 64 * 64;
            return (j0, j1 - j0);
        }

        private Span<T> Columns(int j0, int count) => new(Logits + j0, (Rows - 1) * Vocab + count);

        public void AddHiddenPartials(int groups) => AddPartials(Partials, groups);

        /// <summary>Z[:, slice] = H_c·W[slice]ᵀ.</summary>
        private void LogitsSlice(int s)
        {
            var (j0, count) = Slice(s);
            T[]? scratch = null;
            try
            {
                Gemm.Multiply<T>(HiddenChunk, Dim, WeightRows(j0, count, ref scratch), Dim, Columns(j0, count), Vocab,
                    Rows, count, Dim, transposeB: true);
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
        }

        /// <summary>Task i: ∂H group i (first <see cref="HiddenTasks"/>), else ∂W and ∂b of slice i − HiddenTasks.</summary>
        private void Backward(int i)
        {
            if (i < HiddenTasks)
            {
                // The group's product, accumulated over fixed sub-slices of at most MaxSliceColumns classes (the same
                // for float and Half input, so that Half input gives exactly float's results on the converted values).
                var (j0, count) = Group(i);
                T* c = i == 0 ? GradHidden + (long)First * Dim : Partials + (long)(i - 1) * Rows * Dim;
                for (int s0 = 0; s0 < count; s0 += MaxSliceColumns)
                {
                    int len = Math.Min(MaxSliceColumns, count - s0);
                    T[]? scratch = null;
                    try
                    {
                        Gemm.Multiply<T>(Columns(j0 + s0, len), Vocab, WeightRows(j0 + s0, len, ref scratch), Dim,
                            new Span<T>(c, Rows * Dim), Dim, Rows, Dim, len, beta: s0 == 0 ? T.Zero : T.One);
                    }
                    finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
                }
                return;
            }
            var (k0, cols) = Slice(i - HiddenTasks);
            if (GradWeight != null)
                Gemm.Multiply<T>(Columns(k0, cols), Vocab, HiddenChunk, Dim, new Span<T>(GradWeight + (long)k0 * Dim, cols * Dim), Dim,
                    cols, Dim, Rows, transposeA: true, beta: First == 0 ? T.Zero : T.One);
            if (GradBias != null)
            {
                var acc = new Span<T>(GradBias + k0, cols);
                if (First == 0) acc.Clear();
                for (int r = 0; r < Rows; r++) TensorPrimitives.Add(acc, new ReadOnlySpan<T>(Logits + (long)r * Vocab + k0, cols), acc);
            }
        }
    }

    /// <summary>A chunk buffer kept between calls (one per element type), so that repeated calls do not allocate.</summary>
    internal static class ChunkBuffer<T> where T : unmanaged
    {
        private static T[]? s_cached;

        public static T[] Rent(int length)
        {
            T[]? b = Interlocked.Exchange(ref s_cached, null);
            return b is not null && b.Length >= length ? b : GC.AllocateUninitializedArray<T>(Math.Max(length, 1));
        }

        public static void Return(T[] buffer)
        {
            T[]? old = s_cached;
            if (old is null || old.Length < buffer.Length) Interlocked.CompareExchange(ref s_cached, buffer, old);
        }
    }

    /// <summary>The ce row kernel over a block of a chunk's logit rows, in place: a struct body of the rows driver.</summary>
    private unsafe struct RowJob<T>(LinearCrossEntropyLoss owner, T* logits, T* bias, int biasLength, double* losses, int vocab,
        bool wantGrad, T[]? classWeights, double weightSum, double scale) : Parallelism.IBlockBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public int* Targets;
        /// <summary>Null (every row takes the reduction's factor), or the chunk's per-row gradient factors.</summary>
        public double* Scales;

        public readonly double Run(int block, int start, int end)
        {
            bool transform = owner.Softcap > 0 || owner.Temperature != 1;
            T[]? scratch = transform && wantGrad ? ArrayPool<T>.Shared.Rent(vocab) : null;
            try
            {
                var b = new ReadOnlySpan<T>(bias, biasLength);
                for (int r = start; r < end; r++)
                    losses[r] = owner.RowLoss(new Span<T>(logits + (long)r * vocab, vocab), b, Targets[r], wantGrad,
                        scratch is null ? default : scratch.AsSpan(0, vocab), classWeights, weightSum, Scales == null ? scale : Scales[r]);
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
            return 0;
        }
    }

    /// <summary>
    /// One row of logits z (without the bias yet): returns ce's loss and, when <paramref name="wantGrad"/>, overwrites
    /// z with <paramref name="scale"/>·∂ℓ/∂z (the reduced loss's gradient). The row goes through
    /// <see cref="CrossEntropyRow"/>, the kernel <see cref="Softmax.CrossEntropyLoss"/> uses, with exp(z − max) stored
    /// over z, so a row gives the same bits as <c>ce</c> on the same logits; an ignored row becomes zeros, a row whose
    /// logits are all −∞ gives +∞ and zeros, NaN or +∞ gives NaN.
    /// </summary>
    private double RowLoss<T>(Span<T> z, ReadOnlySpan<T> bias, int y, bool wantGrad, Span<T> scratch, T[]? classWeights, double weightSum,
        double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y == IgnoreIndex)
        {
            if (wantGrad) z.Clear();
            return 0;
        }
        if (!bias.IsEmpty) TensorPrimitives.Add(z, bias, z);
        bool transform = Softcap > 0 || Temperature != 1;
        if (transform)
        {
            SoftcapTemperature.Apply<T>(z, z, Softcap, Temperature);
            if (wantGrad) z.CopyTo(scratch);
        }
        var setup = new RowSetup<T> { Weights = classWeights, WeightSum = weightSum, Scale = scale, ExpOverwritesLogits = true };
        var terms = new CrossEntropyTerms<T>(Smoothing, LseSquared);
        Span<T> g = wantGrad ? z : default;
        if (CrossEntropyRow.Evaluate(z, y, default, _weight is null ? 1 : _weight[y], g, g, default, setup, ref terms, out double loss)
            && wantGrad && transform)
            SoftcapTemperature.Chain(z, scratch, Softcap, Temperature);
        return loss;
    }
}
