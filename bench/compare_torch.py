#!/usr/bin/python3
"""Side-by-side timing of LossKit and PyTorch (CPU) cross entropy.

For every shape and loss spec it
  (a) runs `losskit bench --loss SPEC --rows R --classes K --threads T --json`
      (the Release build, built first; bench/losskit_cli.py) and parses the JSON
      object printed as the last line of stdout -- every LossKit shape before
      any PyTorch one, so PyTorch's spinning worker threads take no core from it;
  (b) times PyTorch forward + backward (float32, random normal logits that are
      a leaf tensor with requires_grad, random targets) with
      torch.set_num_threads(T): a few warm-up runs, then the median of the
      timed runs (time.perf_counter);
  (c) prints a Markdown table, and with --json PATH writes the rows.

PyTorch references per loss spec:
  ce, ce(smoothing=S, ignore_index=I, weight=ramp)
                       F.cross_entropy(logits, targets[, label_smoothing=S,
                       ignore_index=I, weight=w]); weight=ramp is expanded
                       per shape to K weights 0.5 + k/K (the same list goes
                       to LossKit); ignore_index=I skips the rows whose
                       (uniform random) target is I, on both sides
  focal(gamma=G)       softmax focal loss built from ops:
                       mean(-(1 - p_t)^G * log p_t), p_t from log_softmax
  anything else        no PyTorch column ("n/a")

Needs Debian's python3-torch (apt-get install -y python3-torch) and, unless
--torch-only, the .NET SDK.
"""

import os

# Before torch is imported: OpenMP threads spinning between parallel regions otherwise contend with other threads on
# 2 cores (see torch_mlp.py); override from the environment.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import re
import shlex
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
from losskit_cli import BenchError, cli, run_json  # noqa: E402
DEFAULT_SHAPES = "4096x32000,8192x1000,65536x10,512x128256"
LOSSKIT_FIELDS = ("loss", "rows", "classes", "threads", "seconds_median",
                  "forward_seconds_median", "gbps", "copy_gbps", "fraction_of_copy")



def parse_shapes(text):
    shapes = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)x(\d+)", part)
        if not m:
            raise argparse.ArgumentTypeError(f"bad shape {part!r}, expected ROWSxCLASSES")
        shapes.append((int(m.group(1)), int(m.group(2))))
    if not shapes:
        raise argparse.ArgumentTypeError("no shapes given")
    return shapes


def split_specs(text):
    """Split 'ce,focal(gamma=2,alpha=0.25)' on commas outside parentheses."""
    specs, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            specs.append(cur.strip())
            cur = ""
        else:
            cur += ch
    specs.append(cur.strip())
    specs = [s for s in specs if s]
    if not specs:
        raise argparse.ArgumentTypeError("no losses given")
    return specs


