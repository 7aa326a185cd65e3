#!/usr/bin/python3
"""linear_ce: LossKit's fused linear layer + cross-entropy against PyTorch (CPU).

For one shape N x d, V (default 8192 x 1024, 32000) and T threads (default 2):
  (a) PyTorch 1.13: loss = F.cross_entropy(H @ W.T, y); loss.backward() with H
      (N x d) and W (V x d) float32 leaf tensors requiring grad, random targets,
      torch.set_num_threads(T); warm-up runs, then the median of the timed runs
      (time.perf_counter) of forward + backward. OPENBLAS_CORETYPE=SkylakeX is
      set before torch is imported (OpenBLAS otherwise may not detect the CPU
      under a hypervisor and pick a slow kernel).
  (b) LossKit: `losskit bench --loss SPEC --rows N --dim d --classes V
      --threads T --json` (the Release build, built first; bench/losskit_cli.py),
      whose JSON gives the fused time (loss + dH + dW), the materialised path's
      time on the same GEMM, and the extra memory of each.
  (c) prints a Markdown table and the ratio PyTorch time / LossKit fused time
      (> 1: LossKit is faster); --json PATH also writes everything.

Usage: /usr/bin/python3 bench/compare_torch_linear.py [--rows N] [--dim D]
       [--classes V] [--threads T] [--runs R] [--torch-only | --losskit-only]
(needs Debian's python3-torch: apt-get install -y python3-torch, and the .NET SDK)
"""

import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
# OpenMP threads spinning between parallel regions contend with OpenBLAS's threads on 2 cores (see torch_mlp.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
from losskit_cli import BenchError, cli, run_json  # noqa: E402


def run_losskit(args):
    cmd = cli("bench", "--loss", args.loss, "--rows", args.rows, "--dim", args.dim, "--classes", args.classes,
              "--threads", args.threads, "--runs", args.runs, "--json")
    result = run_json(cmd, ("fused_seconds_median", "materialized_seconds_median", "fused_extra_bytes", "materialized_extra_bytes"))
    return result, "losskit " + shlex.join(cmd[2:])


def time_torch(args):
    g = torch.Generator().manual_seed(args.seed)
    h = torch.rand(args.rows, args.dim, generator=g, dtype=torch.float32).mul_(2).sub_(1).requires_grad_(True)
    w = (torch.rand(args.classes, args.dim, generator=g, dtype=torch.float32).mul_(2).sub_(1)
         .mul_(2 / args.dim ** 0.5).requires_grad_(True))
    y = torch.randint(0, args.classes, (args.rows,), generator=g, dtype=torch.long)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    times, cpu = [], []
    for i in range(args.warmup + args.runs):
        h.grad = None
        w.grad = None
        c0 = time.process_time()
        t0 = time.perf_counter()
        loss = F.cross_entropy(h @ w.T, y)
        loss.backward()
        t1 = time.perf_counter()
        c1 = time.process_time()
        if i >= args.warmup:
            times.append(t1 - t0)
            cpu.append(c1 - c0)
    if not torch.isfinite(loss.detach()):
        raise BenchError("torch loss is not finite")
    peak_delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0
    return statistics.median(times), times, peak_delta, statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description="Compare LossKit linear_ce with PyTorch F.cross_entropy(H @ W.T, y).")
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--classes", type=int, default=32000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="timed runs on each side (median reported; default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="PyTorch warm-up runs (default 1)")
    ap.add_argument("--loss", default="linear_ce", help="LossKit spec (default linear_ce)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    side = ap.add_mutually_exclusive_group()
    side.add_argument("--torch-only", action="store_true")
    side.add_argument("--losskit-only", action="store_true")
    args = ap.parse_args()
    if min(args.rows, args.dim, args.classes, args.threads, args.runs) < 1:
        ap.error("--rows, --dim, --classes, --threads and --runs must be at least 1")

    torch.set_num_threads(args.threads)
    flops = 6.0 * args.rows * args.dim * args.classes
    print(f"# linear_ce vs PyTorch, float32, N={args.rows} d={args.dim} V={args.classes}, {args.threads} thread(s)")
    print()
    print(f"- command: `{shlex.join([os.path.relpath(sys.argv[0])] + sys.argv[1:])}`")
    print(f"- torch {torch.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"torch threads {torch.get_num_threads()}")
    print()

    out = {"rows": args.rows, "dim": args.dim, "classes": args.classes, "threads": args.threads, "flops": flops}
    try:
        # LossKit first: PyTorch's N x V logits and their gradient stay resident in this process afterwards.
        if not args.torch_only:
            lk, cmd = run_losskit(args)
            out["losskit"] = lk
            out["losskit_command"] = cmd
            print(f"- losskit: `{cmd}`")
        if not args.losskit_only:
            t, times, peak, cpu = time_torch(args)
            out["torch_seconds_median"] = t
            out["torch_cpu_seconds_median"] = cpu
            out["torch_seconds"] = times
            out["torch_peak_rss_delta_bytes"] = peak
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    print()
    print("| path | seconds (median) | GFLOP/s (6·N·d·V) | CPU seconds (median, all threads) | extra memory |")
    print("|---|---|---|---|---|")
    if "losskit" in out:
        lk = out["losskit"]
        print(f"| LossKit linear_ce (fused) | {lk['fused_seconds_median']:.3f} | {flops / lk['fused_seconds_median'] / 1e9:.1f} "
              f"| {lk['fused_cpu_seconds_median']:.2f} | {lk['fused_extra_bytes'] / 2**20:.1f} MiB allocated, "
              f"{lk['fused_peak_rss_delta_bytes'] / 2**20:.1f} MiB peak RSS growth |")
        if lk["materialized_seconds_median"] > 0:
            print(f"| LossKit materialised (GEMM + ce + GEMMs) | {lk['materialized_seconds_median']:.3f} "
                  f"| {flops / lk['materialized_seconds_median'] / 1e9:.1f} | {lk['materialized_cpu_seconds_median']:.2f} "
                  f"| {lk['materialized_extra_bytes'] / 2**20:.1f} MiB allocated, "
                  f"{lk['materialized_peak_rss_delta_bytes'] / 2**20:.1f} MiB peak RSS growth |")
    if "torch_seconds_median" in out:
        t = out["torch_seconds_median"]
        print(f"| PyTorch F.cross_entropy(H @ W.T, y) | {t:.3f} | {flops / t / 1e9:.1f} | {out['torch_cpu_seconds_median']:.2f} "
              f"| {out['torch_peak_rss_delta_bytes'] / 2**20:.1f} MiB peak RSS growth |")
    print()
    if "losskit" in out and "torch_seconds_median" in out:
        ratio = out["torch_seconds_median"] / out["losskit"]["fused_seconds_median"]
        cpu_ratio = out["torch_cpu_seconds_median"] / out["losskit"]["fused_cpu_seconds_median"]
        out["torch_over_losskit"] = ratio
        out["torch_over_losskit_cpu"] = cpu_ratio
        print(f"PyTorch / LossKit fused time: {ratio:.2f}x ({'LossKit faster' if ratio > 1 else 'PyTorch faster'}); "
              f"CPU time: {cpu_ratio:.2f}x")
    if "losskit" in out and out["losskit"]["materialized_seconds_median"] > 0:
        print(f"LossKit fused / materialised time: {out['losskit']['fused_over_materialized']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
