#!/usr/bin/python3
"""Generate PyTorch reference fixtures for LossKit's multimargin loss.

Writes tests/LossKit.Tests/Fixtures/multimargin.json (relative to the repository
root, located from this file's path). Each case holds the LossKit spec, the
inputs (logits flattened row-major with their shape, class-index targets) and
torch.nn.functional.multi_margin_loss's reduced loss, per-row losses
(reduction='none') and the gradient of the reduced loss with respect to the
logits (autograd), for p = 1 and 2, several margins, class weights and the
three reductions, in float32 and float64.

Determinism: each case draws its inputs from its own torch.Generator seeded
from a CRC32 of the case name, torch runs single-threaded, and the JSON is
written with a fixed key order, so re-running with the same torch build gives
the same file byte for byte. float32 inputs are stored exactly.

Usage: /usr/bin/python3 tools/make_fixtures_multimargin.py [--out PATH]
(needs Debian's python3-torch: apt-get install -y python3-torch)
"""

import argparse
import json
import os
import zlib

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "LossKit.Tests", "Fixtures", "multimargin.json")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def gen_for(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode("utf-8")))
    return g


def spec_for(p, margin, weight, reduction):
    parts = []
    if p != 1:
        parts.append("p=%d" % p)
    if margin != 1:
        parts.append("margin=%r" % margin)
    if weight is not None:
        parts.append("weight=[" + ",".join(repr(w) for w in weight) + "]")
    if reduction != "mean":
        parts.append("reduction=" + reduction)
    return "multimargin" + ("(" + ", ".join(parts) + ")" if parts else "")


def make_case(name, dtype, rows, classes, scale, p, margin, weight, reduction):
    g = gen_for(name)
    dt = DTYPES[dtype]
    x = (torch.randn(rows, classes, generator=g, dtype=torch.float64) * scale).to(dt)
    y = torch.randint(0, classes, (rows,), generator=g)
    w = None if weight is None else torch.tensor(weight, dtype=dt)
    x.requires_grad_(True)
    loss = F.multi_margin_loss(x, y, p=p, margin=margin, weight=w, reduction=reduction)
    per_row = F.multi_margin_loss(x.detach(), y, p=p, margin=margin, weight=w, reduction="none")
    total = loss if reduction != "none" else loss.sum()
    total.backward()
    return {
        "name": name,
        "spec": spec_for(p, margin, weight, reduction),
        "dtype": dtype,
        "rows": rows,
        "classes": classes,
        "logits": [float(v) for v in x.detach().reshape(-1).tolist()],
        "targets": [int(v) for v in y.tolist()],
        "loss": float(total.detach()),
        "per_row": [float(v) for v in per_row.reshape(-1).tolist()],
        "gradient": [float(v) for v in x.grad.reshape(-1).tolist()],
    }


def cases():
    out = []
    for dtype in ("float64", "float32"):
        for p in (1, 2):
            for margin in (1.0, 0.5, 2.0):
                for reduction in ("mean", "sum", "none"):
                    for weighted in (False, True):
                        weight = [1.0, 2.0, 0.5, 1.5, 3.0] if weighted else None
                        name = "multimargin_%s_p%d_m%g_%s%s" % (dtype, p, margin, reduction, "_w" if weighted else "")
                        out.append(make_case(name, dtype, 9, 5, 1.0, p, margin, weight, reduction))
        out.append(make_case("multimargin_%s_k1" % dtype, dtype, 4, 1, 1.0, 1, 1.0, None, "mean"))
        out.append(make_case("multimargin_%s_wide" % dtype, dtype, 7, 300, 1.0, 2, 1.0, None, "mean"))
        out.append(make_case("multimargin_%s_large" % dtype, dtype, 6, 8, 1e3, 1, 1.0, None, "sum"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    doc = {"torch_version": torch.__version__, "cases": cases()}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
