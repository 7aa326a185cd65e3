using System.Numerics;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>Mean absolute error, spec <c>l1</c>: <c>ℓ = |ŷ − y|</c>, ∂ℓ/∂ŷ = sign(ŷ − y) (0 at 0, as PyTorch).
/// PyTorch <c>L1Loss</c> (the name <c>mae</c> is the classification loss of Ghosh et al.).</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : RegressionLoss(reduction)
{
    public static LossCard Definition { get; } = RegressionCard("l1", "Absolute error (L1)", "ℓ = |r|, r = ŷ − y", "∂ℓ/∂ŷ = sign(r), 0 at r = 0",
        "PyTorch torch.nn.L1Loss (same semantics and reductions)", LossProperties.NonNegative | LossProperties.ConvexInLogits,
        "The classification loss of Ghosh et al. is mae; this is PyTorch's L1Loss.");

    public static LossDefinition Registration { get; } = new(Definition, a => new L1Loss(a.Reduction()));

    public override LossCard Card => Definition;

    protected override T Evaluate<T>(in RegressionBatch<T> batch) => RunResidual(new Op(), batch);

    private readonly struct Op : IResidualFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Rho<TV, T, TOps>(TV r, out TV loss, out TV dx)
            where TV : struct where T : unmanaged, IFloatingPointIeee754<T> where TOps : ISimd<TV, T>
        {
            loss = TOps.Abs(r);
            dx = RegressionMath<TV, T, TOps>.Sign(r);
        }
    }
}
