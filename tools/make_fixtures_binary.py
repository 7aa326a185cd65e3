#!/usr/bin/python3
"""Generate reference fixtures for LossKit's binary losses from PyTorch.

Writes tests/LossKit.Tests/Fixtures/binary.json (relative to the repository
root, located from this file's path). Each case holds the LossKit spec, the
inputs (logits and targets in [0, 1], flattened row-major, with their shape)
and the reference's loss, per-element losses (where the reference defines
them) and gradient with respect to the logits, computed by torch autograd:

  * bce            torch.nn.functional.binary_cross_entropy_with_logits
                   (pos_weight, weight, reductions, flat and multi-label shapes,
                   soft targets, large and extreme logits).
  * sigmoid_focal  torchvision.ops.sigmoid_focal_loss, whose formula is written
                   out below (torchvision is not a Debian dependency of torch).
  * logistic       torch.nn.functional.soft_margin_loss with y = 2t - 1.
  * asl            the reference AsymmetricLoss of github.com/Alibaba-MIIL/ASL
                   (src/loss_functions/losses.py), formula written out below,
                   with gradients through the focusing weights
                   (disable_torch_grad_focal_loss=False), 0/1 targets, and
                   logits small enough that its eps = 1e-8 clamp never acts.
  * auc_m          LibAUC's AUCMLoss, version v1 (libauc/losses/auc.py), formula
                   written out below, fed y_pred = sigmoid(logits); also records
                   the gradient with respect to the state (a, b, alpha).
  * anyloss        the AnyLoss closed forms of Han, Moniz & Chawla 2024 as in the
                   authors' notebooks (github.com/doheonhan/anyloss_extension,
                   "[Section 3.3] AnyLoss_org" notebooks: Ours_Accu, Ours_Fbeta,
                   Ours_Gmean with the square root, Ours_BAccu), on
                   y_pred = sigmoid(logits).

Determinism: every case draws its inputs from its own torch.Generator seeded
from a CRC32 of the case name, torch runs single-threaded, and the output is
written with a fixed key order: re-running with the same torch build gives the
same file byte for byte. float32 cases are drawn, stored and computed in
float32, so every number in them is exactly representable as a float.

Compare norm-wise per array: |got - ref| <= tol * max(1, max|ref|), tol 1e-5
for float32 and 1e-10 for float64 (torch rounds tiny true values, and in float32
forms 1 - p with cancellation where LossKit does not).

Usage: /usr/bin/python3 tools/make_fixtures_binary.py [--out PATH]
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
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "LossKit.Tests", "Fixtures", "binary.json")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def gen_for(name):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(name.encode("utf-8")))
    return g


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def fmt(v):
    """A number as LossKit's spec parser reads it (G6, like LossParameter.Fmt)."""
    return "%.6g" % v


def spec_list(values):
    return "[" + ",".join(fmt(v) for v in values) + "]"


def make_logits(g, shape, scale, dtype):
    if scale == "extreme":
        signs = torch.randint(0, 2, shape, generator=g).double() * 2 - 1
        x = signs * 1e30
    else:
        x = torch.randn(shape, generator=g, dtype=torch.float64) * float(scale)
    return x.to(dtype)


def make_targets(g, shape, kind, dtype):
    hard = torch.randint(0, 2, shape, generator=g).double()
    flat_view = hard.reshape(-1)
    if flat_view.numel() >= 2:  # both classes in every batch
        flat_view[0] = 1.0
        flat_view[1] = 0.0
    if kind == "soft":
        # multiples of 1/64 (exact in float32), mixed with exact 0 and 1
        soft = torch.randint(0, 65, shape, generator=g).double() / 64.0
        mix = torch.randint(0, 3, shape, generator=g)
        hard = torch.where(mix == 0, soft, hard)
    return hard.to(dtype)


def per_column(g, columns, low, high, dtype):
    v = torch.rand(columns, generator=g, dtype=torch.float64) * (high - low) + low
    # round to 6 significant digits so the spec string reproduces the values exactly
    v = torch.tensor([float(fmt(x)) for x in v.tolist()], dtype=torch.float64)
    return v.to(dtype)


def reduce(per_element, reduction):
    if reduction == "mean":
        return per_element.mean()
    return per_element.sum()  # sum, and none (LossKit returns the sum; the gradient is that of the sum)


