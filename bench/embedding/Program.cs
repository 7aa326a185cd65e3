using System.Diagnostics;
using System.Globalization;
using LossKit.Catalog;
using LossKit.Embedding;
using LossKit.Kernels;

// One process, one embedding loss, in-process (no CLI): `embedding SPEC INPUT THREADS SECONDS [GRAD_OUT]`.
// INPUT (written by bench/compare_torch_embedding.py): int32 N, d, K (0: no proxies), then float32 embeddings N×d,
// int32 labels N, float32 proxies K×d, little-endian. Times Compute<float> with the gradient(s) for SECONDS after 2
// warm-up calls (SECONDS = 0: one call, no warm-up, for the memory figures) and prints one JSON object: the loss, the
// median and p10 of the calls in ms, the bytes the library allocated per call (GC.GetTotalAllocatedBytes, all threads)
// and the process's peak working set. GRAD_OUT: the gradient of the embeddings (then of the proxies) as float32.
string spec = args[0], input = args[1];
int threads = int.Parse(args[2], CultureInfo.InvariantCulture);
double seconds = double.Parse(args[3], CultureInfo.InvariantCulture);
Parallelism.MaxThreads = threads;
var loss = LossRegistry.Create(spec);
using var reader = new BinaryReader(File.OpenRead(input));
int n = reader.ReadInt32(), d = reader.ReadInt32(), k = reader.ReadInt32();
float[] Floats(long count)
{
    var v = new float[count];
    reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));
    return v;
}
float[] x = Floats((long)n * d);
var y = new int[n];
reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()));
float[] w = Floats((long)k * d);
var gx = new float[x.Length];
var gw = new float[w.Length];
Func<float> call = loss switch
{
    ProxyLoss p => () => p.Compute<float>(x, d, y, w, default, gx, gw),
    EmbeddingLoss e => () => e.Compute<float>(x, d, y, default, gx),
    _ => throw new ArgumentException($"{spec} is not an embedding loss"),
};
var times = new List<double>();
long peakBefore = Process.GetCurrentProcess().PeakWorkingSet64;
long allocated = GC.GetTotalAllocatedBytes(true);
float value = 0;
if (seconds == 0)
{
    long t0 = Stopwatch.GetTimestamp();
    value = call();
    times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    allocated = GC.GetTotalAllocatedBytes(true) - allocated;
}
else
{
    for (int i = 0; i < 2; i++) value = call();
    allocated = GC.GetTotalAllocatedBytes(true);
    var total = Stopwatch.StartNew();
    while (total.Elapsed.TotalSeconds < seconds || times.Count < 3)
    {
        long t0 = Stopwatch.GetTimestamp();
        value = call();
        times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    }
    allocated = (GC.GetTotalAllocatedBytes(true) - allocated) / times.Count;
}
var process = Process.GetCurrentProcess();
process.Refresh();
if (args.Length > 4)
{
    using var o = File.Create(args[4]);
    o.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(gx.AsSpan()));
    o.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(gw.AsSpan()));
}
times.Sort();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"loss\": {value:R}, \"median_ms\": {times[times.Count / 2]:F3}, \"p10_ms\": {times[times.Count / 10]:F3}, \"calls\": {times.Count}, " +
    $"\"allocated_bytes_per_call\": {allocated}, \"peak_working_set_bytes\": {process.PeakWorkingSet64}, \"peak_before_call_bytes\": {peakBefore}}}"));
