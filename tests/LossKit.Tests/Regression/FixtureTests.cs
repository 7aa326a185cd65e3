using System.Text.Json;
using LossKit.Catalog;
using LossKit.Core;

namespace LossKit.Tests.Regression;

/// <summary>The PyTorch-equivalent regression losses against Debian PyTorch's values and gradients
/// (tests/LossKit.Tests/Fixtures/regression.json, written by tools/make_fixtures_regression.py): every reduction,
/// every option, float32 and float64, through the regression kind (so var's broadcast shapes are PyTorch's).</summary>
public class FixtureTests
{
    private static readonly Lazy<Dictionary<string, JsonElement>> s_cases = new(Load);

    private static Dictionary<string, JsonElement> Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "regression.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone());
    }

    private static TheoryData<string> Names(string prefix) => new(s_cases.Value.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)));

    public static TheoryData<string> Mse => Names("mse/");
    public static TheoryData<string> L1 => Names("l1/");
    public static TheoryData<string> Huber => Names("huber/");
    public static TheoryData<string> SmoothL1 => Names("smooth_l1/");
    public static TheoryData<string> Poisson => Names("poisson_nll/");
    public static TheoryData<string> Gaussian => Names("gaussian_nll/");

    [Fact]
    public void The_fixture_file_has_every_loss_reduction_and_option()
    {
        var names = s_cases.Value.Keys.ToList();
        foreach (string loss in new[] { "mse", "l1", "huber", "smooth_l1", "poisson_nll", "gaussian_nll" })
            foreach (string reduction in new[] { "mean", "sum", "none" })
                Assert.Contains(names, n => n.StartsWith(loss + "/", StringComparison.Ordinal) && n.EndsWith("/" + reduction, StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("beta=0/", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("log_input=False/full=True", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("gaussian_nll/full=True/eps=0.25/dropped/3d", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("/one/matrix/", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Mse))] public void Mse_matches_torch(string name) => Compare(name);
    [Theory, MemberData(nameof(L1))] public void L1_matches_torch(string name) => Compare(name);
    [Theory, MemberData(nameof(Huber))] public void Huber_matches_torch(string name) => Compare(name);
    [Theory, MemberData(nameof(SmoothL1))] public void Smooth_l1_matches_torch(string name) => Compare(name);
    [Theory, MemberData(nameof(Poisson))] public void Poisson_nll_matches_torch(string name) => Compare(name);
    [Theory, MemberData(nameof(Gaussian))] public void Gaussian_nll_matches_torch_with_its_broadcasting_and_clamp(string name) => Compare(name);

    private static double[] Array(JsonElement c, string name) => c.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
    private static int[] Shape(JsonElement c, string name) => c.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static void Compare(string name)
    {
        JsonElement c = s_cases.Value[name];
        ILoss loss = LossRegistry.Create(c.GetProperty("spec").GetString()!);
        int[] shape = Shape(c, "shape");
        var inputs = new LossInputs { ["input"] = new(Array(c, "input"), shape), ["target"] = new(Array(c, "target"), shape) };
        if (c.TryGetProperty("var", out _)) inputs["var"] = new LossTensor(Array(c, "var"), Shape(c, "var_shape"));
        bool single = c.GetProperty("dtype").GetString() == "float32";
        LossOutputs o = single ? loss.Kind.Evaluate<float>(loss, inputs) : loss.Kind.Evaluate<double>(loss, inputs);
        double tol = single ? 1e-5 : 1e-10;
        AssertClose([c.GetProperty("loss").GetDouble()], [o.Loss], tol, "loss");
        AssertClose(Array(c, "unreduced"), o.Unreduced.Values, tol, "unreduced");
        Assert.Equal(shape, o.Unreduced.Shape);
        AssertClose(Array(c, "grad_input"), o.Gradients["input"].Values, tol, "grad_input");
        if (c.TryGetProperty("grad_var", out _))
        {
            Assert.Equal(Shape(c, "var_shape"), o.Gradients["var"].Shape);
            AssertClose(Array(c, "grad_var"), o.Gradients["var"].Values, tol, "grad_var");
        }
        else Assert.Equal(["input"], o.Gradients.Keys);
    }

    private static void AssertClose(double[] expected, double[] actual, double tol, string what) =>
        LossKit.Tests.Binary.FixtureTests.AssertClose(expected, actual, tol, what);
}