def parse_spec(spec):
    """'focal(gamma=2)' -> ('focal', {'gamma': 2.0})."""
    m = re.fullmatch(r"\s*([A-Za-z_][\w-]*)\s*(?:\((.*)\))?\s*", spec)
    if not m:
        return spec, None
    name, params = m.group(1).lower(), {}
    for item in (m.group(2) or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            return name, None
        key, value = (s.strip() for s in item.split("=", 1))
        try:
            params[key.lower()] = float(value)
        except ValueError:
            return name, None
    return name, params


def ramp_weights(classes):
    """The class weights 'weight=ramp' stands for: 0.5 + k/K."""
    return [0.5 + k / classes for k in range(classes)]


def expand_spec(spec, classes):
    """The LossKit spec for K classes: 'weight=ramp' becomes the explicit list of ramp_weights(K)."""
    listed = "[" + ",".join(f"{w:.17g}" for w in ramp_weights(classes)) + "]"
    return re.sub(r"weight\s*=\s*ramp", "weight=" + listed, spec)


def torch_loss_fn(spec):
    """PyTorch callable (logits, targets) -> scalar loss for a spec, or None."""
    name, params = parse_spec(re.sub(r"weight\s*=\s*ramp", "weight=-1", spec))
    if params is None:
        return None
    if name in ("ce", "cross_entropy", "crossentropy", "softmax_ce"):
        smoothing = params.pop("smoothing", params.pop("label_smoothing", 0.0))
        ignore = int(params.pop("ignore_index", -100))
        ramp = params.pop("weight", None) == -1
        if params:
            return None
        return lambda x, t: F.cross_entropy(
            x, t, label_smoothing=smoothing, ignore_index=ignore,
            weight=torch.tensor(ramp_weights(x.shape[1]), dtype=x.dtype) if ramp else None)
    if name == "focal":
        gamma = params.pop("gamma", 2.0)
        if params:
            return None

        def focal(x, t):
            logpt = F.log_softmax(x, dim=1).gather(1, t.unsqueeze(1)).squeeze(1)
            return (-(1.0 - logpt.exp()).pow(gamma) * logpt).mean()
        return focal
    return None


def losskit_command(spec, rows, classes, threads):
    return cli("bench", "--loss", spec, "--rows", rows, "--classes", classes, "--threads", threads, "--json")


def run_losskit(spec, rows, classes, threads):
    result = run_json(losskit_command(expand_spec(spec, classes), rows, classes, threads), LOSSKIT_FIELDS)
    result["loss"] = spec
    return result


def time_torch(fn, rows, classes, warmup, repeats, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(rows, classes, generator=g, dtype=torch.float32).requires_grad_(True)
    targets = torch.randint(0, classes, (rows,), generator=g, dtype=torch.long)
    times = []
    for i in range(warmup + repeats):
        logits.grad = None
        t0 = time.perf_counter()
        loss = fn(logits, targets)
        loss.backward()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
    if not torch.isfinite(loss.detach()):
        raise BenchError(f"torch loss is not finite for {rows}x{classes}")
    del logits, targets, loss
    return statistics.median(times), times


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description="Compare LossKit and PyTorch cross-entropy speed.")
    ap.add_argument("--shapes", type=parse_shapes, default=parse_shapes(DEFAULT_SHAPES),
                    help=f"comma-separated ROWSxCLASSES list (default {DEFAULT_SHAPES})")
    ap.add_argument("--losses", type=split_specs, default=["ce"],
                    help='comma-separated loss specs passed as --loss SPEC, e.g. "ce,focal(gamma=2)"')
    ap.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--warmup", type=int, default=3, help="PyTorch warm-up runs (default 3)")
    ap.add_argument("--repeats", type=int, default=7, help="PyTorch timed runs, at least 5 (default 7)")
    ap.add_argument("--seed", type=int, default=0, help="seed for the PyTorch inputs")
    ap.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    ap.add_argument("--torch-only", action="store_true", help="skip LossKit; time PyTorch only")
    args = ap.parse_args()
    if args.repeats < 5:
        ap.error("--repeats must be at least 5")
    if args.threads < 1:
        ap.error("--threads must be at least 1")

    torch.set_num_threads(args.threads)
    parallel = [l.strip() for l in torch.__config__.parallel_info().splitlines() if l.strip()]
    parallel_head = [l for l in parallel if not l.endswith(":")][:3]
    command = shlex.join([os.path.relpath(sys.argv[0])] + sys.argv[1:])

    print(f"# LossKit vs PyTorch, float32, {args.threads} thread(s)")
    print()
    print(f"- command: `{command}`")
    print(f"- torch {torch.__version__}: {'; '.join(parallel_head)}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    if args.torch_only:
        print("- LossKit: skipped (--torch-only)")
    else:
        example = losskit_command("SPEC", "R", "K", args.threads)
        print(f"- LossKit: `{shlex.join(example)}` (in {REPO_ROOT})")
    print(f"- PyTorch: forward + backward, {args.warmup} warm-up, median of {args.repeats} runs")
    print()
    sys.stdout.flush()

    losskit = {}
    if not args.torch_only:
        for spec in args.losses:
            for r, k in args.shapes:
                try:
                    losskit[spec, r, k] = run_losskit(spec, r, k, args.threads)
                except BenchError as e:
                    print(f"error: {e}", file=sys.stderr)
                    return 1
    rows = []
    for spec in args.losses:
        fn = torch_loss_fn(spec)
        for r, k in args.shapes:
            lk = losskit.get((spec, r, k))
            t_med = t_all = None
            if fn is not None:
                t_med, t_all = time_torch(fn, r, k, args.warmup, args.repeats, args.seed)
            lk_s = lk["seconds_median"] if lk else None
            rows.append({
                "shape": f"{r}x{k}", "rows": r, "classes": k, "loss": spec,
                "threads": args.threads,
                "losskit_seconds": lk_s,
                "losskit_forward_seconds": lk["forward_seconds_median"] if lk else None,
                "torch_seconds": t_med,
                "torch_seconds_all": t_all,
                "speedup": (t_med / lk_s) if (t_med and lk_s) else None,
                "losskit_gbps": lk["gbps"] if lk else None,
                "copy_gbps": lk["copy_gbps"] if lk else None,
                "fraction_of_copy": lk["fraction_of_copy"] if lk else None,
                "losskit_raw": lk,
            })

    print("| shape | loss | LossKit s | PyTorch s | speed-up (torch/LossKit) "
          "| LossKit GB/s | copy GB/s | fraction of copy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['shape']} | `{row['loss']}` | {fmt(row['losskit_seconds'], '.4g')} "
              f"| {fmt(row['torch_seconds'], '.4g')} | {fmt(row['speedup'], '.2f')} "
              f"| {fmt(row['losskit_gbps'], '.1f')} | {fmt(row['copy_gbps'], '.1f')} "
              f"| {fmt(row['fraction_of_copy'], '.2f')} |")
    if any(row["torch_seconds"] is None for row in rows):
        print()
        print("PyTorch \"—\": no PyTorch reference for that loss spec.")

    if args.json:
        meta = {"command": command, "torch_version": torch.__version__,
                "torch_parallel_info": parallel, "threads": args.threads,
                "warmup": args.warmup, "repeats": args.repeats, "rows": rows}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
