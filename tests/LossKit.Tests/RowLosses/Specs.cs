using LossKit.Catalog;
using LossKit.Kernels;

namespace LossKit.Tests.RowLosses;

/// <summary>Every row-loss spec and option combination the tests sweep (class weights have 5 entries: K = 5).</summary>
internal static class RowLossSpecs
{
    public static readonly string[] Margin =
    [
        "hinge_cs", "hinge_cs(margin=0.5)", "hinge_cs(margin=2, weight=[1,2,0.5,1,3], reduction=sum)", "hinge_cs(reduction=none, ignore_index=1)",
        "hinge_ww", "hinge_ww(margin=0.25)", "hinge_ww(weight=[1,2,0.5,1,3])", "hinge_ww(reduction=sum, ignore_index=0)",
        "multimargin", "multimargin(p=2)", "multimargin(p=2, margin=0.5, weight=[1,2,0.5,1,3])", "multimargin(margin=2, reduction=sum)",
        "multimargin(weight=[1,2,0.5,1,3], ignore_index=2)",
        "ovr_sq_hinge", "ovr_sq_hinge(weight=[1,2,0.5,1,3], reduction=none)",
        "perceptron", "perceptron(reduction=sum)", "perceptron(weight=[1,2,0.5,1,3], ignore_index=3)",
    ];

    public static readonly string[] Normalized =
    [
        "taylor", "taylor(weight=[1,2,0.5,1,3], reduction=sum)", "taylor(ignore_index=2, reduction=none)",
        "spherical", "spherical(eps=0.01)", "spherical(eps=1, weight=[1,2,0.5,1,3], ignore_index=0)",
        "stablemax", "stablemax(reduction=sum)", "stablemax(weight=[1,2,0.5,1,3], reduction=none, ignore_index=1)",
    ];

    public static readonly string[] Z =
    [
        "zloss", "zloss(a=0.5, b=2)", "zloss(a=3, b=-1, reduction=sum)", "zloss(weight=[1,2,0.5,1,3], ignore_index=1)",
        "zloss(a=2, weight=[1,2,0.5,1,3], reduction=none)",
    ];

    public static readonly string[] Sparse =
    [
        "sparsemax", "sparsemax(reduction=sum)", "sparsemax(weight=[1,2,0.5,1,3], ignore_index=0)", "sparsemax(reduction=none, ignore_index=2)",
        "entmax15", "entmax15(reduction=sum)", "entmax15(weight=[1,2,0.5,1,3], reduction=none)", "entmax15(ignore_index=1)",
    ];

    public static IEnumerable<string> All => [.. Margin, .. Normalized, .. Z, .. Sparse];

    public static TheoryData<string> AllData => Data(All);

    public static TheoryData<string> Data(IEnumerable<string> specs)
    {
        var d = new TheoryData<string>();
        foreach (var s in specs) d.Add(s);
        return d;
    }

    public static RowLoss Create(string spec) => (RowLoss)LossRegistry.Create(spec);
}
