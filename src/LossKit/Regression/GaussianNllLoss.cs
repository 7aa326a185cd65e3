using System.Buffers;
using System.Runtime.CompilerServices;
using LossKit.Core;
using LossKit.Kernels;

namespace LossKit.Regression;

/// <summary>
/// Gaussian negative log-likelihood with a predicted variance, spec <c>gaussian_nll(full=false, eps=1e-6)</c>: PyTorch
/// <c>GaussianNLLLoss</c> exactly. <c>ℓ = ½(log v + (ŷ − y)²/v)</c> with <c>v = max(var, eps)</c>, plus ½·log 2π with
/// <c>full</c>. As PyTorch: <c>var</c> has the input's shape, or the input's shape with the last dimension 1 or dropped
/// (one variance per row, broadcast over the last dimension; its gradient sums over it); a negative <c>var</c> is an
/// error naming the element; the clamp at eps is made without gradient tracking, so the gradient by var is that at the
/// clamped value, passed straight through the clamp: <c>½(1/v − r²/v²)</c> even where var &lt; eps.
/// </summary>
public sealed class GaussianNllLoss(bool full = false, double? eps = null, Reduction reduction = Reduction.Mean)
    : FlooredNllLoss(Definition, Var, full, eps, reduction), IBroadcastParameter
{
    public static readonly LossParameter Full = RegressionParameters.Full("½·log 2π");
    public static readonly LossParameter Eps = new("eps", ParameterKind.Number, "var is clamped at eps (the gradient passes through the clamp, as PyTorch)") { Default = 1e-6, Min = 0, MinExclusive = true };

    private static readonly LossInput Var = new("var", "same as input, or input's shape with the last dim 1 or dropped", true,
        "the predicted variance σ² ≥ 0") { NonNegative = true };

    public static LossCard Definition { get; } = RegressionCard("gaussian_nll", "Gaussian negative log-likelihood",
        "ℓ = ½(log v + r²/v), v = max(var, eps), r = ŷ − y; full: + ½·log 2π",
        "∂ℓ/∂ŷ = r/v; ∂ℓ/∂var = ½(1/v − r²/v²) (through the clamp, as PyTorch)",
        "PyTorch torch.nn.GaussianNLLLoss (Nix & Weigend 1994); same semantics, var broadcasting and clamp",
        LossProperties.None, "Predicts the mean (input) and the variance (var). Below eps the returned gradient by var is PyTorch's pass-through, not the derivative of the clamped loss (which is 0 there).", Full, Eps);

    public static LossDefinition Registration { get; } = new(Definition, a => new GaussianNllLoss(a.Flag(Full), a.Number(Eps), a.Reduction()));

    public override double FiniteInputScale => 1e18;

    /// <summary>PyTorch's rule: var's shape is the input's, or the input's with the last dimension dropped or 1.</summary>
    public void CheckShape(string name, LossTensor tensor, LossTensor input)
    {
        int[] v = tensor.Shape, x = input.Shape;
        bool same = v.AsSpan().SequenceEqual(x);
        bool dropped = x.Length >= 1 && v.AsSpan().SequenceEqual(x.AsSpan(0, x.Length - 1));
        bool one = x.Length >= 1 && v.Length == x.Length && v[^1] == 1 && v.AsSpan(0, v.Length - 1).SequenceEqual(x.AsSpan(0, x.Length - 1));
        if (!same && !dropped && !one)
            throw new ArgumentException($"{name} has shape {tensor.ShapeText} but input has {input.ShapeText}; expected the input's shape, or the input's shape with the last dimension 1 or dropped (one variance per row).", name);
    }

    /// <summary>var: one per prediction, or one per group of n/var.Length consecutive predictions (a row's last dimension).</summary>
    private protected override void CheckPredicted<T>(ReadOnlySpan<T> values, Span<T> gradient, int which, int n)
    {
        if (which == 0 && values.Length > 0 && values.Length < n && n % values.Length == 0)
        {
            if (gradient.Length != 0 && gradient.Length != values.Length)
                throw new ArgumentException($"grad_var has {gradient.Length} values but var has {values.Length}; expected var's shape, or none.", "grad_var");
            return;
        }
        base.CheckPredicted(values, gradient, which, n);
    }

    protected override T Evaluate<T>(in RegressionBatch<T> batch)
    {
        var op = new Op(IsFull, EpsValue);
        int n = batch.Input.Length, m = batch.First.Length;
        if (m == n) return Run(op, batch);
        // One variance per row of the last dimension: check it, broadcast it, run, and sum the gradient over each row.
        for (int j = 0; j < m; j++)
        {
            double v = double.CreateTruncating(batch.First[j]);
            if (v < 0) throw RegressionDomain.NonNegative.OutOfRange("var", j, v, Card.Name);
        }
        int group = n / m;
        T[] full = ArrayPool<T>.Shared.Rent(n), gradient = ArrayPool<T>.Shared.Rent(batch.GradFirst.IsEmpty ? 0 : n);
        try
        {
            for (int i = 0; i < n; i++) full[i] = batch.First[i / group];
            Span<T> g = batch.GradFirst.IsEmpty ? default : gradient.AsSpan(0, n);
            T value = Run(op, new RegressionBatch<T>(batch.Input, batch.Target, batch.Unreduced, batch.GradInput, full.AsSpan(0, n), g));
            for (int j = 0; j < m && !g.IsEmpty; j++)
            {
                double sum = 0;
                for (int k = 0; k < group; k++) sum += double.CreateTruncating(g[j * group + k]);
                batch.GradFirst[j] = T.CreateTruncating(sum);
            }
            return value;
        }
        finally
        {
            ArrayPool<T>.Shared.Return(full);
            ArrayPool<T>.Shared.Return(gradient);
        }
    }

    private readonly struct Op(bool full, double eps) : IElementFunction
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void IElementFunction.Evaluate<TV, T, TOps>(TV x, TV y, TV var, TV q, out TV loss, out TV dx, out TV dvar, out TV dq)
        {
            TV half = RegressionMath<TV, T, TOps>.C(0.5);
            TV v = TOps.MaxPropagateNaN(var, RegressionMath<TV, T, TOps>.C(eps));
            TV r = TOps.Subtract(x, y);
            TV z = TOps.Divide(TOps.Multiply(r, r), v);
            loss = TOps.Multiply(half, TOps.Add(RegressionMath<TV, T, TOps>.Log(v), z));
            if (full) loss = TOps.Add(loss, RegressionMath<TV, T, TOps>.C(0.5 * Math.Log(2 * Math.PI)));
            dx = TOps.Divide(r, v);
            dvar = TOps.Multiply(half, TOps.Divide(TOps.Subtract(TOps.Broadcast(T.One), z), v));
            dq = dx;
        }
    }
}
