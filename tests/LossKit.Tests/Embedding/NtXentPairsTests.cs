using LossKit.Catalog;
using LossKit.Core;
using LossKit.Embedding;
using LossKit.Tests.Checking;

namespace LossKit.Tests.Embedding;

/// <summary>NT-Xent with explicit positive pairs (the kind's <c>pairs</c> input, <c>spec/io.md</c>): the two-view pairs
/// are exactly the two-view labels; pairs that do not form classes against a reference written pair by pair; the input
/// through the kind; and its errors.</summary>
public class NtXentPairsTests
{
    private static double[] Rows(int seed, int n, int d = 3)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n * d).Select(_ => 2 * random.NextDouble() - 1)];
    }

    [Theory]
    [InlineData("ntxent")]
    [InlineData("ntxent(tau=0.5, distance=dot)")]
    [InlineData("ntxent(miner=pair_margin, miner_pos_margin=0.9, miner_neg_margin=0.1)")]
    [InlineData("ntxent(distance=squared, reducer=sum)")]
    public void Two_view_pairs_are_the_two_view_labels_bit_for_bit(string spec)
    {
        var loss = (NtXentLoss)LossRegistry.Create(spec);
        double[] x = Rows(1, 8);
        double[] u1 = new double[8], u2 = new double[8], g1 = new double[x.Length], g2 = new double[x.Length];
        double byPairs = loss.ComputePairs<double>(x, 3, [0, 1, 2, 3, 4, 5, 6, 7], u1, g1);
        double byLabels = loss.Compute<double>(x, 3, [0, 0, 1, 1, 2, 2, 3, 3], u2, g2);
        Assert.Equal(byLabels, byPairs);
        Assert.Equal(u2, u1);
        Assert.Equal(g2, g1);
    }

    /// <summary>Cosine NT-Xent over the ordered positive pairs of a pair list, negatives = every other row.</summary>
    private static double Reference(double[] x, int d, int n, (int, int)[] pairs, double tau)
    {
        var positive = new HashSet<(int, int)>(pairs.SelectMany(p => new[] { p, (p.Item2, p.Item1) }));
        double Cos(int i, int j)
        {
            double dot = 0, a = 0, b = 0;
            for (int k = 0; k < d; k++) { dot += x[i * d + k] * x[j * d + k]; a += x[i * d + k] * x[i * d + k]; b += x[j * d + k] * x[j * d + k]; }
            return dot / Math.Sqrt(a * b);
        }
        var losses = new List<double>();
        foreach (var (a, p) in positive.OrderBy(e => e))
        {
            var negatives = Enumerable.Range(0, n).Where(j => j != a && !positive.Contains((a, j)));
            double top = Math.Exp(Cos(a, p) / tau);
            losses.Add(-Math.Log(top / (top + negatives.Sum(j => Math.Exp(Cos(a, j) / tau)))));
        }
        return losses.Count == 0 ? 0 : losses.Average();
    }

    [Fact]
    public void Pairs_that_are_not_classes_match_the_reference_and_a_repeated_pair_counts_once()
    {
        // 0–1 and 1–2 without 0–2: 2 is a negative of 0; 3–4; row 5 in no pair.
        (int, int)[] pairs = [(0, 1), (1, 2), (3, 4)];
        int[] flat = [0, 1, 1, 2, 3, 4];
        var loss = new NtXentLoss(tau: 0.5);
        foreach (int seed in new[] { 2, 3, 4 })
        {
            double[] x = Rows(seed, 6), unreduced = new double[6], gradient = new double[x.Length];
            double value = loss.ComputePairs<double>(x, 3, flat, unreduced, gradient);
            Assert.Equal(Reference(x, 3, 6, pairs, 0.5), value, 12);
            Assert.Equal(value, unreduced.Sum(), 12);
            double[] numeric = EmbeddingReference.CentralDifferences(v => Reference(v, 3, 6, pairs, 0.5), x);
            Assert.True(TestChecks.NormError(gradient, numeric) <= 1e-6);
            Assert.Equal(value, loss.ComputePairs<double>(x, 3, [0, 1, 1, 0, 1, 2, 3, 4, 4, 3]));
        }
        Assert.Equal(0, loss.ComputePairs<double>(Rows(5, 4), 3, []));
    }

    [Fact]
    public void The_pairs_input_of_the_kind_is_the_library_call()
    {
        ILoss loss = LossRegistry.Create("ntxent");
        double[] x = Rows(6, 5);
        var inputs = new LossInputs
        {
            ["embeddings"] = LossTensor.Matrix(x, 5, 3),
            ["pairs"] = LossTensor.Matrix([0, 3, 1, 2], 2, 2),
        };
        LossOutputs outputs = loss.Kind.Evaluate<double>(loss, inputs);
        double[] gradient = new double[x.Length];
        double value = ((NtXentLoss)loss).ComputePairs<double>(x, 3, [0, 3, 1, 2], default, gradient);
        Assert.Equal(value, outputs.Loss);
        Assert.Equal(gradient, outputs.Gradients["embeddings"].Values);
    }

    [Fact]
    public void Bad_pairs_are_errors_naming_pairs_the_pair_and_the_values()
    {
        var ntxent = new NtXentLoss();
        double[] x = Rows(7, 4);
        var e = Assert.Throws<RowException>(() => ntxent.ComputePairs<double>(x, 3, [0, 1, 0, 9]));
        Assert.Equal(("pairs", 1), (e.ParamName, e.Row));
        Assert.Contains("pairs[1] = (0, 9)", e.Message);
        Assert.Contains("[0, 4)", e.Message);
        e = Assert.Throws<RowException>(() => ntxent.ComputePairs<double>(x, 3, [2, 2]));
        Assert.Contains("not its own positive", e.Message);
        Assert.Equal("pairs", Assert.Throws<ArgumentException>(() => ntxent.ComputePairs<double>(x, 3, [0, 1, 2])).ParamName);

        LossInputs With(ILoss loss, LossTensor pairs, bool labels = false)
        {
            var inputs = new LossInputs { ["embeddings"] = LossTensor.Matrix(x, 4, 3), ["pairs"] = pairs };
            if (labels) inputs["labels"] = LossTensor.Vector([0, 0, 1, 1]);
            return inputs;
        }
        ILoss triplet = LossRegistry.Create("triplet");
        Assert.Equal("pairs", Assert.Throws<ArgumentException>(() => triplet.Kind.Evaluate<double>(triplet, With(triplet, LossTensor.Matrix([0, 1], 1, 2)))).ParamName);
        ILoss loss = LossRegistry.Create("ntxent");
        Assert.Equal("pairs", Assert.Throws<ArgumentException>(() => loss.Kind.Evaluate<double>(loss, With(loss, LossTensor.Matrix([0, 1], 1, 2), labels: true))).ParamName);
        Assert.Equal("pairs", Assert.Throws<ArgumentException>(() => loss.Kind.Evaluate<double>(loss, With(loss, LossTensor.Matrix([0, 1, 2], 1, 3)))).ParamName);
        Assert.Equal("pairs", Assert.Throws<ArgumentException>(() => loss.Kind.Evaluate<double>(loss, With(loss, LossTensor.Matrix([0, 1.5], 1, 2)))).ParamName);
    }
}
