using LossKit.Classification;
using LossKit.Large;

namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section I: large vocabulary.</summary>
    private static IEnumerable<LossDefinition> SectionI() =>
    [
        new(LinearCrossEntropyLoss.Definition, a => new LinearCrossEntropyLoss(a.Number(CrossEntropyLoss.SmoothingParameter),
            a.Number(CrossEntropyLoss.LseSquaredParameter), a.Number(CrossEntropyLoss.SoftcapParameter),
            a.Number(CrossEntropyLoss.TemperatureParameter), a.Weight(), a.IgnoreIndex(), a.Reduction(),
            a.Choice(LinearCrossEntropyLoss.ShiftParameter) == "true", a.Integer(LinearCrossEntropyLoss.ChunkRowsParameter),
            a.Integer(LinearCrossEntropyLoss.VocabBlockParameter))),
    ];
}
