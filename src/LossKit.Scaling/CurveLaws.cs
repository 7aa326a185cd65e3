using LossKit.Core;

namespace LossKit.Scaling;

/// <summary>
/// A training run's learning-rate schedule as logged: rows of (step, lr), steps increasing. The LR of a row holds for
/// the steps since the previous row, (step_{j−1}, step_j] (step_0 = 0), so with every step logged the sums below are the
/// papers' sums over steps exactly; with every k-th step logged they treat the schedule as constant between rows.
/// </summary>
internal sealed class Schedule
{
    public Schedule(LawData data)
    {
        double[] step = data.X[0], lr = data.X[1];
        int n = data.Rows;
        Lr = lr;
        Width = new double[n];
        S1 = new double[n];
        Drop = new double[n];
        double sum = 0;
        for (int j = 0; j < n; j++)
        {
            Width[j] = step[j] - (j == 0 ? 0 : step[j - 1]);
            sum += lr[j] * Width[j];
            S1[j] = sum;
            Drop[j] = j == 0 ? 0 : lr[j - 1] - lr[j];
        }
    }

    public double[] Lr { get; }
    /// <summary>Steps each row's LR holds for.</summary>
    public double[] Width { get; }
    /// <summary>S1 at each row: Σ η over the steps up to the row (the "forward area").</summary>
    public double[] S1 { get; }
    /// <summary>η_{j−1} − η_j: the LR drop entering row j (0 for the first row).</summary>
    public double[] Drop { get; }

    /// <summary>Steps strictly increasing from above 0; LR positive (checked by <see cref="LawData.From"/> too).</summary>
    public static void Validate(LawData data, string law)
    {
        double[] step = data.X[0];
        for (int j = 1; j < step.Length; j++)
            if (!(step[j] > step[j - 1]))
                throw new ArgumentException($"{law}: the steps (column '{data.Names[0]}') must increase row by row; row {j + 1} has {LossParameter.FormatNumber(step[j])} after {LossParameter.FormatNumber(step[j - 1])}.");
    }

    /// <summary>Start values from the curve: L0 a fraction of the last loss, A through the first point for α.</summary>
    public static (double L0, double A) Through(LawData data, Schedule s, double fraction, double alpha)
    {
        double l0 = fraction * data.Y.Min();
        return (l0, Math.Max(data.Y[0] - l0, 1e-3 * data.Y[0]) * Math.Pow(s.S1[0], alpha));
    }
}

/// <summary>
/// A law along a learning-rate schedule (a whole loss curve: rows of step and lr, see <see cref="Schedule"/>) with one
/// option: its spec names the option only where it differs from the option's default, and its rows must be a valid
/// schedule.
/// </summary>
public abstract class CurveLaw(LossParameter option, double? value) : ScalingLaw
{
    /// <summary>The option's value (its default where none was given).</summary>
    private protected double OptionValue { get; } = option.Resolve(value);

    public override string Spec => OptionValue == option.Default ? Card.Name : $"{Card.Name}({option.Name}={LossParameter.FormatNumber(OptionValue)})";

    public override void Validate(LawData data) => Schedule.Validate(data, Spec);
}

/// <summary>
/// <c>lr_annealing</c>: L(s) = L0 + A·S1^(−α) − C·S2 (Tissue et al. 2024). S1 = Σ_{i≤s} η_i is the forward area;
/// S2 = Σ_{i≤s} m_i the annealing area, m_i = λ·m_{i−1} + (η_{i−1} − η_i), with decay factor λ (option <c>lambda</c>,
/// 0.999 as in the paper). Fitted in θ = (log L0, log A, α, C), Huber on log L − log y.
/// </summary>
public sealed class LrAnnealingLaw(double? lambda = null) : CurveLaw(LambdaOption, lambda)
{
    public static readonly LossParameter LambdaOption = new("lambda", ParameterKind.Number, "decay factor λ of the annealing momentum") { Default = 0.999, Min = 0, Max = 1, MaxExclusive = true };

    public static LawCard Definition { get; } = new()
    {
        Name = "lr_annealing", Title = "Scaling law with learning-rate annealing (a whole loss curve)",
        Formula = "L(s) = L0 + A·S1^(−α) − C·S2, S1 = Σ_{i≤s} η_i, S2 = Σ_{i≤s} m_i, m_i = λ·m_{i−1} + (η_{i−1} − η_i)",
        Variables = ["step", "lr"],
        Parameters = [Fitted("L0", "irreducible loss", 0, true), Fitted("A", "amplitude", 0, true), Fitted("alpha", "exponent α"), Fitted("C", "annealing coefficient")],
        Options = [LambdaOption],
        Fitting = "θ = (log L0, log A, α, C); log L = log(L0 + A·S1^(−α) − C·S2); " +
            "starts: L0 ∈ {0.3, 0.6, 0.9, 0.97}·(smallest loss), α ∈ {0.2, 0.5, 1}, A through the first point, C ∈ {0, 0.5, 2}·(loss range)/max S2",
        Reference = "Tissue, Wang & Wang 2024, Scaling law with learning rate annealing (arXiv:2408.11029)",
        Verified = "L(s) = L0 + A·S1^(−α) − C·S2 from the paper's abstract (S1 the area under the LR curve, S2 the annealing area); S2's momentum form " +
            "m_i = λ·m_{i−1} + (η_{i−1} − η_i), λ = 0.999, as in a public reproduction (zkshan2002/ScalingLaw, _mtl_prepare), except that m starts " +
            "at 0 (no drop before the first step; the reproduction starts it at η_1). Rows logged every k steps: the LR is held between rows and the " +
            "momentum decays over the held steps in closed form.",
        IsCurveLaw = true,
    };

