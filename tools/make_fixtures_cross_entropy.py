#!/usr/bin/python3
"""Generate reference fixtures for LossKit's cross-entropy from PyTorch.

Writes tests/LossKit.Tests/Fixtures/cross_entropy.json (relative to the
repository root, located from this file's path). Each case holds the inputs
(logits, index or soft targets, class weights, ignore_index, label smoothing,
reduction) and torch's forward value, per-row losses and gradient w.r.t. the
logits.

Determinism: every case draws its inputs from its own torch.Generator seeded
from a CRC32 of the case name, torch runs single-threaded, and the output is
written with a fixed key order, so re-running the script with the same torch
build reproduces the file byte for byte.

Precision: float64 cases are computed in float64; float32 cases are drawn,
stored and computed in float32 and only converted to double for printing, so
every number in a float32 case is exactly representable as a float. Soft
targets are multiples of 1/64 so each row sums to exactly 1 in both dtypes.

Intentionally EXCLUDED (LossKit defines these as 0, torch gives NaN):
  * reduction='mean' where every row is ignored (0/0 in torch);
  * reduction='mean' with class weights whose sum over the non-ignored rows'
    targets is 0 (again 0/0).
The generator never builds such cases, and as a guard any case with a
non-finite value anywhere is dropped with a message on stderr.

Torch 1.13 semantics worth knowing (checked while writing this script):
  * soft (probability) targets: ignore_index is not allowed at all unless it
    is the default -100 (torch raises "ignore_index is not supported for
    floating point target"), so soft cases always carry -100; mean divides
    by N, never by the weights.
  * soft + smoothing + weight: per_row_i = -sum_c w_c * q_ic * log_softmax_ic
    with q = (1 - eps) * p + eps / K.
  * index + smoothing + weight: per_row_i = (1 - eps) * w_y * nll_i
    + (eps / K) * sum_c w_c * (-log_softmax_ic); mean divides BOTH terms by
    sum of w[y_i] over non-ignored rows.
  * an in-range ignore_index (e.g. 3) zeroes the whole row, but class 3 still
    takes part in the smoothing term of the other rows.

Comparing against these fixtures: use a NORM-WISE relative error per array,
|got - ref| <= tol * max|ref over that array| (tol 1e-5 float32, 1e-10
float64), or an equivalent absolute floor. Element-wise relative error does
not work: torch rounds tiny true values (a confidently right row's loss, the
target-class gradient 1 - p with p ~ 1) to 0 or to a few ulps of 1, e.g. the
'scale50' cases contain per_row = -0.0 where the exact value is ~1e-20.
`--verify` checks every case this way against a 50-digit closed form; torch
is within ~5e-7 (float32) and ~6e-15 (float64) norm-wise.

Usage: /usr/bin/python3 tools/make_fixtures_cross_entropy.py [--out PATH] [--verify]
(needs Debian's python3-torch: apt-get install -y python3-torch)
"""

import argparse
import json
import math
import os
import sys
import zlib

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "LossKit.Tests", "Fixtures", "cross_entropy.json")

DTYPES = {"float32": torch.float32, "float64": torch.float64}
SOFT_DENOM = 64  # soft-target probabilities are multiples of 1/64


def gen_for(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode("utf-8")))
    return g


def make_logits(g, n, k, scale, dtype, offset=0.0):
    if scale == "large":
        x = torch.rand(n, k, generator=g, dtype=torch.float64) * 100.0 - 50.0
    else:
        x = torch.randn(n, k, generator=g, dtype=torch.float64) * float(scale)
    x = x + offset
    return x.to(dtype)


def make_index_targets(g, n, k, ignore_index=None, ignore_frac=0.0):
    y = torch.randint(0, k, (n,), generator=g, dtype=torch.long)
    if ignore_index is not None and n > 1:
        # choose rows to ignore, but always keep row 0 live so mean is finite
        n_ign = max(1, int(round(ignore_frac * n)))
        n_ign = min(n_ign, n - 1)
        rows = torch.randperm(n - 1, generator=g)[:n_ign] + 1
        y[rows] = ignore_index
        if 0 <= ignore_index < k and y[0].item() == ignore_index:
            y[0] = (ignore_index + 1) % k
    return y


