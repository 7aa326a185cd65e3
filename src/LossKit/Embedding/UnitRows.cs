namespace LossKit.Embedding;

/// <summary>Rows divided by max(‖x‖, ε) (PyTorch's <c>F.normalize</c>, ε = 1e-12), and the way back: the gradient by
/// the unit rows taken to the rows (the radial part removed and divided by ‖x‖; below ε the map is x/ε, so a zero row
/// gets a finite gradient).</summary>
internal sealed class UnitRows
{
    /// <summary>The ε of normalisation, x / max(‖x‖, ε).</summary>
    public const double Epsilon = 1e-12;

    private readonly double[] _norm;
    private readonly int _dim;

    public UnitRows(double[] x, int rows, int dim)
    {
        (_dim, _norm, Values) = (dim, new double[rows], new double[x.Length]);
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            for (int j = 0; j < dim; j++) s += x[i * dim + j] * x[i * dim + j];
            _norm[i] = Math.Sqrt(s);
            double scale = 1 / Math.Max(_norm[i], Epsilon);
            for (int j = 0; j < dim; j++) Values[i * dim + j] = x[i * dim + j] * scale;
        }
    }

    /// <summary>The unit rows, row-major.</summary>
    public double[] Values { get; }

    /// <summary>∂/∂x from ∂/∂(unit rows).</summary>
    public double[] Backward(double[] gradUnit)
    {
        int d = _dim;
        var gx = new double[gradUnit.Length];
        for (int i = 0; i < _norm.Length; i++)
        {
            ReadOnlySpan<double> u = Values.AsSpan(i * d, d), g = gradUnit.AsSpan(i * d, d);
            Span<double> o = gx.AsSpan(i * d, d);
            if (_norm[i] < Epsilon)
            {
                for (int k = 0; k < d; k++) o[k] = g[k] / Epsilon;
                continue;
            }
            double radial = 0;
            for (int k = 0; k < d; k++) radial += u[k] * g[k];
            for (int k = 0; k < d; k++) o[k] = (g[k] - radial * u[k]) / _norm[i];
        }
        return gx;
    }
}