    public static LawDefinition Registration { get; } = new(Definition, a => new LrAnnealingLaw(a.Number(LambdaOption)));

    /// <summary>λ, the decay factor of the annealing momentum.</summary>
    public double Lambda => OptionValue;
    public override LawCard Card => Definition;
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(0, "log L0"), LogOf(1, "log A"), Plain(2, "alpha"), Plain(3, "C")];

    /// <summary>S2 at each row: the momentum m gets the row's LR drop at the row's first step and decays by λ over its
    /// remaining steps; S2 sums m over every step.</summary>
    internal double[] AnnealingArea(Schedule s)
    {
        var s2 = new double[s.S1.Length];
        double m = 0, sum = 0;
        for (int j = 0; j < s2.Length; j++)
        {
            double first = Lambda * m + s.Drop[j], w = s.Width[j];
            sum += Lambda == 0 ? first : first * (1 - Math.Pow(Lambda, w)) / (1 - Lambda);
            m = first * Math.Pow(Lambda, w - 1);
            s2[j] = sum;
        }
        return s2;
    }

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        var s = new Schedule(data);
        double[] s2 = AnnealingArea(s);
        double l0 = Math.Exp(t[0]);
        for (int i = 0; i < data.Rows; i++)
        {
            double ls1 = Math.Log(s.S1[i]);
            double p = Math.Exp(t[1] - t[2] * ls1);
            double pred = l0 + p - t[3] * s2[i];
            logL[i] = pred > 0 ? Math.Log(pred) : double.NaN;
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 4, 4);
            g[0] = l0 / pred; g[1] = p / pred; g[2] = -p * ls1 / pred; g[3] = -s2[i] / pred;
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data)
    {
        var s = new Schedule(data);
        double maxS2 = AnnealingArea(s).Max(), range = data.Y.Max() - data.Y.Min();
        double cScale = maxS2 > 0 ? range / maxS2 : 0;
        var starts = new List<double[]>();
        foreach (double fraction in (double[])[0.3, 0.6, 0.9, 0.97])
            foreach (double alpha in (double[])[0.2, 0.5, 1])
                foreach (double c in (double[])[0, 0.5, 2])
                {
                    var (l0, a) = Schedule.Through(data, s, fraction, alpha);
                    starts.Add([Math.Log(l0), Math.Log(a), alpha, c * cScale]);
                }
        return starts;
    }
}

/// <summary>
/// <c>multi_power</c>: the multi-power law (Luo et al. 2025), L(t) = L0 + A·(S1(t) + S_W)^(−α) − LD(t),
/// LD(t) = B·Σ_{k=1..t} (η_{k−1} − η_k)·G(η_k^(−γ)·S_k(t)), S_k(t) = Σ_{τ=k..t} η_τ, G(x) = 1 − (C·x + 1)^(−β);
/// S_W is the warmup's LR sum (option <c>warmup_sum</c>, 0 when the rows include the warmup). Fitted in
/// θ = (log L0, log A, α, log B, log C, β, γ).
/// </summary>
public sealed class MultiPowerLaw(double? warmupSum = null) : CurveLaw(WarmupSumOption, warmupSum)
{
    public static readonly LossParameter WarmupSumOption = new("warmup_sum", ParameterKind.Number, "S_W, the LR summed over warmup steps not among the rows") { Default = 0, Min = 0 };

