#!/usr/bin/python3
"""Reference values for linear_ce (LossKit.LargeVocabulary.LinearCrossEntropyLoss) from PyTorch.

Writes tests/LossKit.Tests/Fixtures/linear_ce.json: for each case the inputs
(hidden H: rows x dim, weight W: vocab x dim, optional bias b, targets, options)
and PyTorch's results for

    z = H @ W.T + b                        (H[:-1] against targets[1:] with shift)
    z = softcap * tanh(z / softcap)        (softcap > 0)
    z = z / temperature
    loss = F.cross_entropy(z, y, weight, ignore_index, label_smoothing, reduction)
           + lse_sq * sum over kept rows of logsumexp(z)^2  (divided like the mean)

with its gradients w.r.t. H, W and b from autograd (reduction 'none' is
backpropagated with ones, i.e. the gradient of the sum). Cases without
lse_sq / softcap / temperature call F.cross_entropy with the reduction
directly; the others build the per-row losses from F.cross_entropy(...,
reduction='none') plus the extra terms and reduce them by hand (the mean
divides by the sum of w[y] over kept rows, as F.cross_entropy does).

float32 cases round the inputs to float32 and compute in float32 (every number
stored is exactly representable as a float); float64 cases compute in float64.
Inputs come from per-case seeds and torch runs on one thread, so re-running
with the same torch build gives the same file.

Usage: /usr/bin/python3 tools/make_fixtures_linear_ce.py [--out PATH]
(needs Debian's python3-torch: apt-get install -y python3-torch)
"""

import argparse
import json
import os
import zlib

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "LossKit.Tests", "Fixtures", "linear_ce.json")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def gen_for(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode("utf-8")))
    return g


def case(name, dtype, rows, dim, vocab, *, bias=True, weight=False, ignore_index=-100, ignore_rows=0,
         smoothing=0.0, reduction="mean", lse_sq=0.0, softcap=0.0, temperature=1.0, shift=False, scale=1.0):
    g = gen_for(name)
    t = DTYPES[dtype]
    h = (torch.randn(rows, dim, generator=g, dtype=torch.float64) * scale).to(t)
    w = (torch.randn(vocab, dim, generator=g, dtype=torch.float64) / dim ** 0.5).to(t)
    b = (torch.randn(vocab, generator=g, dtype=torch.float64) * 0.5).to(t) if bias else None
    y = torch.randint(0, vocab, (rows,), generator=g, dtype=torch.long)
    first = 1 if shift else 0
    if ignore_rows:
        picks = torch.randperm(rows - first - 1, generator=g)[:ignore_rows] + first + 1   # keep the first scored row
        y[picks] = ignore_index
    cw = (torch.rand(vocab, generator=g, dtype=torch.float64) * 2 + 0.25).to(t) if weight else None
    if weight and vocab > 1:
        cw[1] = 0.0

    h.requires_grad_(True)
    w.requires_grad_(True)
    if b is not None:
        b.requires_grad_(True)
    hs = h[:-1] if shift else h
    ys = y[1:] if shift else y
    z = hs @ w.T
    if b is not None:
        z = z + b
    extended = lse_sq != 0 or softcap != 0 or temperature != 1
    if softcap > 0:
        z = softcap * torch.tanh(z / softcap)
    if temperature != 1:
        z = z / temperature
    per_row = F.cross_entropy(z, ys, weight=cw, ignore_index=ignore_index, reduction="none", label_smoothing=smoothing)
    kept = ys != ignore_index
    if lse_sq != 0:
        lse = torch.logsumexp(z, dim=1)
        per_row = per_row + lse_sq * lse * lse * kept.to(t)
    if extended:
        if reduction == "mean":
            denom = cw[ys[kept]].sum() if cw is not None else kept.sum().to(t)
            loss = per_row.sum() / denom
        else:
            loss = per_row.sum()
    else:
        loss = F.cross_entropy(z, ys, weight=cw, ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
        if reduction == "none":
            loss = loss.sum()
    loss.backward()

    def flat(x):
        return [float(v) for v in x.detach().reshape(-1).tolist()]

    return {
        "name": name, "dtype": dtype, "rows": rows, "dim": dim, "vocab": vocab,
        "hidden": flat(h), "weight": flat(w), "bias": flat(b) if b is not None else None,
        "targets": [int(v) for v in y.tolist()],
        "class_weight": flat(cw) if cw is not None else None,
        "ignore_index": ignore_index, "smoothing": smoothing, "reduction": reduction,
        "lse_sq": lse_sq, "softcap": softcap, "temperature": temperature, "shift": shift,
        "loss": float(loss.item()), "per_row": flat(per_row),
        "grad_hidden": flat(h.grad), "grad_weight": flat(w.grad), "grad_bias": flat(b.grad) if b is not None else None,
    }


def all_cases():
    specs = [
        ("plain", dict()),
        ("no_bias", dict(bias=False)),
        ("sum", dict(reduction="sum")),
        ("none", dict(reduction="none", ignore_rows=2)),
        ("ignored", dict(ignore_rows=3)),
        ("ignore_index3", dict(ignore_index=3, ignore_rows=2)),
        ("weight", dict(weight=True)),
        ("smoothing", dict(smoothing=0.1)),
        ("weight_smoothing_ignore", dict(weight=True, smoothing=0.2, ignore_rows=2)),
        ("weight_smoothing_sum", dict(weight=True, smoothing=0.3, reduction="sum")),
        ("lse_sq", dict(lse_sq=1e-3)),
        ("softcap", dict(softcap=2.0, scale=3.0)),
        ("temperature", dict(temperature=2.5)),
        ("all_options", dict(weight=True, smoothing=0.05, lse_sq=1e-3, softcap=4.0, temperature=0.7, ignore_rows=2)),
        ("shift", dict(shift=True, ignore_rows=2)),
        ("shift_smoothing_none", dict(shift=True, smoothing=0.1, reduction="none")),
        ("large_logits", dict(scale=30.0)),
    ]
    odd_shape_tags = {"plain", "none", "weight_smoothing_ignore", "all_options", "shift"}
    out = []
    for dtype in ("float64", "float32"):
        for tag, kw in specs:
            out.append(case(f"{tag}_13x7_v29_{dtype}", dtype, 13, 7, 29, **kw))
        for tag, kw in specs:
            if tag in odd_shape_tags:
                out.append(case(f"{tag}_31x11_v67_{dtype}", dtype, 31, 11, 67, **kw))
        out.append(case(f"one_row_{dtype}", dtype, 1, 8, 11))
        out.append(case(f"one_class_{dtype}", dtype, 5, 3, 1))
        out.append(case(f"d1_{dtype}", dtype, 9, 1, 17, smoothing=0.1))
        out.append(case(f"wide_{dtype}", dtype, 21, 12, 500, ignore_rows=3, smoothing=0.1))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = all_cases()
    with open(args.out, "w") as f:
        json.dump({"torch_version": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
