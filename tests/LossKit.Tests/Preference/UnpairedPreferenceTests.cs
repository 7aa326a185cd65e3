using LossKit.Core;
using LossKit.Preference;

namespace LossKit.Tests.Preference;

/// <summary>KTO and NPO against their formulas written out (TRL's KTOTrainer; Zhang et al. 2024), per example.</summary>
public class UnpairedPreferenceTests
{
    private static double Sigmoid(double u) => 1 / (1 + Math.Exp(-u));

    [Fact]
    public void KtoIsTrlsFormulaWithTheReferencePointClampedAtZero()
    {
        double[] p = [-10, -12, -8, -20], r = [-11, -11, -9, -18], y = [1, 0, 1, 0];
        double beta = 0.3, kl = 0.4, wd = 1.5, wu = 0.7;
        var loss = new KtoLoss(beta, wd, wu, reduction: Reduction.None);
        var u = new double[4];
        var g = new double[4];
        double sum = loss.Compute<double>(p, r, y, kl, u, g);
        for (int i = 0; i < 4; i++)
        {
            double s = p[i] - r[i];
            double expected = y[i] == 1 ? wd * (1 - Sigmoid(beta * (s - kl))) : wu * (1 - Sigmoid(beta * (kl - s)));
            Assert.Equal(expected, u[i], 14);
        }
        Assert.Equal(u.Sum(), sum, 14);
        // A negative KL estimate counts as 0, as TRL clamps it; the reference point carries no gradient.
        Assert.Equal(loss.Compute<double>(p, r, y, 0), loss.Compute<double>(p, r, y, -3));
        // apo_zero_unpaired ignores the reference point.
        var apo = new KtoLoss(beta, lossType: "apo_zero_unpaired", reduction: Reduction.None);
        apo.Compute<double>(p, r, y, 5, u);
        Assert.Equal(1 - Sigmoid(beta * (p[0] - r[0])), u[0], 14);
        Assert.Equal(Sigmoid(beta * (p[1] - r[1])), u[1], 14);
    }

    [Fact]
    public void NpoIsTwoOverBetaLogOnePlusTheRatioToTheBeta()
    {
        double beta = 0.5, p = -3, r = -4;
        double expected = 2 / beta * Math.Log(1 + Math.Pow(Math.Exp(p - r), beta));
        var g = new double[1];
        Assert.Equal(expected, new NpoLoss(beta).Compute<double>([p], [r], [], 0, default, g), 13);
        Assert.Equal(2 * Sigmoid(beta * (p - r)), g[0], 14);
    }

    [Fact]
    public void BadInputsNameTheInputAndTheExample()
    {
        var kto = new KtoLoss();
        var label = Assert.Throws<RowException>(() => kto.Compute<double>([-1, -2], [-1, -1], [1, 2]));
        Assert.Equal("labels", label.ParamName);
        Assert.Equal(1, label.Row);
        var missing = Assert.Throws<ArgumentException>(() => kto.Compute<double>([-1], [-1], []));
        Assert.Equal("labels", missing.ParamName);
        var positive = Assert.Throws<RowException>(() => new NpoLoss().Compute<double>([-1, 0.1], [-1, -1], []));
        Assert.Equal("policy_logps", positive.ParamName);
        Assert.Contains("policy_logps[1] = 0.1", positive.Message);
    }
}