class Builder:
    def __init__(self):
        self.cases = []
        self.names = set()

    def add(self, case):
        assert case["name"] not in self.names, case["name"]
        self.names.add(case["name"])
        values = [case["loss"]] + case["gradient"] + (case["per_element"] or [])
        if not all(math.isfinite(v) for v in values):
            print("dropped (non-finite): " + case["name"], file=sys.stderr)
            return
        self.cases.append(case)

    def case(self, name, spec, reference, dtype_name, shape, logits, targets, loss, per_element, gradient, extra=None):
        c = {
            "name": name,
            "spec": spec,
            "reference": reference,
            "dtype": dtype_name,
            "shape": list(shape),
            "logits": flat(logits),
            "targets": flat(targets),
            "loss": float(loss.detach().double().item()),
            "per_element": flat(per_element) if per_element is not None else None,
            "gradient": flat(gradient),
        }
        if extra:
            c.update(extra)
        self.add(c)


# ----------------------------------------------------------------------------- bce

def bce_cases(b):
    shapes = [("flat", (9,)), ("multilabel", (6, 4)), ("3d", (2, 3, 5))]
    for dtype_name in DTYPES:
        dtype = DTYPES[dtype_name]
        for shape_name, shape in shapes:
            columns = shape[-1]
            for options in ["plain", "pos_weight", "weight", "both", "scalar_pos_weight"]:
                for reduction in ["mean", "sum", "none"]:
                    for kind in ["hard", "soft"]:
                        name = f"bce/{dtype_name}/{shape_name}/{options}/{reduction}/{kind}"
                        g = gen_for(name)
                        x = make_logits(g, shape, 2.0, dtype)
                        t = make_targets(g, shape, kind, dtype)
                        pw = w = None
                        if options in ("pos_weight", "both"):
                            pw = per_column(g, columns, 0.2, 4.0, dtype)
                        if options == "scalar_pos_weight":
                            pw = per_column(g, 1, 0.2, 4.0, dtype)
                        if options in ("weight", "both"):
                            w = per_column(g, columns, 0.1, 2.0, dtype)
                        add_bce(b, name, dtype_name, shape, x, t, pw, w, reduction)
        # large and extreme logits, multi-label with pos_weight
        for scale in [30.0, 1000.0, "extreme"]:
            for options in ["plain", "both"]:
                shape = (5, 3)
                name = f"bce/{dtype_name}/scale{scale}/{options}"
                g = gen_for(name)
                x = make_logits(g, shape, scale, dtype)
                t = make_targets(g, shape, "soft", dtype)
                pw = per_column(g, 3, 0.2, 4.0, dtype) if options == "both" else None
                w = per_column(g, 3, 0.1, 2.0, dtype) if options == "both" else None
                add_bce(b, name, dtype_name, shape, x, t, pw, w, "mean")
        # long enough for several vectors and a tail
        name = f"bce/{dtype_name}/long/pos_weight"
        g = gen_for(name)
        shape = (37, 7)
        x = make_logits(g, shape, 3.0, dtype)
        t = make_targets(g, shape, "soft", dtype)
        add_bce(b, name, dtype_name, shape, x, t, per_column(g, 7, 0.2, 4.0, dtype), None, "mean")


def add_bce(b, name, dtype_name, shape, x, t, pw, w, reduction):
    xg = x.clone().requires_grad_(True)
    per = F.binary_cross_entropy_with_logits(xg, t, weight=w, pos_weight=pw, reduction="none")
    loss = reduce(per, reduction)
    loss.backward()
    parts = []
    if pw is not None:
        parts.append("pos_weight=" + spec_list(pw.double().tolist()))
    if w is not None:
        parts.append("weight=" + spec_list(w.double().tolist()))
    if reduction != "mean":
        parts.append("reduction=" + reduction)
    spec = "bce" + ("(" + ", ".join(parts) + ")" if parts else "")
    b.case(name, spec, "torch.nn.functional.binary_cross_entropy_with_logits", dtype_name, shape, x, t, loss, per, xg.grad)


# ----------------------------------------------------------------------------- sigmoid focal

