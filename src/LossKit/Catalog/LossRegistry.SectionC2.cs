namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section C, second part: margin, normalised-transform and sparse losses.</summary>
    private static IEnumerable<LossDefinition> SectionC2() => [];
}
