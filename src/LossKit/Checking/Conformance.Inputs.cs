using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Checking;

public static partial class Conformance
{
    /// <summary>Values per input the thread check grows its batch to: three of the kernels' 32,768-value blocks.</summary>
    private const int ThreadCheckValues = 3 * 32_768;

    /// <summary>Loss, unreduced values and every gradient bit-identical in float with 1 and 2 threads, on a batch whose
    /// largest row-scaled input holds at least <see cref="ThreadCheckValues"/> values (several blocks).</summary>
    private static ConformanceResult Threads(Subject s, int seed)
    {
        const string name = "bit-identical for 1 and 2 threads";
        SampleSize size = s.Size(rows: 8, width: 257, dim: 16);
        // Values per row of the input that grows fastest with the rows (not a classifier weight, which has none).
        LossInputs small = s.Sample(size, new Random(seed), 4), large = s.Sample(size with { Rows = 16 }, new Random(seed), 4);
        int perRow = s.Differentiable(small).Max(n => (large[n].Length - small[n].Length) / 8);
        size = size with { Rows = ThreadCheckValues / Math.Max(perRow, 1) + 7 };
        LossInputs inputs = s.Sample(size, new Random(seed), 4);
        LossOutputs With(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try { return s.Evaluate<float>(s.Fresh(), inputs); }
            finally { Parallelism.MaxThreads = saved; }
        }
        LossOutputs one = With(1), two = With(2);
        string where = !Same([one.Loss], [two.Loss]) ? "loss"
            : !Same(one.Unreduced.Values, two.Unreduced.Values) ? "unreduced"
            : one.Gradients.Keys.FirstOrDefault(k => !Same(one.Gradients[k].Values, two.Gradients[k].Values)) is { } g ? "grad_" + g : "";
        string shapes = string.Join(", ", inputs.Select(kv => $"{kv.Key} {kv.Value.ShapeText}"));
        return new ConformanceResult(ConformanceChecks.Threads, name, where.Length == 0 ? 0 : 1, 0,
            $"float, {shapes}" + (where.Length == 0 ? "" : $"; {where} differs"));
    }

