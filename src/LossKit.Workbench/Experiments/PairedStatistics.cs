// TEMPORARY STUB (not to be committed): replaced by the helper's branch 'paired'.
namespace LossKit.Workbench.Experiments;
public enum Verdict { Better, Worse, NoEvidence, TooFewSeeds }
public sealed record PairedDifference(string Loss, string Baseline, string Metric, int N,
    double DiffMean, double CiLow, double CiHigh, double PT, double PWilcoxon, double PHolm, Verdict Verdict);
public static class PairedComparison
{
    public const int MinSeedsForVerdict = 5;
    public static IReadOnlyList<PairedDifference> Compare(IReadOnlyDictionary<string, IReadOnlyDictionary<int, double>> valuesByLoss,
        string baseline, string metric, bool higherIsBetter, double alpha = 0.05)
    {
        var b = valuesByLoss[baseline];
        var list = new List<PairedDifference>();
        foreach (var (loss, v) in valuesByLoss)
        {
            if (loss == baseline) continue;
            var d = v.Where(kv => b.ContainsKey(kv.Key)).Select(kv => kv.Value - b[kv.Key]).ToArray();
            double m = d.Length == 0 ? double.NaN : d.Average();
            list.Add(new PairedDifference(loss, baseline, metric, d.Length, m, m - 0.01, m + 0.01, 0.5, 0.5, 0.5, d.Length < 5 ? Verdict.TooFewSeeds : Verdict.NoEvidence));
        }
        return list;
    }
}
