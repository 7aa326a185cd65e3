using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using VecRow = LossKit.Numerics.Row;

namespace LossKit.Large;

public sealed partial class LinearCrossEntropyLoss
{
    /// <summary>Columns of ∂b summed per parallel work item.</summary>
    private const int BiasColumnsPerItem = 4096;

    private unsafe T Fused<T>(ReadOnlySpan<T> hidden, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, int rows, int dim, int vocab,
        ReadOnlySpan<int> targets, Span<T> rowLosses, Span<T> gradHidden, Span<T> gradWeight, Span<T> gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"linear_ce computes in float or double, not {typeof(T).Name}.");
        var (n, denominator) = Validate(hidden.Length, weight.Length, bias.Length, rows, dim, vocab, targets, rowLosses.Length,
            gradHidden.Length, gradWeight.Length, gradBias.Length);
        double scale = ReductionScale(denominator);
        bool wantGrad = !gradHidden.IsEmpty || !gradWeight.IsEmpty || !gradBias.IsEmpty;
        int chunk = ChunkRowsFor(n, vocab, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        int offset = Shift ? 1 : 0;

        T[] logits = ArrayPool<T>.Shared.Rent(chunk * vocab);
        double[] losses = ArrayPool<double>.Shared.Rent(chunk);
        T[]? classWeights = _weight?.Select(T.CreateTruncating).ToArray();
        double total = 0;
        try
        {
            fixed (T* pLogits = logits)
            fixed (T* pBias = bias)
            fixed (int* pTargets = targets)
            fixed (double* pLosses = losses)
            fixed (T* pGradBias = gradBias)
            {
                var job = new RowJob<T>(this, pLogits, pBias, bias.Length, pLosses, vocab, wantGrad, classWeights, WeightSum(vocab));
                var sums = new BiasJob<T>(pLogits, pGradBias, vocab);
                for (int c0 = 0; c0 < n; c0 += chunk)
                {
                    int r = Math.Min(chunk, n - c0);
                    Span<T> z = logits.AsSpan(0, r * vocab);
                    ReadOnlySpan<T> hc = hidden.Slice(c0 * dim, r * dim);

                    // Z_c = H_c·Wᵀ, then the ce row kernel turns each row into ∂ℓ/∂z in place.
                    Multiply<T>(hc, weight, z, r, vocab, dim, transposeB: true);
                    job.Targets = pTargets + offset + c0;
                    Parallelism.ForBlocks(r, vocab, job.Rows);
                    for (int i = 0; i < r; i++)
                    {
                        total += losses[i];
                        if (!rowLosses.IsEmpty) rowLosses[c0 + i] = T.CreateTruncating(losses[i]);
                    }
                    if (!wantGrad) continue;

                    // ∂H_c = s·G_c·W; ∂W (+)= s·G_cᵀ·H_c in chunk order; ∂b += Σ_rows G_c (scaled by s at the end).
                    if (!gradHidden.IsEmpty) Multiply<T>(z, weight, gradHidden.Slice(c0 * dim, r * dim), r, dim, vocab, alpha: scale);
                    if (!gradWeight.IsEmpty) Multiply<T>(z, hc, gradWeight, vocab, dim, r, transposeA: true, alpha: scale, beta: c0 == 0 ? 0 : 1);
                    if (!gradBias.IsEmpty)
                    {
                        if (c0 == 0) gradBias.Clear();
                        sums.Rows = r;
                        Parallelism.ForBlocks((vocab + BiasColumnsPerItem - 1) / BiasColumnsPerItem, 32_768, sums.Columns);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(logits);
            ArrayPool<double>.Shared.Return(losses);
        }
        if (!gradBias.IsEmpty && scale != 1) TensorPrimitives.Multiply(gradBias, T.CreateTruncating(scale), gradBias);
        if (!gradHidden.IsEmpty && Shift) gradHidden[(n * dim)..].Clear();
        return T.CreateTruncating(Reduction == Reduction.Mean ? total * scale : total);
    }

    /// <summary>The ce row kernel over a block of a chunk's logit rows, in place.</summary>
    private sealed unsafe class RowJob<T>(LinearCrossEntropyLoss owner, T* logits, T* bias, int biasLength, double* losses, int vocab,
        bool wantGrad, T[]? classWeights, double weightSum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public int* Targets;

        public void Rows(int block, int start, int end)
        {
            bool transform = owner.Softcap > 0 || owner.Temperature != 1;
            T[]? scratch = transform && wantGrad ? ArrayPool<T>.Shared.Rent(vocab) : null;
            try
            {
                var b = new ReadOnlySpan<T>(bias, biasLength);
                for (int r = start; r < end; r++)
                    losses[r] = owner.RowLoss(new Span<T>(logits + (long)r * vocab, vocab), b, Targets[r], wantGrad,
                        scratch is null ? default : scratch.AsSpan(0, vocab), classWeights, weightSum);
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
        }
    }

    /// <summary>∂b += Σ over a chunk's rows of G, parallel over column ranges; each column is summed in row order,
    /// so the result does not depend on the partition.</summary>
    private sealed unsafe class BiasJob<T>(T* gradient, T* gradBias, int vocab) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public int Rows;

        public void Columns(int block, int start, int end)
        {
            for (int item = start; item < end; item++)
            {
                int j0 = item * BiasColumnsPerItem, len = Math.Min(BiasColumnsPerItem, vocab - j0);
                var acc = new Span<T>(gradBias + j0, len);
                for (int r = 0; r < Rows; r++) TensorPrimitives.Add(acc, new ReadOnlySpan<T>(gradient + (long)r * vocab + j0, len), acc);
            }
        }
    }

    /// <summary>
    /// One row of logits z (without the bias yet): returns ce's loss and, when <paramref name="wantGrad"/>, overwrites
    /// z with ∂ℓ/∂z (unscaled: the sum's gradient). The same math as <see cref="Classification.CrossEntropyLoss"/>
    /// (target logit and smoothing sum read before the Σexp pass stores exp(z − max) over z); an ignored row becomes
    /// zeros, a row whose logits are all −∞ gives +∞ and zeros, NaN or +∞ gives NaN.
    /// </summary>
    private double RowLoss<T>(Span<T> z, ReadOnlySpan<T> bias, int y, bool wantGrad, Span<T> scratch, T[]? classWeights, double weightSum)
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
            Transform(z);
            if (wantGrad) z.CopyTo(scratch);
        }
        T max = VecRow.Max<T>(z);
        if (!T.IsFinite(max))
        {
            bool allMasked = T.IsNegativeInfinity(max);
            if (wantGrad)
            {
                if (allMasked) z.Clear();
                else z.Fill(T.NaN);
            }
            return allMasked ? double.PositiveInfinity : double.NaN;
        }
        double eps = Smoothing, k = z.Length, m = double.CreateTruncating(max);
        double zy = double.CreateTruncating(z[y]);
        double weightedLogitSum = 0;
        if (eps > 0)
            weightedLogitSum = double.CreateTruncating(classWeights is null ? VecRow.SumShifted<T>(z, max) : VecRow.MaskedDot<T>(classWeights, z, max));
        T sumExp = VecRow.SumExp<T>(z, max, wantGrad ? z : default);
        double lse = m + Math.Log(double.CreateTruncating(sumExp));
        double wy = _weight is null ? 1 : _weight[y];
        double hard = (1 - eps) * wy;
        double loss = (hard != 0 ? hard * (lse - zy) : 0) + LseSquared * lse * lse;
        if (eps > 0) loss += eps / k * (weightSum * (lse - m) - weightedLogitSum);
        if (wantGrad)
        {
            double a = hard + eps / k * weightSum + 2 * LseSquared * lse;
            VecRow.ScaleInPlace(z, T.CreateTruncating(a / double.CreateTruncating(sumExp)), streaming: false);
            if (hard != 0) z[y] -= T.CreateTruncating(hard);
            if (eps > 0)
            {
                if (classWeights is null) TensorPrimitives.Add(z, T.CreateTruncating(-eps / k), z);
                else VecRow.AddScaled(z, T.CreateTruncating(-eps / k), classWeights);
            }
            if (transform) ChainTransform(z, scratch);
        }
        return loss;
    }

    /// <summary>z ← c·tanh(z/c)/T (softcap, then temperature), in place.</summary>
    private void Transform<T>(Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double c = Softcap, temperature = Temperature;
        if (c > 0)
        {
            TensorPrimitives.Multiply(z, T.CreateTruncating(1 / c), z);
            TensorPrimitives.Tanh(z, z);
            TensorPrimitives.Multiply(z, T.CreateTruncating(c / temperature), z);
        }
        else TensorPrimitives.Multiply(z, T.CreateTruncating(1 / temperature), z);
    }

    /// <summary>g ← g·dz'/dz with dz'/dz = (1 − tanh²(z/c))/T; <paramref name="transformed"/> holds z' and is overwritten.</summary>
    private void ChainTransform<T>(Span<T> g, Span<T> transformed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double c = Softcap, temperature = Temperature;
        if (c > 0)
        {
            TensorPrimitives.Multiply(transformed, T.CreateTruncating(temperature / c), transformed);
            TensorPrimitives.Multiply(transformed, transformed, transformed);
            TensorPrimitives.Subtract(T.One, transformed, transformed);
            TensorPrimitives.Multiply(g, transformed, g);
        }
        TensorPrimitives.Multiply(g, T.CreateTruncating(1 / temperature), g);
    }
}
