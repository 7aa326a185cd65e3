using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using LossKit.Kernels;

namespace LossKit.Benchmarks;

/// <summary>A GEMM problem: C (m×n) = op(A) (m×k) · op(B) (k×n).</summary>
public sealed record GemmShape(string Name, int M, int N, int K, bool TransposeA, bool TransposeB)
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => Name;

    /// <summary>Square 1024³, a tall-skinny 4096×512×8192, and the three products of an MLP layer
    /// 784→256 on a batch of 128: forward X·W, weight gradient Xᵀ·G and input gradient G·Wᵀ.</summary>
    public static IEnumerable<GemmShape> All =>
    [
        new("1024³", 1024, 1024, 1024, false, false),
        new("4096×512×8192", 4096, 512, 8192, false, false),
        new("X·W 128×256×784", 128, 256, 784, false, false),
        new("Xᵀ·G 784×256×128", 784, 256, 128, true, false),
        new("G·Wᵀ 128×784×256", 128, 784, 256, false, true),
    ];
}

/// <summary>Single-precision GEMM throughput; the GFLOP/s column is 2·m·n·k / mean time.</summary>
[Config(typeof(Config))]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.All.First();

    [Params(1, 2)]
    public int Threads { get; set; }

    public static IEnumerable<GemmShape> Shapes => GemmShape.All;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(7);
        _a = Enumerable.Range(0, Shape.M * Shape.K).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        _b = Enumerable.Range(0, Shape.K * Shape.N).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        _c = new float[Shape.M * Shape.N];
        Parallelism.MaxThreads = Threads;
    }

    [Benchmark]
    public void Multiply()
    {
        if (Parallelism.MaxThreads != Threads) Parallelism.MaxThreads = Threads;
        Gemm.Multiply(_a, _b, _c, Shape.M, Shape.N, Shape.K, Shape.TransposeA, Shape.TransposeB);
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new GflopsColumn());
            AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
        }
    }

    private sealed class GflopsColumn : IColumn
    {
        public string Id => "GFLOPs";
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "2·m·n·k / mean time, in 10⁹ floating-point operations per second";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            if (stats is null || benchmarkCase.Parameters["Shape"] is not GemmShape shape) return "-";
            return (shape.Flops / stats.Mean).ToString("F1"); // flops per ns = GFLOP/s
        }
    }
}

/// <summary>
/// A Stopwatch harness for a quick look on a busy machine: for each shape and thread count, the best and
/// median of several timed runs (each long enough to time), as GFLOP/s. Usage: <c>gemm-quick [threads...]</c>.
/// </summary>
public static class GemmQuick
{
    public static void Run(string[] args)
    {
        int[] threadCounts = args.Length > 0 ? args.Select(int.Parse).ToArray() : [1, 2];
        Console.WriteLine($"Vector512 accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, processors: {Environment.ProcessorCount}");
        foreach (GemmShape shape in GemmShape.All)
        {
            var rng = new Random(7);
            float[] a = Enumerable.Range(0, shape.M * shape.K).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            float[] b = Enumerable.Range(0, shape.K * shape.N).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            float[] c = new float[shape.M * shape.N];
            foreach (int threads in threadCounts)
            {
                Parallelism.MaxThreads = threads;
                int inner = (int)Math.Max(1, 3e9 / shape.Flops); // ≥ ~30 ms a sample at 100 GFLOP/s
                // At least 3 calls and 1 s, so that tiered JIT has replaced the first code with optimised code.
                long warm = Stopwatch.GetTimestamp();
                for (int w = 0; w < 3 || Stopwatch.GetElapsedTime(warm).TotalSeconds < 1; w++)
                    Gemm.Multiply(a, b, c, shape.M, shape.N, shape.K, shape.TransposeA, shape.TransposeB);
                var seconds = new List<double>();
                for (int s = 0; s < 15; s++)
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < inner; i++) Gemm.Multiply(a, b, c, shape.M, shape.N, shape.K, shape.TransposeA, shape.TransposeB);
                    seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds / inner);
                }
                seconds.Sort();
                Console.WriteLine($"{shape.Name,-20} threads={threads}  best {shape.Flops / seconds[0] / 1e9,6:F1} GFLOP/s ({seconds[0] * 1e3:F2} ms)   median {shape.Flops / seconds[seconds.Count / 2] / 1e9,6:F1} GFLOP/s");
            }
        }
    }
}
