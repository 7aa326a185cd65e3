using LossKit.Scaling;

namespace LossKit.Scaling.Tests;

/// <summary>Data generated from known parameters of each law (noiseless unless a noise level is given).</summary>
internal static class Generated
{
    public static double[] LogSpace(double lo, double hi, int count) =>
        [.. Enumerable.Range(0, count).Select(i => Math.Pow(10, Math.Log10(lo) + (Math.Log10(hi) - Math.Log10(lo)) * i / (count - 1)))];

    /// <summary>A law's values at the given variables, with multiplicative log-normal noise of the given size.</summary>
    public static LawData Make(ScalingLaw law, double[] parameters, IReadOnlyList<double[]> x, double noise = 0, int seed = 1)
    {
        var probe = new LawData(law.Variables, x, new double[x[0].Length]);
        double[] y = law.Predict(probe, parameters);
        var rng = new Random(seed);
        for (int i = 0; i < y.Length; i++) y[i] *= Math.Exp(noise * Normal(rng));
        return new LawData(law.Variables, x, y);
    }

    /// <summary>Every (N, D) pair of two log-spaced axes.</summary>
    public static IReadOnlyList<double[]> Grid2(double[] a, double[] b) =>
        [[.. a.SelectMany(v => b.Select(_ => v))], [.. a.SelectMany(_ => b)]];

    /// <summary>A logged learning curve: the peak LR held for the first fifth of the steps, then a cosine to a tenth of
    /// it; every <paramref name="every"/>-th step from step <paramref name="every"/> to <paramref name="steps"/>.</summary>
    public static IReadOnlyList<double[]> Schedule(int steps, int every, double peak = 1e-3)
    {
        var step = new List<double>();
        var lr = new List<double>();
        int hold = steps / 5;
        for (int s = every; s <= steps; s += every)
        {
            step.Add(s);
            lr.Add(s <= hold ? peak : peak * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * (s - hold) / (steps - hold)))));
        }
        return [[.. step], [.. lr]];
    }

    public static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Each law with parameters to recover and the inputs to generate from.</summary>
    public static IEnumerable<(string Spec, double[] Parameters, IReadOnlyList<double[]> X)> Cases()
    {
        yield return ("power", [1.5, 300, 0.3], [LogSpace(1e6, 1e10, 20)]);
        yield return ("chinchilla", [1.69, 406.4, 410.7, 0.34, 0.28], Grid2(LogSpace(1e7, 1e10, 7), LogSpace(1e8, 1e11, 7)));
        yield return ("kaplan", [6.4e13, 1.8e13, 0.076, 0.095], Grid2(LogSpace(1e6, 1e9, 6), LogSpace(1e7, 1e10, 6)));
        yield return ("loss_to_loss", [0.8, 1.3, 1.8, 1.2], [[.. Enumerable.Range(0, 20).Select(i => 2.2 + 0.15 * i)]]);
        yield return ("broken_power", [0.5, 20, 0.1, 0.4, 1e5, 0.5], [LogSpace(1e2, 1e8, 40)]);
        yield return ("lr_annealing", [2.0, 0.5, 0.5, 0.5], Schedule(4000, 40));
        yield return ("multi_power", [2.0, 0.5, 0.5, 300, 2, 0.5, 0.5], Schedule(4000, 80));
    }
}
