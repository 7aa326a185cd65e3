#!/usr/bin/python3
"""LossKit's metric-learning losses side by side with a plain PyTorch implementation of the same loss (issue 15).

For every case it
  (a) writes seeded inputs (float32 embeddings N×d, int32 labels, float32 proxies K×d for arcface) to a file;
  (b) runs the in-process harness bench/embedding (built once against src/LossKit's Release build) on them: the
      library's Compute<float> with the gradient(s), median over SECONDS of calls after 2 warm-ups -- every LossKit
      case before PyTorch is imported, so PyTorch's worker threads take no core from it;
  (c) checks that the PyTorch implementation below gives the same loss and gradient on the same inputs (in float64,
      against LossKit's float output: loss to 1e-5 relative, gradient to 1e-4 of its largest entry; a mismatch
      aborts), then times it in float32 (loss + backward(), torch.set_num_threads(T), median of the timed runs);
  (d) prints a Markdown table (LossKit ms, PyTorch ms, PyTorch / LossKit) and with --json PATH writes the rows.

The PyTorch versions are written as pytorch-metric-learning writes them (dense N×N matrices, masks, logsumexp; the
triplet miner on chunks of anchors so that the N³ mask is never held), with LossKit's defaults:
  supcon            cosine, tau 0.1, each anchor with a positive: mean over its positives of lse_{j≠a}(s/τ) − s_p/τ,
                    reducer nonzero_mean
  ntxent            cosine, tau 0.1, per positive pair: −log(e^{s_ap/τ} / (e^{s_ap/τ} + Σ_n e^{s_an/τ})), mean
  triplet(miner=semihard)  euclidean on normalised rows, margin 0.2; triplets with 0 < d_an − d_ap ≤ 0.2 (mined without
                    gradient), [d_ap − d_an + 0.2]₊, nonzero_mean
  multi_similarity  cosine, α 2, β 50, λ 0.5, all pairs, per anchor (1/α)log(1 + Σ_p e^{−α(s_p−λ)}) + (1/β)log(1 + Σ_n e^{β(s_n−λ)}), mean
  arcface           s 64, m 0.5: cross-entropy over s·cos θ with s·φ(cos θ_y) on the label column, mean; gradients of
                    the embeddings and of the proxies

Labels: supcon, triplet, multi_similarity: N/4 classes of 4 rows each (class-balanced batches, as these losses are
trained), shuffled; ntxent: the two-view form, rows 2i and 2i+1 one class; arcface: uniform over the K classes.
Needs Debian's python3-torch and the .NET SDK, and PyTorch on OpenBLAS: Debian's torch calls the system libblas.so.3,
which without libopenblas0 is the reference BLAS (a 2048×128×2048 product took 0.65 s instead of 0.03 s). Without
installing it system-wide: `apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb /tmp/ob` and run
this script with LD_LIBRARY_PATH=/tmp/ob/usr/lib/x86_64-linux-gnu/openblas-pthread. The script prints which
libblas PyTorch loaded and refuses the reference BLAS unless --allow-reference-blas.
"""

import os

# Before torch is imported (as bench/torch_mlp.py): OpenBLAS 0.3.21 does not know Zen 4 and otherwise falls back to a
# generic kernel ~100× slower; OpenMP threads spinning between parallel regions would contend on 2 cores.
os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LK = os.path.join(REPO_ROOT, "src", "LossKit", "bin", "Release", "net10.0")

# name, LossKit spec, N, d, K (0: no proxies), labels
CASES = [
    ("supcon", "supcon", 2048, 128, 0, "balanced4"),
    ("ntxent", "ntxent", 2048, 128, 0, "twoview"),
    ("triplet(miner=semihard)", "triplet(miner=semihard)", 1024, 128, 0, "balanced4"),
    ("multi_similarity", "multi_similarity", 1024, 128, 0, "balanced4"),
    ("arcface", "arcface", 4096, 512, 10000, "uniform"),
]


