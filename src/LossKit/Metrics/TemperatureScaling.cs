using System.Numerics;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Metrics;

/// <summary>
/// Temperature scaling (Guo, Pleiss, Sun &amp; Weinberger 2017, "On calibration of modern neural networks"): a single
/// T &gt; 0 fitted on held-out logits so that softmax(z / T) minimises the mean negative log-likelihood. Dividing by T
/// does not change the arg-max, so accuracy is unchanged; T &gt; 1 softens over-confident predictions.
/// </summary>
/// <remarks>
/// <para><b>Method.</b> With u = 1/T, NLL(u) = (1/N) Σ_i [logsumexp(u·z_i) − u·z_{i,y_i}] is convex in u, with
/// NLL′(u) = (1/N) Σ_i (E_{p_i(u)}[z_i] − z_{i,y_i}) and NLL″(u) = (1/N) Σ_i Var_{p_i(u)}[z_i] ≥ 0, so the minimiser is the
/// root of the non-decreasing NLL′. <see cref="Fit{T}"/> brackets the root in u ∈ [1e-3, 1e3] (T ∈
/// [<see cref="MinTemperature"/>, <see cref="MaxTemperature"/>]) and runs Newton steps on NLL′, falling back to
/// geometric bisection of the bracket whenever a Newton step would leave it. It stops when a step or the bracket is
/// below a relative 1e-10 of u (so T is found to about 1e-10 relative, limited in practice by the rounding of the
/// double sums). Everything is computed in double from row-max-shifted logits, so logits of ±1e30 and −∞ entries are
/// fine.</para>
/// <para><b>Edge cases.</b> If the optimum lies outside the interval the nearest end is returned (1e-3 for data the
/// logits already separate perfectly, where NLL keeps falling as T → 0; 1e3 when the labels disagree with the logits).
/// If NLL does not depend on T at all (every row's logits equal) 1 is returned. Rows whose true-class logit is −∞ have
/// infinite NLL at every temperature, so they do not influence the fit and are left out; if no row remains, 1 is
/// returned.</para>
/// </remarks>
public static class TemperatureScaling
{
    /// <summary>Smallest temperature <see cref="Fit{T}"/> returns.</summary>
    public const double MinTemperature = 1e-3;

    /// <summary>Largest temperature <see cref="Fit{T}"/> returns.</summary>
    public const double MaxTemperature = 1e3;

    private const double RelativeTolerance = 1e-10;

    /// <summary>Fits T &gt; 0 minimising the mean NLL of softmax(z / T) on held-out <paramref name="logits"/>
    /// <c>[rows, classes]</c> with true <paramref name="labels"/>.</summary>
    /// <returns>T in [<see cref="MinTemperature"/>, <see cref="MaxTemperature"/>].</returns>
    /// <exception cref="ArgumentException">Bad shape or labels (see <see cref="ClassificationMetrics"/>), or a NaN or +∞
    /// logit (a <see cref="RowException"/> naming <c>logits</c>, the row, the class and the value).</exception>
    public static double Fit<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var problem = Problem.Create(logits, classes, labels);
        if (problem.ActiveRows == 0) return 1;

        double lo = 1 / MaxTemperature, hi = 1 / MinTemperature;
        double gLo = problem.Evaluate(lo).Gradient, gHi = problem.Evaluate(hi).Gradient;
        if (gLo >= 0 && gHi <= 0) return 1;         // NLL′ ≡ 0: every temperature is as good
        if (gLo >= 0) return MaxTemperature;        // NLL increasing in u throughout: minimum at the smallest u
        if (gHi <= 0) return MinTemperature;        // NLL decreasing in u throughout: minimum at the largest u

