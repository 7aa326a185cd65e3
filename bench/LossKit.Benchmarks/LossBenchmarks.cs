using BenchmarkDotNet.Attributes;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Benchmarks;

/// <summary>
/// Loss + gradient and forward-only time of the softmax family on float logits, next to a copy of the same bytes
/// (the memory-bandwidth floor). Run: <c>dotnet run -c Release --project bench/LossKit.Benchmarks -- --filter '*LossBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
public class LossBenchmarks
{
    private float[] _logits = [], _gradient = [];
    private int[] _targets = [];
    private IClassificationLoss _loss = null!;

    [Params("ce", "ce(smoothing=0.1)", "focal(gamma=2)", "gce(q=0.7)", "sce")]
    public string Spec { get; set; } = "ce";

    [Params("4096x32000", "65536x10")]
    public string Shape { get; set; } = "4096x32000";

    private int Rows => int.Parse(Shape.Split('x')[0]);
    private int Classes => int.Parse(Shape.Split('x')[1]);

    [GlobalSetup]
    public void Setup()
    {
        _loss = LossRegistry.CreateClassification(Spec);
        var rng = new Random(42);
        _logits = new float[Rows * Classes];
        for (int i = 0; i < _logits.Length; i++) _logits[i] = (float)(rng.NextDouble() * 8 - 4);
        _gradient = new float[_logits.Length];
        _targets = Enumerable.Range(0, Rows).Select(_ => rng.Next(Classes)).ToArray();
    }

    [Benchmark(Baseline = true)]
    public void CopySameBytes() => _logits.AsSpan().CopyTo(_gradient);

    [Benchmark]
    public float LossAndGradient() => _loss.Compute<float>(_logits, Classes, _targets, default, _gradient);

    [Benchmark]
    public float ForwardOnly() => _loss.Compute<float>(_logits, Classes, _targets);
}
