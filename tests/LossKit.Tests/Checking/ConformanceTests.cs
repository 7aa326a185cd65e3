using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;

namespace LossKit.Tests.Checking;

/// <summary>
/// The conformance suite over the registry: every registered loss with its defaults, and option variants that change
/// what a check sees (class weights, ignore index, reductions, smoothing, softcap, shift, state, draws), must pass every
/// check. A new loss is covered by being registered; <c>losskit check SPEC</c> runs the same suite.
/// </summary>
[Collection(nameof(ThreadCountCollection))]
public sealed class ConformanceTests
{
    public static TheoryData<string> Registered => new(LossRegistry.All.Select(d => d.Card.Name));

    public static TheoryData<string> Variants => new(
    [
        "ce(smoothing=0.1)", "ce(smoothing=0.2, weight=[1,2,0.5,1,3], reduction=sum)", "ce(softcap=3, temperature=0.5, lse_sq=0.01, reduction=none)", "ce(weight=[1,2,0.5,1,3], ignore_index=1, reduction=sum)",
        "focal(gamma=0.5, alpha=[0.25])", "gce(q=1)", "compsum(tau=0.5)", "compsum(tau=2)", "logit_adjusted(priors=[5,3,1,1,0.5], tau=1.5)",
        "kd(temperature=2, alpha=0.3, ignore_index=0)", "ntl_was(classes=[0,2,4], values=[0,1,5])", "decoupled_softmax(tau=0.5, reduction=sum)",
        "multimargin(p=2, margin=0.5, weight=[1,2,0.5,1,3])", "spherical(eps=0.01)", "zloss(a=3, b=-1, reduction=sum)",
        "sparsemax(weight=[1,2,0.5,1,3], ignore_index=0)", "entmax15(reduction=none)",
        "bce(pos_weight=[2,0.5,1], weight=[1,2,3])", "sigmoid_focal(gamma=3, alpha=0.75, reduction=sum)", "exponential(beta=0.5)",
        "sq_hinge(reduction=none)", "asl(gamma_pos=1, gamma_neg=2, clip=0.1)", "auc_m(imratio=0.3)", "anyloss(metric=fbeta, beta=2)",
        "ensloss(lambda=0.5, period=2, seed=3)", "linear_ce(smoothing=0.1, lse_sq=0.001)", "linear_ce(softcap=3, temperature=2, reduction=sum)",
        "linear_ce(shift=true, ignore_index=2)", "linear_ce(chunk_rows=2, vocab_block=16)", "linear_ce(weight=[1,2,0.5,1,3])",
        "huber(delta=0.3, reduction=sum)", "smooth_l1(beta=0)", "poisson_nll(log_input=false, full=true, reduction=none)",
        "poisson_nll(full=true)", "gaussian_nll(full=true, eps=0.001, reduction=sum)", "quantile(tau=[0.1,0.5,0.9])",
        "barron(alpha=0)", "barron(alpha=2)", "barron(alpha=-2)", "barron(alpha=4, c=0.5)", "barron(limit=minus_inf)", "barron(limit=plus_inf)",
        "laplace_nll(full=true, reduction=none)", "gg_nll(beta=0.7)", "gg_nll(predict=alpha)", "gg_nll(predict=beta)", "gg_nll(beta=1.5, predict=both)",
        "tweedie(power=1.2)", "itakura_saito(form=exp_utility, beta=0.5)", "madl_smooth(k=2, reduction=sum)",
        "bag(rho=0)", "bag(rho=0.4, reduction=none)",
    ]);

    [Theory, MemberData(nameof(Registered))]
    public void EveryRegisteredLossConforms(string spec) => AssertConformsCompletely(LossRegistry.Create(spec));

    [Theory, MemberData(nameof(Variants))]
    public void OptionVariantsConform(string spec) => AssertConformsCompletely(LossRegistry.Create(spec));

    /// <summary>Every check passes, and the suite really ran: every group, the gradient of every differentiable input at
    /// every scale, and one result per claimed property.</summary>
    private static void AssertConformsCompletely(ILoss loss)
    {
        var results = TestChecks.AssertConforms(loss);
        foreach (string group in ConformanceChecks.All.Where(g => g != ConformanceChecks.Property))
            Assert.Contains(results, r => r.Check == group);
        var inputs = loss.Kind.Inputs.Where(i => i.Differentiable && !i.Optional).Select(i => i.Name).ToList();
        Assert.NotEmpty(inputs);
        foreach (string input in inputs)
            Assert.True(results.Count(r => r.Check == ConformanceChecks.Gradient && r.Name.StartsWith(input + " at scale ", StringComparison.Ordinal)) >= 3,
                $"{loss.Spec}: fewer than 3 scales checked for {input}");
        LossProperties claimed = loss switch
        {
            IClassificationLoss c => c.Properties,
            LossKit.Binary.BinaryLoss b => b.Properties,
            _ => loss.Properties,
        };
        foreach (LossProperties p in Enum.GetValues<LossProperties>().Where(p => p != LossProperties.None))
            Assert.Equal(claimed.HasFlag(p), results.Any(r => r.Property == p));
        var reductions = results.Where(r => r.Check == ConformanceChecks.Reductions).ToList();
        Assert.Equal(2, reductions.Count);
        Assert.False(reductions[0].Skipped);
        Assert.Equal(loss.Card.Parameter("reduction") is null, reductions[1].Skipped);
    }

    [Fact]
    public void ALossWithStateIsLeftAsItWasFound()
    {
        var ens = (LossKit.Binary.EnsLoss)LossRegistry.Create("ensloss");
        ens.Reset(5);
        TestChecks.AssertConforms(ens);
        Assert.Equal(5, ens.Calls);
        var auc = (LossKit.Binary.AucMarginLoss)LossRegistry.Create("auc_m");
        TestChecks.AssertConforms(auc);
        Assert.Null(auc.LastStateGradient);
        Assert.Equal(0, auc.A);
    }

    [Fact]
    public void GradientCheckOfANamedInputGoesThroughTheKind()
    {
        var loss = LossRegistry.Create("linear_ce");
        var rng = new Random(1);
        var inputs = loss.Kind.Sample(loss, new SampleSize(3, 4, 2), rng);
        var results = GradientCheck.Check(loss, inputs);
        Assert.Equal(["hidden", "weight", "bias"], results.Select(r => r.Case.Split(": ")[1]));
        Assert.All(results, r => Assert.True(r.Passed, r.ToString()));
    }
}
