using LossKit.Scaling;
using ScottPlot;

namespace LossKit.Cli;

/// <summary>
/// The plots of <c>losskit fit --plots DIR</c> (ScottPlot 5, each as PNG and SVG; axes in log10): <c>fit</c> — the
/// fitted law over the points (laws in N and D: loss against compute k·N·D with the compute-optimal loss as the line;
/// one-variable laws: the law's line; curve laws: loss against step); <c>contours</c> — iso-loss contours in the (N, D)
/// plane with the frontier N_opt(C), D_opt(C); <c>residuals</c> — log y − log L against the first variable;
/// <c>predicted-vs-observed</c>. Fitted, dropped and held-out points have their own colours.
/// </summary>
internal static class FitPlots
{
    private const int Width = 720, Height = 480;

    public static IReadOnlyList<string> Write(string dir, FitResult fit, ExtrapolationCheck? check, double k)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        void Save(string name, Plot plot)
        {
            string png = Path.Combine(dir, name + ".png"), svg = Path.Combine(dir, name + ".svg");
            files.AddRange(LossKit.Workbench.Reports.PlotFiles.Write(plot, png, svg, Width, Height));
        }
        double[] fitted = fit.Fitted();
        var groups = Groups(fit, check);
        Save("fit", LawOverPoints(fit, fitted, groups, k));
        if (ComputeOptimal.Applies(fit.Law)) Save("contours", Contours(fit, groups, k));
        Save("residuals", Residuals(fit, fitted, groups));
        Save("predicted-vs-observed", PredictedVsObserved(fit, fitted, groups));
        return files;
    }

    /// <summary>Rows by role: fitted, dropped (highest loss), held out (extrapolation check).</summary>
    private static (string Name, int[] Rows, Color Color)[] Groups(FitResult fit, ExtrapolationCheck? check)
    {
        var list = new List<(string, int[], Color)> { ("fitted", [.. fit.Used], Colors.SteelBlue) };
        if (fit.Dropped.Count > 0) list.Add(("dropped (highest loss)", [.. fit.Dropped], Colors.Gray));
        if (check is not null) list.Add(($"held out ({check.Column} > {check.Threshold:G3})", [.. check.HeldOut.Select(h => h.Row)], Colors.OrangeRed));
        return [.. list];
    }

    private static Plot LawOverPoints(FitResult fit, double[] fitted, (string Name, int[] Rows, Color Color)[] groups, double k)
    {
        var plt = new Plot();
        var data = fit.Data;
        bool nd = ComputeOptimal.Applies(fit.Law), curve = fit.Law.Card.IsCurveLaw;
        double X(int r) => Math.Log10(nd ? k * data.X[0][r] * data.X[1][r] : data.X[0][r]);
        foreach (var (name, rows, color) in groups)
            Points(plt, [.. rows.Select(X)], [.. rows.Select(r => Math.Log10(data.Y[r]))], name, color);
        var all = Enumerable.Range(0, data.Rows).Select(X).ToArray();
        double lo = all.Min(), hi = all.Max();
        var xs = Enumerable.Range(0, 200).Select(i => lo + (hi - lo) * i / 199.0).ToArray();
        double[] ys;
        string label;
        if (curve)
        {
            xs = [.. Enumerable.Range(0, data.Rows).Select(X)];
            ys = [.. fitted.Select(Math.Log10)];
            label = fit.Law.Spec + " along the schedule";
        }
        else if (nd)
        {
            ys = [.. xs.Select(c => Math.Log10(ComputeOptimal.At(fit.Law, fit.Values, Math.Pow(10, c), k).Loss))];
            label = "loss at the compute-optimal N, D";
        }
        else
        {
            ys = [.. xs.Select(v => Math.Log10(fit.At(Math.Pow(10, v))))];
            label = fit.Law.Spec;
        }
        var line = plt.Add.ScatterLine(xs, ys);
        line.LegendText = label;
        line.Color = Colors.Black;
        plt.Title($"{fit.Law.Spec}: fitted law over the points");
        plt.XLabel(curve ? $"log10 {data.Names[0]}" : nd ? $"log10 compute ({k:G3}·N·D)" : $"log10 {data.Names[0]}");
        plt.YLabel($"log10 {data.YName}");
        plt.ShowLegend(Alignment.UpperRight);
        return plt;
    }

    private static Plot Contours(FitResult fit, (string Name, int[] Rows, Color Color)[] groups, double k)
    {
        var plt = new Plot();
        var data = fit.Data;
        double nLo = data.X[0].Min() / 3, nHi = data.X[0].Max() * 3, dLo = data.X[1].Min() / 3, dHi = data.X[1].Max() * 3;
        double[] sorted = [.. data.Y.Order()];
        var levels = new[] { 0.1, 0.3, 0.5, 0.7, 0.9 }.Select(q => sorted[(int)(q * (sorted.Length - 1))]).Distinct().ToArray();
        var palette = new ScottPlot.Palettes.Category10();
        for (int l = 0; l < levels.Length; l++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < 120; i++)
            {
                double logN = Math.Log10(nLo) + (Math.Log10(nHi) - Math.Log10(nLo)) * i / 119.0;
                if (DataFor(fit, Math.Pow(10, logN), levels[l], Math.Log10(dLo) - 2, Math.Log10(dHi) + 2) is { } logD) { xs.Add(logN); ys.Add(logD); }
            }
            if (xs.Count < 2) continue;
            var line = plt.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.LegendText = $"loss {levels[l]:G3}";
            line.Color = palette.GetColor(l + 1);
        }
        double cLo = k * data.X[0].Min() * data.X[1].Min(), cHi = k * data.X[0].Max() * data.X[1].Max();
        var front = Enumerable.Range(0, 100).Select(i => ComputeOptimal.At(fit.Law, fit.Values, Math.Pow(10, Math.Log10(cLo) + (Math.Log10(cHi) - Math.Log10(cLo)) * i / 99.0), k))
            .Where(q => q.N >= nLo && q.N <= nHi).ToArray();
        if (front.Length > 1)
        {
            var fl = plt.Add.ScatterLine(front.Select(q => Math.Log10(q.N)).ToArray(), front.Select(q => Math.Log10(q.D)).ToArray());
            fl.LegendText = "compute-optimal frontier";
            fl.Color = Colors.Black;
            fl.LineWidth = 2;
        }
        foreach (var (name, rows, color) in groups)
            Points(plt, [.. rows.Select(r => Math.Log10(data.X[0][r]))], [.. rows.Select(r => Math.Log10(data.X[1][r]))], name, color);
        plt.Title($"{fit.Law.Spec}: iso-loss contours, frontier");
        plt.XLabel($"log10 N ({data.Names[0]})");
        plt.YLabel($"log10 D ({data.Names[1]})");
        plt.ShowLegend(Edge.Right);
        return plt;
    }

    /// <summary>log10 D where L(N, D) = level (bisection in log D; the law falls as D grows), or null when out of range.</summary>
    private static double? DataFor(FitResult fit, double n, double level, double lo, double hi)
    {
        double F(double logD) => fit.At(n, Math.Pow(10, logD)) - level;
        double flo = F(lo), fhi = F(hi);
        if (!(flo > 0 && fhi < 0)) return null;
        for (int i = 0; i < 60; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (F(mid) > 0) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    private static Plot Residuals(FitResult fit, double[] fitted, (string Name, int[] Rows, Color Color)[] groups)
    {
        var plt = new Plot();
        var data = fit.Data;
        foreach (var (name, rows, color) in groups)
            Points(plt, [.. rows.Select(r => Math.Log10(data.X[0][r]))], [.. rows.Select(r => Math.Log(data.Y[r]) - Math.Log(fitted[r]))], name, color);
        var zero = plt.Add.HorizontalLine(0);
        zero.Color = Colors.Black;
        zero.LinePattern = LinePattern.Dashed;
        plt.Title($"{fit.Law.Spec}: residuals");
        plt.XLabel($"log10 {data.Names[0]}");
        plt.YLabel($"log {data.YName} − log fitted");
        plt.ShowLegend(Alignment.UpperRight);
        return plt;
    }

    private static Plot PredictedVsObserved(FitResult fit, double[] fitted, (string Name, int[] Rows, Color Color)[] groups)
    {
        var plt = new Plot();
        var data = fit.Data;
        foreach (var (name, rows, color) in groups)
            Points(plt, [.. rows.Select(r => data.Y[r])], [.. rows.Select(r => fitted[r])], name, color);
        double lo = Math.Min(data.Y.Min(), fitted.Min()), hi = Math.Max(data.Y.Max(), fitted.Max());
        var diagonal = plt.Add.Line(lo, lo, hi, hi);
        diagonal.Color = Colors.Black;
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "predicted = observed";
        plt.Title($"{fit.Law.Spec}: predicted vs observed");
        plt.XLabel($"observed {data.YName}");
        plt.YLabel("predicted");
        plt.ShowLegend(Alignment.UpperLeft);
        return plt;
    }

    private static void Points(Plot plt, double[] xs, double[] ys, string name, Color color)
    {
        if (xs.Length == 0) return;
        var sc = plt.Add.ScatterPoints(xs, ys);
        sc.LegendText = name;
        sc.Color = color;
        sc.MarkerSize = 5;
    }
}
