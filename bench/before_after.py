#!/usr/bin/python3
"""Side-by-side timing of two builds of LossKit on bench/'s shapes, in one run: for each case the two CLIs run
alternately (A, B, A, B, ...), each run reporting the median of its own timed calls, and the table gives the median
over rounds of each and the ratio B/A. Use it to show that a change keeps the speed.

    bench/before_after.py --before /path/to/old/checkout [--rounds 5] [--json out.json]

The old checkout must have its CLI built (dotnet build src/LossKit.Cli -c Release); this one is built here.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from losskit_cli import cli  # noqa: E402

CASES = [
    # (label, bench arguments, JSON field timed)
    ("ce 4096×32000", ["--loss", "ce", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("ce(smoothing=0.1) 4096×32000", ["--loss", "ce(smoothing=0.1)", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("focal 4096×32000", ["--loss", "focal(gamma=2)", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("poly 4096×32000", ["--loss", "poly(eps=1)", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("gce 4096×32000", ["--loss", "gce(q=0.7)", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("mae 4096×32000", ["--loss", "mae", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("compsum 4096×32000", ["--loss", "compsum(tau=0.5)", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("sce 4096×32000", ["--loss", "sce", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("ce forward 4096×32000", ["--loss", "ce", "--rows", 4096, "--classes", 32000], "forward_seconds_median"),
    ("ce 4096×32000, 1 thread", ["--loss", "ce", "--rows", 4096, "--classes", 32000, "--threads", 1], "seconds_median"),
    ("ce 65536×10", ["--loss", "ce", "--rows", 65536, "--classes", 10], "seconds_median"),
    ("hinge_ww 4096×32000", ["--loss", "hinge_ww", "--rows", 4096, "--classes", 32000], "seconds_median"),
    ("linear_ce 2048×1024×32000", ["--loss", "linear_ce", "--rows", 2048, "--dim", 1024, "--classes", 32000, "--fused-only", "--runs", 3], "seconds_median"),
    ("GEMM 1024³", ["--gemm", "1024,1024,1024"], "seconds_median"),
]


def run(command):
    r = subprocess.run(command, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, command))}\n{r.stdout[-1500:]}{r.stderr[-1500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="checkout of the old version, its CLI built in Release")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    old_dll = os.path.join(a.before, "src", "LossKit.Cli", "bin", "Release", "net10.0", "LossKit.Cli.dll")
    if not os.path.exists(old_dll):
        sys.exit(f"error: {old_dll} not found: build the old checkout's CLI first")
    new = cli()
    rows = []
    print("| case | before s | after s | after/before |")
    print("|---|---:|---:|---:|")
    for label, args, field in CASES:
        extra = [str(x) for x in args] + (["--runs", "9"] if "--runs" not in args and "--gemm" not in args else [])
        olds, news = [], []
        for _ in range(a.rounds):
            olds.append(run(["dotnet", old_dll, "bench", *extra, "--json"])[field])
            news.append(run(new + ["bench", *extra, "--json"])[field])
        o, n = statistics.median(olds), statistics.median(news)
        rows.append({"case": label, "before": o, "after": n, "ratio": n / o, "before_runs": olds, "after_runs": news})
        print(f"| {label} | {o:.4f} | {n:.4f} | {n / o:.3f} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
