using LossKit.Binary;
using LossKit.Core;
using LossKit.Distillation;
using LossKit.Divergence;
using LossKit.Embedding;
using LossKit.LargeVocabulary;
using LossKit.Margin;
using LossKit.Preference;
using LossKit.Ranking;
using LossKit.Regression;
using LossKit.Softmax;
using LossKit.Sparse;

namespace LossKit.Catalog;

/// <summary>
/// Every loss LossKit offers, by spec name. <see cref="Create"/> turns a spec string such as
/// <c>focal(gamma=2)</c> into a configured loss; unknown names, unknown parameters and values out of range
/// are errors that list what is valid.
/// </summary>
public static class LossRegistry
{
    /// <summary>Every built-in loss in catalog order; each registration lives beside its loss.</summary>
    private static readonly List<LossDefinition> s_all =
    [
        // Softmax cross-entropy and the target-probability family
        CrossEntropyLoss.Registration, FocalLoss.Registration, PolyLoss.Registration, PolyNLoss.Registration,
        GeneralizedCrossEntropyLoss.Registration, MaeLoss.Registration, CompSumLoss.Registration,
        SymmetricCrossEntropyLoss.Registration,
        // Other softmax losses, distillation and multi-positive rows
        LogitAdjustedLoss.Registration, LdrKlLoss.Registration, SquentropyLoss.Registration, DistillationLoss.Registration,
        NumberTokenLoss.MseRegistration, NumberTokenLoss.WassersteinRegistration, DecoupledSoftmaxLoss.Registration,
        // Multi-class margin losses, other normalisers, z-loss and sparse losses
        CrammerSingerHingeLoss.Registration, WestonWatkinsHingeLoss.Registration, MultiMarginLoss.Registration,
        OneVsRestSquaredHingeLoss.Registration, PerceptronLoss.Registration, TaylorSoftmaxLoss.Registration,
        SphericalSoftmaxLoss.Registration, StablemaxLoss.Registration, ZLoss.Registration, SparsemaxLoss.Registration,
        Entmax15Loss.Registration,
        // Binary, multi-label and batch-level losses
        BinaryCrossEntropyLoss.Registration, SigmoidFocalLoss.Registration, HingeLoss.Registration,
        SquaredHingeLoss.Registration, SmoothedHingeLoss.Registration, ModifiedHuberLoss.Registration,
        ExponentialLoss.Registration, LogisticLoss.Registration, AsymmetricLoss.Registration, AucMarginLoss.Registration,
        AnyLoss.Registration, EnsLoss.Registration,
        // Regression (element-wise)
        MseLoss.Registration, L1Loss.Registration, HuberLoss.Registration, SmoothL1Loss.Registration, LogCoshLoss.Registration,
        QuantileLoss.Registration, EpsInsensitiveLoss.Registration, MapeLoss.Registration, SmapeLoss.Registration,
        MsleLoss.Registration, CauchyLoss.Registration, WelschLoss.Registration, TukeyLoss.Registration, BarronLoss.Registration,
        PoissonNllLoss.Registration, GaussianNllLoss.Registration, LaplaceNllLoss.Registration, GeneralizedGaussianNllLoss.Registration,
        TweedieLoss.Registration, GammaDevianceLoss.Registration, ItakuraSaitoLoss.Registration, MadlLoss.Registration,
        MadlSmoothLoss.Registration, BagLoss.Registration,
        // Divergences between distributions
        KlDivergenceLoss.Registration, ReverseKlDivergenceLoss.Registration, JsdLoss.Registration, TvdLoss.Registration,
        HellingerLoss.Registration, CauchySchwarzLoss.Registration, Wasserstein1Loss.Registration,
        // Ranking lists
        RankNetLoss.Registration, PairHingeLoss.Registration, BprLoss.Registration, ListNetLoss.Registration, ListMleLoss.Registration,
        SoftmaxRankLoss.Registration, LambdaRankLoss.Registration, ApproxNdcgLoss.Registration, NeuralNdcgLoss.Registration, PslLoss.Registration,
        // Preference pairs
        DpoLoss.Registration, OrpoLoss.Registration, SimPoLoss.Registration, CpoLoss.Registration, KtoLoss.Registration, NpoLoss.Registration,
        // Embeddings and metric learning: PyTorch's pair and triplet criteria
        MarginRankingLoss.Registration, CosineEmbeddingLoss.Registration, HingeEmbeddingLoss.Registration, TripletMarginLoss.Registration,
        // Embeddings with labels: pair, triplet and anchor losses
        ContrastiveLoss.Registration, TripletLoss.Registration, MultiSimilarityLoss.Registration, CircleLoss.Registration,
        NtXentLoss.Registration, SupConLoss.Registration, LiftedStructureLoss.Registration, NPairLoss.Registration,
        // Embeddings with labels: class centroids and the whole batch
        ProtoTripletLoss.Registration, Ge2eLoss.Registration, AlignUniformLoss.Registration,
        // Embeddings against class proxies: margin-softmax and proxy losses
        NormFaceLoss.Registration, CosFaceLoss.Registration, ArcFaceLoss.Registration, SphereFaceLoss.Registration,
        ElasticFaceLoss.ArcRegistration, ElasticFaceLoss.CosRegistration, ProxyNcaLoss.Registration, ProxyAnchorLoss.Registration,
        // Large vocabulary
        LinearCrossEntropyLoss.Registration, LinearPreferenceLoss.Registration,
    ];

