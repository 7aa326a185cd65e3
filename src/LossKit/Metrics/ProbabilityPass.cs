using System.Buffers;
using System.Numerics;
using LossKit.Kernels;

namespace LossKit.Metrics;

/// <summary>
/// One pass over validated logits that gathers every softmax-based statistic the metrics need. Rows are processed
/// in chunks: converted to double, then softmax and log-softmax in one pass of the row softmax kernel
/// (max-subtracted, so ±1e30 and −∞ logits are fine), so memory stays bounded apart from the per-row arrays that
/// adaptive binning needs.
/// </summary>
internal sealed class ProbabilityPass
{
    [Flags]
    public enum Needs
    {
        None = 0,
        Nll = 1,
        Brier = 2,
        TopLabelBins = 4,
        ClasswiseBins = 8,
        Confidences = 16,
    }

    public int Rows { get; private init; }
    public int Classes { get; private init; }
    public int Bins { get; private init; }

    /// <summary>First row whose softmax is undefined (a NaN or +∞ logit, or all −∞), or −1.
    /// Only tracked when a softmax-based statistic was requested.</summary>
    public int FirstUndefinedRow { get; private set; } = -1;

    public double NllSum { get; private set; }
    public double BrierSum { get; private set; }

    // Top-label (max-probability) equal-width bins.
    public int[] TopCount { get; private init; } = [];
    public double[] TopConfidence { get; private init; } = [];
    public int[] TopHits { get; private init; } = [];

    // Class-wise bins, [classes, bins] row-major.
    public int[] ClassCount { get; private init; } = [];
    public double[] ClassConfidence { get; private init; } = [];
    public int[] ClassHits { get; private init; } = [];

    // Per-row top-label confidence and correctness (for adaptive binning).
    public double[] Confidence { get; private init; } = [];
    public bool[] Hit { get; private init; } = [];

    private const int ChunkElements = 1 << 16;

    public static ProbabilityPass Run<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, int bins, Needs needs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = logits.Length / classes;
        bool top = (needs & Needs.TopLabelBins) != 0, cw = (needs & Needs.ClasswiseBins) != 0;
        bool conf = (needs & Needs.Confidences) != 0, brier = (needs & Needs.Brier) != 0, nll = (needs & Needs.Nll) != 0;
        bool softmax = top || cw || conf || brier;
        var pass = new ProbabilityPass
        {
            Rows = rows,
            Classes = classes,
            Bins = bins,
            TopCount = top ? new int[bins] : [],
            TopConfidence = top ? new double[bins] : [],
            TopHits = top ? new int[bins] : [],
            ClassCount = cw ? new int[classes * bins] : [],
            ClassConfidence = cw ? new double[classes * bins] : [],
            ClassHits = cw ? new int[classes * bins] : [],
            Confidence = conf ? new double[rows] : [],
            Hit = conf ? new bool[rows] : [],
        };