def make_soft_targets(g, n, k, dtype):
    """Rows are probability vectors with entries in multiples of 1/64, some
    rows one-hot and most rows with some exact zeros."""
    rows = []
    for i in range(n):
        kind = i % 4
        counts = [0] * k
        if kind == 0 or k == 1:  # one-hot
            counts[torch.randint(0, k, (1,), generator=g).item()] = SOFT_DENOM
        else:
            if kind == 3:  # dense: every class gets something where possible
                support = list(range(k))
            else:  # sparse: about half the classes are exactly zero
                perm = torch.randperm(k, generator=g).tolist()
                support = perm[: max(2, k // 2)]
            # spread SOFT_DENOM units over the support at random
            base = 1 if len(support) <= SOFT_DENOM else 0
            for c in support:
                counts[c] = base
            left = SOFT_DENOM - base * len(support)
            picks = torch.randint(0, len(support), (left,), generator=g).tolist()
            for p in picks:
                counts[support[p]] += 1
        assert sum(counts) == SOFT_DENOM
        rows.append([c / SOFT_DENOM for c in counts])
    return torch.tensor(rows, dtype=dtype)


def make_weight(g, k, dtype, with_zero=False):
    w = torch.rand(k, generator=g, dtype=torch.float64) * 1.75 + 0.25
    if with_zero and k > 2:
        w[k - 1] = 0.0
    return w.to(dtype)


def flat(t):
    return t.detach().double().reshape(-1).tolist()


def all_finite(values):
    return all(math.isfinite(v) for v in values)


def compute_case(name, dtype_name, logits, targets, soft, weight, ignore_index, smoothing, reduction):
    x = logits.clone().requires_grad_(True)
    tgt = soft if soft is not None else targets
    loss = F.cross_entropy(x, tgt, weight=weight, ignore_index=ignore_index,
                           reduction=reduction, label_smoothing=smoothing)
    scalar = loss.sum() if reduction == "none" else loss
    scalar.backward()
    with torch.no_grad():
        per_row = F.cross_entropy(logits, tgt, weight=weight, ignore_index=ignore_index,
                                  reduction="none", label_smoothing=smoothing)
    n, k = logits.shape
    case = {
        "name": name,
        "dtype": dtype_name,
        "rows": n,
        "classes": k,
        "logits": flat(logits),
        "targets": targets.tolist() if targets is not None else None,
        "soft_targets": flat(soft) if soft is not None else None,
        "weight": flat(weight) if weight is not None else None,
        "ignore_index": ignore_index,
        "smoothing": smoothing,
        "reduction": reduction,
        "loss": float(scalar.detach().double().item()),
        "per_row": flat(per_row),
        "gradient": flat(x.grad),
    }
    return case


def float64_reference(case):
    """Recompute a float32 case in float64 from the same (exactly
    representable) inputs; used only for the accuracy diagnostic."""
    n, k = case["rows"], case["classes"]
    logits = torch.tensor(case["logits"], dtype=torch.float64).reshape(n, k)
    targets = torch.tensor(case["targets"]) if case["targets"] is not None else None
    soft = (torch.tensor(case["soft_targets"], dtype=torch.float64).reshape(n, k)
            if case["soft_targets"] is not None else None)
    weight = torch.tensor(case["weight"], dtype=torch.float64) if case["weight"] is not None else None
    return compute_case(case["name"], "float64", logits, targets, soft, weight,
                        case["ignore_index"], case["smoothing"], case["reduction"])


class Builder:
    def __init__(self):
        self.cases = []
        self.names = set()
        self.dropped = []

    def add(self, name, dtype_name, n, k, target_kind, reduction, smoothing=0.0,
            weighted=False, ignore_index=-100, scale=1.0, offset=0.0,
            ignore_frac=0.3, weight_zero=False):
        assert name not in self.names, name
        self.names.add(name)
        dtype = DTYPES[dtype_name]
        g = gen_for(name)
        logits = make_logits(g, n, k, scale, dtype, offset)
        targets = soft = None
        if target_kind == "index":
            targets = make_index_targets(g, n, k)
        elif target_kind == "ignore":
            targets = make_index_targets(g, n, k, ignore_index, ignore_frac)
        elif target_kind == "soft":
            assert ignore_index == -100, "torch rejects ignore_index with soft targets"
            soft = make_soft_targets(g, n, k, dtype)
        else:
            raise ValueError(target_kind)
        weight = make_weight(g, k, dtype, weight_zero) if weighted else None
        case = compute_case(name, dtype_name, logits, targets, soft, weight,
                            ignore_index, smoothing, reduction)
        nums = [case["loss"]] + case["per_row"] + case["gradient"]
        if not all_finite(nums):
            self.dropped.append(name)
            print(f"dropping non-finite case: {name}", file=sys.stderr)
            return
        self.cases.append(case)


def build():
    b = Builder()
    reductions = ["mean", "sum", "none"]
    smoothings = [0.0, 0.1, 0.3]
    kinds = [("index", "index"), ("ignore", "ignore-100"), ("soft", "soft")]

    # Full cross product on a small shape, both dtypes.
    for dt in ["float64", "float32"]:
        for kind, klabel in kinds:
            for weighted in [False, True]:
                for s in smoothings:
                    for red in reductions:
                        name = f"{klabel} {'weight' if weighted else 'noweight'} smooth{s} {red} 5x7 {dt}"
                        b.add(name, dt, 5, 7, kind, red, s, weighted)

    # Custom in-range ignore_index = 3, with and without weight/smoothing.
    for dt in ["float64", "float32"]:
        for weighted, s in [(False, 0.0), (True, 0.0), (False, 0.1), (True, 0.3)]:
            for red in reductions:
                name = f"ignore3 {'weight' if weighted else 'noweight'} smooth{s} {red} 6x5 {dt}"
                b.add(name, dt, 6, 5, "ignore", red, s, weighted, ignore_index=3, ignore_frac=0.34)

    # weight + ignore_index + smoothing together, a weight with an exact zero.
    for dt in ["float64", "float32"]:
        for red in reductions:
            b.add(f"weight+ignore+smoothing 5x7 {red} {dt}", dt, 5, 7, "ignore", red, 0.2,
                  True, ignore_index=-100, ignore_frac=0.4)
            b.add(f"zero-weight class+ignore+smoothing 9x4 {red} {dt}", dt, 9, 4, "ignore", red,
                  0.1, True, ignore_index=-100, ignore_frac=0.2, weight_zero=True)

    # Large-scale logits (uniform in [-50, 50]) and a large common offset.
    for dt in ["float64", "float32"]:
        for kind, klabel in kinds:
            for red in reductions:
                b.add(f"scale50 {klabel} weight smooth0.1 {red} 8x6 {dt}", dt, 8, 6, kind, red,
                      0.1, True, scale="large")
        b.add(f"scale50 index noweight smooth0.0 mean 8x6 {dt}", dt, 8, 6, "index", "mean",
              0.0, False, scale="large")
        b.add(f"offset+1000 index noweight smooth0.0 mean 4x5 {dt}", dt, 4, 5, "index", "mean",
              0.0, False, offset=1000.0)
        b.add(f"offset-1000 soft weight smooth0.1 sum 4x5 {dt}", dt, 4, 5, "soft", "sum",
              0.1, True, offset=-1000.0)

    # Odd shapes.
    for dt in ["float64", "float32"]:
        # K = 1: log_softmax is identically 0, loss and gradient are 0.
        for red in reductions:
            b.add(f"K=1 index noweight smooth0.0 {red} 3x1 {dt}", dt, 3, 1, "index", red)
        b.add(f"K=1 index weight smooth0.1 mean 3x1 {dt}", dt, 3, 1, "index", "mean", 0.1, True)
        b.add(f"K=1 soft noweight smooth0.0 sum 3x1 {dt}", dt, 3, 1, "soft", "sum")
        # N = 1.
        for kind, klabel in [("index", "index"), ("soft", "soft")]:
            for red in reductions:
                b.add(f"N=1 {klabel} noweight smooth0.0 {red} 1x2 {dt}", dt, 1, 2, kind, red)
        b.add(f"N=1 index weight smooth0.3 mean 1x2 {dt}", dt, 1, 2, "index", "mean", 0.3, True)
        # 64 x 10.
        for kind, klabel in kinds:
            b.add(f"{klabel} weight smooth0.1 mean 64x10 {dt}", dt, 64, 10, kind, "mean", 0.1, True)
        b.add(f"index noweight smooth0.0 sum 64x10 {dt}", dt, 64, 10, "index", "sum")
        b.add(f"ignore-100 noweight smooth0.0 none 64x10 {dt}", dt, 64, 10, "ignore", "none")
    # 7 x 1000 (kept to a few cases for file size).
    b.add("index noweight smooth0.0 mean 7x1000 float32", "float32", 7, 1000, "index", "mean")
    b.add("ignore-100 weight smooth0.1 sum 7x1000 float64", "float64", 7, 1000, "ignore", "sum",
          0.1, True, ignore_frac=0.3)
    b.add("scale50 index noweight smooth0.0 mean 7x1000 float32", "float32", 7, 1000, "index",
          "mean", 0.0, False, scale="large")
    return b


def _errors(got, ref):
    """(norm-wise, element-wise) relative error of list got vs list ref.
    Norm-wise divides by max|ref| of the whole array."""
    scale = max(abs(v) for v in ref) or 1.0
    diffs = [abs(g - r) for g, r in zip(got, ref)]
    normwise = max(diffs) / scale
    elementwise = max(d / max(abs(r), 1e-300) for d, r in zip(diffs, ref))
    return normwise, elementwise


def _as_list(v):
    return v if isinstance(v, list) else [v]


def diagnostic(cases):
    """Worst error of torch's float32 results against a float64
    recomputation from the same inputs, per output array."""
    worst = {}
    for c in cases:
        if c["dtype"] != "float32":
            continue
        ref = float64_reference(c)
        for key in ("loss", "per_row", "gradient"):
            nw, ew = _errors(_as_list(c[key]), _as_list(ref[key]))
            w = worst.setdefault(key, [0.0, "", 0.0, ""])
            if nw > w[0]:
                w[0], w[1] = nw, c["name"]
            if ew > w[2]:
                w[2], w[3] = ew, c["name"]
    return worst


def verify_mpmath(cases):
    """Independent check of every case against the closed-form cross entropy
    (formulas in the module docstring) evaluated with 50-digit mpmath.
    Returns the list of failures at the LossKit tolerances, compared
    norm-wise (error / max|reference| of the array)."""
    import mpmath
    mpmath.mp.dps = 50
    mpf = mpmath.mpf
    failures = []
    worst = {}
    for c in cases:
        n, k = c["rows"], c["classes"]
        eps = mpf(c["smoothing"])
        w = [mpf(v) for v in c["weight"]] if c["weight"] is not None else [mpf(1)] * k
        per_row, grad, denom = [], [], mpf(0)
        for i in range(n):
            x = [mpf(v) for v in c["logits"][i * k:(i + 1) * k]]
            m = max(x)
            lse = m + mpmath.log(sum(mpmath.exp(v - m) for v in x))
            logp = [v - lse for v in x]
            if c["soft_targets"] is not None:
                q = [(1 - eps) * mpf(p) + eps / k for p in c["soft_targets"][i * k:(i + 1) * k]]
                denom += 1
            elif c["targets"][i] == c["ignore_index"]:
                q = [mpf(0)] * k
            else:
                y = c["targets"][i]
                q = [(1 - eps) * (1 if j == y else 0) + eps / k for j in range(k)]
                denom += w[y]
            s = sum(w[j] * q[j] for j in range(k))
            per_row.append(-sum(w[j] * q[j] * logp[j] for j in range(k)))
            grad.extend(mpmath.exp(logp[j]) * s - w[j] * q[j] for j in range(k))
        scale = 1 / denom if c["reduction"] == "mean" else 1
        ref = {"loss": [sum(per_row) * scale], "per_row": per_row,
               "gradient": [g * scale for g in grad]}
        tol = 1e-5 if c["dtype"] == "float32" else 1e-10
        for key, r in ref.items():
            nw, _ = _errors([mpf(v) for v in _as_list(c[key])], r)
            nw = float(nw)
            wk = (c["dtype"], key)
            if nw > worst.get(wk, (0.0, ""))[0]:
                worst[wk] = (nw, c["name"])
            if nw > tol:
                failures.append(f"{c['name']}: {key} norm-wise error {nw:.2e} > {tol:g}")
    return worst, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--verify", action="store_true",
                    help="also check every case against a 50-digit closed form (needs python3-mpmath)")
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    b = build()

    header = json.dumps({"generator": "tools/make_fixtures_cross_entropy.py", "torch_version": torch.__version__})
    body = ",\n".join(json.dumps(c) for c in b.cases)
    text = header[:-1] + ', "cases": [\n' + body + "\n]}\n"
    json.loads(text)  # sanity: valid JSON

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)

    print(f"wrote {len(b.cases)} cases ({len(text) / 1e6:.2f} MB) to {os.path.relpath(args.out)}")
    if b.dropped:
        print(f"dropped {len(b.dropped)} non-finite cases", file=sys.stderr)
    print("float32 torch vs float64 recomputation (norm-wise / element-wise rel. error):")
    for key, (nw, nwc, ew, ewc) in diagnostic(b.cases).items():
        print(f"  {key:8s} {nw:.2e} ({nwc}) / {ew:.2e} ({ewc})")
    if args.verify:
        worst, failures = verify_mpmath(b.cases)
        print("torch vs 50-digit closed form (norm-wise rel. error):")
        for (dt, key), (nw, name) in sorted(worst.items()):
            print(f"  {dt} {key:8s} {nw:.2e} ({name})")
        for f in failures:
            print("FAIL " + f, file=sys.stderr)
        if failures:
            sys.exit(1)


if __name__ == "__main__":
    main()
