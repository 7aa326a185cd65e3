using LossKit.Binary;
using LossKit.Catalog;

namespace LossKit.Tests.Binary;

/// <summary>LossKit against PyTorch (and reference formulas run by torch autograd) on the committed fixtures.</summary>
public class FixtureTests
{
    public static TheoryData<string> Bce => BinaryFixtures.Names("bce/");
    public static TheoryData<string> Focal => BinaryFixtures.Names("sigmoid_focal/");
    public static TheoryData<string> Logistic => BinaryFixtures.Names("logistic/");
    public static TheoryData<string> Asl => BinaryFixtures.Names("asl/");
    public static TheoryData<string> AucM => BinaryFixtures.Names("auc_m/");
    public static TheoryData<string> Any => BinaryFixtures.Names("anyloss/");

    [Fact]
    public void FixtureFileHasEveryFamily()
    {
        var families = BinaryFixtures.Cases.Keys.Select(k => k.Split('/')[0]).Distinct().ToHashSet();
        Assert.Superset(families, new HashSet<string> { "bce", "sigmoid_focal", "logistic", "asl", "auc_m", "anyloss" });
        Assert.True(BinaryFixtures.Cases.Count > 300);
    }

    [Theory, MemberData(nameof(Bce))] public void BceMatchesTorch(string name) => Compare(name);
    [Theory, MemberData(nameof(Focal))] public void SigmoidFocalMatchesTorchvisionFormula(string name) => Compare(name);
    [Theory, MemberData(nameof(Logistic))] public void LogisticMatchesSoftMarginLoss(string name) => Compare(name);
    [Theory, MemberData(nameof(Asl))] public void AslMatchesReferenceCode(string name) => Compare(name);
    [Theory, MemberData(nameof(AucM))] public void AucMMatchesLibAucFormula(string name) => Compare(name);
    [Theory, MemberData(nameof(Any))] public void AnyLossMatchesAuthorsClosedForms(string name) => Compare(name);

    private static void Compare(string name)
    {
        BinaryFixtureCase c = BinaryFixtures.Cases[name];
        var loss = (IBinaryLoss)LossRegistry.Create(c.Spec);
        if (c.State is { } s) loss = ((AucMarginLoss)loss).WithState(s[0], s[1], s[2]);
        Assert.Equal(c.Logits.Length, c.Shape.Aggregate(1, (a, b) => a * b));
        if (c.Dtype == "float32")
        {
            float[] z = c.Logits.Select(v => (float)v).ToArray(), t = c.Targets.Select(v => (float)v).ToArray();
            var l = new float[z.Length];
            var g = new float[z.Length];
            float value = loss.Compute<float>(z, t, l, g);
            AssertClose(c.Loss, value, 1e-5, "loss");
            AssertClose(c.Gradient, g.Select(v => (double)v).ToArray(), 1e-5, "gradient");
            if (c.PerElement is { } pe) AssertClose(pe, l.Select(v => (double)v).ToArray(), 1e-5, "per_element");
        }
        else
        {
            var l = new double[c.Logits.Length];
            var g = new double[c.Logits.Length];
            double value = loss.Compute<double>(c.Logits, c.Targets, l, g);
            AssertClose(c.Loss, value, 1e-10, "loss");
            AssertClose(c.Gradient, g, 1e-10, "gradient");
            if (c.PerElement is { } pe) AssertClose(pe, l, 1e-10, "per_element");
            if (c.StateGradient is { } sg)
            {
                ((AucMarginLoss)loss).Compute<double>(c.Logits, c.Targets, default, default, out AucMarginStateGradient got);
                AssertClose(sg, [got.A, got.B, got.Alpha], 1e-10, "state_gradient");
            }
        }
    }

    /// <summary>Norm-wise: |got − ref| ≤ tol·max(1, max|ref|) for the whole array.</summary>
    internal static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double norm = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * norm,
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol * norm:G3})");
    }

    internal static void AssertClose(double expected, double actual, double tol, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");
}
