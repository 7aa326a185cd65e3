using LossKit.Core;

namespace LossKit.Scaling;

/// <summary>
/// A law L(x; θ) fitted to observed losses. Each law works in its own fitting coordinates θ (log-amplitudes and
/// exponents, as <see cref="LawCard.Fitting"/> says) and gives the <b>log</b> of its prediction with the exact
/// Jacobian ∂ log L / ∂θ, which is all the objectives need: Huber on log L − log y, or least squares on L − y.
/// <see cref="ToParameters"/> and <see cref="ToTheta"/> convert between θ and the card's parameters.
/// </summary>
public abstract class ScalingLaw
{
    public abstract LawCard Card { get; }

    /// <summary>The spec string that rebuilds this law (<see cref="LawRegistry.Create"/>): the name and every option
    /// that differs from its default.</summary>
    public virtual string Spec => Card.Name;

    /// <summary>The law's inputs in order (the card's, or as an option names them: <c>power(x=D)</c> takes D).</summary>
    public virtual IReadOnlyList<string> Variables => Card.Variables;

    /// <summary>
    /// One coordinate of θ: its name (e.g. <c>a = log A</c>), the index of the card parameter it stands for, and whether
    /// it is that parameter's logarithm (a positive amplitude or irreducible loss) or the parameter itself (an exponent).
    /// </summary>
    protected readonly record struct ThetaCoordinate(string Name, int Parameter, bool IsLog);

    /// <summary>θ_i = log p_j, for a positive parameter p_j of the card.</summary>
    protected static ThetaCoordinate LogOf(int parameter, string name) => new(name, parameter, true);

    /// <summary>θ_i = p_j itself.</summary>
    protected static ThetaCoordinate Plain(int parameter, string name) => new(name, parameter, false);

    /// <summary>θ's coordinates in order, one per card parameter: from them come <see cref="ThetaNames"/>,
    /// <see cref="ToParameters"/> and <see cref="ToTheta"/>.</summary>
    protected abstract IReadOnlyList<ThetaCoordinate> Theta { get; }

    /// <summary>The names of θ's coordinates, e.g. <c>a = log A</c>.</summary>
    public IReadOnlyList<string> ThetaNames => _thetaNames ??= [.. Theta.Select(c => c.Name)];

    private IReadOnlyList<string>? _thetaNames;

    /// <summary>The number of fitted parameters.</summary>
    public int ParameterCount => Card.Parameters.Count;

    /// <summary>The card's parameters (in the card's order) from fitting coordinates: p_j = e^θ_i for a log
    /// coordinate, θ_i otherwise.</summary>
    public double[] ToParameters(ReadOnlySpan<double> theta)
    {
        var coordinates = Theta;
        var p = new double[coordinates.Count];
        for (int i = 0; i < p.Length; i++)
            p[coordinates[i].Parameter] = coordinates[i].IsLog ? Math.Exp(theta[i]) : theta[i];
        return p;
    }

    /// <summary>Fitting coordinates from the card's parameters (each checked against its range): θ_i = log p_j for
    /// a log coordinate, p_j otherwise.</summary>
    public double[] ToTheta(ReadOnlySpan<double> parameters)
    {
        var p = Checked(parameters);
        var coordinates = Theta;
        var t = new double[coordinates.Count];
        for (int i = 0; i < t.Length; i++)
            t[i] = coordinates[i].IsLog ? Math.Log(p[coordinates[i].Parameter]) : p[coordinates[i].Parameter];
        return t;
    }

    /// <summary>
    /// log L at every row of <paramref name="data"/> into <paramref name="logL"/>, and, when <paramref name="jacobian"/>
    /// is not empty, ∂ log L / ∂θ row-major (rows × θ). A row where the law is not positive (or not defined) gets NaN.
    /// </summary>
    public abstract void LogPredict(LawData data, ReadOnlySpan<double> theta, Span<double> logL, Span<double> jacobian);

