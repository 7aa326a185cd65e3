using LossKit.Binary;

namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section D: binary, multi-label and batch-level losses.</summary>
    private static IEnumerable<LossDefinition> SectionD() =>
    [
        new(BinaryCrossEntropyLoss.Definition, a => new BinaryCrossEntropyLoss(a.List(BinaryParameters.PosWeight), a.List(BinaryParameters.Weight), a.Reduction())),
        new(SigmoidFocalLoss.Definition, a => new SigmoidFocalLoss(a.Number(SigmoidFocalLoss.Gamma), a.Number(SigmoidFocalLoss.Alpha), a.Reduction())),
        new(HingeLoss.Definition, a => new HingeLoss(a.Reduction())),
        new(SquaredHingeLoss.Definition, a => new SquaredHingeLoss(a.Reduction())),
        new(SmoothedHingeLoss.Definition, a => new SmoothedHingeLoss(a.Number(SmoothedHingeLoss.H), a.Reduction())),
        new(ModifiedHuberLoss.Definition, a => new ModifiedHuberLoss(a.Reduction())),
        new(ExponentialLoss.Definition, a => new ExponentialLoss(a.Number(ExponentialLoss.Beta), a.Reduction())),
        new(LogisticLoss.Definition, a => new LogisticLoss(a.Reduction())),
        new(AsymmetricLoss.Definition, a => new AsymmetricLoss(a.Number(AsymmetricLoss.GammaPos), a.Number(AsymmetricLoss.GammaNeg),
            a.Number(AsymmetricLoss.Clip), a.Reduction())),
        new(AucMarginLoss.Definition, a => new AucMarginLoss(a.Number(AucMarginLoss.Margin), a.Number(AucMarginLoss.ImRatio))),
        new(AnyLoss.Definition, a => new AnyLoss(AnyLoss.ParseMetric(a.Choice(AnyLoss.MetricParameter)), a.Number(AnyLoss.LParameter),
            a.Number(AnyLoss.BetaParameter))),
        new(EnsLoss.Definition, a => new EnsLoss(a.Number(EnsLoss.Lambda), a.Integer(EnsLoss.Period), a.Integer(EnsLoss.Seed), a.Reduction())),
    ];
}