def torchvision_sigmoid_focal_loss(inputs, targets, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss with reduction='none' (torchvision >= 0.8 formula)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


def focal_cases(b):
    for dtype_name in DTYPES:
        dtype = DTYPES[dtype_name]
        for gamma in [0.0, 0.5, 2.0, 3.0]:
            for alpha in [-1.0, 0.25, 0.75]:
                for reduction in ["mean", "sum", "none"]:
                    for kind in ["hard", "soft"]:
                        name = f"sigmoid_focal/{dtype_name}/g{gamma}/a{alpha}/{reduction}/{kind}"
                        g = gen_for(name)
                        shape = (7, 3)
                        # |s| stays below ~15: torch's (1 - p_t)**gamma has no finite gradient at 1 - p_t = 0.
                        x = make_logits(g, shape, 3.0, dtype).clamp(-12, 12)
                        t = make_targets(g, shape, kind, dtype)
                        xg = x.clone().requires_grad_(True)
                        per = torchvision_sigmoid_focal_loss(xg, t, alpha, gamma)
                        loss = reduce(per, reduction)
                        loss.backward()
                        parts = []
                        if gamma != 2.0:
                            parts.append("gamma=" + fmt(gamma))
                        if alpha != 0.25:
                            parts.append("alpha=" + fmt(alpha))
                        if reduction != "mean":
                            parts.append("reduction=" + reduction)
                        spec = "sigmoid_focal" + ("(" + ", ".join(parts) + ")" if parts else "")
                        b.case(name, spec, "torchvision.ops.sigmoid_focal_loss (formula)", dtype_name, shape, x, t, loss,
                               per.detach(), xg.grad)


# ----------------------------------------------------------------------------- logistic

def logistic_cases(b):
    for dtype_name in DTYPES:
        dtype = DTYPES[dtype_name]
        for reduction in ["mean", "sum", "none"]:
            name = f"logistic/{dtype_name}/{reduction}"
            g = gen_for(name)
            shape = (11,)
            x = make_logits(g, shape, 4.0, dtype)
            t = make_targets(g, shape, "hard", dtype)
            xg = x.clone().requires_grad_(True)
            per = F.soft_margin_loss(xg, 2 * t - 1, reduction="none")
            loss = reduce(per, reduction)
            loss.backward()
            spec = "logistic" + ("(reduction=" + reduction + ")" if reduction != "mean" else "")
            b.case(name, spec, "torch.nn.functional.soft_margin_loss, y = 2t - 1", dtype_name, shape, x, t, loss, per.detach(), xg.grad)


# ----------------------------------------------------------------------------- asl

def asl_reference(x, y, gamma_neg, gamma_pos, clip, eps=1e-8):
    """Alibaba-MIIL/ASL AsymmetricLoss.forward, element-wise (before its final -sum),
    with gradients through the focusing weight."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt0 = xs_pos * y
        pt1 = xs_neg * (1 - y)
        pt = pt0 + pt1
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        one_sided_w = torch.pow(1 - pt, one_sided_gamma)
        loss = loss * one_sided_w
    return -loss


def asl_cases(b):
    dtype_name, dtype = "float64", torch.float64
    for gamma_pos, gamma_neg, clip in [(0.0, 4.0, 0.05), (1.0, 4.0, 0.05), (0.0, 2.0, 0.0), (2.0, 1.5, 0.2), (0.5, 0.0, 0.1)]:
        for reduction in ["sum", "mean"]:
            name = f"asl/gp{gamma_pos}/gn{gamma_neg}/c{clip}/{reduction}"
            g = gen_for(name)
            shape = (6, 5)
            x = make_logits(g, shape, 2.5, dtype).clamp(-8, 8)
            t = make_targets(g, shape, "hard", dtype)
            xg = x.clone().requires_grad_(True)
            per = asl_reference(xg, t, gamma_neg, gamma_pos, clip)
            loss = reduce(per, reduction)
            loss.backward()
            parts = []
            if gamma_pos != 0.0:
                parts.append("gamma_pos=" + fmt(gamma_pos))
            if gamma_neg != 4.0:
                parts.append("gamma_neg=" + fmt(gamma_neg))
            if clip != 0.05:
                parts.append("clip=" + fmt(clip))
            if reduction != "mean":
                parts.append("reduction=" + reduction)
            spec = "asl" + ("(" + ", ".join(parts) + ")" if parts else "")
            b.case(name, spec, "Alibaba-MIIL/ASL AsymmetricLoss (formula, no detach)", dtype_name, shape, x, t, loss, per.detach(), xg.grad)


# ----------------------------------------------------------------------------- auc_m

def libauc_aucm_v1(y_pred, y_true, a, b, alpha, margin, p):
    """libauc.losses.AUCMLoss.forward, version 'v1' (p given: the batch ratio for auto=True)."""
    return ((1 - p) * torch.mean((y_pred - a) ** 2 * (1 == y_true).float())
            + p * torch.mean((y_pred - b) ** 2 * (0 == y_true).float())
            + 2 * alpha * (p * (1 - p) * margin
                           + torch.mean((p * y_pred * (0 == y_true).float() - (1 - p) * y_pred * (1 == y_true).float())))
            - p * (1 - p) * alpha ** 2)


def aucm_cases(b):
    dtype_name, dtype = "float64", torch.float64
    for margin in [1.0, 0.6]:
        for state in [(0.0, 0.0, 0.0), (0.4, -0.3, 0.7)]:
            for imratio in [0.0, 0.2]:
                for n in [8, 33]:
                    name = f"auc_m/m{margin}/s{state}/r{imratio}/n{n}"
                    g = gen_for(name)
                    x = make_logits(g, (n,), 2.0, dtype)
                    t = make_targets(g, (n,), "hard", dtype)
                    xg = x.clone().requires_grad_(True)
                    a = torch.tensor(state[0], dtype=dtype, requires_grad=True)
                    bb = torch.tensor(state[1], dtype=dtype, requires_grad=True)
                    alpha = torch.tensor(state[2], dtype=dtype, requires_grad=True)
                    p = torch.tensor(imratio, dtype=dtype) if imratio > 0 else (t == 1).double().sum() / n
                    loss = libauc_aucm_v1(torch.sigmoid(xg).reshape(-1, 1), t.reshape(-1, 1), a, bb, alpha, margin, p)
                    loss.backward()
                    parts = []
                    if margin != 1.0:
                        parts.append("margin=" + fmt(margin))
                    if imratio > 0:
                        parts.append("imratio=" + fmt(imratio))
                    spec = "auc_m" + ("(" + ", ".join(parts) + ")" if parts else "")
                    b.case(name, spec, "LibAUC AUCMLoss v1 (formula) on sigmoid(logits)", dtype_name, (n,), x, t, loss, None, xg.grad,
                           {"state": list(state), "state_gradient": [float(a.grad.item()), float(bb.grad.item()), float(alpha.grad.item())]})


# ----------------------------------------------------------------------------- anyloss

def anyloss_reference(logits, y, metric, L, beta):
    """The authors' closed forms (Ours_Accu, Ours_Fbeta, Ours_Gmean, Ours_BAccu) on y_pred = sigmoid(logits)."""
    y_pred = torch.sigmoid(logits)
    y_pred = 1 / (1 + torch.exp(-L * (y_pred - 0.5)))
    yl = float(y.numel())
    syhy = torch.sum(y * y_pred)
    sy = torch.sum(y)
    if metric == "accuracy":
        m = (yl - sy - torch.sum(y_pred) + 2 * syhy) / yl
    elif metric in ("f1", "fbeta"):
        m = (1 + beta ** 2) * syhy / ((beta ** 2) * sy + torch.sum(y_pred))
    elif metric == "gmean":
        m = torch.sqrt(syhy * (yl - torch.sum(y_pred) - sy + syhy) / (sy * (yl - sy)))
    else:  # balanced_accuracy
        m = (yl * (syhy + sy) - sy * (torch.sum(y_pred) + sy)) / (2 * sy * (yl - sy))
    return 1 - m


def anyloss_cases(b):
    dtype_name, dtype = "float64", torch.float64
    for metric, beta in [("f1", 1.0), ("accuracy", 1.0), ("fbeta", 2.0), ("fbeta", 0.5), ("gmean", 1.0), ("balanced_accuracy", 1.0)]:
        for L in [73.0, 5.0]:
            for kind in ["hard", "soft"]:
                name = f"anyloss/{metric}/b{beta}/L{L}/{kind}"
                g = gen_for(name)
                shape = (10,)
                # scale 0.1 keeps sigmoid(s) near 1/2, where A is not saturated even at L = 73
                x = make_logits(g, shape, 0.1 if L > 10 else 1.0, dtype)
                t = make_targets(g, shape, kind, dtype)
                xg = x.clone().requires_grad_(True)
                loss = anyloss_reference(xg, t, metric, L, beta)
                loss.backward()
                parts = []
                if metric != "f1":
                    parts.append("metric=" + metric)
                if L != 73.0:
                    parts.append("L=" + fmt(L))
                if beta != 1.0:
                    parts.append("beta=" + fmt(beta))
                spec = "anyloss" + ("(" + ", ".join(parts) + ")" if parts else "")
                b.case(name, spec, "AnyLoss closed forms of the authors' notebooks", dtype_name, shape, x, t, loss, None, xg.grad)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    b = Builder()
    bce_cases(b)
    focal_cases(b)
    logistic_cases(b)
    asl_cases(b)
    aucm_cases(b)
    anyloss_cases(b)
    doc = {
        "generator": "tools/make_fixtures_binary.py",
        "torch": torch.__version__,
        "comparison": "norm-wise per array: |got - ref| <= tol * max(1, max|ref|); tol 1e-5 float32, 1e-10 float64",
        "cases": b.cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(b.cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