    public static LawCard Definition { get; } = new()
    {
        Name = "multi_power", Title = "Multi-power law for loss curves across LR schedules",
        Formula = "L(t) = L0 + A·(S1(t) + S_W)^(−α) − B·Σ_{k≤t} (η_{k−1} − η_k)·[1 − (C·η_k^(−γ)·S_k(t) + 1)^(−β)], S_k(t) = Σ_{τ=k..t} η_τ",
        Variables = ["step", "lr"],
        Parameters =
        [
            Fitted("L0", "irreducible loss", 0, true), Fitted("A", "amplitude", 0, true), Fitted("alpha", "exponent α"),
            Fitted("B", "loss-drop amplitude", 0, true), Fitted("C", "loss-drop rate", 0, true), Fitted("beta", "loss-drop exponent β"), Fitted("gamma", "LR exponent γ"),
        ],
        Options = [WarmupSumOption],
        Fitting = "θ = (log L0, log A, α, log B, log C, β, γ); log L = log(L0 + A·(S1 + S_W)^(−α) − LD); " +
            "starts: L0 ∈ {0.5, 0.8, 0.97}·(smallest loss), α ∈ {0.3, 0.6}, A through the first point, B ∈ {0.05, 0.2, 1}·(loss range)/Σ|drops|, C ∈ {0.5, 2, 8}, β = 0.5, γ ∈ {0.3, 0.6}",
        Reference = "Luo, Wen, Hu, Sun, Liu, Sun, Lyu & Chen 2025, A multi-power law for loss curve prediction across learning rate schedules (arXiv:2503.12811)",
        Verified = "Checked term by term against the authors' code (thu-yao-01-luo/MultiPowerLaw, src/evaluation.py: " +
            "LD[i] = Σ lr_gap[1:s+1]·(1 − (1 + C·lrs[1:s+1]^(−γ)·(lr_sum[s] − lr_sum[:s]))^(−β)), pred = L0 + A·S1^(−α) + B·LD with lr_gap = diff(lrs), " +
            "i.e. −B·Σ(η_{k−1} − η_k)·G) and the paper's abstract form L0 + A·(S1 + S_W)^(−α) − LD(t). Rows logged every k steps: drops happen at rows, " +
            "S_k(t) sums the held LR between rows.",
        IsCurveLaw = true,
    };

    public static LawDefinition Registration { get; } = new(Definition, a => new MultiPowerLaw(a.Number(WarmupSumOption)));

    /// <summary>S_W, the warmup's LR sum.</summary>
    public double WarmupSum => OptionValue;
    public override LawCard Card => Definition;
    protected override IReadOnlyList<ThetaCoordinate> Theta { get; } = [LogOf(0, "log L0"), LogOf(1, "log A"), Plain(2, "alpha"), LogOf(3, "log B"), LogOf(4, "log C"), Plain(5, "beta"), Plain(6, "gamma")];

    public override void LogPredict(LawData data, ReadOnlySpan<double> t, Span<double> logL, Span<double> jacobian)
    {
        var s = new Schedule(data);
        double l0 = Math.Exp(t[0]), b = Math.Exp(t[3]), c = Math.Exp(t[4]), beta = t[5], gamma = t[6];
        int n = data.Rows;
        // η_k^(−γ) and log η_k, for the rows with a drop.
        var drops = Enumerable.Range(0, n).Where(k => s.Drop[k] != 0).ToArray();
        var lrPow = drops.Select(k => Math.Pow(s.Lr[k], -gamma)).ToArray();
        var logLr = drops.Select(k => Math.Log(s.Lr[k])).ToArray();
        for (int i = 0; i < n; i++)
        {
            double s1 = s.S1[i] + WarmupSum, ls1 = Math.Log(s1);
            double p = Math.Exp(t[1] - t[2] * ls1);
            double ld = 0, dC = 0, dBeta = 0, dGamma = 0;
            for (int q = 0; q < drops.Length && drops[q] <= i; q++)
            {
                int k = drops[q];
                double sk = s.S1[i] - (k == 0 ? 0 : s.S1[k - 1]);
                double x = lrPow[q] * sk, onePlus = 1 + c * x;
                double pw = Math.Pow(onePlus, -beta);
                double delta = s.Drop[k];
                ld += delta * (1 - pw);
                if (jacobian.IsEmpty) continue;
                double dGdx = beta * c * pw / onePlus;       // ∂G/∂x
                dC += delta * beta * x * pw / onePlus;        // ∂G/∂C
                dBeta += delta * pw * Math.Log(onePlus);      // ∂G/∂β
                dGamma += delta * dGdx * x * -logLr[q];       // ∂G/∂γ = ∂G/∂x · ∂x/∂γ
            }
            double pred = l0 + p - b * ld;
            logL[i] = pred > 0 ? Math.Log(pred) : double.NaN;
            if (jacobian.IsEmpty) continue;
            Span<double> g = jacobian.Slice(i * 7, 7);
            g[0] = l0 / pred; g[1] = p / pred; g[2] = -p * ls1 / pred;
            g[3] = -b * ld / pred; g[4] = -b * c * dC / pred; g[5] = -b * dBeta / pred; g[6] = -b * dGamma / pred;
        }
    }

    public override IReadOnlyList<double[]> StartGrid(LawData data)
    {
        var s = new Schedule(data);
        double totalDrop = s.Drop.Sum(Math.Abs), range = data.Y.Max() - data.Y.Min();
        double bScale = totalDrop > 0 ? range / totalDrop : 1;
        var starts = new List<double[]>();
        foreach (double fraction in (double[])[0.5, 0.8, 0.97])
            foreach (double alpha in (double[])[0.3, 0.6])
                foreach (double bf in (double[])[0.05, 0.2, 1])
                    foreach (double c in (double[])[0.5, 2, 8])
                        foreach (double gamma in (double[])[0.3, 0.6])
                        {
                            var (l0, a) = Schedule.Through(data, s, fraction, alpha);
                            starts.Add([Math.Log(l0), Math.Log(a), alpha, Math.Log(bf * bScale), Math.Log(c), 0.5, gamma]);
                        }
        return starts;
    }
}
