using LossKit.Catalog;
using LossKit.Kernels;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Tests.Training;

/// <summary>Backprop of the float32 MLP against central finite differences of a double-precision reference forward pass.</summary>
public class MlpGradientTests
{
    private const int Rows = 7;

    /// <summary>Logits of the network in double precision, from double parameters laid out as <see cref="Mlp.Parameters"/>.</summary>
    private static double[] ReferenceForward(IReadOnlyList<int> sizes, double[] p, double[] x, int rows)
    {
        double[] input = x;
        int offset = 0;
        for (int l = 0; l < sizes.Count - 1; l++)
        {
            int inW = sizes[l], outW = sizes[l + 1];
            int w = offset, b = offset + inW * outW;
            offset = b + outW;
            var output = new double[rows * outW];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < outW; j++)
                {
                    double s = p[b + j];
                    for (int i = 0; i < inW; i++) s += input[r * inW + i] * p[w + j * inW + i];
                    output[r * outW + j] = l < sizes.Count - 2 ? Math.Max(0, s) : s;
                }
            input = output;
        }
        return input;
    }

    private static (Mlp Model, float[] X, int[] Y) Setup(int[] sizes, int seed)
    {
        var model = new Mlp(sizes);
        var rng = new SeededRng((ulong)seed);
        model.Initialize(rng, InitScheme.Auto);
        // Non-zero biases so that they matter.
        for (int l = 0; l < model.Layers; l++)
        {
            var b = model.Bias(l);
            for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5) * 0.2f;
        }
        var x = new float[Rows * sizes[0]];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new int[Rows];
        for (int i = 0; i < Rows; i++) y[i] = rng.NextInt(sizes[^1]);
        return (model, x, y);
    }

    [Theory]
    [InlineData("ce", new[] { 5, 4, 3 })]
    [InlineData("ce", new[] { 6, 8, 5, 4 })]
    [InlineData("focal(gamma=2)", new[] { 5, 6, 4 })]
    [InlineData("gce(q=0.7)", new[] { 5, 6, 4 })]
    [InlineData("mae", new[] { 5, 6, 4 })]
    [InlineData("sce", new[] { 5, 6, 4 })]
    [InlineData("ce(smoothing=0.1)", new[] { 4, 3 })]
    public void BackwardMatchesFiniteDifferencesOfDoubleReference(string spec, int[] sizes)
    {
        var loss = LossRegistry.CreateClassification(spec);
        var (model, x, y) = Setup(sizes, seed: 12345);
        int k = sizes[^1];
        var ws = model.CreateWorkspace(Rows);
        var logits = model.Forward(ws, x, Rows);
        loss.Compute<float>(logits, k, y, default, ws.OutputGradient.AsSpan(0, Rows * k));
        model.Backward(ws, x, Rows);
        float[] analytic = (float[])model.Gradients.Clone();

        double[] p = model.Parameters.Select(v => (double)v).ToArray();
        double[] xd = x.Select(v => (double)v).ToArray();
        // The double reference forward agrees with the float forward.
        var refLogits = ReferenceForward(sizes, p, xd, Rows);
        for (int i = 0; i < refLogits.Length; i++) Assert.Equal(refLogits[i], logits[i], 1e-5);

        double Loss(double[] q) => loss.Compute<double>(ReferenceForward(sizes, q, xd, Rows), k, y);
        const double h = 1e-6;
        int checkedCount = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double saved = p[i];
            p[i] = saved + h;
            double up = Loss(p);
            p[i] = saved - h;
            double down = Loss(p);
            p[i] = saved;
            double numeric = (up - down) / (2 * h);
            double tolerance = 2e-5 + 2e-3 * Math.Abs(numeric);
            Assert.True(Math.Abs(analytic[i] - numeric) <= tolerance,
                $"{spec} {string.Join("-", sizes)}: parameter {i}: backprop {analytic[i]:R}, finite difference {numeric:R}");
            checkedCount++;
        }
        Assert.Equal(model.Parameters.Length, checkedCount);
        Assert.Contains(analytic, g => g != 0);
    }

    [Fact]
    public void PredictInChunksEqualsOneForward()
    {
        var (model, x, _) = Setup([5, 7, 3], seed: 7);
        var whole = model.Forward(model.CreateWorkspace(Rows), x, Rows).ToArray();
        var chunked = new float[Rows * 3];
        model.Predict(model.CreateWorkspace(3), x, chunked);
        Assert.Equal(whole, chunked);
    }

    [Fact]
    public void InitialisationIsSeededAndScaled()
    {
        var a = new Mlp([100, 200, 10]);
        var b = new Mlp([100, 200, 10]);
        a.Initialize(SeededRng.ForPurpose(3, "init"));
        b.Initialize(SeededRng.ForPurpose(3, "init"));
        Assert.Equal(a.Parameters, b.Parameters);
        b.Initialize(SeededRng.ForPurpose(4, "init"));
        Assert.NotEqual(a.Parameters, b.Parameters);
        // He normal on the hidden layer: std √(2/100); Xavier uniform on the output: limit √(6/210).
        var w0 = a.Weights(0).ToArray();
        double std = Math.Sqrt(w0.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.95 * Math.Sqrt(0.02), 1.05 * Math.Sqrt(0.02));
        double limit = Math.Sqrt(6.0 / 210);
        var w1 = a.Weights(1).ToArray();
        Assert.All(w1, v => Assert.InRange(v, -limit, limit));
        Assert.True(w1.Max() > 0.8 * limit);
        Assert.All(a.Bias(0).ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData("linear", new int[0])]
    [InlineData("mlp:256,128", new[] { 256, 128 })]
    [InlineData(" MLP:64 ", new[] { 64 })]
    public void ModelSpecParses(string text, int[] hidden)
    {
        var m = ModelSpec.Parse(text);
        Assert.Equal(hidden, m.Hidden);
        Assert.Equal(m, ModelSpec.Parse(m.ToString()));
    }

    [Theory]
    [InlineData("mlp:")]
    [InlineData("mlp:0")]
    [InlineData("mlp:12,x")]
    [InlineData("cnn")]
    public void BadModelSpecsAreErrors(string text) =>
        Assert.Throws<ArgumentException>(() => ModelSpec.Parse(text));
}

