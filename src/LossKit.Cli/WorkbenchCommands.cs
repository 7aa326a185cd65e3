using System.CommandLine;

namespace LossKit.Cli;

/// <summary>train, compare, sweep, report: the workbench (see docs/workbench.md).</summary>
internal static class WorkbenchCommands
{
    public static IEnumerable<Command> All() => [];
}