    /// <summary>The starting points of L-BFGS (in θ): a fixed grid, or one adapted to the data's ranges.</summary>
    public abstract IReadOnlyList<double[]> StartGrid(LawData data);

    /// <summary>Checks inputs beyond positivity (curve laws: increasing steps). Throws <see cref="ArgumentException"/>.</summary>
    public virtual void Validate(LawData data) { }

    /// <summary>The law's value L at every row for the card's parameters.</summary>
    public double[] Predict(LawData data, ReadOnlySpan<double> parameters) => PredictTheta(data, ToTheta(parameters));

    /// <summary>The law's value L at every row at fitting coordinates θ (a fit's own θ: no round trip through the
    /// card's parameters, which may have left their range, e.g. E = e^e underflowing to 0 when e runs to −∞).</summary>
    internal double[] PredictTheta(LawData data, ReadOnlySpan<double> theta)
    {
        ArgumentNullException.ThrowIfNull(data);
        var logL = new double[data.Rows];
        LogPredict(data, theta, logL, default);
        for (int i = 0; i < logL.Length; i++) logL[i] = Math.Exp(logL[i]);
        return logL;
    }

    /// <summary>The law's value at one point (values of <see cref="Variables"/> in order) for the card's parameters; a
    /// curve law has no value at one point (it needs the schedule before it).</summary>
    public double PredictAt(ReadOnlySpan<double> parameters, params double[] x) => PredictAtTheta(ToTheta(parameters), x);

    /// <summary><see cref="PredictAt"/> at fitting coordinates θ.</summary>
    internal double PredictAtTheta(ReadOnlySpan<double> theta, params double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Card.IsCurveLaw) throw new ArgumentException($"{Spec} is a curve law: it predicts along a schedule (the rows of a learning curve), not at one point.");
        if (x.Length != Variables.Count) throw new ArgumentException($"{Spec} takes {Variables.Count} value(s) ({string.Join(", ", Variables)}); got {x.Length}.");
        return PredictTheta(new LawData(Variables, [.. x.Select(v => new[] { v })], [1]), theta)[0];
    }

    /// <summary>Checks each parameter against the card's range; returns them.</summary>
    protected double[] Checked(ReadOnlySpan<double> parameters)
    {
        if (parameters.Length != ParameterCount)
            throw new ArgumentException($"{Card.Name} has {ParameterCount} parameters ({string.Join(", ", Card.Parameters.Select(p => p.Name))}); got {parameters.Length} values.");
        var p = parameters.ToArray();
        for (int i = 0; i < p.Length; i++) Card.Parameters[i].Check(p[i]);
        return p;
    }

    /// <summary>log(e^u0 + e^u1 [+ e^u2]) and the softmax weights of the terms (the gradient of log-sum-exp).</summary>
    protected static double LogSumExp(ReadOnlySpan<double> u, Span<double> weights)
    {
        double m = double.NegativeInfinity;
        foreach (double v in u) m = Math.Max(m, v);
        double s = 0;
        for (int i = 0; i < u.Length; i++) s += weights[i] = Math.Exp(u[i] - m);
        for (int i = 0; i < u.Length; i++) weights[i] /= s;
        return m + Math.Log(s);
    }

    /// <summary>Every combination of the given values, first coordinate slowest.</summary>
    protected static IReadOnlyList<double[]> Product(params double[][] axes)
    {
        var result = new List<double[]> { Array.Empty<double>() };
        foreach (double[] axis in axes)
            result = [.. result.SelectMany(prefix => axis.Select(v => (double[])[.. prefix, v]))];
        return result;
    }

    /// <summary>A number parameter of a law's card (no default: fitted).</summary>
    protected static LossParameter Fitted(string name, string description, double min = double.NegativeInfinity, bool minExclusive = false) =>
        new(name, ParameterKind.Number, description) { Min = min, MinExclusive = minExclusive };
}

