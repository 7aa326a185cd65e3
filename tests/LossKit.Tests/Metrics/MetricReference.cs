

namespace LossKit.Tests.Metrics;

/// <summary>
/// Slow, obviously-correct reference implementations and data generators for the metric tests. Everything is written
/// as plain loops over doubles, independent of the library's kernels.
/// </summary>
internal static class MetricReference
{
    public static double[] Softmax(double[] logits, int classes)
    {
        int rows = logits.Length / classes;
        var p = new double[logits.Length];
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < classes; k++) max = Math.Max(max, logits[r * classes + k]);
            double sum = 0;
            for (int k = 0; k < classes; k++) sum += Math.Exp(logits[r * classes + k] - max);
            for (int k = 0; k < classes; k++) p[r * classes + k] = Math.Exp(logits[r * classes + k] - max) / sum;
        }
        return p;
    }

    public static int ArgMax(double[] logits, int classes, int row)
    {
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (logits[row * classes + k] > logits[row * classes + best]) best = k;
        return best;
    }

    public static double Nll(double[] logits, int classes, int[] labels)
    {
        int rows = labels.Length;
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int k = 0; k < classes; k++) max = Math.Max(max, logits[r * classes + k]);
            double sum = 0;
            for (int k = 0; k < classes; k++) sum += Math.Exp(logits[r * classes + k] - max);
            total += max + Math.Log(sum) - logits[r * classes + labels[r]];
        }
        return total / rows;
    }

    public static double Brier(double[] logits, int classes, int[] labels)
    {
        double[] p = Softmax(logits, classes);
        double total = 0;
        for (int r = 0; r < labels.Length; r++)
            for (int k = 0; k < classes; k++)
            {
                double target = labels[r] == k ? 1 : 0;
                total += (p[r * classes + k] - target) * (p[r * classes + k] - target);
            }
        return total / labels.Length;
    }

    public static double TopK(double[] logits, int classes, int[] labels, int k)
    {
        // Sort class indices by (logit descending, index ascending) and look for the label among the first k.
        int correct = 0;
        for (int r = 0; r < labels.Length; r++)
        {
            var order = Enumerable.Range(0, classes)
                .OrderByDescending(j => logits[r * classes + j]).ThenBy(j => j).Take(k);
            if (order.Contains(labels[r])) correct++;
        }
        return (double)correct / labels.Length;
    }

    public static double MacroF1(double[] logits, int classes, int[] labels)
    {
        int[] pred = Enumerable.Range(0, labels.Length).Select(r => ArgMax(logits, classes, r)).ToArray();
        var present = labels.Concat(pred).Distinct().OrderBy(c => c).ToList();
        double sum = 0;
        foreach (int c in present)
        {
            int tp = 0, fp = 0, fn = 0;
            for (int r = 0; r < labels.Length; r++)
            {
                if (pred[r] == c && labels[r] == c) tp++;
                else if (pred[r] == c) fp++;
                else if (labels[r] == c) fn++;
            }
            double precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
            double recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
            sum += precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        }
        return sum / present.Count;
    }

    /// <summary>Equal-width bin membership straight from the documented convention: bin b is (b/B, (b+1)/B], and a
    /// value of exactly 0 belongs to bin 0.</summary>
    public static bool InBin(double c, int b, int bins)
    {
        double lower = (double)b / bins, upper = (double)(b + 1) / bins;
        return (c > lower && c <= upper) || (b == 0 && c == 0);
    }

    /// <summary>ECE, MCE and the per-bin (count, mean confidence, accuracy), looping over bins and then over every row.</summary>
    public static (double Ece, double Mce, (int Count, double Conf, double Acc)[] PerBin) TopLabel(double[] logits, int classes, int[] labels, int bins)
    {
        double[] p = Softmax(logits, classes);
        int rows = labels.Length;
        double ece = 0, mce = 0;
        var perBin = new (int, double, double)[bins];
        for (int b = 0; b < bins; b++)
        {
            int count = 0, hits = 0;
            double confSum = 0;
            for (int r = 0; r < rows; r++)
            {
                int pred = ArgMax(logits, classes, r);
                double c = p[r * classes + pred];
                if (!InBin(c, b, bins)) continue;
                count++;
                confSum += c;
                if (pred == labels[r]) hits++;
            }
            if (count == 0) { perBin[b] = (0, double.NaN, double.NaN); continue; }
            double acc = (double)hits / count, conf = confSum / count;
            perBin[b] = (count, conf, acc);
            ece += (double)count / rows * Math.Abs(acc - conf);
            mce = Math.Max(mce, Math.Abs(acc - conf));
        }
        return (ece, mce, perBin);
    }

    public static double Adaptive(double[] logits, int classes, int[] labels, int bins)
    {
        double[] p = Softmax(logits, classes);
        int rows = labels.Length;
        var sorted = Enumerable.Range(0, rows)
            .Select(r => (Row: r, Pred: ArgMax(logits, classes, r)))
            .Select(t => (t.Row, Conf: p[t.Row * classes + t.Pred], Hit: t.Pred == labels[t.Row]))
            .OrderBy(t => t.Conf).ThenBy(t => t.Row).ToArray();
        double ace = 0;
        for (int b = 0; b < bins; b++)
        {
            var group = sorted.Skip(b * rows / bins).Take((b + 1) * rows / bins - b * rows / bins).ToArray();
            if (group.Length == 0) continue;
            double acc = group.Count(t => t.Hit) / (double)group.Length, conf = group.Average(t => t.Conf);
            ace += (double)group.Length / rows * Math.Abs(acc - conf);
        }
        return ace;
    }

    public static double Classwise(double[] logits, int classes, int[] labels, int bins)
    {
        double[] p = Softmax(logits, classes);
        int rows = labels.Length;
        double total = 0;
        for (int k = 0; k < classes; k++)
        {
            double ece = 0;
            for (int b = 0; b < bins; b++)
            {
                int count = 0, hits = 0;
                double confSum = 0;
                for (int r = 0; r < rows; r++)
                {
                    double c = p[r * classes + k];
                    if (!InBin(c, b, bins)) continue;
                    count++;
                    confSum += c;
                    if (labels[r] == k) hits++;
                }
                if (count > 0) ece += (double)count / rows * Math.Abs((double)hits / count - confSum / count);
            }
            total += ece;
        }
        return total / classes;
    }

    /// <summary>AUROC by comparing every positive with every negative: 1 for a win, ½ for a tie.</summary>
    public static double PairwiseAuroc(double[] scores, int[] labels)
    {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (labels[i] != 1) continue;
            for (int j = 0; j < scores.Length; j++)
            {
                if (labels[j] != 0) continue;
                pairs++;
                if (scores[i] > scores[j]) wins += 1;
                else if (scores[i] == scores[j]) wins += 0.5;
            }
        }
        return wins / pairs;
    }

    /// <summary>Random logits N(0, scale²) and labels drawn from softmax(logits) itself, so the probabilities are
    /// calibrated by construction.</summary>
    public static (double[] Logits, int[] Labels) Calibrated(Random rng, int rows, int classes, double scale)
    {
        var logits = new double[rows * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = scale * Gaussian(rng);
        double[] p = Softmax(logits, classes);
        var labels = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            double u = rng.NextDouble(), cumulative = 0;
            int y = classes - 1;
            for (int k = 0; k < classes; k++)
            {
                cumulative += p[r * classes + k];
                if (u < cumulative) { y = k; break; }
            }
            labels[r] = y;
        }
        return (logits, labels);
    }

    public static (double[] Logits, int[] Labels) Uniform(Random rng, int rows, int classes, double scale)
    {
        var logits = new double[rows * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = scale * (2 * rng.NextDouble() - 1);
        var labels = new int[rows];
        for (int r = 0; r < rows; r++) labels[r] = rng.Next(classes);
        return (logits, labels);
    }

    public static double Gaussian(Random rng)
    {
        double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static float[] ToFloat(double[] x) => x.Select(v => (float)v).ToArray();

    public static double[] Log(params double[] probabilities) => probabilities.Select(p => Math.Log(p)).ToArray();
}