def make_inputs(n, d, k, labels_kind, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    if labels_kind == "balanced4":
        y = rng.permutation(np.arange(n) // 4).astype(np.int32)
    elif labels_kind == "twoview":
        y = (np.arange(n) // 2).astype(np.int32)
    else:
        y = rng.integers(0, k, n).astype(np.int32)
    w = rng.standard_normal((k, d)).astype(np.float32) if k else np.zeros((0, d), np.float32)
    return x, y, w


def write_inputs(path, x, y, w):
    with open(path, "wb") as f:
        f.write(np.array([x.shape[0], x.shape[1], w.shape[0]], np.int32).tobytes())
        f.write(x.tobytes())
        f.write(y.tobytes())
        f.write(w.tobytes())


def build_harness(out, lk=None):
    cmds = [] if lk else [["dotnet", "build", "src/LossKit", "-c", "Release", "-nologo", "-clp:ErrorsOnly", "--disable-build-servers"]]
    cmds.append(["dotnet", "build", "bench/embedding", "-c", "Release", "-nologo", "-clp:ErrorsOnly", "--disable-build-servers",
                 f"-p:LK={lk or LK}", "-o", out])
    for cmd in cmds:
        r = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("error: build failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
    return os.path.join(out, "embedding.dll")


def run_losskit(dll, spec, path, threads, seconds, grad_out=None):
    cmd = ["dotnet", dll, spec, path, str(threads), str(seconds)] + ([grad_out] if grad_out else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)}:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- PyTorch implementations (imported lazily)

def torch_losses(torch, F):
    def unit(x):
        return F.normalize(x, dim=1, eps=1e-12)

    def same(y):
        return y[:, None] == y[None, :]

    def supcon(x, y, w, tau=0.1):
        u = unit(x)
        s = u @ u.T / tau
        n = s.shape[0]
        eye = torch.eye(n, dtype=torch.bool)
        pos = same(y) & ~eye
        lse = torch.logsumexp(s.masked_fill(eye, -math.inf), dim=1)
        npos = pos.sum(1)
        has = npos > 0
        per = (lse * npos - (s * pos).sum(1))[has] / npos[has]
        per = per[per > 0]
        return per.mean() if per.numel() else s.sum() * 0

    def ntxent(x, y, w, tau=0.1):
        u = unit(x)
        s = u @ u.T / tau
        n = s.shape[0]
        eye = torch.eye(n, dtype=torch.bool)
        pos = same(y) & ~eye
        neg = ~same(y)
        neg_lse = torch.logsumexp(s.masked_fill(~neg, -math.inf), dim=1)
        a, p = pos.nonzero(as_tuple=True)
        sp = s[a, p]
        return (torch.logaddexp(sp, neg_lse[a]) - sp).mean()

    def triplet_semihard(x, y, w, margin=0.2, miner_margin=0.2):
        u = unit(x)
        g = u @ u.T
        sq = g.diagonal()
        d2 = (sq[:, None] + sq[None, :] - 2 * g).clamp_min(0)
        n = d2.shape[0]
        eye = torch.eye(n, dtype=torch.bool)
        d = torch.zeros_like(d2).masked_scatter(~eye, d2[~eye].sqrt())   # no sqrt(0) on the diagonal: a finite gradient
        pos = same(y) & ~eye
        neg = ~same(y)
        a, p = pos.nonzero(as_tuple=True)
        with torch.no_grad():   # the miner: for each positive pair (a, p), the negatives q with 0 < d(a,q) − d(a,p) ≤ margin
            gap = d[a] - d[a, p][:, None]
            k, q = (neg[a] & (gap > 0) & (gap <= miner_margin)).nonzero(as_tuple=True)
        l = F.relu(d[a[k], p[k]] - d[a[k], q] + margin)
        l = l[l > 0]
        return l.mean() if l.numel() else d.sum() * 0

    def multi_similarity(x, y, w, alpha=2.0, beta=50.0, base=0.5):
        u = unit(x)
        s = u @ u.T
        n = s.shape[0]
        eye = torch.eye(n, dtype=torch.bool)
        pos = same(y) & ~eye
        neg = ~same(y)
        zero = torch.zeros(n, 1, dtype=s.dtype)
        tp = torch.cat([zero, (-alpha * (s - base)).masked_fill(~pos, -math.inf)], 1)
        tn = torch.cat([zero, (beta * (s - base)).masked_fill(~neg, -math.inf)], 1)
        return (torch.logsumexp(tp, 1) / alpha + torch.logsumexp(tn, 1) / beta).mean()

    def arcface(x, y, w, s=64.0, m=0.5):
        c = unit(x) @ unit(w).T
        cy = c.gather(1, y.long()[:, None]).clamp(-1, 1)
        phi = cy * math.cos(m) - (1 - cy * cy).clamp_min(0).sqrt() * math.sin(m)
        phi = torch.where(cy > math.cos(math.pi - m), phi, cy - math.sin(math.pi - m) * m)
        logits = s * c.scatter(1, y.long()[:, None], phi)
        return F.cross_entropy(logits, y.long())

    return {"supcon": supcon, "ntxent": ntxent, "triplet(miner=semihard)": triplet_semihard,
            "multi_similarity": multi_similarity, "arcface": arcface}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3, help="LossKit: time calls for this long (median reported)")
    ap.add_argument("--runs", type=int, default=7, help="PyTorch: timed runs after 2 warm-ups (median reported)")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--allow-reference-blas", action="store_true", help="time PyTorch even on the reference BLAS")
    ap.add_argument("--before", help="also time this LossKit build (a folder holding LossKit.dll, e.g. another checkout's "
                    "src/LossKit/bin/Release/net10.0), alternating with this checkout's, per case")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.cases or c[0] in [s.strip() for s in args.cases.split(",")]]
    tmp = tempfile.mkdtemp(prefix="lk-embed-")
    dll = build_harness(os.path.join(tmp, "harness"))
    before = build_harness(os.path.join(tmp, "harness-before"), os.path.abspath(args.before)) if args.before else None
    rows = []
    for name, spec, n, d, k, labels in cases:   # LossKit first, before torch is loaded
        x, y, w = make_inputs(n, d, k, labels, args.seed)
        path = os.path.join(tmp, f"{len(rows)}.bin")
        write_inputs(path, x, y, w)
        grad = path + ".grad"
        row = dict(case=name, spec=spec, n=n, d=d, k=k, labels=labels, path=path, grad=grad)
        if before:
            row["before"] = run_losskit(before, spec, path, args.threads, args.seconds)
        row["losskit"] = run_losskit(dll, spec, path, args.threads, args.seconds, grad)
        if before and row["before"]["loss"] != row["losskit"]["loss"]:
            print(f"note: {name}: the loss differs from the --before build's: {row['before']['loss']!r} vs {row['losskit']['loss']!r}")
        print(f"LossKit {name}: " + (f"before {row['before']['median_ms']:.1f} ms, " if before else "") +
              f"{row['losskit']['median_ms']:.1f} ms, loss {row['losskit']['loss']!r}", flush=True)
        rows.append(row)

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.ones(2, 2) @ torch.ones(2, 2)
    with open("/proc/self/maps") as maps:
        blas = sorted({line.split()[-1] for line in maps if "blas" in line.split()[-1]})
    print("PyTorch's BLAS: " + ", ".join(blas), flush=True)
    if not any("openblas" in b for b in blas) and not args.allow_reference_blas:
        sys.exit("error: PyTorch is not on OpenBLAS (see the docstring: LD_LIBRARY_PATH); --allow-reference-blas to time it anyway")
    impl = torch_losses(torch, F)
    for r in rows:
        n, d, k = r["n"], r["d"], r["k"]
        x, y, w = make_inputs(n, d, k, r["labels"], args.seed)
        f = impl[r["case"]]
        # (c) the same loss: float64 PyTorch against LossKit's float32 output
        xd = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        wd = torch.tensor(w, dtype=torch.float64, requires_grad=True)
        yt = torch.tensor(y)
        ref = f(xd, yt, wd)
        ref.backward()
        g = np.fromfile(r["grad"], np.float32)
        gx, gw = g[:n * d].reshape(n, d), g[n * d:].reshape(k, d)
        lk_loss = r["losskit"]["loss"]
        rel = abs(lk_loss - ref.item()) / max(abs(ref.item()), 1e-30)
        gerr = float(np.abs(gx - xd.grad.numpy()).max() / max(np.abs(xd.grad.numpy()).max(), 1e-30))
        if k:
            gerr = max(gerr, float(np.abs(gw - wd.grad.numpy()).max() / max(np.abs(wd.grad.numpy()).max(), 1e-30)))
        r.update(torch_loss_float64=ref.item(), loss_rel_diff=rel, grad_rel_diff=gerr)
        if rel > 1e-5 or gerr > 1e-4:
            sys.exit(f"error: {r['case']}: PyTorch and LossKit disagree: loss {ref.item()!r} vs {lk_loss!r} (rel {rel:.2e}), "
                     f"gradient max diff {gerr:.2e} of the largest entry")
        # (c) timing in float32
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(w, requires_grad=bool(k))
        times = []
        for i in range(2 + args.runs):
            xt.grad = None
            wt.grad = None
            t0 = time.perf_counter()
            f(xt, yt, wt).backward()
            if i >= 2:
                times.append(time.perf_counter() - t0)
        r["torch_ms"] = 1000 * statistics.median(times)
        r["torch_min_ms"] = 1000 * min(times)
        print(f"PyTorch {r['case']}: {r['torch_ms']:.1f} ms (loss diff {rel:.1e}, gradient diff {gerr:.1e})", flush=True)
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; "
          f"threads {args.threads}; LossKit: in-process harness bench/embedding, Compute<float> with gradient(s), median over "
          f"{args.seconds} s; PyTorch {torch.__version__} float32 forward + backward, median of {args.runs}")
    print("| loss | N | d | K |" + (" before ms |" if before else "") +
          " LossKit ms | PyTorch ms | PyTorch / LossKit | loss (LossKit) | rel. diff loss / grad vs PyTorch f64 | LossKit alloc/call MB |")
    print("|---|---:|---:|---:|" + ("---:|" if before else "") + "---:|---:|---:|---:|---:|---:|")
    for r in rows:
        lk = r["losskit"]
        b = f" {r['before']['median_ms']:.1f} |" if before else ""
        print(f"| `{r['spec']}` | {r['n']} | {r['d']} | {r['k'] or ''} |{b} {lk['median_ms']:.1f} | {r['torch_ms']:.1f} | "
              f"**{r['torch_ms'] / lk['median_ms']:.2f}×** | {lk['loss']:.6g} | {r['loss_rel_diff']:.1e} / {r['grad_rel_diff']:.1e} | "
              f"{lk['allocated_bytes_per_call'] / 1e6:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{k: v for k, v in r.items() if k not in ("path", "grad")} for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
