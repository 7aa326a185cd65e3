using System.Runtime.Intrinsics;
using LossKit.Kernels;
using LossKit.Regression;

namespace LossKit.Tests.Regression;

/// <summary>The kernel's lane check of a regression domain (<see cref="DomainBounds"/>: lo ≤ v ≤ hi) flags exactly the
/// lanes the domain's scalar test rejects, and NaN lanes (which the scalar check then decides), in float and in double,
/// at the edges: ±0, the smallest subnormals, ±MaxValue, ±∞, values that overflow float.</summary>
public class DomainBoundsTests
{
    private static readonly double[] Edges =
    [
        0.0, -0.0, double.Epsilon, -double.Epsilon, float.Epsilon, -float.Epsilon, 1e-40, 0.5, 0.50000001, -1, 1, -2, -2.0000001,
        float.MaxValue, -float.MaxValue, 3.5e38, -3.5e38, double.MaxValue, -double.MaxValue,
        double.PositiveInfinity, double.NegativeInfinity, double.NaN,
    ];

    public static TheoryData<double, bool, bool> Domains => new()
    {
        { RegressionDomain.Any.Min, RegressionDomain.Any.Exclusive, RegressionDomain.Any.Finite },
        { RegressionDomain.FiniteReal.Min, RegressionDomain.FiniteReal.Exclusive, RegressionDomain.FiniteReal.Finite },
        { RegressionDomain.FiniteNonNegative.Min, RegressionDomain.FiniteNonNegative.Exclusive, RegressionDomain.FiniteNonNegative.Finite },
        { RegressionDomain.FinitePositive.Min, RegressionDomain.FinitePositive.Exclusive, RegressionDomain.FinitePositive.Finite },
        { RegressionDomain.NonNegative.Min, RegressionDomain.NonNegative.Exclusive, RegressionDomain.NonNegative.Finite },
        { 0.5, true, false },
        { -2, false, true },
        { double.NegativeInfinity, true, false },
    };

    [Theory, MemberData(nameof(Domains))]
    public void Lanes_flagged_are_those_the_scalar_check_rejects_or_NaN(double min, bool exclusive, bool finite)
    {
        var domain = new RegressionDomain(min, exclusive, finite);
        DomainBounds bounds = domain.Bounds;
        foreach (double edge in Edges)
        {
            float f = (float)edge;
            bool floatLane = Vector128.AsInt32(bounds.Mask<Vector128<float>, float, Simd128<float>>(Vector128.Create(f), Vector128<float>.AllBitsSet)).GetElement(0) != 0;
            bool doubleLane = Vector128.AsInt64(bounds.Mask<Vector128<double>, double, Simd128<double>>(Vector128.Create(edge), Vector128<double>.AllBitsSet)).GetElement(0) != 0;
            Assert.True(Expected(domain, f) == floatLane, $"{domain} float lane {f:R}: expected {Expected(domain, f)}");
            Assert.True(Expected(domain, edge) == doubleLane, $"{domain} double lane {edge:R}: expected {Expected(domain, edge)}");
        }
    }

    /// <summary>In the domain by its scalar test, NaN flagged unless the domain takes anything (then nothing is checked).</summary>
    private static bool Expected(RegressionDomain domain, double v) => domain.IsAny || (domain.Accepts(v) && !double.IsNaN(v));
}
