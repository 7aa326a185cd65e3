namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section C: other multi-class losses on logits.</summary>
    private static IEnumerable<LossDefinition> SectionC() => [];
}
