using LossKit.Catalog;
using LossKit.Kernels;
using LossKit.Softmax;
using LossKit.Tests.RowLosses;

namespace LossKit.Tests.Softmax;

/// <summary>taylor, spherical and stablemax: probabilities, the kernel against the definition, and edge cases.</summary>
public class NormalizedTests
{
    private static readonly Func<double, double>[] s_transforms =
    [
        v => 1 + v + v * v / 2,
        v => v * v + 1e-6,
        v => v >= 0 ? v + 1 : 1 / (1 - v),
    ];

    private static (RowLoss Loss, Func<double, double> T)[] Losses() =>
        [(new TaylorSoftmaxLoss(), s_transforms[0]), (new SphericalSoftmaxLoss(), s_transforms[1]), (new StablemaxLoss(), s_transforms[2])];

    private static void Probabilities(RowLoss loss, double[] z, int K, double[] p)
    {
        switch (loss)
        {
            case TaylorSoftmaxLoss t: t.Probabilities<double>(z, K, p); break;
            case SphericalSoftmaxLoss s: s.Probabilities<double>(z, K, p); break;
            case StablemaxLoss m: m.Probabilities<double>(z, K, p); break;
        }
    }

    [Fact]
    public void ProbabilitiesSumToOneAndMatchTheDefinition()
    {
        foreach (var (loss, t) in Losses())
            foreach (double scale in new[] { 0.01, 1, 30, 1e6, 1e30 })
            {
                const int N = 6, K = 7;
                double[] z = RowLossReference.Logits(3, N, K, scale);
                z[3] = double.NegativeInfinity;
                var p = new double[z.Length];
                Probabilities(loss, z, K, p);
                for (int r = 0; r < N; r++)
                {
                    double[] row = z.AsSpan(r * K, K).ToArray();
                    Assert.Equal(1.0, p.AsSpan(r * K, K).ToArray().Sum(), 12);
                    Assert.InRange(RowLossReference.MaxError(p.AsSpan(r * K, K), RowLossReference.Probabilities(row, t)), 0, 1e-14);
                }
                Assert.Equal(0.0, p[3]);
            }
    }

    [Fact]
    public void LossIsMinusLogOfTheExposedProbability()
    {
        foreach (var (loss, _) in Losses())
        {
            const int N = 5, K = 4;
            double[] z = RowLossReference.Logits(9, N, K, 3);
            int[] y = RowLossReference.Targets(9, N, K);
            var p = new double[z.Length];
            Probabilities(loss, z, K, p);
            var rows = new double[N];
            loss.Compute<double>(z, K, y, rows);
            for (int r = 0; r < N; r++) Assert.Equal(-Math.Log(p[r * K + y[r]]), rows[r], 12);
        }
    }

    [Fact]
    public void GradientOfTheDefinitionAtAMaskedClassIsZeroAndTheMaskedTargetIsInfinite()
    {
        foreach (var (loss, _) in Losses())
        {
            double[] z = [0.4, double.NegativeInfinity, -1.3, 2];
            var g = new double[4];
            var r = LossKit.Tests.Checking.TestChecks.Gradient(loss, z, 4, [0]);
            Assert.True(r.Passed, r.ToString());
            loss.Compute<double>(z, 4, [0], default, g);
            Assert.Equal(0.0, g[1]);
            var rows = new double[1];
            loss.Compute<double>(z, 4, [1], rows, g);
            Assert.Equal(double.PositiveInfinity, rows[0]);
            Assert.All(g, v => Assert.Equal(0.0, v));
        }
    }

    [Fact]
    public void StablemaxIsSoftmaxLikeAtZeroAndLinearForLargeLogits()
    {
        var loss = new StablemaxLoss();
        Assert.Equal(Math.Log(3), loss.Compute<double>([0, 0, 0], 3, [1]), 14);
        // s(x) = x + 1 for large positive x: p_y = (z_y + 1)/Σ(z + 1).
        Assert.Equal(-Math.Log(1001.0 / (1001 + 11 + 1.0 / 3)), loss.Compute<double>([1000, 10, -2], 3, [0]), 12);
        // float: finite at ±1e30 (s is linear).
        float[] zf = [1e30f, -1e30f, 3];
        var gf = new float[3];
        float v = loss.Compute<float>(zf, 3, [1], default, gf);
        Assert.True(float.IsFinite(v));
        Assert.All(gf, x => Assert.True(float.IsFinite(x)));
    }

    [Fact]
    public void SphericalRanksByMagnitudeAndNeedsPositiveEps()
    {
        var loss = new SphericalSoftmaxLoss();
        // t is even: −3 and 3 are equally likely.
        Assert.Equal(loss.Compute<double>([3, 0.5, -3], 3, [0]), loss.Compute<double>([3, 0.5, -3], 3, [2]), 14);
        Assert.Equal("eps", Assert.ThrowsAny<ArgumentException>(() => new SphericalSoftmaxLoss(0)).ParamName);
        Assert.Equal("eps", Assert.ThrowsAny<ArgumentException>(() => LossRegistry.Create("spherical(eps=-1)")).ParamName);
        Assert.Equal(Math.Log(3), loss.Compute<double>([0, 0, 0], 3, [2]), 14);
    }

    [Fact]
    public void TaylorNeverGivesZeroProbability()
    {
        // t ≥ 1/2, so even a very wrong target has a finite loss.
        double v = new TaylorSoftmaxLoss().Compute<double>([-1, 50, 40], 3, [0]);
        Assert.Equal(Math.Log((0.5 + 1 + 50 + 1250 + 1 + 40 + 800) / 0.5), v, 12);
    }
}
