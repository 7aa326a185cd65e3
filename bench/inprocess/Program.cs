using System.Diagnostics;
using LossKit.Catalog;
using LossKit.Core;
using LossKit.Kernels;

// One process, one loss: `inprocess SPEC ROWS CLASSES THREADS SECONDS`. Times Compute<float> with a gradient (no per-row
// output) on seeded logits in [−2, 2] for SECONDS after 5 warm-up calls; prints "median_ms p10_ms calls".
// bench/inprocess_compare.sh runs it against two builds of the library, alternating processes.
string spec = args[0];
int rows = int.Parse(args[1]), classes = int.Parse(args[2]), threads = int.Parse(args[3]);
double seconds = double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
Parallelism.MaxThreads = threads;
var loss = (IClassificationLoss)LossRegistry.Create(spec);
var rng = new Random(1);
var z = new float[(long)rows * classes];
for (long i = 0; i < z.Length; i++) z[i] = (float)(rng.NextDouble() * 4 - 2);
var y = new int[rows];
for (int i = 0; i < rows; i++) y[i] = rng.Next(classes);
var g = new float[z.Length];
for (int i = 0; i < 5; i++) loss.Compute<float>(z, classes, y, default, g);
var times = new List<double>();
var total = Stopwatch.StartNew();
while (total.Elapsed.TotalSeconds < seconds)
{
    long t0 = Stopwatch.GetTimestamp();
    loss.Compute<float>(z, classes, y, default, g);
    times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
}
times.Sort();
Console.WriteLine($"{times[times.Count / 2]:F4} {times[times.Count / 10]:F4} {times.Count}");
