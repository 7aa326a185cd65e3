#!/usr/bin/python3
"""Side-by-side timing of LossKit's `lambdarank` and `listmle` against plain PyTorch (CPU) implementations.

Issue 16 ("Speed (benchmarks)"): on 10 000 lists of 128 items LossKit should be >= 3x a plain PyTorch
implementation (Debian's PyTorch, 2 threads).

What it does:
  (1) checks that the PyTorch implementations below give LossKit's values: it writes a small padded batch
      (lists of 2..L real items, labels 0..4, scores uniform in +-4, padding with wild scores and labels) to a JSON
      file, runs `losskit eval --loss SPEC --input FILE --double` and compares loss, unreduced and grad_scores with
      PyTorch in float64 (and the float run with float32);
  (2) times `losskit bench --loss SPEC --rows N --classes L --threads T --json` (float, loss + gradient of the mean;
      `bench` draws the ranking kind's sample: lists of 2..L real items padded to L, labels 0..4, scores uniform in
      +-4, seed 42) -- every LossKit run before PyTorch is imported's threads start, see losskit_cli.py;
  (3) times PyTorch forward + backward() on inputs drawn from the same distribution (float32, scores a leaf tensor
      with requires_grad), torch.set_num_threads(T), OMP_WAIT_POLICY=PASSIVE: warm-ups, then the median of the
      timed runs;
  (4) prints a Markdown table with the ratio PyTorch s / LossKit s.

The PyTorch implementations (vectorised over the [N, L] batch, padding masked; LossKit's definitions, docs/ranking.md):
  listmle     Plackett-Luce NLL of the permutation by descending label (stable: equal labels keep the list order),
              padding excluded from every suffix log-sum-exp; sum over the list, mean over the N lists.
  lambdarank  LightGBM's: sum over pairs y_i > y_j with min(r_i, r_j) <= k (k = truncation, 30) of
              |dNDCG_ij| * softplus(-sigma (s_i - s_j)), |dNDCG_ij| = |G_i - G_j| |D(r_i) - D(r_j)| / IDCG@k,
              G = 2^y - 1, D(r) = 1/log2(1 + r), r the rank by the current scores (ties by position), |dNDCG| held
              constant (detached), lists with IDCG = 0 give 0; mean over the N lists.
"""

import os

# Before torch is imported: OpenMP threads spinning between parallel regions otherwise contend with other threads on
# 2 cores (see torch_mlp.py); override from the environment.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
from losskit_cli import BenchError, cli, run_json  # noqa: E402

PAD_SCORE = -1e4  # finite, so that no suffix log-sum-exp is -inf (whose backward is NaN); exp(-1e4 - x) is 0 in float


def listmle_torch(torch, scores, labels, mask):
    """ListMLE per list: sum_k (log sum_{m>=k} e^{s_pi(m)} - s_pi(k)) over the real items, pi by descending label."""
    real = mask > 0
    key = torch.where(real, labels, torch.full_like(labels, -1.0))          # padding sorts last
    _, order = torch.sort(key, dim=1, descending=True, stable=True)          # ties keep the list order
    s = torch.gather(torch.where(real, scores, torch.full_like(scores, PAD_SCORE)), 1, order)
    r = torch.gather(real, 1, order)
    lse = torch.logcumsumexp(s.flip(1), dim=1).flip(1)                       # lse[k] = log sum_{m>=k} e^{s[m]}
    return torch.where(r, lse - s, torch.zeros_like(s)).sum(1)


def lambdarank_torch(torch, scores, labels, mask, sigma=1.0, k=30):
    """LightGBM's lambdarank per list (LossKit's `lambdarank(sigma=1, truncation=30)`)."""
    real = mask > 0
    n_items = scores.shape[1]
    y = torch.where(real, labels, torch.zeros_like(labels))
    gain = torch.pow(2.0, y) - 1
    with torch.no_grad():
        # Ranks by the current scores among the real items, ties by position (stable sort; padding last).
        key = torch.where(real, scores, torch.full_like(scores, float("-inf")))
        _, order = torch.sort(key, dim=1, descending=True, stable=True)
        positions = torch.arange(1, n_items + 1, dtype=scores.dtype).expand_as(scores)
        rank = torch.empty_like(scores).scatter_(1, order, positions)
        disc = 1.0 / torch.log2(1.0 + rank)
        ideal, _ = torch.sort(gain, dim=1, descending=True)
        top = min(k, n_items)
        idcg = (ideal[:, :top] / torch.log2(torch.arange(2, top + 2, dtype=scores.dtype))).sum(1)
        pair = (real.unsqueeze(2) & real.unsqueeze(1) & (y.unsqueeze(2) > y.unsqueeze(1))
                & (torch.minimum(rank.unsqueeze(2), rank.unsqueeze(1)) <= k))
        inv_idcg = torch.where(idcg > 0, 1.0 / idcg, torch.zeros_like(idcg))
        delta = ((gain.unsqueeze(2) - gain.unsqueeze(1)).abs() * (disc.unsqueeze(2) - disc.unsqueeze(1)).abs()
                 * inv_idcg.view(-1, 1, 1))
        delta = torch.where(pair, delta, torch.zeros_like(delta))
    d = sigma * (scores.unsqueeze(2) - scores.unsqueeze(1))
    return (delta * torch.nn.functional.softplus(-d)).sum((1, 2))


TORCH_LOSSES = {"lambdarank": lambdarank_torch, "listmle": listmle_torch}


