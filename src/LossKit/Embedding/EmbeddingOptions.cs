using LossKit.Core;

namespace LossKit.Embedding;

/// <summary>
/// The composable parts of every embedding loss, as pytorch-metric-learning composes them: a distance, a miner and a
/// reducer. A null field takes the loss's default (<see cref="EmbeddingParameters"/>).
/// </summary>
/// <param name="Distance"><c>euclidean</c> (‖xᵢ − xⱼ‖), <c>squared</c> (‖xᵢ − xⱼ‖²), <c>cosine</c> (xᵢ·xⱼ of unit rows, a
/// similarity) or <c>dot</c> (xᵢ·xⱼ, a similarity).</param>
/// <param name="Normalize">Divide each row by max(‖x‖, 1e-12) first (pytorch-metric-learning's default; cosine always does).</param>
/// <param name="Miner"><c>all</c>, <c>batch_hard</c>, <c>semihard</c>, <c>hard</c>, <c>multi_similarity</c>, <c>pair_margin</c>.</param>
/// <param name="MinerMargin">The triplet miner's margin (<c>semihard</c>: 0 &lt; D(a,n) − D(a,p) ≤ margin).</param>
/// <param name="MinerEpsilon">ε of the multi-similarity miner.</param>
/// <param name="MinerPosMargin">The pair-margin miner's positive margin.</param>
/// <param name="MinerNegMargin">The pair-margin miner's negative margin.</param>
/// <param name="Reducer"><c>mean</c>, <c>nonzero_mean</c>, <c>threshold</c> or <c>sum</c>.</param>
/// <param name="ReducerLow">The threshold reducer's lower bound (exclusive).</param>
/// <param name="ReducerHigh">The threshold reducer's upper bound (exclusive); 0: none.</param>
public sealed record EmbeddingOptions(string? Distance = null, bool? Normalize = null, string? Miner = null, double? MinerMargin = null,
    double? MinerEpsilon = null, double? MinerPosMargin = null, double? MinerNegMargin = null, string? Reducer = null,
    double? ReducerLow = null, double? ReducerHigh = null);

/// <summary>
/// The parameters of the composable parts, declared once; each loss makes its set with its own default distance and
/// reducer (pytorch-metric-learning's defaults for that loss) and composes it into its card after its own parameters.
/// </summary>
/// <remarks>A miner's or reducer's arguments are parameters of their own — <c>miner=multi_similarity, miner_epsilon=0.1</c>
/// for pytorch-metric-learning's <c>MultiSimilarityMiner(epsilon=0.1)</c>, <c>miner=pair_margin, miner_pos_margin=0.2,
/// miner_neg_margin=0.8</c>, <c>reducer=threshold, reducer_low=0, reducer_high=1</c> — which a spec may also give nested:
/// <c>miner=multi_similarity(epsilon=0.1)</c>, <c>reducer=threshold(low=0, high=1)</c> (<see cref="Read"/>).</remarks>
public sealed class EmbeddingParameters
{
    /// <summary>The distances.</summary>
    public static readonly IReadOnlyList<string> Distances = ["euclidean", "squared", "cosine", "dot"];

    /// <summary>The miners.</summary>
    public static readonly IReadOnlyList<string> Miners = ["all", "batch_hard", "semihard", "hard", "multi_similarity", "pair_margin"];

    /// <summary>The reducers.</summary>
    public static readonly IReadOnlyList<string> Reducers = ["mean", "nonzero_mean", "threshold", "sum"];

