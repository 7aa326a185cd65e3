using System.CommandLine;
using LossKit.Cli;

return Cli.Run(args);
