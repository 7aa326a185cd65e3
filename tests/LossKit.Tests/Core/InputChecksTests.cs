using LossKit.Catalog;
using LossKit.Core;
using LossKit.Softmax;

namespace LossKit.Tests.Core;

/// <summary>Input errors that say what is wrong (issue 12): NaN located, shapes given both ways.</summary>
public class InputChecksTests
{
    [Fact]
    public void Logits_of_2_rows_against_3_targets_say_so()
    {
        var ce = new CrossEntropyLoss();
        var e = Assert.ThrowsAny<ArgumentException>(() => ce.Compute<float>(new float[6], 3, [0, 1, 2]));
        Assert.Equal("logits", e.ParamName);
        Assert.StartsWith("logits has 2 rows of 3 classes (6 values) but targets has 3 rows; give one row of logits per row of targets.", e.Message);
        var ragged = Assert.ThrowsAny<ArgumentException>(() => ce.Compute<float>(new float[7], 3, [0, 1]));
        Assert.StartsWith("logits has 7 values, not a whole number of rows of 3 classes; targets has 2 rows, so logits needs 2 × 3 = 6.", ragged.Message);
    }

    [Theory]
    [InlineData("ce", "logits", new[] { 4, 8 }, 31, "logits[3][7] is NaN")]
    [InlineData("ce", "logits", new[] { 2, 3 }, 0, "logits[0][0] is NaN")]
    [InlineData("bce", "logits", new[] { 5 }, 2, "logits[2] is NaN")]
    [InlineData("kd", "teacher_logits", new[] { 2, 3 }, 4, "teacher_logits[1][1] is NaN")]
    [InlineData("linear_ce", "hidden", new[] { 3, 4 }, 5, "hidden[1][1] is NaN")]
    public void A_NaN_in_any_named_input_is_an_error_naming_the_element(string spec, string input, int[] shape, int at, string message)
    {
        ILoss loss = LossRegistry.Create(spec);
        var size = new SampleSize(shape[0], shape.Length > 1 ? shape[1] : 1, shape.Length > 1 ? shape[1] : 0);
        LossInputs inputs = loss.Kind.Sample(loss, size, new Random(1));
        var tensor = inputs[input];
        Assert.Equal(shape, tensor.Shape);
        var values = (double[])tensor.Values.Clone();
        values[at] = double.NaN;
        inputs[input] = new LossTensor(values, tensor.Shape);
        var e = Assert.ThrowsAny<ArgumentException>(() => loss.Kind.Prepare<float>(loss, inputs));
        Assert.Equal(input, e.ParamName);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Infinities_stay_allowed_where_the_loss_defines_them()
    {
        ILoss ce = LossRegistry.Create("ce");
        var inputs = new LossInputs
        {
            ["logits"] = LossTensor.Matrix([1, double.NegativeInfinity, 3, 2, 1, double.NegativeInfinity], 2, 3),
            ["targets"] = LossTensor.Vector([0, 1]),
        };
        var outputs = ce.Kind.Evaluate<double>(ce, inputs);
        Assert.True(double.IsFinite(outputs.Loss));
        Assert.Equal(0, outputs.Gradients["logits"].Values[1]);
    }

    [Fact]
    public void The_library_call_itself_still_propagates_NaN_without_scanning()
    {
        // The kernels are unchanged (digests): a NaN logit gives a NaN row loss, the named-input path refuses it first.
        var perRow = new float[2];
        float loss = new CrossEntropyLoss().Compute<float>([1, float.NaN, 3, 1, 2, 3], 3, [0, 1], perRow, default);
        Assert.True(float.IsNaN(loss));
        Assert.True(float.IsNaN(perRow[0]));
        Assert.False(float.IsNaN(perRow[1]));
    }
}
