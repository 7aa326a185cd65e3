using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Distillation;
using LossKit.Kernels;
using LossKit.LargeVocabulary;
using LossKit.Regression;
using LossKit.Softmax;

namespace LossKit.Tests.Checking;

/// <summary>
/// Before/after digests: every registered loss (with its default options and the option combinations below) on fixed
/// seeded batches, in float, double and Half. The SHA-256 of the returned loss, the unreduced losses and every gradient
/// must equal the digest recorded in <c>Fixtures/digests.json</c>, bit for bit, so that a restructuring of the library
/// cannot change a single value unnoticed. A new loss adds its digests with
/// <c>LOSSKIT_WRITE_DIGESTS=1 dotnet test --filter DigestTests</c> (which rewrites the fixture in the source tree and
/// fails, so that a rewrite is never silent); a changed digest of an existing loss is a changed result and needs a reason.
/// </summary>
public sealed class DigestTests
{
    private static readonly string[] Variants =
    [
        "ce(smoothing=0.1)", "ce(lse_sq=0.001)", "ce(softcap=3)", "ce(temperature=2)", "ce(weight=[1,2,0.5,1,3])",
        "ce(smoothing=0.2, weight=[1,2,0.5,1,3], reduction=sum)", "ce(softcap=2, temperature=0.5, lse_sq=0.01, reduction=none)",
        "ce(ignore_index=1)", "focal(gamma=0)", "focal(gamma=0.5, alpha=[0.25])", "focal(weight=[1,2,0.5,1,3], reduction=sum)",
        "poly(eps=2)", "polyn(eps=[1,0.5])", "gce(q=0.3)", "gce(q=0.7, k=0.5)", "mae(reduction=none)", "compsum(tau=0.5)", "compsum(tau=1.5)",
        "sce(alpha=0.5, beta=2)", "logit_adjusted(priors=[5,3,1,1,0.5], tau=1.5)", "ldr_kl(lambda=2, margin=0.5)",
        "squentropy(weight=[1,2,0.5,1,3])", "kd(temperature=2, alpha=0.3)", "kd(divergence=jsd(beta=0.3))", "ntl_mse(classes=[1,2,3], values=[1,2,3], lambda=0.5)",
        "ntl_was(classes=[0,2,4], values=[0,1,5])", "decoupled_softmax(tau=0.5, reduction=sum)",
        "hinge_cs(margin=2, weight=[1,2,0.5,1,3], reduction=sum)", "hinge_ww(margin=0.25)", "multimargin(p=2, margin=0.5, weight=[1,2,0.5,1,3])",
        "ovr_sq_hinge(weight=[1,2,0.5,1,3], reduction=none)", "perceptron(reduction=sum)", "taylor(reduction=sum)", "spherical(eps=0.01)",
        "stablemax(weight=[1,2,0.5,1,3], reduction=none, ignore_index=1)", "zloss(a=3, b=-1, reduction=sum)",
        "sparsemax(weight=[1,2,0.5,1,3], ignore_index=0)", "entmax15(reduction=none)",
        "bce(pos_weight=[2,0.5,1], weight=[1,2,3])", "bce(reduction=none)", "sigmoid_focal(gamma=3, alpha=0.75, reduction=sum)",
        "smoothed_hinge(h=0.3)", "exponential(beta=0.5)", "asl(gamma_pos=1, gamma_neg=2, clip=0.1)", "auc_m(imratio=0.3)",
        "anyloss(metric=fbeta, beta=2)", "anyloss(metric=gmean, L=20)", "ensloss(lambda=0.5, period=2, seed=3)",
        "linear_ce(smoothing=0.1, lse_sq=0.001)", "linear_ce(softcap=3, temperature=2)", "linear_ce(shift=true)",
        "linear_ce(vocab_block=16)", "linear_ce(vocab_block=16, smoothing=0.1, weight=[" + string.Join(",", Enumerable.Range(0, 37).Select(i => 1 + i % 3)) + "])", "linear_ce(chunk_rows=2, reduction=sum)", "linear_ce(weight=[" + string.Join(",", Enumerable.Range(0, 37).Select(i => 1 + i % 3)) + "])",
        "huber(delta=0.3, reduction=sum)", "smooth_l1(beta=0)", "poisson_nll(log_input=false, full=true, reduction=none)", "poisson_nll(full=true)",
        "gaussian_nll(full=true, eps=0.01, reduction=sum)", "quantile(tau=[0.1,0.5,0.9])", "barron(alpha=0)", "barron(alpha=2)", "barron(alpha=-2)",
        "barron(limit=minus_inf)", "barron(limit=plus_inf)", "laplace_nll(full=true)", "gg_nll(predict=alpha)", "gg_nll(predict=beta)",
        "gg_nll(beta=1.5, predict=both)", "tweedie(power=1.2)", "itakura_saito(form=exp_utility, beta=0.5)", "madl_smooth(k=2)",
        "bag(rho=0)", "bag(rho=0.3, reduction=sum)",
    ];

