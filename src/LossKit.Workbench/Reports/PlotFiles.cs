using ScottPlot;

namespace LossKit.Workbench.Reports;

/// <summary>
/// Every figure LossKit draws goes through here, one at a time. ScottPlot renders with SkiaSharp, and SkiaSharp's font
/// lookup (fontconfig on Linux) is not safe when two threads draw text at once: SkiaSharp issues #1148 and #1220
/// report segmentation faults, which take the whole process down (seen once as a test host that died without a
/// message while the CLI tests drew reports in parallel). A report draws a handful of figures, so drawing them one at a
/// time costs nothing that matters.
/// </summary>
public static class PlotFiles
{
    private static readonly Lock s_render = new();

    /// <summary>Runs <paramref name="draw"/> (anything that renders or measures a plot) while no other thread draws.</summary>
    public static T Draw<T>(Func<T> draw)
    {
        lock (s_render) return draw();
    }

    /// <summary>Writes <paramref name="plot"/> as PNG and SVG of <paramref name="width"/>×<paramref name="height"/>
    /// (each written to a temporary file and moved into place, so a reader never sees half a file); returns the two
    /// paths.</summary>
    public static string[] Write(Plot plot, string png, string svg, int width, int height) => Draw(() =>
    {
        AtomicFile.Write(png, tmp => plot.SavePng(tmp, width, height));
        AtomicFile.Write(svg, tmp => plot.SaveSvg(tmp, width, height));
        return new[] { png, svg };
    });
}