/// <summary>Runs alone: the GEMM's packing buffers come from a process-wide pool, and tests running at the same time
/// can leave it empty for a moment, so that a warm loop here would have to allocate one.</summary>
[CollectionDefinition(nameof(HotLoopAllocationTests), DisableParallelization = true)]
public class HotLoopAllocationCollection;

[Collection(nameof(HotLoopAllocationTests))]
public class HotLoopAllocationTests
{
    [Theory]
    [InlineData(LossKit.Workbench.Training.OptimizerKind.Sgd)]
    [InlineData(LossKit.Workbench.Training.OptimizerKind.AdamW)]
    public void ForwardBackwardAndStepAllocateNothingOnceWarm(LossKit.Workbench.Training.OptimizerKind kind)
    {
        Parallelism.MaxThreads = 1; // allocations of other threads would not be counted
        var model = new Mlp([64, 128, 10]);
        model.Initialize(new SeededRng(1));
        var ws = model.CreateWorkspace(32);
        var x = new float[32 * 64];
        var rng = new SeededRng(2);
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var segments = model.WeightRanges().Select(r => new LossKit.Workbench.Training.ParameterSegment(r.Offset, r.Length, 1e-4f)).ToArray();
        var opt = LossKit.Workbench.Training.Optimizer.Create(kind, model.Parameters.Length, segments, 0.9f);
        void Step(int rows)
        {
            model.Forward(ws, x, rows);
            ws.OutputGradient.AsSpan(0, rows * 10).Fill(0.01f); // the loss kernel is LossKit's, not the workbench's
            model.Backward(ws, x, rows);
            opt.Step(model.Parameters, model.Gradients, 0.01f);
        }
        for (int i = 0; i < 5; i++) { Step(32); Step(7); } // warm up (JIT, GEMM packing pools)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) { Step(32); Step(7); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
