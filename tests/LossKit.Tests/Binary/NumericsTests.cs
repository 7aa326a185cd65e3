using LossKit.Binary;
using LossKit.Catalog;
using LossKit.Checking;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Tests.Binary;

/// <summary>Extreme inputs, NaN propagation, float/Half paths and determinism across thread counts.</summary>
public class NumericsTests
{
    public static TheoryData<string> All => BinarySpecs.AllData;
    public static TheoryData<string> Elementwise => BinarySpecs.ElementwiseData;

    private static IBinaryLoss Create(string spec) => (IBinaryLoss)LossRegistry.Create(spec);

    private static (double[] Z, double[] T) Batch(IBinaryLoss loss, int rows, double scale, int seed)
    {
        int c = (loss as BinaryLoss)?.FixedColumnCount ?? 3;
        var rng = new Random(seed);
        return (GradientCheck.RandomLogits(rng, rows, c, scale), GradientCheck.RandomBinaryTargets(rng, rows * c, soft: true));
    }

    [Theory, MemberData(nameof(All))]
    public void HugeLogitsGiveFiniteLossAndGradient(string spec)
    {
        var loss = Create(spec);
        double limit = Math.Min(1e30, ((BinaryLoss)loss).FiniteLogitScale);
        var (z, t) = Batch(loss, 8, 1, 3);
        for (int i = 0; i < z.Length; i++) z[i] = (i % 3 == 0 ? -1 : 1) * limit * (i % 2 == 0 ? 1 : 0.5);
        foreach (bool asFloat in new[] { false, true })
        {
            var l = new double[z.Length];
            var g = new double[z.Length];
            double value;
            if (asFloat)
            {
                var lf = new float[z.Length]; var gf = new float[z.Length];
                value = loss.Compute<float>(z.Select(v => (float)v).ToArray(), t.Select(v => (float)v).ToArray(), lf, gf);
                l = lf.Select(v => (double)v).ToArray(); g = gf.Select(v => (double)v).ToArray();
            }
            else value = loss.Compute<double>(z, t, l, g);
            Assert.True(double.IsFinite(value), $"value {value}");
            Assert.All(l, v => Assert.True(double.IsFinite(v)));
            Assert.All(g, v => Assert.True(double.IsFinite(v)));
        }
    }

    [Fact]
    public void BceAtHugeLogitsIsExact()
    {
        var loss = new BinaryCrossEntropyLoss(reduction: Reduction.None);
        var l = new double[4];
        var g = new double[4];
        loss.Compute<double>([1e30, -1e30, 1e30, -1e30], [0.0, 1.0, 1.0, 0.0], l, g);
        Assert.Equal([1e30, 1e30, 0, 0], l);
        Assert.Equal([1.0, -1.0, 0.0, 0.0], g);
    }

    [Fact]
    public void SigmoidFocalAtHugeLogitsTakesTheLimits()
    {
        var loss = new SigmoidFocalLoss(reduction: Reduction.None);
        var l = new double[3];
        var g = new double[3];
        loss.Compute<double>([-1e30, 1e30, 1e30], [1.0, 1.0, 0.0], l, g);
        Assert.Equal(0.25 * 1e30, l[0]);
        Assert.Equal(-0.25, g[0]);
        Assert.Equal(0, l[1]);
        Assert.Equal(0, g[1]);
        Assert.Equal(0.75 * 1e30, l[2]);
        Assert.Equal(0.75, g[2]);
    }

    /// <summary>The exponential loss is documented to overflow, not capped: beyond β·|s| ≈ 709 on the wrong side it is +∞.</summary>
    [Fact]
    public void ExponentialOverflowsAsDocumented()
    {
        var loss = new ExponentialLoss(beta: 2, reduction: Reduction.None);
        Assert.Equal(40, loss.FiniteLogitScale);
        var l = new double[3];
        var g = new double[3];
        loss.Compute<double>([-400.0, 400.0, 349.0], [1.0, 1.0, 0.0], l, g);
        Assert.Equal(double.PositiveInfinity, l[0]);
        Assert.Equal(double.NegativeInfinity, g[0]);
        Assert.Equal(0, l[1]);                            // the right side underflows to 0
        Assert.True(double.IsFinite(l[2]) && l[2] > 1e300);
    }

    [Theory, MemberData(nameof(Elementwise))]
    public void NanLogitPoisonsOnlyItsElement(string spec)
    {
        var loss = Create(spec);
        var (z, t) = Batch(loss, 7, 1, 9);
        z[5] = double.NaN;
        var l = new double[z.Length];
        var g = new double[z.Length];
        double value = loss.Compute<double>(z, t, l, g);
        Assert.True(double.IsNaN(value));
        Assert.True(double.IsNaN(l[5]));
        Assert.True(double.IsNaN(g[5]));
        for (int i = 0; i < z.Length; i++)
            if (i != 5) { Assert.True(double.IsFinite(l[i])); Assert.True(double.IsFinite(g[i])); }
    }