        double u = 1;
        for (int iteration = 0; iteration < 200; iteration++)
        {
            var (_, g, h) = problem.Evaluate(u);
            if (g == 0) break;
            if (g < 0) lo = u; else hi = u;
            double next = h > 0 ? u - g / h : double.NaN;
            if (!(next > lo && next < hi)) next = Math.Sqrt(lo * hi);
            bool done = Math.Abs(next - u) <= RelativeTolerance * u || hi - lo <= RelativeTolerance * hi;
            u = next;
            if (done) break;
        }
        return 1 / u;
    }

    /// <summary>Mean negative log-likelihood (1/N) Σ_i −log softmax(z_i / T)_{y_i}, computed stably in double.</summary>
    /// <remarks>A row whose true-class logit is −∞ contributes +∞. A NaN or +∞ logit throws, as for <see cref="Fit{T}"/>.</remarks>
    public static double NegativeLogLikelihood<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels, double temperature)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckTemperature(temperature);
        var problem = Problem.Create(logits, classes, labels);
        if (problem.ActiveRows < problem.Rows) return double.PositiveInfinity;
        return problem.Evaluate(1 / temperature).Value;
    }

    /// <summary>Writes z / T into <paramref name="destination"/> (same length as <paramref name="logits"/>; it may be
    /// the same memory). −∞ stays −∞ and NaN stays NaN.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not a finite value &gt; 0.</exception>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static void Apply<T>(ReadOnlySpan<T> logits, double temperature, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckTemperature(temperature);
        if (destination.Length != logits.Length)
            throw new ArgumentException(
                $"destination has {destination.Length} values but logits has {logits.Length}; expected the same length ({logits.Length}).",
                nameof(destination));
        for (int i = 0; i < logits.Length; i++)
            destination[i] = T.CreateTruncating(double.CreateTruncating(logits[i]) / temperature);
    }

    private static void CheckTemperature(double temperature)
    {
        if (!(temperature > 0) || double.IsPositiveInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature,
                $"temperature is {temperature}; expected a finite value greater than 0.");
    }

    /// <summary>Logits shifted by their row maximum (d_ij = z_ij − max_j z_ij ≤ 0), with the rows that take part.</summary>
    private sealed class Problem
    {
        public required double[] Shifted { get; init; }
        public required int[] Labels { get; init; }
        public required int Classes { get; init; }
        public required int Rows { get; init; }
        public required int ActiveRows { get; init; }

        public static Problem Create<T>(ReadOnlySpan<T> logits, int classes, ReadOnlySpan<int> labels)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            int rows = MetricInput.Validate(logits, classes, labels);
            var shifted = new double[rows * classes];
            var active = new List<int>(rows);
            int kept = 0;
            for (int r = 0; r < rows; r++)
            {
                double max = double.NegativeInfinity;
                for (int j = 0; j < classes; j++)
                {
                    double v = double.CreateTruncating(logits[r * classes + j]);
                    if (double.IsNaN(v) || double.IsPositiveInfinity(v))
                        throw new RowException(nameof(logits), r,
                            $"logits at row {r}, class {j} is {v}; temperature scaling expects finite logits (−∞ is allowed).");
                    if (v > max) max = v;
                }
                int y = labels[r];
                if (double.IsNegativeInfinity(double.CreateTruncating(logits[r * classes + y]))) continue;
                for (int j = 0; j < classes; j++)
                    shifted[kept * classes + j] = double.CreateTruncating(logits[r * classes + j]) - max;
                active.Add(y);
                kept++;
            }
            return new Problem { Shifted = shifted, Labels = [.. active], Classes = classes, Rows = rows, ActiveRows = kept };
        }

        /// <summary>Mean over the active rows of NLL(u), NLL′(u) and NLL″(u), summed per block and combined in block
        /// order so the result does not depend on the thread count.</summary>
        public (double Value, double Gradient, double Curvature) Evaluate(double u)
        {
            int classes = Classes, n = ActiveRows;
            double[] d = Shifted;
            int[] labels = Labels;
            int blocks = Parallelism.BlockCount(n, classes);
            var partial = new double[blocks * 3];
            Parallelism.ForBlocks(n, classes, (block, start, end) =>
            {
                double f = 0, g = 0, h = 0;
                for (int r = start; r < end; r++)
                {
                    var row = new ReadOnlySpan<double>(d, r * classes, classes);
                    double sum = 0, weighted = 0;
                    for (int j = 0; j < classes; j++)
                    {
                        double w = Math.Exp(u * row[j]);
                        if (w == 0) continue; // also skips −∞ entries, whose 0·(−∞) would be NaN
                        sum += w;
                        weighted += w * row[j];
                    }
                    double mean = weighted / sum, variance = 0;
                    for (int j = 0; j < classes; j++)
                    {
                        double w = Math.Exp(u * row[j]);
                        if (w == 0) continue;
                        double dev = row[j] - mean;
                        variance += w * dev * dev;
                    }
                    double dy = row[labels[r]];
                    f += Math.Log(sum) - u * dy;
                    g += mean - dy;
                    h += variance / sum;
                }
                partial[3 * block] = f;
                partial[3 * block + 1] = g;
                partial[3 * block + 2] = h;
            });
            double fs = 0, gs = 0, hs = 0;
            for (int b = 0; b < blocks; b++)
            {
                fs += partial[3 * b];
                gs += partial[3 * b + 1];
                hs += partial[3 * b + 2];
            }
            return (fs / n, gs / n, hs / n);
        }
    }
}
