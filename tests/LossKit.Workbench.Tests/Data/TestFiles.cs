using System.Runtime.CompilerServices;

namespace LossKit.Workbench.Tests.Data;

/// <summary>A temporary folder deleted when the test finishes.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "losskit-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text)
    {
        string p = File(name);
        System.IO.File.WriteAllText(p, text);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// A fact that runs only when the Fashion-MNIST files are installed (apt-get install -y dataset-fashion-mnist);
/// otherwise xunit reports it as skipped, with the reason.
/// </summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public const string Dir = "/usr/share/datasets/fashion-mnist/";

    public FashionMnistFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        if (!System.IO.File.Exists(System.IO.Path.Combine(Dir, "train-images-idx3-ubyte.gz")))
            Skip = $"Fashion-MNIST is not installed in {Dir} (apt-get install -y dataset-fashion-mnist).";
    }
}
