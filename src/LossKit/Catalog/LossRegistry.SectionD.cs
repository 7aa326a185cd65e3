namespace LossKit.Catalog;

public static partial class LossRegistry
{
    /// <summary>Catalog section D: binary, multi-label and batch-level losses.</summary>
    private static IEnumerable<LossDefinition> SectionD() => [];
}