    [Theory, MemberData(nameof(All))]
    public void FloatAndHalfAgreeWithDouble(string spec)
    {
        var loss = Create(spec);
        var (z, t) = Batch(loss, 41, 2, 17);
        // Round the inputs to Half so all three types see the same numbers.
        double[] zh = z.Select(v => (double)(Half)v).ToArray(), th = t.Select(v => (double)(Half)v).ToArray();
        (loss as EnsLoss)?.Reset();
        var gd = new double[z.Length];
        double vd = loss.Compute<double>(zh, th, default, gd);
        (loss as EnsLoss)?.Reset();
        var gf = new float[z.Length];
        float vf = loss.Compute<float>(zh.Select(v => (float)v).ToArray(), th.Select(v => (float)v).ToArray(), default, gf);
        (loss as EnsLoss)?.Reset();
        var gh = new Half[z.Length];
        Half vh = loss.Compute<Half>(zh.Select(v => (Half)v).ToArray(), th.Select(v => (Half)v).ToArray(), default, gh);
        double gNorm = Math.Max(1e-3, gd.Max(Math.Abs));
        Assert.Equal(vd, vf, 2e-5 * Math.Max(1, Math.Abs(vd)));
        // Half holds at most 65504: a loss whose value or gradient is beyond that (exponential) is not compared in Half.
        bool halfRange = Math.Abs(vd) < 6e4 && gd.All(v => Math.Abs(v) < 6e4);
        if (halfRange) Assert.Equal(vd, (double)vh, 2e-3 * Math.Max(1, Math.Abs(vd)));
        for (int i = 0; i < z.Length; i++)
        {
            Assert.True(Math.Abs(gd[i] - gf[i]) <= 2e-5 * gNorm, $"float g[{i}] {gf[i]} vs {gd[i]}");
            if (halfRange) Assert.True(Math.Abs(gd[i] - (double)gh[i]) <= 2e-3 * gNorm, $"Half g[{i}] {gh[i]} vs {gd[i]}");
        }
    }

    public static TheoryData<string, string> DeterminismCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string spec in new[] { "bce", "bce(pos_weight=[2,0.5,1,3,0.1,1,2], weight=[1,2,3,4,5,6,7])", "sigmoid_focal", "smoothed_hinge(h=0.5)",
                     "exponential", "asl", "auc_m", "anyloss(metric=gmean)", "ensloss(period=2)" })
            foreach (string type in new[] { "float", "double", "Half" })
                data.Add(spec, type);
        return data;
    }

    [Theory, MemberData(nameof(DeterminismCases))]
    public void OneAndTwoThreadsGiveIdenticalBits(string spec, string type)
    {
        var loss = Create(spec);
        int c = (loss as BinaryLoss)?.FixedColumnCount ?? 1;
        int rows = (5 * 16384 + 123) / c;
        var rng = new Random(23);
        double[] z = GradientCheck.RandomLogits(rng, rows, c, 3);
        double[] t = GradientCheck.RandomBinaryTargets(rng, z.Length, soft: true);
        Assert.Equal(Run(1), Run(2));

        string Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            (loss as EnsLoss)?.Reset();
            try
            {
                return type switch
                {
                    "float" => Bits(z.Select(v => (float)v).ToArray(), t.Select(v => (float)v).ToArray()),
                    "double" => Bits(z, t),
                    _ => Bits(z.Select(v => (Half)v).ToArray(), t.Select(v => (Half)v).ToArray()),
                };
            }
            finally { Parallelism.MaxThreads = saved; }
        }

        string Bits<T>(T[] zz, T[] tt) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var l = new T[zz.Length];
            var g = new T[zz.Length];
            T v = loss.Compute<T>(zz, tt, l, g);
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes<T>(l).ToArray()
                .Concat(System.Runtime.InteropServices.MemoryMarshal.AsBytes<T>(g).ToArray())
                .Concat(System.Runtime.InteropServices.MemoryMarshal.AsBytes<T>([v]).ToArray()).ToArray();
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes));
        }
    }

    /// <summary>The same call gives the same bits on its first run and after the JIT has re-compiled the kernel at a
    /// higher tier (the BCL's vector exp/log did not: their multiply-adds are fused or not depending on how they were
    /// compiled, which is why the kernel has its own).</summary>
    [Theory, MemberData(nameof(Elementwise))]
    public void RepeatedCallsGiveIdenticalBits(string spec)
    {
        var loss = Create(spec);
        int c = (loss as BinaryLoss)?.FixedColumnCount ?? 1;
        var rng = new Random(31);
        int rows = 20_000 / c;
        float[] z = GradientCheck.RandomLogits(rng, rows, c, 3).Select(v => (float)v).ToArray();
        float[] t = GradientCheck.RandomBinaryTargets(rng, z.Length, soft: true).Select(v => (float)v).ToArray();
        double[] zd = z.Select(x => (double)x).ToArray(), td = t.Select(x => (double)x).ToArray();
        var g0 = new float[z.Length];
        var d0 = new double[z.Length];
        float v0 = loss.Compute<float>(z, t, default, g0);
        double w0 = loss.Compute<double>(zd, td, default, d0);
        var g = new float[z.Length];
        var d = new double[z.Length];
        float v = 0;
        double w = 0;
        for (int k = 0; k < 40; k++)
        {
            v = loss.Compute<float>(z, t, default, g);
            w = loss.Compute<double>(zd, td, default, d);
        }
        Assert.Equal(BitConverter.SingleToInt32Bits(v0), BitConverter.SingleToInt32Bits(v));
        Assert.True(g0.AsSpan().SequenceEqual(g));
        Assert.Equal(BitConverter.DoubleToInt64Bits(w0), BitConverter.DoubleToInt64Bits(w));
        Assert.True(d0.AsSpan().SequenceEqual(d));
    }

    [Fact]
    public void ForwardOnlyEqualsForwardWithGradient()
    {
        foreach (string spec in BinarySpecs.All)
        {
            var loss = Create(spec);
            var (z, t) = Batch(loss, 6, 2, 1);
            (loss as EnsLoss)?.Reset();
            double a = loss.Compute<double>(z, t);
            (loss as EnsLoss)?.Reset();
            double b = loss.Compute<double>(z, t, new double[z.Length], new double[z.Length]);
            Assert.Equal(a, b);
        }
    }
}
