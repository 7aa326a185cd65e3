namespace LossKit.Tests.Binary;

/// <summary>Every binary loss with each of its options, as spec strings.</summary>
internal static class BinarySpecs
{
    public static readonly string[] Elementwise =
    [
        "bce", "bce(reduction=sum)", "bce(reduction=none)", "bce(pos_weight=[3])", "bce(pos_weight=[2,0.5,1])", "bce(weight=[1,2,0.5])",
        "bce(pos_weight=[2,0.5,1], weight=[1,2,3])", "bce(pos_weight=[0.3,4], weight=[2], reduction=sum)",
        "sigmoid_focal", "sigmoid_focal(gamma=0)", "sigmoid_focal(gamma=0.5, alpha=-1)", "sigmoid_focal(gamma=3, alpha=0.75, reduction=sum)",
        "sigmoid_focal(alpha=0.5)", "sigmoid_focal(gamma=1, reduction=none)",
        "hinge", "hinge(reduction=sum)", "sq_hinge", "smoothed_hinge", "smoothed_hinge(h=0)", "smoothed_hinge(h=0.3)",
        "smoothed_hinge(h=2.5, reduction=none)", "modified_huber", "modified_huber(reduction=sum)",
        "exponential", "exponential(beta=0.5)", "exponential(beta=3, reduction=sum)", "logistic", "logistic(reduction=none)",
        "asl", "asl(clip=0)", "asl(gamma_pos=1, gamma_neg=2, clip=0.1)", "asl(gamma_neg=0, clip=0)",
        "asl(gamma_pos=0.5, gamma_neg=0.5, clip=0.3, reduction=sum)",
    ];

    public static readonly string[] BatchLevel =
    [
        "auc_m", "auc_m(margin=0.5)", "auc_m(imratio=0.3)",
        "anyloss", "anyloss(metric=accuracy)", "anyloss(metric=fbeta, beta=2)", "anyloss(metric=fbeta, beta=0.5)",
        "anyloss(metric=balanced_accuracy)", "anyloss(metric=gmean)", "anyloss(L=5)", "anyloss(metric=gmean, L=20)",
        "ensloss", "ensloss(lambda=0.5, period=2, seed=3)", "ensloss(lambda=-0.5, reduction=sum)", "ensloss(lambda=1, reduction=none)",
    ];

    public static IEnumerable<string> All => Elementwise.Concat(BatchLevel);

    public static TheoryData<string> AllData => new(All);
    public static TheoryData<string> ElementwiseData => new(Elementwise);
}