    /// <summary>All registered losses, in catalog order.</summary>
    public static IReadOnlyList<LossDefinition> All { get { lock (s_all) return [.. s_all]; } }

    /// <summary>The definition with this spec name; an unknown name lists the valid ones.</summary>
    public static LossDefinition Find(string name)
    {
        lock (s_all)
            return s_all.FirstOrDefault(d => d.Card.Name == name)
                ?? throw new ArgumentException($"Unknown loss '{name}'. Valid losses: {string.Join(", ", s_all.Select(d => d.Card.Name))}.", "spec");
    }

    /// <summary>Builds a loss from a spec string such as <c>ce(weight=[1,2,0.5], smoothing=0.1, reduction=sum)</c>.</summary>
    public static ILoss Create(string spec)
    {
        ParsedSpec parsed = SpecParser.Parse(spec);
        LossDefinition def = Find(parsed.Name);
        foreach (string key in parsed.Arguments.Keys)
            if (def.Card.Parameter(key) is null)
                throw new ArgumentException($"{def.Card.Name} has no parameter '{key}'. Valid parameters: {string.Join(", ", def.Card.Parameters.Select(p => p.Name))}.", "spec");
        return def.Create(new SpecArguments(spec, def.Card, parsed.Arguments));
    }

    /// <summary>Like <see cref="Create"/>, for a multi-class loss on logits; any other kind of loss is an error that says what it is.</summary>
    public static IClassificationLoss CreateClassification(string spec) =>
        Create(spec) as IClassificationLoss
        ?? throw new ArgumentException($"'{spec}' is not a multi-class loss on logits with class-index targets.", nameof(spec));

    /// <summary>Adds a user-defined loss to the registry (its card's name must be new). From then on it is built from spec
    /// strings, listed, and checked by <c>losskit check</c> and the conformance suite like a built-in loss. Dispose the
    /// result to remove it again.</summary>
    public static IDisposable Register(LossDefinition definition)
    {
        lock (s_all)
        {
            if (s_all.Any(d => d.Card.Name == definition.Card.Name))
                throw new ArgumentException($"A loss named '{definition.Card.Name}' is already registered.", nameof(definition));
            s_all.Add(definition);
        }
        return new Registered(definition);
    }

    private sealed class Registered(LossDefinition definition) : IDisposable
    {
        public void Dispose()
        {
            lock (s_all) s_all.Remove(definition);
        }
    }
}
