namespace LossKit.Kernels;

/// <summary>Accurate scalar helpers. .NET's <c>double.ExpM1</c>/<c>LogP1</c> are computed as exp(x) − 1 and
/// log(1 + x), which lose all precision near 0, so LossKit uses these instead.</summary>
public static class Scalar
{
    /// <summary>exp(x) − 1, accurate to a few ulps for every x (Kahan's correction).</summary>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + 0.5 * x * x + x * x * x / 6;
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0 || double.IsPositiveInfinity(u)) return um1;
        return um1 * x / Math.Log(u);
    }

    /// <summary>log(1 + x), accurate to a few ulps for every x &gt; −1 (Goldberg's correction).</summary>
    public static double Log1p(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;
        if (double.IsPositiveInfinity(u)) return u;
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>1 − exp(logP) = 1 − p, accurate when p is close to 1.</summary>
    public static double OneMinusExp(double logP) => -Expm1(logP);

    /// <summary>σ(x) = 1/(1 + e^{−x}) without overflow, and σ(−x) = 1 − σ(x) computed on its own (no cancellation).</summary>
    public static (double Pos, double Neg) Sigmoid(double x)
    {
        double e = Math.Exp(-Math.Abs(x));
        double r = 1 / (1 + e);
        return x >= 0 ? (r, e * r) : (e * r, r);
    }
}