        int chunkRows = Math.Max(1, ChunkElements / classes);
        int chunkLength = Math.Min(rows, chunkRows) * classes;
        double[] zBuf = ArrayPool<double>.Shared.Rent(chunkLength);
        double[]? pBuf = softmax ? ArrayPool<double>.Shared.Rent(chunkLength) : null;
        double[]? lpBuf = nll ? ArrayPool<double>.Shared.Rent(chunkLength) : null;
        try
        {
            double nllSum = 0, brierSum = 0;
            for (int start = 0; start < rows; start += chunkRows)
            {
                int n = Math.Min(chunkRows, rows - start);
                ReadOnlySpan<T> src = logits.Slice(start * classes, n * classes);
                Span<double> z = zBuf.AsSpan(0, n * classes);
                for (int i = 0; i < z.Length; i++) z[i] = double.CreateTruncating(src[i]);
                Span<double> p = pBuf is null ? default : pBuf.AsSpan(0, n * classes);
                Span<double> lp = lpBuf is null ? default : lpBuf.AsSpan(0, n * classes);
                SoftmaxRows(z, classes, p, lp);

                for (int r = 0; r < n; r++)
                {
                    int row = start + r, y = labels[row];
                    if (nll) nllSum -= lp[r * classes + y];
                    if (!softmax) continue;

                    ReadOnlySpan<double> pr = p.Slice(r * classes, classes);
                    if (pass.FirstUndefinedRow < 0 && MetricInput.AnyNaN(pr)) pass.FirstUndefinedRow = row;
                    if (brier)
                    {
                        double s = 0;
                        for (int k = 0; k < classes; k++)
                        {
                            double d = pr[k] - (k == y ? 1.0 : 0.0);
                            s += d * d;
                        }
                        brierSum += s;
                    }
                    if (top || conf)
                    {
                        int pred = MetricInput.ArgMax<double>(z.Slice(r * classes, classes));
                        double c = pr[pred];
                        bool hit = pred == y;
                        if (top && !double.IsNaN(c))
                        {
                            int b = MetricInput.BinOf(c, bins);
                            pass.TopCount[b]++;
                            pass.TopConfidence[b] += c;
                            if (hit) pass.TopHits[b]++;
                        }
                        if (conf)
                        {
                            pass.Confidence[row] = c;
                            pass.Hit[row] = hit;
                        }
                    }
                    if (cw)
                    {
                        for (int k = 0; k < classes; k++)
                        {
                            double pk = pr[k];
                            if (double.IsNaN(pk)) continue;
                            int at = k * bins + MetricInput.BinOf(pk, bins);
                            pass.ClassCount[at]++;
                            pass.ClassConfidence[at] += pk;
                            if (k == y) pass.ClassHits[at]++;
                        }
                    }
                }
            }
            pass.NllSum = nllSum;
            pass.BrierSum = brierSum;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(zBuf);
            if (pBuf is not null) ArrayPool<double>.Shared.Return(pBuf);
            if (lpBuf is not null) ArrayPool<double>.Shared.Return(lpBuf);
        }
        return pass;
    }

    /// <summary>Softmax p and log-softmax lp of each row of z (either may be empty) in one pass of the row softmax kernel
    /// (<see cref="Row.Softmax{T}"/>), in parallel over rows; a row whose max is not finite (NaN, +∞, all −∞) gets NaN.</summary>
    private static unsafe void SoftmaxRows(ReadOnlySpan<double> z, int classes, Span<double> p, Span<double> lp)
    {
        if (p.IsEmpty && lp.IsEmpty) return;
        fixed (double* pz = z, pp = p, plp = lp)
        {
            nint iz = (nint)pz, ip = (nint)pp, ilp = (nint)plp;
            bool hasP = !p.IsEmpty, hasLp = !lp.IsEmpty;
            Parallelism.ForBlocks(z.Length / classes, classes, (_, start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    long offset = (long)r * classes;
                    var row = new ReadOnlySpan<double>((double*)iz + offset, classes);
                    Span<double> pr = hasP ? new Span<double>((double*)ip + offset, classes) : default;
                    Span<double> lpr = hasLp ? new Span<double>((double*)ilp + offset, classes) : default;
                    double max = Row.Max(row);
                    if (double.IsFinite(max)) Row.Softmax(row, max, pr, lpr);
                    else
                    {
                        pr.Fill(double.NaN);
                        lpr.Fill(double.NaN);
                    }
                }
            });
        }
    }

    private bool Undefined => FirstUndefinedRow >= 0;

    public double MeanNll => NllSum / Rows;

    public double MeanBrier => Undefined ? double.NaN : BrierSum / Rows;

    /// <summary>Σ_b (n_b/N)|acc_b − conf_b| = Σ_b |hits_b − Σconf_b| / N over the top-label bins.</summary>
    public double Ece => Undefined ? double.NaN : WeightedGap(TopCount, TopConfidence, TopHits, 0, Bins, Rows);

    /// <summary>max_b |acc_b − conf_b| over non-empty top-label bins.</summary>
    public double Mce
    {
        get
        {
            if (Undefined) return double.NaN;
            double max = 0;
            for (int b = 0; b < Bins; b++)
            {
                if (TopCount[b] == 0) continue;
                double gap = Math.Abs((double)TopHits[b] / TopCount[b] - TopConfidence[b] / TopCount[b]);
                if (gap > max) max = gap;
            }
            return max;
        }
    }

    /// <summary>(1/K) Σ_k Σ_b (n_kb/N)|acc_kb − conf_kb|.</summary>
    public double ClasswiseEce
    {
        get
        {
            if (Undefined) return double.NaN;
            double sum = 0;
            for (int k = 0; k < Classes; k++) sum += WeightedGap(ClassCount, ClassConfidence, ClassHits, k * Bins, Bins, Rows);
            return sum / Classes;
        }
    }

    /// <summary>Equal-mass top-label bins: rows sorted by confidence (ties by row index) and cut into B contiguous
    /// groups, group b holding sorted positions [⌊bN/B⌋, ⌊(b+1)N/B⌋).</summary>
    public double AdaptiveEce
    {
        get
        {
            if (Undefined) return double.NaN;
            int n = Rows;
            int[] order = new int[n];
            for (int i = 0; i < n; i++) order[i] = i;
            double[] c = Confidence;
            Array.Sort(order, (a, b) =>
            {
                int cmp = c[a].CompareTo(c[b]);
                return cmp != 0 ? cmp : a.CompareTo(b);
            });
            double total = 0;
            for (int b = 0; b < Bins; b++)
            {
                int lo = (int)((long)b * n / Bins), hi = (int)((long)(b + 1) * n / Bins);
                if (hi == lo) continue;
                double confSum = 0;
                int hits = 0;
                for (int i = lo; i < hi; i++)
                {
                    confSum += c[order[i]];
                    if (Hit[order[i]]) hits++;
                }
                total += Math.Abs(hits - confSum);
            }
            return total / n;
        }
    }

    public ReliabilityBin[] Diagram()
    {
        var result = new ReliabilityBin[Bins];
        for (int b = 0; b < Bins; b++)
        {
            int count = TopCount[b];
            result[b] = new ReliabilityBin(
                (double)b / Bins,
                (double)(b + 1) / Bins,
                count,
                count == 0 ? double.NaN : TopConfidence[b] / count,
                count == 0 ? double.NaN : (double)TopHits[b] / count);
        }
        return result;
    }

    private static double WeightedGap(int[] count, double[] confidence, int[] hits, int offset, int bins, int rows)
    {
        double sum = 0;
        for (int b = offset; b < offset + bins; b++)
            if (count[b] > 0) sum += Math.Abs(hits[b] - confidence[b]);
        return sum / rows;
    }
}
