using LossKit.Classification;

namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section C, second part: margin, normalised-transform and sparse losses.</summary>
    private static IEnumerable<LossDefinition> SectionC2() =>
    [
        new(CrammerSingerHingeLoss.Definition, a => new CrammerSingerHingeLoss(a.Number(MarginLoss.MarginParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(WestonWatkinsHingeLoss.Definition, a => new WestonWatkinsHingeLoss(a.Number(MarginLoss.MarginParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(MultiMarginLoss.Definition, a => new MultiMarginLoss(a.Integer(MultiMarginLoss.PParameter), a.Number(MarginLoss.MarginParameter),
            a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(OneVsRestSquaredHingeLoss.Definition, a => new OneVsRestSquaredHingeLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(PerceptronLoss.Definition, a => new PerceptronLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(TaylorSoftmaxLoss.Definition, a => new TaylorSoftmaxLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(SphericalSoftmaxLoss.Definition, a => new SphericalSoftmaxLoss(a.Number(SphericalSoftmaxLoss.EpsParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(StablemaxLoss.Definition, a => new StablemaxLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(ZLoss.Definition, a => new ZLoss(a.Number(ZLoss.AParameter), a.Number(ZLoss.BParameter), a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(SparsemaxLoss.Definition, a => new SparsemaxLoss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
        new(Entmax15Loss.Definition, a => new Entmax15Loss(a.Weight(), a.IgnoreIndex(), a.Reduction())),
    ];
}
