namespace LossKit.Cli.Tests;

/// <summary>Runs the command line in process and keeps a temporary folder for a test class.</summary>
public abstract class CliHarness : IDisposable
{
    protected CliHarness(string prefix)
    {
        Tmp = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Tmp);
    }

    /// <summary>A folder of this test class, deleted afterwards.</summary>
    protected string Tmp { get; }

    public void Dispose()
    {
        try { Directory.Delete(Tmp, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }

    /// <summary><c>losskit ARGS</c>: exit code, standard output, standard error.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
