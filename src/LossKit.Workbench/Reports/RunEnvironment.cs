using System.Reflection;
using System.Runtime.InteropServices;
using LossKit.Kernels;

namespace LossKit.Workbench.Reports;

/// <summary>Where a report was made: LossKit's version and commit, the CPU, the thread count, .NET and the OS.</summary>
/// <param name="Version">LossKit's version.</param>
/// <param name="Commit">The git commit the workbench was built from (<c>-dirty</c>: with uncommitted changes; <c>unknown</c>
/// when built outside a repository).</param>
/// <param name="Cpu">The CPU's model name (from <c>/proc/cpuinfo</c> on Linux) and architecture.</param>
/// <param name="Cores">Logical processors.</param>
/// <param name="Threads">Kernel threads per run (LossKit's <see cref="Parallelism.MaxThreads"/>).</param>
/// <param name="Runtime">The .NET runtime.</param>
/// <param name="Os">The operating system.</param>
public sealed record RunEnvironment(string Version, string Commit, string Cpu, int Cores, int Threads, string Runtime, string Os)
{
    /// <summary>This process's environment.</summary>
    public static RunEnvironment Current()
    {
        var asm = typeof(RunEnvironment).Assembly;
        string version = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        int plus = version.IndexOf('+');
        if (plus >= 0) version = version[..plus];
        string commit = asm.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LossKitCommit")?.Value ?? "unknown";
        return new RunEnvironment(version, commit, CpuName(), Environment.ProcessorCount, Parallelism.MaxThreads,
            RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription);
    }

    /// <summary>One line: <c>LossKit 0.1.0 (commit abc123…), CPU …, 2 cores, 2 threads, .NET 10.0.0, Linux …</c>.</summary>
    public override string ToString() =>
        $"LossKit {Version} (commit {Commit}); CPU {Cpu}, {Cores} logical cores, {Threads} kernel threads per run; {Runtime}; {Os}";

    private static string CpuName()
    {
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and > 0)
                        return $"{line[(i + 1)..].Trim()} ({arch})";
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return arch;
    }
}
