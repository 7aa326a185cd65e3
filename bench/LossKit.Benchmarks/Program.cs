using BenchmarkDotNet.Running;
using LossKit.Benchmarks;

// `dotnet run -c Release -- gemm-quick [threads...]` runs the Stopwatch GEMM harness (best of several runs);
// anything else goes to BenchmarkDotNet, e.g. `-- --filter '*Gemm*'`.
if (args.Length > 0 && args[0] == "gemm-quick") GemmQuick.Run(args[1..]);
else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
