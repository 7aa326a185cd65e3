using LossKit.Classification;

namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section C: other multi-class losses on logits.</summary>
    private static IEnumerable<LossDefinition> SectionC() =>
    [
        new(LogitAdjustedLoss.Definition, a => new LogitAdjustedLoss(a.List(LogitAdjustedLoss.PriorsParameter),
            a.Number(LogitAdjustedLoss.TauParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(LdrKlLoss.Definition, a => new LdrKlLoss(a.Number(LdrKlLoss.LambdaParameter), a.Number(LdrKlLoss.MarginParameter),
            a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(SquentropyLoss.Definition, a => new SquentropyLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(DistillationLoss.Definition, a => new DistillationLoss(a.Number(DistillationLoss.TemperatureParameter),
            a.Number(DistillationLoss.AlphaParameter), a.IgnoreIndex(), a.Reduction())),
        new(NumberTokenLoss.MseDefinition, a => new NumberTokenLoss(NumberTokenVariant.Mse, a.Number(NumberTokenLoss.LambdaParameter),
            a.List(NumberTokenLoss.ClassesParameter), a.List(NumberTokenLoss.ValuesParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(NumberTokenLoss.WassersteinDefinition, a => new NumberTokenLoss(NumberTokenVariant.Wasserstein, a.Number(NumberTokenLoss.LambdaParameter),
            a.List(NumberTokenLoss.ClassesParameter), a.List(NumberTokenLoss.ValuesParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(DecoupledSoftmaxLoss.Definition, a => new DecoupledSoftmaxLoss(a.Number(DecoupledSoftmaxLoss.TauParameter), a.Reduction())),
    ];
}
