using LossKit.Embedding;

namespace LossKit.Tests.Embedding;

/// <summary>
/// Slow, obviously correct references for the embedding losses: distances row by row (no Gram matrix), miners as
/// explicit lists of pairs and triplets, every element loss stored, then the reducer — the formulas of
/// pytorch-metric-learning written out.
/// </summary>
internal static class EmbeddingReference
{
    public static double Loss(EmbeddingLoss loss, double[] x, int d, int[] y)
    {
        int n = y.Length;
        EmbeddingOptions o = loss.Options;
        bool inverted = o.Distance is "cosine" or "dot";
        double[] u = (double[])x.Clone();
        if (o.Normalize == true || o.Distance == "cosine")
            for (int i = 0; i < n; i++)
            {
                double norm = Math.Sqrt(Enumerable.Range(0, d).Sum(k => x[i * d + k] * x[i * d + k]));
                for (int k = 0; k < d; k++) u[i * d + k] = x[i * d + k] / Math.Max(norm, 1e-12);
            }
        double V(int i, int j)
        {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += o.Distance is "cosine" or "dot" ? u[i * d + k] * u[j * d + k] : (u[i * d + k] - u[j * d + k]) * (u[i * d + k] - u[j * d + k]);
            return o.Distance == "euclidean" ? Math.Sqrt(s) : s;
        }
        double D(int i, int j) => inverted ? -V(i, j) : V(i, j);
        double Margin(double a, double b) => inverted ? b - a : a - b;
        bool IsPos(int i, int j) => i != j && y[i] == y[j];
        bool IsNeg(int i, int j) => y[i] != y[j];

        // Mining: triplets and pairs.
        var all = new List<(int A, int P, int N)>();
        for (int a = 0; a < n; a++) for (int p = 0; p < n; p++) for (int q = 0; q < n; q++) if (IsPos(a, p) && IsNeg(a, q)) all.Add((a, p, q));
        var pos = new HashSet<(int, int)>();
        var neg = new HashSet<(int, int)>();
        List<(int A, int P, int N)>? triplets = null;
        switch (o.Miner)
        {
            case "batch_hard":
                triplets = [];
                for (int a = 0; a < n; a++)
                {
                    var ps = Enumerable.Range(0, n).Where(j => IsPos(a, j)).ToList();
                    var ns = Enumerable.Range(0, n).Where(j => IsNeg(a, j)).ToList();
                    if (ps.Count > 0 && ns.Count > 0) triplets.Add((a, ps.MaxBy(j => D(a, j)), ns.MinBy(j => D(a, j))));
                }
                break;
            case "semihard":
                triplets = all.Where(t => D(t.A, t.N) - D(t.A, t.P) > 0 && D(t.A, t.N) - D(t.A, t.P) <= o.MinerMargin).ToList();
                break;
            case "hard":
                triplets = all.Where(t => D(t.A, t.N) - D(t.A, t.P) <= 0).ToList();
                break;
            default:
                for (int a = 0; a < n; a++)
                {
                    var ps = Enumerable.Range(0, n).Where(j => IsPos(a, j)).ToList();
                    var ns = Enumerable.Range(0, n).Where(j => IsNeg(a, j)).ToList();
                    foreach (int p in ps)
                    {
                        bool keep = o.Miner switch
                        {
                            "multi_similarity" => ns.Count > 0 && D(a, p) + o.MinerEpsilon > ns.Min(j => D(a, j)),
                            "pair_margin" => inverted ? V(a, p) < o.MinerPosMargin : V(a, p) > o.MinerPosMargin,
                            _ => true,
                        };
                        if (keep) pos.Add((a, p));
                    }
                    foreach (int q in ns)
                    {
                        bool keep = o.Miner switch
                        {
                            "multi_similarity" => ps.Count > 0 && D(a, q) - o.MinerEpsilon < ps.Max(j => D(a, j)),
                            "pair_margin" => inverted ? V(a, q) > o.MinerNegMargin : V(a, q) < o.MinerNegMargin,
                            _ => true,
                        };
                        if (keep) neg.Add((a, q));
                    }
                }
                break;
        }
        if (triplets is not null)
            foreach (var t in triplets) { pos.Add((t.A, t.P)); neg.Add((t.A, t.N)); }
        else triplets = all.Where(t => pos.Contains((t.A, t.P)) && neg.Contains((t.A, t.N))).ToList();

        double S(int a, int j) => -D(a, j);   // similarity for the anchor losses
        var groups = new List<List<double>> { new(), new() };
        switch (loss)
        {
            case ContrastiveLoss c:
                foreach (var (a, p) in pos) groups[0].Add(Math.Max(Margin(V(a, p), c.PosMarginValue), 0));
                foreach (var (a, q) in neg) groups[1].Add(Math.Max(Margin(c.NegMarginValue, V(a, q)), 0));
                break;
            case TripletLoss t:
                foreach (var (a, p, q) in triplets) groups[0].Add(Math.Max(Margin(V(a, p), V(a, q)) + t.MarginValue, 0));
                break;
            case MultiSimilarityLoss ms:
                for (int a = 0; a < n; a++)
                {
                    double sp = pos.Where(e => e.Item1 == a).Sum(e => Math.Exp(ms.AlphaValue * Margin(V(a, e.Item2), ms.BaseValue)));
                    double sn = neg.Where(e => e.Item1 == a).Sum(e => Math.Exp(ms.BetaValue * Margin(ms.BaseValue, V(a, e.Item2))));
                    groups[0].Add(Math.Log(1 + sp) / ms.AlphaValue + Math.Log(1 + sn) / ms.BetaValue);
                }
                break;
            case CircleLoss ci:
                for (int a = 0; a < n; a++)
                {
                    var ps = pos.Where(e => e.Item1 == a).Select(e => S(a, e.Item2)).ToList();
                    var ns = neg.Where(e => e.Item1 == a).Select(e => S(a, e.Item2)).ToList();
                    if (ps.Count == 0 || ns.Count == 0) { groups[0].Add(0); continue; }
                    double m = ci.MValue, g = ci.GammaValue;
                    double lp = Math.Log(ps.Sum(s => Math.Exp(-g * Math.Max(1 + m - s, 0) * (s - (1 - m)))));
                    double ln = Math.Log(ns.Sum(s => Math.Exp(g * Math.Max(s + m, 0) * (s - m))));
                    groups[0].Add(Math.Log(1 + Math.Exp(lp + ln)));
                }
                break;
            case SupConLoss sc:
                for (int a = 0; a < n; a++)
                {
                    var ps = pos.Where(e => e.Item1 == a).Select(e => S(a, e.Item2) / sc.TauValue).ToList();
                    var all2 = ps.Concat(neg.Where(e => e.Item1 == a).Select(e => S(a, e.Item2) / sc.TauValue)).ToList();
                    if (ps.Count == 0 || pos.Count == 0 || neg.Count == 0) { groups[0].Add(0); continue; }
                    double lse = Math.Log(all2.Sum(Math.Exp));
                    groups[0].Add(-ps.Average(z => z - lse));
                }
                break;
            case NtXentLoss nt:
                foreach (var (a, p) in pos.OrderBy(e => e))
                {
                    double zp = S(a, p) / nt.TauValue;
                    double den = Math.Exp(zp) + neg.Where(e => e.Item1 == a).Sum(e => Math.Exp(S(a, e.Item2) / nt.TauValue));
                    groups[0].Add(-(zp - Math.Log(den)));
                }
                break;
            case LiftedStructureLoss li:
                if (neg.Count == 0) break;
                foreach (var (a, p) in pos.OrderBy(e => e))
                {
                    var terms = neg.Where(e => e.Item1 == a || e.Item1 == p).Select(e => Math.Exp(Margin(li.NegMarginValue, V(e.Item1, e.Item2)))).ToList();
                    double h = terms.Count == 0 ? 0 : Math.Max(Math.Log(terms.Sum()) + Margin(V(a, p), li.PosMarginValue), 0);
                    groups[0].Add(0.5 * h * h);
                }
                break;
            case NPairLoss:
            {
                var chosen = new List<(int A, int P)>();
                foreach (var (a, p) in pos.OrderBy(e => e))
                    if (!chosen.Any(c => y[c.A] == y[a])) chosen.Add((a, p));
                foreach (var (a, p) in chosen)
                    groups[0].Add(-S(a, p) + Math.Log(chosen.Sum(c => Math.Exp(S(a, c.P)))));
                break;
            }
            default:
                throw new ArgumentException(loss.Spec);
        }
        return groups.Sum(g => Reduce(g, o));
    }

    /// <summary>∂f/∂x by central differences (step h) at <paramref name="at"/>: the gradient the tests compare with.</summary>
    public static double[] CentralDifferences(Func<double[], double> f, double[] at, double h = 1e-6)
    {
        var g = new double[at.Length];
        for (int i = 0; i < at.Length; i++)
        {
            double[] plus = (double[])at.Clone(), minus = (double[])at.Clone();
            plus[i] += h;
            minus[i] -= h;
            g[i] = (f(plus) - f(minus)) / (2 * h);
        }
        return g;
    }

    private static double Reduce(List<double> losses, EmbeddingOptions o)
    {
        List<double> kept = o.Reducer switch
        {
            "nonzero_mean" => losses.Where(l => l > 0).ToList(),
            "threshold" => losses.Where(l => l > o.ReducerLow && (o.ReducerHigh == 0 || l < o.ReducerHigh)).ToList(),
            _ => losses,
        };
        if (o.Reducer == "sum") return losses.Sum();
        return kept.Count == 0 ? 0 : kept.Average();
    }
}