    /// <param name="distance">The loss's default distance.</param>
    /// <param name="reducer">The loss's default reducer.</param>
    public EmbeddingParameters(string distance, string reducer)
    {
        Distance = new("distance", ParameterKind.Choice,
            "euclidean ‖xᵢ − xⱼ‖, squared ‖xᵢ − xⱼ‖², cosine (unit rows) or dot xᵢ·xⱼ; margins are in the distance's units, and for the two similarities the comparisons flip (larger = closer)")
            { Choices = [distance, .. Distances.Where(d => d != distance)] };
        Miner = new("miner", ParameterKind.Choice,
            "which pairs or triplets the loss uses, chosen without gradient: all; batch_hard (hardest positive and negative per anchor); semihard / hard triplets (0 < D(a,n) − D(a,p) ≤ miner_margin / D(a,n) ≤ D(a,p)); multi_similarity (miner_epsilon); pair_margin (miner_pos_margin, miner_neg_margin)")
            { Choices = Miners, NestedSpec = true };
        Reducer = new("reducer", ParameterKind.Choice,
            "how element losses (pairs, triplets or anchors) become the loss: mean; nonzero_mean (mean over positive ones); threshold (mean over reducer_low < ℓ < reducer_high); sum")
            { Choices = [reducer, .. Reducers.Where(r => r != reducer)], NestedSpec = true };
        All = [Distance, Normalize, Miner, MinerMargin, MinerEpsilon, MinerPosMargin, MinerNegMargin, Reducer, ReducerLow, ReducerHigh];
    }

    public LossParameter Distance { get; }
    public static readonly LossParameter Normalize = new("normalize", ParameterKind.Choice,
        "divide each embedding by max(‖x‖, 1e-12) before the distance (cosine always does)") { Choices = ["true", "false"] };
    public LossParameter Miner { get; }
    public static readonly LossParameter MinerMargin = new("miner_margin", ParameterKind.Number, "margin of the semihard and hard triplet miners") { Default = 0.2, Min = 0 };
    public static readonly LossParameter MinerEpsilon = new("miner_epsilon", ParameterKind.Number, "ε of the multi-similarity miner") { Default = 0.1, Min = 0 };
    public static readonly LossParameter MinerPosMargin = new("miner_pos_margin", ParameterKind.Number, "pair_margin miner: positives farther than this (similarities: less similar) are kept") { Default = 0.2 };
    public static readonly LossParameter MinerNegMargin = new("miner_neg_margin", ParameterKind.Number, "pair_margin miner: negatives closer than this (similarities: more similar) are kept") { Default = 0.8 };
    public LossParameter Reducer { get; }
    public static readonly LossParameter ReducerLow = new("reducer_low", ParameterKind.Number, "threshold reducer: keep element losses above this") { Default = 0 };
    public static readonly LossParameter ReducerHigh = new("reducer_high", ParameterKind.Number, "threshold reducer: keep element losses below this; 0 = no upper bound") { Default = 0, Min = 0 };

    /// <summary>The parameters in card order.</summary>
    public IReadOnlyList<LossParameter> All { get; }

