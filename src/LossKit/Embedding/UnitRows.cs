namespace LossKit.Embedding;

/// <summary>Rows divided by max(‖x‖, ε) (PyTorch's <c>F.normalize</c>, ε = 1e-12), and the way back: the gradient by
/// the unit rows taken to the rows (the radial part removed and divided by ‖x‖; below ε the map is x/ε, so a zero row
/// gets a finite gradient). The unit rows and the norms are pooled: dispose when the call ends.</summary>
internal readonly struct UnitRows : IDisposable
{
    /// <summary>The ε of normalisation, x / max(‖x‖, ε).</summary>
    public const double Epsilon = 1e-12;

    private readonly Pooled<double> _norm, _values;
    private readonly int _dim;

    public UnitRows(ReadOnlySpan<double> x, int rows, int dim)
    {
        (_dim, _norm, _values) = (dim, Pooled<double>.Of(rows), Pooled<double>.Of(x.Length));
        double[] norm = _norm.Values, values = _values.Values;
        for (int i = 0; i < rows; i++)
        {
            double s = 0;
            for (int j = 0; j < dim; j++) s += x[i * dim + j] * x[i * dim + j];
            norm[i] = Math.Sqrt(s);
            double scale = 1 / Math.Max(norm[i], Epsilon);
            for (int j = 0; j < dim; j++) values[i * dim + j] = x[i * dim + j] * scale;
        }
    }

    /// <summary>The unit rows, row-major (a pooled array of exactly rows × d values).</summary>
    public double[] Values => _values.Values;

    /// <summary>∂/∂x into <paramref name="gx"/> from ∂/∂(unit rows) <paramref name="gradUnit"/> (the two may be one
    /// array: each row is read before it is written).</summary>
    public void Backward(ReadOnlySpan<double> gradUnit, Span<double> gx)
    {
        int d = _dim;
        double[] norm = _norm.Values;
        for (int i = 0; i < norm.Length; i++)
        {
            ReadOnlySpan<double> u = Values.AsSpan(i * d, d), g = gradUnit.Slice(i * d, d);
            Span<double> o = gx.Slice(i * d, d);
            if (norm[i] < Epsilon)
            {
                for (int k = 0; k < d; k++) o[k] = g[k] / Epsilon;
                continue;
            }
            double radial = 0;
            for (int k = 0; k < d; k++) radial += u[k] * g[k];
            for (int k = 0; k < d; k++) o[k] = (g[k] - radial * u[k]) / norm[i];
        }
    }

    public void Dispose()
    {
        _norm.Dispose();
        _values.Dispose();
    }
}