/// <summary>
/// The observations a law is fitted to: one column per variable of the law (in <see cref="LawCard.Variables"/>' order,
/// named after the columns they came from) and the observed losses. Built by <see cref="From"/>, which rejects what no
/// law can be fitted to, one clear message each.
/// </summary>
public sealed class LawData
{
    public LawData(IReadOnlyList<string> names, IReadOnlyList<double[]> x, double[] y, string yName = "loss")
    {
        Names = names; X = x; Y = y; YName = yName;
    }

    /// <summary>The column each variable came from.</summary>
    public IReadOnlyList<string> Names { get; }
    /// <summary>One array per variable.</summary>
    public IReadOnlyList<double[]> X { get; }
    /// <summary>Observed losses.</summary>
    public double[] Y { get; }
    public string YName { get; }
    public int Rows => Y.Length;

    private double[]?[]? _logX;
    private double[]? _logY;

    /// <summary>log of the losses, computed once.</summary>
    internal double[] LogY => _logY ??= [.. Y.Select(v => Math.Log(v))];

    /// <summary>log of variable <paramref name="v"/>, computed once (the laws are fitted in logs).</summary>
    internal double[] LogX(int v)
    {
        _logX ??= new double[]?[X.Count];
        return _logX[v] ??= [.. X[v].Select(v => Math.Log(v))];
    }

    /// <summary>These rows only (in the given order).</summary>
    public LawData Subset(IReadOnlyList<int> rows) =>
        new(Names, [.. X.Select(c => rows.Select(r => c[r]).ToArray())], [.. rows.Select(r => Y[r])], YName);

    /// <summary>
    /// The law's variables from <paramref name="table"/>'s columns <paramref name="xColumns"/> (one per variable) and the
    /// losses from <paramref name="yColumn"/>. Errors (<see cref="ArgumentException"/>), one line each: a missing column
    /// (with the columns there are), the wrong number of x columns, a non-positive or non-finite value (row and column),
    /// an x column of one value, fewer points than the law's parameters + 1, and the law's own checks.
    /// </summary>
    public static LawData From(ScalingTable table, ScalingLaw law, IReadOnlyList<string> xColumns, string yColumn)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(law);
        LawCard card = law.Card;
        if (xColumns.Count != law.Variables.Count)
            throw new ArgumentException($"{law.Spec} takes {law.Variables.Count} variable(s) ({string.Join(", ", law.Variables)}): give as many x columns, got {xColumns.Count} ({string.Join(", ", xColumns)}).");
        var x = xColumns.Select(table.Column).ToArray();
        double[] y = table.Column(yColumn);
        for (int v = 0; v < x.Length; v++) CheckPositive(table, xColumns[v], x[v]);
        CheckPositive(table, yColumn, y);
        int needed = law.ParameterCount + 1;
        if (y.Length < needed)
            throw new ArgumentException($"{law.Spec} has {law.ParameterCount} parameters: it needs at least {needed} points, {table.Name} has {y.Length}.");
        for (int v = 0; v < x.Length; v++)
        {
            // A curve law's learning rate may be constant (a constant schedule); its steps may not.
            if (card.IsCurveLaw && v > 0) continue;
            if (x[v].All(value => value == x[v][0]))
                throw new ArgumentException($"Column '{xColumns[v]}' of {table.Name} is constant (every value {LossParameter.FormatNumber(x[v][0])}): {law.Spec} cannot be fitted against it.");
        }
        var data = new LawData(xColumns, x, y, yColumn);
        law.Validate(data);
        return data;
    }

    private static void CheckPositive(ScalingTable table, string column, double[] values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!(values[i] > 0) || !double.IsFinite(values[i]))
                throw new ArgumentException($"Column '{column}' of {table.Name}, row {i + 1}: {LossParameter.FormatNumber(values[i])} is not a positive finite number (laws are fitted in logs).");
    }
}