    /// <summary>The options a spec gives (absent ones: the defaults). A miner or reducer may carry its arguments nested,
    /// as pytorch-metric-learning's constructors: <c>miner=semihard(margin=0.2)</c>, <c>miner=hard(margin=0.2)</c>,
    /// <c>miner=multi_similarity(epsilon=0.1)</c>, <c>miner=pair_margin(pos_margin=0.2, neg_margin=0.8)</c>,
    /// <c>reducer=threshold(low=0, high=1)</c> — the same as the flat <c>miner_margin</c>, <c>miner_epsilon</c>, ...
    /// (giving both is an error); the loss's spec prints the flat form.</summary>
    public EmbeddingOptions Read(SpecArguments a)
    {
        var given = SpecParser.Parse(a.ToString()).Arguments;
        var (miner, minerArgs) = Nested(a.Choice(Miner), Miner.Name);
        var (reducer, reducerArgs) = Nested(a.Choice(Reducer), Reducer.Name);
        (string Key, LossParameter Flat)[] minerKeys = miner switch
        {
            "semihard" or "hard" => [("margin", MinerMargin)],
            "multi_similarity" => [("epsilon", MinerEpsilon)],
            "pair_margin" => [("pos_margin", MinerPosMargin), ("neg_margin", MinerNegMargin)],
            _ => [],
        };
        (string Key, LossParameter Flat)[] reducerKeys = reducer == "threshold" ? [("low", ReducerLow), ("high", ReducerHigh)] : [];
        double Value(IReadOnlyDictionary<string, SpecValue> nested, (string Key, LossParameter Flat)[] keys, LossParameter flat)
        {
            string? key = keys.FirstOrDefault(k => k.Flat == flat).Key;
            if (key is null || !nested.TryGetValue(key, out SpecValue? v)) return a.Number(flat);
            if (given.ContainsKey(flat.Name)) throw new ArgumentException($"{flat.Name} is given twice: as {flat.Name} and nested as {key}; give one.", flat.Name);
            return flat.Check(v.Number ?? throw new ArgumentException($"{key} = {v}: expected a number.", flat.Name));
        }
        void Known(IReadOnlyDictionary<string, SpecValue> nested, (string Key, LossParameter Flat)[] keys, string name, string choice)
        {
            if (nested.Keys.FirstOrDefault(k => !keys.Any(x => x.Key == k)) is { } unknown)
                throw new ArgumentException($"{name}={choice} takes {(keys.Length == 0 ? "no arguments" : string.Join(", ", keys.Select(k => k.Key)))}, not {unknown}.", name);
        }
        Known(minerArgs, minerKeys, Miner.Name, miner);
        Known(reducerArgs, reducerKeys, Reducer.Name, reducer);
        return new(a.Choice(Distance), a.Flag(Normalize), miner, Value(minerArgs, minerKeys, MinerMargin), Value(minerArgs, minerKeys, MinerEpsilon),
            Value(minerArgs, minerKeys, MinerPosMargin), Value(minerArgs, minerKeys, MinerNegMargin), reducer,
            Value(reducerArgs, reducerKeys, ReducerLow), Value(reducerArgs, reducerKeys, ReducerHigh));
    }

    /// <summary>A choice and its nested arguments: <c>semihard(margin=0.1)</c> → (<c>semihard</c>, {margin: 0.1}).</summary>
    private static (string Name, IReadOnlyDictionary<string, SpecValue> Arguments) Nested(string choice, string parameter)
    {
        if (!choice.Contains('(')) return (choice, new Dictionary<string, SpecValue>());
        try
        {
            ParsedSpec parsed = SpecParser.Parse(choice);
            return (parsed.Name, parsed.Arguments);
        }
        catch (ArgumentException e) { throw new ArgumentException($"{parameter}={choice}: {e.Message}", parameter, e); }
    }

    /// <summary>Every option resolved: null fields get the defaults, given ones are checked (each against its own range:
    /// a threshold with reducer_low ≥ reducer_high keeps no element, and the loss is 0, as pytorch-metric-learning's).</summary>
    public EmbeddingOptions Resolve(EmbeddingOptions? o)
    {
        o ??= new EmbeddingOptions();
        return new EmbeddingOptions(Distance.Resolve(o.Distance), Normalize.Resolve(o.Normalize is { } n ? (n ? "true" : "false") : null) == "true",
            Miner.Resolve(o.Miner), MinerMargin.Resolve(o.MinerMargin), MinerEpsilon.Resolve(o.MinerEpsilon), MinerPosMargin.Resolve(o.MinerPosMargin),
            MinerNegMargin.Resolve(o.MinerNegMargin), Reducer.Resolve(o.Reducer), ReducerLow.Resolve(o.ReducerLow), ReducerHigh.Resolve(o.ReducerHigh));
    }

    /// <summary>The configured values, for <see cref="ILoss.ParameterValues"/>.</summary>
    public IEnumerable<ParameterValue> Values(EmbeddingOptions o) =>
    [
        Distance.Of(o.Distance!), Normalize.Of(o.Normalize!.Value), Miner.Of(o.Miner!), MinerMargin.Of(o.MinerMargin!.Value),
        MinerEpsilon.Of(o.MinerEpsilon!.Value), MinerPosMargin.Of(o.MinerPosMargin!.Value), MinerNegMargin.Of(o.MinerNegMargin!.Value),
        Reducer.Of(o.Reducer!), ReducerLow.Of(o.ReducerLow!.Value), ReducerHigh.Of(o.ReducerHigh!.Value),
    ];
}
