#!/usr/bin/python3
"""Memory of one call of LossKit's metric-learning losses (issue 15, item 5): N = 4096, d = 512 by default.

Each spec runs in a fresh process of the in-process harness bench/embedding (SECONDS = 0: one call with the gradient,
no warm-up), which reports the bytes the library allocated during the call (GC.GetTotalAllocatedBytes, all threads)
and the process's peak working set before and after the call. Inputs: seeded normal float32 embeddings, N/4 classes of
4 rows each, shuffled. Prints a Markdown table next to what O(N² + N·d) and N³ would take.
Usage: bench/embedding_memory.py [--rows 4096] [--dim 512] [--threads 2] SPEC ...
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch_embedding import build_harness, make_inputs, run_losskit, write_inputs  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="lk-embed-mem-")
    dll = build_harness(os.path.join(tmp, "harness"))
    n, d = args.rows, args.dim
    x, y, w = make_inputs(n, d, 0, "balanced4", 1)
    path = os.path.join(tmp, "in.bin")
    write_inputs(path, x, y, w)
    mib = 1 << 20
    print(f"N = {n}, d = {d}, {args.threads} threads; one N×N matrix of doubles = {8 * n * n / mib:.0f} MiB, "
          f"N×d doubles = {8 * n * d / mib:.0f} MiB, N³ bytes = {n ** 3 / 2 ** 30:.0f} GiB")
    print("| spec | one call s | allocated in the call MiB | in N×N double matrices | peak working set MiB (before the call → after) |")
    print("|---|---:|---:|---:|---:|")
    for spec in args.specs:
        r = run_losskit(dll, spec, path, args.threads, 0)
        a = r["allocated_bytes_per_call"]
        print(f"| `{spec}` | {r['median_ms'] / 1000:.2f} | {a / mib:.0f} | {a / (8 * n * n):.2f} | "
              f"{r['peak_before_call_bytes'] / mib:.0f} → {r['peak_working_set_bytes'] / mib:.0f} |")


if __name__ == "__main__":
    main()
