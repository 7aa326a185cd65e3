using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;
using LossKit.Sparse;

namespace LossKit.Benchmarks;

/// <summary>
/// Where the time of <c>sparsemax</c> and <c>entmax15</c> goes on 4096 rows of 1000 float logits uniform in [−4, 4] (the
/// inputs of <c>losskit bench</c>), one thread: the threshold τ of every row (<see cref="SparseThreshold.Find{TC,TMap}"/>)
/// and each of its stages on its own — the lane maxima, Newton's lower bound on them, the selection of the candidates, the
/// sort of the candidates' distances to the max, the sort-based scan over them — next to the whole loss + gradient and
/// <c>ce</c>'s. Run: <c>dotnet run -c Release --project bench/LossKit.Benchmarks -- --filter '*SparseThreshold*'</c>.
/// </summary>
[ShortRunJob(RuntimeMoniker.Net10_0)]
public class SparseThresholdBenchmarks
{
    private const int Rows = 4096, Classes = 1000;
    private float[] _logits = [], _gradient = [], _work = [], _lanes = [], _scratch = [];
    private float[][] _distances = [], _sorted = [];
    private double[] _max = [], _bound = [];
    private int[] _targets = [], _indices = [], _counts = [];
    private IClassificationLoss _loss = null!, _ce = null!;
    private Stages _stages = null!;

    [Params("sparsemax", "entmax15")]
    public string Loss { get; set; } = "entmax15";

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = 1;
        var rng = new Random(42);
        _logits = new float[Rows * Classes];
        for (int i = 0; i < _logits.Length; i++) _logits[i] = (float)(rng.NextDouble() * 8 - 4);
        _gradient = new float[_logits.Length];
        _targets = Enumerable.Range(0, Rows).Select(_ => rng.Next(Classes)).ToArray();
        (_loss, _ce) = (LossRegistry.CreateClassification(Loss), LossRegistry.CreateClassification("ce"));
        _stages = Loss == "sparsemax" ? new Stages<SparsemaxMap>() : new Stages<Entmax15Map>();
        _work = new float[SparseThreshold.WorkLength(Classes)];
        (_lanes, _max, _bound) = (new float[64 * Rows], new double[Rows], new double[Rows]);
        (_indices, _counts, _scratch) = (new int[Classes], new int[Classes + 1], new float[Classes]);
        _distances = new float[Rows][];
        _sorted = new float[Rows][];
        for (int r = 0; r < Rows; r++)
        {
            _stages.Lanes(Row(r), _lanes.AsSpan(64 * r, 64), out float max);
            _max[r] = max;
            _bound[r] = _stages.Newton(_lanes.AsSpan(64 * r, 64), max);
            int count = _stages.Select(Row(r), (float)(_bound[r] - 1e-4), _work, _indices);
            _distances[r] = [.. _work.AsSpan(0, count).ToArray().Select(v => max - v)];
            _sorted[r] = [.. _distances[r].Order()];
        }
    }

    private ReadOnlySpan<float> Row(int r) => _logits.AsSpan(r * Classes, Classes);

    [Benchmark(Baseline = true)]
    public float Ce() => _ce.Compute<float>(_logits, Classes, _targets, default, _gradient);

    [Benchmark]
    public float LossAndGradient() => _loss.Compute<float>(_logits, Classes, _targets, default, _gradient);

    [Benchmark]
    public double Threshold()
    {
        double sum = 0;
        for (int r = 0; r < Rows; r++) sum += _stages.Find(Row(r), _work);
        return sum;
    }

    [Benchmark]
    public float LaneMaxima()
    {
        float sum = 0;
        for (int r = 0; r < Rows; r++) { _stages.Lanes(Row(r), _lanes.AsSpan(64 * r, 64), out float max); sum += max; }
        return sum;
    }

    [Benchmark]
    public double NewtonBound()
    {
        double sum = 0;
        for (int r = 0; r < Rows; r++) sum += _stages.Newton(_lanes.AsSpan(64 * r, 64), (float)_max[r]);
        return sum;
    }

    [Benchmark]
    public int SelectCandidates()
    {
        int sum = 0;
        for (int r = 0; r < Rows; r++) sum += _stages.Select(Row(r), (float)(_bound[r] - 1e-4), _work, _indices);
        return sum;
    }

    [Benchmark]
    public float SortCandidates()
    {
        float sum = 0;
        for (int r = 0; r < Rows; r++)
        {
            Span<float> d = _work.AsSpan(0, _distances[r].Length);
            _distances[r].CopyTo(d);
            sum += SparseThreshold.SortValues<float>(d, _sorted[r][^1], _scratch, _counts)[0];
        }
        return sum;
    }

    [Benchmark]
    public double Scan()
    {
        double sum = 0;
        for (int r = 0; r < Rows; r++) sum += _stages.Scan(_sorted[r]);
        return sum;
    }

    /// <summary>The stages for one map (sparsemax or 1.5-entmax), on the widest vectors.</summary>
    private abstract class Stages
    {
        public abstract double Find(ReadOnlySpan<float> z, Span<float> work);
        public abstract void Lanes(ReadOnlySpan<float> z, Span<float> lanes, out float max);
        public abstract double Newton(ReadOnlySpan<float> lanes, float max);
        public abstract int Select(ReadOnlySpan<float> z, float bound, Span<float> values, Span<int> indices);
        public abstract double Scan(ReadOnlySpan<float> sorted);
    }

    private sealed class Stages<TMap> : Stages where TMap : struct, ISparseMap
    {
        public override double Find(ReadOnlySpan<float> z, Span<float> work) => SparseThreshold.Find<float, TMap>(z, work).Tau;
        public override void Lanes(ReadOnlySpan<float> z, Span<float> lanes, out float max) =>
            SparseThreshold.Kernel<float, Vector512<float>, Simd512<float>, TMap>.LaneMaxima(z, lanes, out max);
        public override double Newton(ReadOnlySpan<float> lanes, float max) =>
            SparseThreshold.Kernel<float, Vector512<float>, Simd512<float>, TMap>.Newton(lanes, max - TMap.Reach, max, 1e-2);
        public override int Select(ReadOnlySpan<float> z, float bound, Span<float> values, Span<int> indices) =>
            SparseThreshold.Kernel<float, Vector512<float>, Simd512<float>, TMap>.Select(z, bound, values, indices, out _);
        public override double Scan(ReadOnlySpan<float> sorted) => TMap.Scan(sorted, 10f, true, out _);
    }
}
