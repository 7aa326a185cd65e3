#!/usr/bin/python3
"""LossKit's managed GEMM against OpenBLAS cblas_sgemm, side by side, same shapes and thread count.

OpenBLAS is Debian's libopenblas0 (apt-get install -y libopenblas0), called through ctypes; OPENBLAS_CORETYPE=SkylakeX
is set before it loads (without it Debian's OpenBLAS picks kernels ~4x slower on this CPU). LossKit is timed by
`losskit bench --gemm M,K,N --threads T --json` (the Release build, built first). Both: C = A·B, float32,
row-major, median of the timed runs. All LossKit timings are taken before OpenBLAS is loaded: its worker threads
spin for a while after each call and would take a core from LossKit.

    /usr/bin/python3 bench/gemm_vs_openblas.py [--shapes 1024x1024x1024,4096x8192x512] [--threads 2]
"""
import argparse, ctypes, json, os, subprocess, sys, time
from pathlib import Path

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from losskit_cli import cli  # noqa: E402
LIBS = ["libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"]


def load_openblas(threads):
    for name in LIBS:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        sys.exit("error: OpenBLAS not found; install it with: apt-get install -y libopenblas0")
    lib.openblas_set_num_threads(threads)
    lib.cblas_sgemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
    return lib


def time_openblas(lib, m, k, n, runs):
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.zeros((m, n), dtype=np.float32)
    call = lambda: lib.cblas_sgemm(101, 111, 111, m, n, k, 1.0, a.ctypes.data, k, b.ctypes.data, n, 0.0, c.ctypes.data, n)
    for _ in range(2):
        call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def time_losskit(m, k, n, threads, runs):
    cmd = cli("bench", "--gemm", f"{m},{k},{n}", "--threads", threads, "--runs", runs, "--json")
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("error: losskit bench failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    return json.loads(r.stdout.strip().splitlines()[-1])["seconds_median"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="1024x1024x1024,4096x8192x512,128x784x256",
                    help="comma-separated MxKxN (A is MxK, B is KxN)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    shapes = [tuple(int(x) for x in shape.lower().split("x")) for shape in args.shapes.split(",")]
    losskit = [time_losskit(m, k, n, args.threads, args.runs) for m, k, n in shapes]
    lib = load_openblas(args.threads)
    print(f"# LossKit GEMM vs OpenBLAS cblas_sgemm, float32, {args.threads} thread(s), "
          f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}\n")
    print(f"- command: `bench/gemm_vs_openblas.py {' '.join(sys.argv[1:])}`\n")
    print("| M×K×N | LossKit s | LossKit GFLOP/s | OpenBLAS s | OpenBLAS GFLOP/s | LossKit / OpenBLAS speed |")
    print("|---|---:|---:|---:|---:|---:|")
    for (m, k, n), lk in zip(shapes, losskit):
        flops = 2.0 * m * k * n
        ob = time_openblas(lib, m, k, n, args.runs)
        print(f"| {m}×{k}×{n} | {lk:.4f} | {flops / lk / 1e9:.1f} | {ob:.4f} | {flops / ob / 1e9:.1f} | {ob / lk:.2f} |")


if __name__ == "__main__":
    main()
