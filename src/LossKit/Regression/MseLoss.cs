using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>Mean squared error, spec <c>mse</c>: <c>ℓ = (ŷ − y)²</c>, ∂ℓ/∂ŷ = 2(ŷ − y). PyTorch <c>MSELoss</c>.</summary>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : RegressionLoss(reduction)
{
    public static LossCard Definition { get; } = RegressionCard("mse", "Mean squared error", "ℓ = r², r = ŷ − y", "∂ℓ/∂ŷ = 2r",
        "PyTorch torch.nn.MSELoss (same semantics and reductions)", LossProperties.NonNegative | LossProperties.ConvexInLogits, "");

    public static LossDefinition Registration { get; } = new(Definition, a => new MseLoss(a.Reduction()));

    public override LossCard Card => Definition;

    public override double FiniteInputScale => 1e18;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(), batch);

    private readonly struct Op : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            loss = TOps.Multiply(r, r);
            dx = TOps.Add(r, r);
        }
    }
}
