using System.Numerics.Tensors;

namespace LossKit.Workbench.Training;

/// <summary>Which optimizer updates the parameters.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with (heavy-ball) momentum and L2 weight decay, PyTorch's <c>torch.optim.SGD(momentum=μ, weight_decay=λ)</c>:
    /// g ← ∇ + λw, v ← μv + g, w ← w − η·v.</summary>
    Sgd,
    /// <summary>AdamW (Loshchilov &amp; Hutter 2019), PyTorch's <c>torch.optim.AdamW</c>: β = (0.9, 0.999), ε = 1e-8, decoupled
    /// weight decay w ← w·(1 − ηλ) before the Adam step.</summary>
    AdamW,
}

/// <summary>A contiguous run of parameters and the weight decay that applies to it.</summary>
internal readonly record struct ParameterSegment(int Offset, int Length, float WeightDecay);

/// <summary>Updates a flat parameter array from a flat gradient array. State is allocated once, at construction.</summary>
internal abstract class Optimizer
{
    protected Optimizer(int count, IReadOnlyList<ParameterSegment> segments)
    {
        Count = count;
        Segments = [.. segments];
    }

    protected int Count { get; }

    /// <summary>An array, so that looping over it in <see cref="Step"/> allocates no enumerator.</summary>
    protected ParameterSegment[] Segments { get; }

    /// <summary>One update with learning rate <paramref name="lr"/>.</summary>
    public abstract void Step(Span<float> parameters, ReadOnlySpan<float> gradients, float lr);

    /// <summary>The optimizer of <paramref name="model"/>'s parameters: <paramref name="weightDecay"/> on the weight
    /// matrices, none on the biases.</summary>
    public static Optimizer ForModel(Models.Mlp model, OptimizerKind kind, double weightDecay, double momentum = 0)
    {
        var segments = new List<ParameterSegment>();
        int at = 0;
        foreach (var (offset, length) in model.WeightRanges())
        {
            if (offset > at) segments.Add(new ParameterSegment(at, offset - at, 0));
            segments.Add(new ParameterSegment(offset, length, (float)weightDecay));
            at = offset + length;
        }
        if (at < model.Parameters.Length) segments.Add(new ParameterSegment(at, model.Parameters.Length - at, 0));
        return Create(kind, model.Parameters.Length, segments, (float)momentum);
    }

    public static Optimizer Create(OptimizerKind kind, int count, IReadOnlyList<ParameterSegment> segments, float momentum) => kind switch
    {
        OptimizerKind.Sgd => new SgdMomentum(count, segments, momentum),
        OptimizerKind.AdamW => new AdamW(count, segments),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown optimizer."),
    };
}

internal sealed class SgdMomentum(int count, IReadOnlyList<ParameterSegment> segments, float momentum) : Optimizer(count, segments)
{
    private readonly float[] _velocity = new float[count];
    private readonly float[] _scratch = new float[count];

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients, float lr)
    {
        foreach (var s in Segments)
        {
            var w = parameters.Slice(s.Offset, s.Length);
            var v = _velocity.AsSpan(s.Offset, s.Length);
            ReadOnlySpan<float> g = gradients.Slice(s.Offset, s.Length);
            if (s.WeightDecay != 0)
            {
                var t = _scratch.AsSpan(s.Offset, s.Length);
                TensorPrimitives.MultiplyAdd(w, s.WeightDecay, g, t); // g + λw
                g = t;
            }
            if (momentum != 0)
            {
                TensorPrimitives.MultiplyAdd(v, momentum, g, v);      // v = μv + g
                TensorPrimitives.MultiplyAdd(v, -lr, w, w);           // w -= η v
            }
            else
            {
                TensorPrimitives.MultiplyAdd(g, -lr, w, w);
            }
        }
    }
}

internal sealed class AdamW(int count, IReadOnlyList<ParameterSegment> segments) : Optimizer(count, segments)
{
    public const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;

    private readonly float[] _m = new float[count];
    private readonly float[] _v = new float[count];
    private readonly float[] _scratch = new float[count];
    private int _t;

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients, float lr)
    {
        _t++;
        double bc1 = 1 - Math.Pow(Beta1, _t), bc2 = 1 - Math.Pow(Beta2, _t);
        float stepSize = (float)(lr / bc1);
        float invSqrtBc2 = (float)(1 / Math.Sqrt(bc2));
        foreach (var s in Segments)
        {
            var w = parameters.Slice(s.Offset, s.Length);
            var m = _m.AsSpan(s.Offset, s.Length);
            var v = _v.AsSpan(s.Offset, s.Length);
            var t = _scratch.AsSpan(s.Offset, s.Length);
            ReadOnlySpan<float> g = gradients.Slice(s.Offset, s.Length);
            if (s.WeightDecay != 0) TensorPrimitives.Multiply(w, 1 - lr * s.WeightDecay, w);
            TensorPrimitives.Multiply(m, Beta1, m);
            TensorPrimitives.MultiplyAdd(g, 1 - Beta1, m, m);         // m = β1 m + (1−β1) g
            TensorPrimitives.Multiply(g, g, t);
            TensorPrimitives.Multiply(v, Beta2, v);
            TensorPrimitives.MultiplyAdd(t, 1 - Beta2, v, v);         // v = β2 v + (1−β2) g²
            TensorPrimitives.Sqrt(v, t);
            TensorPrimitives.Multiply(t, invSqrtBc2, t);
            TensorPrimitives.Add(t, Epsilon, t);                      // √v̂ + ε
            TensorPrimitives.Divide(m, t, t);
            TensorPrimitives.MultiplyAdd(t, -stepSize, w, w);         // w -= η m̂ / (√v̂ + ε)
        }
    }
}

/// <summary>How the learning rate changes over training.</summary>
public enum ScheduleKind
{
    /// <summary>Linear warm-up, then half a cosine from the base rate down to 0 at the last step.</summary>
    Cosine,
    /// <summary>Linear warm-up, then the base rate.</summary>
    Constant,
}

/// <summary>Learning rate at each optimizer step: linear warm-up over the first <c>warmup × total</c> steps, then cosine decay (or constant).</summary>
internal sealed class LearningRateSchedule(double baseRate, int totalSteps, double warmupFraction, ScheduleKind kind)
{
    private readonly int _warmup = (int)Math.Round(Math.Clamp(warmupFraction, 0, 1) * totalSteps);

    public float At(int step)
    {
        if (step < _warmup) return (float)(baseRate * (step + 1) / _warmup);
        if (kind == ScheduleKind.Constant) return (float)baseRate;
        int span = Math.Max(1, totalSteps - _warmup);
        double progress = Math.Min(1.0, (double)(step - _warmup) / span);
        return (float)(baseRate * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
