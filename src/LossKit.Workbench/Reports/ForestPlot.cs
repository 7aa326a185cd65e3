// TEMPORARY STUB (not to be committed): replaced by the helper's branch 'paired'.
using LossKit.Workbench.Experiments;
namespace LossKit.Workbench.Reports;
public static class ForestPlot
{
    public static ScottPlot.Plot Create(string metric, string baseline, IReadOnlyList<(string Noise, IReadOnlyList<PairedDifference> Rows)> byNoise, bool higherIsBetter)
    {
        var plt = new ScottPlot.Plot();
        plt.Title($"{metric} vs {baseline}");
        return plt;
    }
}