    public static TheoryData<string> Specs => new(LossRegistry.All.Select(d => d.Card.Name).Concat(Variants));

    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "digests.json");
    private static readonly Lazy<Dictionary<string, string>> Recorded = new(() =>
        File.Exists(FixturePath) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(FixturePath))! : []);
    private static readonly Dictionary<string, string> Written = [];

    [Theory]
    [MemberData(nameof(Specs))]
    public void Results_are_bit_identical_to_the_recorded_digests(string spec)
    {
        var actual = Digests(spec);
        Assert.NotEmpty(actual);
        if (Environment.GetEnvironmentVariable("LOSSKIT_WRITE_DIGESTS") == "1")
        {
            Write(actual);
            Assert.Fail("LOSSKIT_WRITE_DIGESTS=1: digests rewritten; run again without it.");
        }
        foreach (var (key, digest) in actual)
        {
            Assert.True(Recorded.Value.TryGetValue(key, out string? expected), $"no recorded digest for {key}");
            Assert.True(expected == digest, $"{key}: digest {digest}, recorded {expected}: the results changed");
        }
    }

    private static void Write(Dictionary<string, string> actual)
    {
        lock (Written)
        {
            foreach (var (k, v) in Recorded.Value) Written.TryAdd(k, v);
            foreach (var (k, v) in actual) Written[k] = v;
            string source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../Fixtures/digests.json"));
            var sorted = new SortedDictionary<string, string>(Written, StringComparer.Ordinal);
            File.WriteAllText(source, JsonSerializer.Serialize(sorted, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }

    /// <summary>Digest of each (type, batch) case of one spec.</summary>
    private static Dictionary<string, string> Digests(string spec)
    {
        var result = new Dictionary<string, string>();
        foreach (string type in new[] { "float", "double", "half" })
        {
            ILoss loss = LossRegistry.Create(spec);   // fresh: stateful losses start from their initial state
            foreach (var (batch, bytes) in Cases(loss, type))
                result[$"{spec}|{type}|{batch}"] = System.Convert.ToHexString(SHA256.HashData(bytes))[..16];
        }
        return result;
    }

    private static IEnumerable<(string Batch, byte[] Bytes)> Cases(ILoss loss, string type) => type switch
    {
        "float" => Cases<float>(loss),
        "double" => Cases<double>(loss),
        _ => Cases<Half>(loss),
    };

    private static IEnumerable<(string, byte[])> Cases<T>(ILoss loss) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (loss)
        {
            case IClassificationLoss c:
            {
                var shapes = c.FixedClassCount is { } k ? new[] { (9, k, 1.0), (40, k, 30.0) } : [(9, 5, 1.0), (6, 133, 3.0), (40, 1000, 30.0)];
                foreach (var (rows, classes, scale) in shapes)
                {
                    var z = Logits<T>(rows * 31 + classes, rows, classes, scale, mask: true);
                    var y = Targets(rows + classes, rows, classes, (loss as ClassIndexLoss)?.IgnoreIndex ?? -100);
                    var perRow = new T[rows];
                    var g = new T[z.Length];
                    var sink = new Sink();
                    sink.Add(c.Compute<T>(z, classes, y, perRow, g)); sink.Add<T>(perRow); sink.Add<T>(g);
                    sink.Add(c.Compute<T>(z, classes, y));
                    yield return ($"{rows}x{classes}", sink.Bytes());
                    if (c is ISoftTargetLoss s)
                    {
                        var q = SoftTargets<T>(rows + 7, rows, classes);
                        var sinkSoft = new Sink();
                        sinkSoft.Add(s.ComputeSoft<T>(z, classes, q, perRow, g)); sinkSoft.Add<T>(perRow); sinkSoft.Add<T>(g);
                        yield return ($"{rows}x{classes} soft", sinkSoft.Bytes());
                    }
                }
                break;
            }
            case IBinaryLoss b:
            {
                foreach (int n in new[] { 30, 3 * 257 })
                {
                    var s = Logits<T>(n, n, 1, 3, mask: false);
                    var rng = new Random(n + 5);
                    var t = Enumerable.Range(0, n).Select(i => T.CreateTruncating(i % 7 == 3 ? 0.3 : rng.Next(2))).ToArray();
                    var per = new T[n];
                    var g = new T[n];
                    var sink = new Sink();
                    sink.Add(b.Compute<T>(s, t, per, g)); sink.Add<T>(per); sink.Add<T>(g);
                    yield return ($"{n}", sink.Bytes());
                }
                break;
            }
            case IDistillationLoss d:
            {
                foreach (var (rows, classes) in new[] { (9, 5), (6, 133) })
                {
                    var z = Logits<T>(rows, rows, classes, 2, mask: false);
                    var teacher = Logits<T>(rows + 100, rows, classes, 2, mask: false);
                    var y = Targets(rows, rows, classes, -100);
                    var per = new T[rows];
                    var g = new T[z.Length];
                    var sink = new Sink();
                    sink.Add(d.Compute<T>(z, classes, teacher, y, per, g)); sink.Add<T>(per); sink.Add<T>(g);
                    yield return ($"{rows}x{classes}", sink.Bytes());
                }
                break;
            }
            case IMultiPositiveLoss m:
            {
                foreach (var (rows, classes) in new[] { (9, 5), (6, 133) })
                {
                    var z = Logits<T>(rows, rows, classes, 2, mask: false);
                    var offsets = new int[rows + 1];
                    var columns = new List<int>();
                    for (int r = 0; r < rows; r++)
                    {
                        for (int c = r % classes; c < classes; c += 2 + r % 3) columns.Add(c);
                        offsets[r + 1] = columns.Count;
                    }
                    var per = new T[rows];
                    var g = new T[z.Length];
                    var sink = new Sink();
                    sink.Add(m.Compute<T>(z, classes, offsets, columns.ToArray(), per, g)); sink.Add<T>(per); sink.Add<T>(g);
                    yield return ($"{rows}x{classes}", sink.Bytes());
                }
                break;
            }
            case LinearCrossEntropyLoss l:
            {
                const int rows = 11, dim = 9, vocab = 37;
                var h = Logits<double>(1, rows, dim, 1, mask: false);
                var w = Logits<double>(2, vocab, dim, 1, mask: false);
                var bias = Logits<double>(3, 1, vocab, 1, mask: false);
                var y = Targets(4, rows, vocab, l.IgnoreIndex);
                int predictions = l.Shift ? rows - 1 : rows;
                var sink = new Sink();
                if (typeof(T) == typeof(double))
                {
                    var (per, gh, gw, gb) = (new double[predictions], new double[rows * dim], new double[vocab * dim], new double[vocab]);
                    sink.Add(l.Compute(h, w, bias, rows, dim, vocab, y, per, gh, gw, gb));
                    sink.Add<double>(per); sink.Add<double>(gh); sink.Add<double>(gw); sink.Add<double>(gb);
                }
                else
                {
                    var (per, gh, gw, gb) = (new float[predictions], new float[rows * dim], new float[vocab * dim], new float[vocab]);
                    if (typeof(T) == typeof(float))
                        sink.Add(l.Compute(ToType<float>(h), ToType<float>(w), ToType<float>(bias), rows, dim, vocab, y, per, gh, gw, gb));
                    else
                        sink.Add(l.Compute(ToType<Half>(h), ToType<Half>(w), ToType<Half>(bias), rows, dim, vocab, y, per, gh, gw, gb));
                    sink.Add<float>(per); sink.Add<float>(gh); sink.Add<float>(gw); sink.Add<float>(gb);
                }
                yield return ($"{rows}x{dim}x{vocab}", sink.Bytes());
                break;
            }
            case IBagLoss bag:
            {
                foreach (int bags in new[] { 7, 257 })
                {
                    LossInputs x = bag.Kind.Sample(bag, new SampleSize(bags, 3), new Random(bags + 13), 3);
                    T[] input = ToType<T>(x["input"].Values), per = new T[bags], g = new T[input.Length];
                    var sink = new Sink();
                    sink.Add(bag.Compute<T>(input, ToType<T>(x["target"].Values), x["bags"].AsIntegers("bags"), per, g));
                    sink.Add<T>(per); sink.Add<T>(g);
                    yield return ($"{bags}x3", sink.Bytes());
                }
                break;
            }
            case IRegressionLoss r:
            {
                foreach (int n in new[] { 30, 3 * 257 })
                {
                    // The kind's own sample (seeded, in each loss's domain), so every predicted parameter is given.
                    LossInputs x = r.Kind.Sample(r, new SampleSize(n, 1), new Random(n + 11), 3);
                    T[] input = ToType<T>(x["input"].Values), target = ToType<T>(x["target"].Values), per = new T[input.Length], g = new T[input.Length];
                    T[] p = r.Predicted.Count > 0 ? ToType<T>(x[r.Predicted[0].Name].Values) : [], gp = new T[p.Length];
                    T[] q = r.Predicted.Count > 1 ? ToType<T>(x[r.Predicted[1].Name].Values) : [], gq = new T[q.Length];
                    var sink = new Sink();
                    sink.Add(r.Compute(new RegressionBatch<T>(input, target, per, g, p, gp, q, gq)));
                    sink.Add<T>(per); sink.Add<T>(g); sink.Add<T>(gp); sink.Add<T>(gq);
                    yield return ($"{n}", sink.Bytes());
                }
                break;
            }
            default:
            {
                // Any other kind through its own sample and call: the loss, the unreduced values and every gradient by name.
                foreach (var (rows, width) in new[] { (9, 5), (6, 133) })
                {
                    LossInputs inputs = loss.Kind.Sample(loss, new SampleSize(rows, width, 4), new Random(rows * 1000 + width), 2);
                    LossCall call = loss.Kind.Prepare<T>(loss, inputs);
                    var sink = new Sink();
                    sink.Add(call.Run(RunOutputs.All));
                    LossOutputs o = call.Outputs();
                    sink.Add<double>(o.Unreduced.Values);
                    foreach (string name in o.Gradients.Keys.Order(StringComparer.Ordinal)) sink.Add<double>(o.Gradients[name].Values);
                    yield return ($"{rows}x{width}", sink.Bytes());
                }
                break;
            }
        }
    }

    private static T[] ToType<T>(double[] x) where T : unmanaged, IFloatingPointIeee754<T> => x.Select(T.CreateTruncating).ToArray();

    /// <summary>Seeded logits, with one masked (−∞) non-first entry in row 1 when <paramref name="mask"/>.</summary>
    private static T[] Logits<T>(int seed, int rows, int classes, double scale, bool mask) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var z = new T[rows * classes];
        for (int i = 0; i < z.Length; i++) z[i] = T.CreateTruncating(scale * (2 * rng.NextDouble() - 1));
        if (mask && rows > 1 && classes > 2) z[classes + classes - 1] = T.NegativeInfinity;
        return z;
    }

    /// <summary>Seeded targets; row 2 is ignored (when there are 3 rows or more), none points at a masked class.</summary>
    private static int[] Targets(int seed, int rows, int classes, int ignoreIndex)
    {
        var rng = new Random(seed);
        var y = new int[rows];
        for (int i = 0; i < rows; i++) y[i] = rng.Next(Math.Max(1, classes - 1));
        if (rows > 2 && (ignoreIndex < 0 || ignoreIndex >= classes)) y[2] = ignoreIndex;
        return y;
    }

    private static T[] SoftTargets<T>(int seed, int rows, int classes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var q = new T[rows * classes];
        for (int r = 0; r < rows; r++)
        {
            var row = Enumerable.Range(0, classes).Select(_ => rng.NextDouble() < 0.5 ? 0 : rng.NextDouble()).ToArray();
            row[classes - 1] = 0;                     // the masked class of row 1 gets no target mass
            row[0] += 0.1;
            double sum = row.Sum();
            for (int k = 0; k < classes; k++) q[r * classes + k] = T.CreateTruncating(row[k] / sum);
        }
        return q;
    }

    /// <summary>Collects values as bytes; every NaN is written as one canonical pattern.</summary>
    private sealed class Sink
    {
        private readonly List<byte> _bytes = [];

        public void Add<T>(T value) where T : unmanaged, IFloatingPointIeee754<T> => Add<T>(new[] { value });

        public void Add<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
        {
            foreach (T v in values)
            {
                double d = double.CreateTruncating(v);
                if (double.IsNaN(d)) { _bytes.AddRange(BitConverter.GetBytes(double.NaN)); continue; }
                T copy = v;
                _bytes.AddRange(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref copy)).ToArray());
            }
        }

        public void Add<T>(T[] values) where T : unmanaged, IFloatingPointIeee754<T> => Add<T>((ReadOnlySpan<T>)values);

        public byte[] Bytes() => [.. _bytes];
    }
}