def sample(torch, rows, length, generator, dtype):
    """LossKit's ranking sample, drawn alike: lists of 2..L real items padded to L, labels 0..4, scores uniform in +-4."""
    real = torch.randint(2, length + 1, (rows, 1), generator=generator) if length > 2 else torch.full((rows, 1), length)
    mask = (torch.arange(length).unsqueeze(0) < real).to(dtype)
    labels = torch.randint(0, 5, (rows, length), generator=generator).to(dtype)
    scores = (torch.rand(rows, length, generator=generator, dtype=torch.float64) * 8 - 4).to(dtype)
    return scores, labels, mask


def check_values(torch, specs, rows=12, length=16):
    """Compares the PyTorch implementations with `losskit eval` (double and float) on one small padded batch."""
    g = torch.Generator().manual_seed(7)
    scores, labels, mask = sample(torch, rows, length, g, torch.float64)
    # Wild values behind the padding (LossKit must ignore them; so must the torch code), and a list with no relevant item.
    scores = torch.where(mask > 0, scores, torch.full_like(scores, 1e6))
    labels = torch.where(mask > 0, labels, torch.full_like(labels, 30.0))
    labels[0] = torch.where(mask[0] > 0, torch.zeros_like(labels[0]), labels[0])
    batch = {"scores": scores.tolist(), "labels": labels.tolist(), "mask": mask.tolist()}
    worst = {}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(batch, f)
        path = f.name
    try:
        for spec in specs:
            for double in (True, False):
                out = run_json(cli("eval", "--loss", spec, "--input", path, *(["--double"] if double else [])),
                               required=("loss", "unreduced", "grad_scores"))
                dtype = torch.float64 if double else torch.float32
                s = scores.to(dtype).clone().requires_grad_(True)
                per_list = TORCH_LOSSES[spec](torch, s, labels.to(dtype), mask.to(dtype))
                loss = per_list.mean()
                loss.backward()
                ref = {"loss": loss.item(), "unreduced": per_list.detach().tolist(), "grad_scores": s.grad.tolist()}
                err = 0.0
                for name in ("loss", "unreduced", "grad_scores"):
                    a = torch.tensor(out[name], dtype=torch.float64).flatten()
                    b = torch.tensor(ref[name], dtype=torch.float64).flatten()
                    err = max(err, ((a - b).abs() / (1e-3 + b.abs())).max().item())
                tol = 1e-9 if double else 1e-4
                worst[(spec, "double" if double else "float")] = err
                if not err <= tol:
                    raise BenchError(f"{spec} ({'double' if double else 'float'}): PyTorch and `losskit eval` differ by "
                                     f"{err:.3g} (relative to 1e-3 + |value|), tolerance {tol:g}")
    finally:
        os.unlink(path)
    return worst


def time_torch(torch, spec, rows, length, warmup, runs):
    g = torch.Generator().manual_seed(42)
    scores, labels, mask = sample(torch, rows, length, g, torch.float32)
    fn = TORCH_LOSSES[spec]
    times = []
    for i in range(warmup + runs):
        s = scores.clone().requires_grad_(True)
        t0 = time.perf_counter()
        loss = fn(torch, s, labels, mask).mean()
        loss.backward()
        t = time.perf_counter() - t0
        if i >= warmup:
            times.append(t)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--losses", default="lambdarank,listmle")
    ap.add_argument("--rows", type=int, default=10000, help="lists N")
    ap.add_argument("--length", type=int, default=128, help="items per list L (padded)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="LossKit bench runs per loss (each reports a median of --runs)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per median (LossKit and PyTorch)")
    ap.add_argument("--warmup", type=int, default=2, help="PyTorch warm-up runs")
    ap.add_argument("--no-check", action="store_true", help="skip the value check against `losskit eval`")
    args = ap.parse_args()
    specs = [s.strip() for s in args.losses.split(",") if s.strip()]
    for s in specs:
        if s not in TORCH_LOSSES:
            sys.exit(f"error: no PyTorch implementation of {s!r} (have: {', '.join(TORCH_LOSSES)})")

    # LossKit first, before PyTorch's threads exist.
    lk = {}
    try:
        for spec in specs:
            meds = []
            for _ in range(args.rounds):
                r = run_json(cli("bench", "--loss", spec, "--rows", args.rows, "--classes", args.length,
                                 "--threads", args.threads, "--runs", args.runs, "--json"), required=("seconds_median",))
                meds.append(r["seconds_median"])
            lk[spec] = meds
    except BenchError as e:
        sys.exit(f"error: {e}")

    import torch
    torch.set_num_threads(args.threads)
    if not args.no_check:
        try:
            worst = check_values(torch, specs)
        except BenchError as e:
            sys.exit(f"error: {e}")
        for (spec, prec), err in worst.items():
            print(f"check {spec} {prec}: PyTorch = losskit eval within {err:.2g} (relative)")

    print(f"\n{args.rows} lists x {args.length} items, {args.threads} threads, torch {torch.__version__}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}\n")
    print("| loss | LossKit s (median of rounds) | LossKit rounds | PyTorch s | PyTorch / LossKit |")
    print("|---|---:|---|---:|---:|")
    for spec in specs:
        med, _ = time_torch(torch, spec, args.rows, args.length, args.warmup, args.runs)
        lk_med = statistics.median(lk[spec])
        print(f"| `{spec}` | {lk_med:.4f} | {', '.join(f'{x:.4f}' for x in lk[spec])} | {med:.4f} | **{med / lk_med:.1f}x** |",
              flush=True)


if __name__ == "__main__":
    main()
