namespace LossKit.Cli.Tests.Scaling;

/// <summary>Runs <c>losskit</c> in-process with captured output, and checks the one-line error contract.</summary>
internal static class CliRunner
{
    public readonly record struct Result(int Code, string Out, string Err);

    public static Result Run(params string[] args)
    {
        StringWriter output = new(), error = new();
        return new Result(Cli.Run(args, output, error), output.ToString(), error.ToString());
    }

    /// <summary>Exit code 1 and exactly one stderr line, <c>losskit: </c> and the expected message.</summary>
    public static void AssertOneLineError(Result r, string expected)
    {
        Assert.Equal(1, r.Code);
        Assert.Equal(["losskit: " + expected], r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')));
    }
}