    private static bool Same(double[] a, double[] b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i])) return false;
        return true;
    }

    /// <summary>
    /// Finite loss, unreduced values and gradients (double) on: random inputs up to ± the loss's finite range, inputs of
    /// exactly ± that range, all-zero inputs (all-equal rows), one class (output) per row (unless class weights fix the
    /// count), and masked (−∞) non-target
    /// classes, whose gradient must be exactly 0 (kinds with masks). With label smoothing a masked class has target mass:
    /// its rows may be +∞ (never NaN), the gradients must be finite.
    /// </summary>
    private static ConformanceResult ExtremeInputs(Subject s, int seed)
    {
        const string name = "finite on extreme inputs";
        var rng = new Random(seed);
        double f = s.FiniteScale;
        SampleSize size = s.Size(rows: 4, width: 6);
        var cases = new List<(string Name, LossInputs Inputs)>
        {
            ($"inputs within ±{G(f)}", s.Sample(size, rng, f)),
            ($"inputs exactly ±{G(f)}", Alternate(s, s.Sample(size, rng, 1), f)),
            ("all-zero inputs (all-equal rows)", s.MapDifferentiable(s.Sample(size, rng, 1), _ => 0)),
        };
        if (s.SoftLabels(s.Sample(size, rng, f), rng) is { } soft) cases.Add(($"inputs within ±{G(f)}, soft labels", soft));
        if (s.Weights is null) cases.Add(("one class per row", s.Sample(size with { Width = 1 }, rng, 3)));
        LossInputs? masked = Masks.Apply(s.Kind, s.Sample(size, rng, 3), perRow: 2);
        if (masked is not null) cases.Add(("masked (−∞) classes", masked));
        foreach (var (what, inputs) in cases)
        {
            LossOutputs o = s.Evaluate(inputs);
            bool smoothedMask = ReferenceEquals(inputs, masked) && s.Smoothing > 0;
            string? bad = !double.IsFinite(o.Loss) && !(smoothedMask && o.Loss == double.PositiveInfinity) ? $"loss {G(o.Loss)}"
                : FirstBad(o.Unreduced.Values, smoothedMask) is { } i ? $"unreduced[{i}] = {G(o.Unreduced.Values[i])}"
                : null;
            foreach (var (input, g) in o.Gradients)
            {
                if (bad is not null) break;
                if (FirstBad(g.Values, allowInfinity: false) is { } j) bad = $"grad_{input}[{j}] = {G(g.Values[j])}";
                else if (!smoothedMask && inputs.TryGetValue(input, out LossTensor? x))
                    for (int k = 0; k < x.Length && bad is null; k++)
                        if (double.IsNegativeInfinity(x.Values[k]) && g.Values[k] != 0) bad = $"grad_{input}[{k}] = {G(g.Values[k])} at a masked class (must be 0)";
            }
            if (bad is not null) return Count(ConformanceChecks.ExtremeInputs, name, 1, $"{what}: {bad}");
        }
        return Count(ConformanceChecks.ExtremeInputs, name, 0, string.Join("; ", cases.Select(c => c.Name)));
    }

    /// <summary>The first index that is NaN or (unless allowed) infinite, or null.</summary>
    private static int? FirstBad(double[] values, bool allowInfinity)
    {
        for (int i = 0; i < values.Length; i++)
            if (double.IsNaN(values[i]) || (!allowInfinity && double.IsInfinity(values[i]))) return i;
        return null;
    }

    /// <summary>The sample with its differentiable inputs set to +f, −f, +f, ... .</summary>
    private static LossInputs Alternate(Subject s, LossInputs inputs, double f)
    {
        int i = 0;
        return s.MapDifferentiable(inputs, _ => i++ % 2 == 0 ? f : -f);
    }

    /// <summary>
    /// Each bad input must throw an <see cref="ArgumentException"/> whose parameter name is an input of the kind: every
    /// required input left out (naming it), every input one row short, every label input (class indices, 0/1
    /// targets, multi-hot rows) holding 10⁶, −3 or NaN in one place, and every differentiable input holding NaN in one
    /// place (naming that input: a NaN is refused where the inputs are prepared, never turned into a NaN loss).
    /// </summary>
    private static ConformanceResult BadInputs(Subject s, int seed)
    {
        const string name = "bad inputs are ArgumentExceptions naming the input";
        LossInputs inputs = s.Sample(s.Size(rows: 4, width: 5), new Random(seed), 1);
        var names = s.Kind.Inputs.Select(i => i.Name).ToHashSet();
        var cases = new List<(string What, LossInputs Inputs, IReadOnlySet<string> Expected)>();
        foreach (LossInput input in s.Kind.Inputs)
        {
            if (!inputs.TryGetValue(input.Name, out LossTensor? tensor)) continue;
            if (!input.Optional)
            {
                var missing = Subject.Copy(inputs);
                missing.Remove(input.Name);
                cases.Add(($"no {input.Name}", missing, new HashSet<string> { input.Name }));
            }
            if (tensor.Rank >= 1 && tensor.Shape[0] > 1)
            {
                int[] shape = [tensor.Shape[0] - 1, .. tensor.Shape[1..]];
                var shorter = Subject.Copy(inputs);
                shorter[input.Name] = new LossTensor(tensor.Values[..(tensor.Length / tensor.Shape[0] * shape[0])], shape);
                cases.Add(($"{input.Name} {ShapeText(shape)} instead of {tensor.ShapeText}", shorter, names));
            }
            if (input.Differentiable && tensor.Length > 0)
            {
                var values = (double[])tensor.Values.Clone();
                values[values.Length / 2] = double.NaN;
                var bad = Subject.Copy(inputs);
                bad[input.Name] = new LossTensor(values, tensor.Shape);
                cases.Add(($"{input.Name}[{values.Length / 2}] = NaN", bad, new HashSet<string> { input.Name }));
            }
            if (Subject.IsLabels(input, tensor))
                foreach (double value in new[] { 1e6, s.IgnoreIndex == -3 ? -4 : -3, double.NaN })
                {
                    var values = (double[])tensor.Values.Clone();
                    values[values.Length / 2] = value;
                    var bad = Subject.Copy(inputs);
                    bad[input.Name] = new LossTensor(values, tensor.Shape);
                    cases.Add(($"{input.Name}[{values.Length / 2}] = {G(value)}", bad, new HashSet<string> { input.Name }));
                }
        }
        var failures = new List<string>();
        foreach (var (what, bad, expected) in cases)
        {
            try
            {
                LossCall call = s.Kind.Prepare<double>(s.Fresh(), bad);
                call.Run();
                failures.Add($"{what}: accepted");
            }
            catch (ArgumentException e) when (e.ParamName is { } p && expected.Contains(p)) { }
            catch (ArgumentException e) { failures.Add($"{what}: ArgumentException naming '{e.ParamName}'"); }
            catch (Exception e) { failures.Add($"{what}: {e.GetType().Name} instead of an ArgumentException"); }
        }
        return Count(ConformanceChecks.BadInputs, name, failures.Count,
            failures.Count == 0 ? $"{cases.Count} cases: missing inputs, one row short, out-of-range labels, NaN inputs" : string.Join("; ", failures));
    }

    private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
