#!/usr/bin/python3
"""Generate reference fixtures for LossKit's PyTorch-equivalent regression losses.

Writes tests/LossKit.Tests/Fixtures/regression.json (relative to the repository
root, located from this file's path). Each case holds the LossKit spec, the
inputs (input, target and, for gaussian_nll, var, flattened row-major with
their shapes) and PyTorch's reduced loss, unreduced losses (reduction='none')
and the gradients of the reduced loss by input (and var), by torch autograd:

  * mse          torch.nn.functional.mse_loss
  * l1           torch.nn.functional.l1_loss (exact zeros of r: gradient 0)
  * huber        torch.nn.functional.huber_loss (delta; |r| = delta exactly)
  * smooth_l1    torch.nn.functional.smooth_l1_loss (beta, beta = 0 is L1)
  * poisson_nll  torch.nn.functional.poisson_nll_loss (log_input, full, eps;
                 targets 0, <= 1 and > 1 so the Stirling mask is exercised)
  * gaussian_nll torch.nn.functional.gaussian_nll_loss (full, eps; var of the
                 input's shape, with the last dim dropped, with it 1; var below
                 eps and 0, where the clamp acts and the gradient passes through)

every reduction (mean, sum, none: LossKit returns the sum for none and the
gradient of the sum), float32 and float64, flat and 2-D shapes.

Determinism: every case draws its inputs from its own torch.Generator seeded
from a CRC32 of the case name, torch runs single-threaded, keys are written in
a fixed order: re-running with the same torch build gives the same file.
float32 cases are drawn, stored and computed in float32.

Compare norm-wise per array: |got - ref| <= tol * max(1, max|ref|), tol 1e-5
for float32 and 1e-10 for float64.

Usage: /usr/bin/python3 tools/make_fixtures_regression.py [--out PATH]
(needs Debian's python3-torch: apt-get install -y python3-torch)
"""

import argparse
import json
import os

import torch
import torch.nn.functional as F

from make_fixtures_binary import flat, gen_for  # the per-case seeding and flattening of the binary fixtures

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "LossKit.Tests", "Fixtures", "regression.json")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
REDUCTIONS = ["mean", "sum", "none"]
SHAPES = {"flat": [9], "matrix": [4, 5]}


def spec_of(name, options, reduction):
    args = [f"{k}={v}" for k, v in options] + ([] if reduction == "mean" else [f"reduction={reduction}"])
    return name if not args else f"{name}({', '.join(args)})"


def draw_input(g, shape, dtype, positive=False, scale=2.0):
    x = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    if positive:
        x = x.abs() + 0.05
    return x.to(dtype)


def draw_target(g, shape, dtype, kind):
    if kind == "counts":
        # 0, values in (0, 1], and values > 1 (whole and fractional): every branch of the Stirling mask
        y = torch.randint(0, 7, shape, generator=g).double()
        frac = torch.randint(0, 4, shape, generator=g).double() / 4.0
        y = torch.where(torch.randint(0, 2, shape, generator=g) == 0, y, y + frac)
        v = y.reshape(-1)
        v[0], v[1] = 0.0, 1.0
        return y.to(dtype)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * 2).to(dtype)


class Builder:
    def __init__(self):
        self.cases = []
        self.names = set()

    def add(self, name, spec, reference, dtype, reduction, fn, x, y, var=None):
        assert name not in self.names, name
        self.names.add(name)
        x = x.clone().requires_grad_(True)
        v = None if var is None else var.clone().requires_grad_(True)
        out = fn(x, y, v, reduction)
        total = out if reduction != "none" else out.sum()
        total.backward()
        with torch.no_grad():
            unreduced = fn(x.detach(), y, None if v is None else v.detach(), "none")
        case = {
            "name": name, "spec": spec, "reference": reference, "dtype": dtype,
            "shape": list(x.shape), "input": flat(x), "target": flat(y),
        }
        if v is not None:
            case["var_shape"] = list(v.shape)
            case["var"] = flat(v)
        case["loss"] = float(total.detach().double())
        case["unreduced"] = flat(unreduced)
        case["grad_input"] = flat(x.grad)
        if v is not None:
            case["grad_var"] = flat(v.grad)
        self.cases.append(case)


def point_losses(b):
    for dtype_name, dtype in DTYPES.items():
        for shape_name, shape in SHAPES.items():
            for reduction in REDUCTIONS:
                tag = f"{dtype_name}/{shape_name}/{reduction}"
                # mse and l1, with exact zeros of r in l1
                n = f"mse/{tag}"
                g = gen_for(n)
                x, y = draw_input(g, shape, dtype), draw_target(g, shape, dtype, "real")
                b.add(n, spec_of("mse", [], reduction), "torch.nn.functional.mse_loss", dtype_name, reduction,
                      lambda x, y, v, r: F.mse_loss(x, y, reduction=r), x, y)
                n = f"l1/{tag}"
                g = gen_for(n)
                x, y = draw_input(g, shape, dtype), draw_target(g, shape, dtype, "real")
                y.reshape(-1)[2] = x.reshape(-1)[2]
                b.add(n, spec_of("l1", [], reduction), "torch.nn.functional.l1_loss", dtype_name, reduction,
                      lambda x, y, v, r: F.l1_loss(x, y, reduction=r), x, y)
                # huber and smooth_l1: default and other widths, |r| exactly at the width in one element
                for delta in [1.0, 0.5, 2.5]:
                    n = f"huber/delta={delta:g}/{tag}"
                    g = gen_for(n)
                    x, y = draw_input(g, shape, dtype), draw_target(g, shape, dtype, "real")
                    y.reshape(-1)[3] = x.reshape(-1)[3] - delta
                    opts = [] if delta == 1.0 else [("delta", f"{delta:g}")]
                    b.add(n, spec_of("huber", opts, reduction), "torch.nn.functional.huber_loss", dtype_name, reduction,
                          lambda x, y, v, r, d=delta: F.huber_loss(x, y, reduction=r, delta=d), x, y)
                for beta in [1.0, 0.5, 0.0, 3.0]:
                    n = f"smooth_l1/beta={beta:g}/{tag}"
                    g = gen_for(n)
                    x, y = draw_input(g, shape, dtype), draw_target(g, shape, dtype, "real")
                    y.reshape(-1)[3] = x.reshape(-1)[3] + beta
                    y.reshape(-1)[4] = x.reshape(-1)[4]
                    opts = [] if beta == 1.0 else [("beta", f"{beta:g}")]
                    b.add(n, spec_of("smooth_l1", opts, reduction), "torch.nn.functional.smooth_l1_loss", dtype_name, reduction,
                          lambda x, y, v, r, be=beta: F.smooth_l1_loss(x, y, reduction=r, beta=be), x, y)


def poisson(b):
    for dtype_name, dtype in DTYPES.items():
        for shape_name, shape in SHAPES.items():
            for reduction in REDUCTIONS:
                for log_input in [True, False]:
                    for full in [False, True]:
                        for eps in [1e-8, 0.5]:
                            if log_input and eps != 1e-8:
                                continue  # eps is not used with log_input; one case shows that below
                            n = f"poisson_nll/log_input={log_input}/full={full}/eps={eps:g}/{dtype_name}/{shape_name}/{reduction}"
                            g = gen_for(n)
                            x = draw_input(g, shape, dtype, positive=not log_input, scale=1.5)
                            if not log_input:
                                x.reshape(-1)[5] = 0.0  # log(0 + eps)
                            y = draw_target(g, shape, dtype, "counts")
                            opts = []
                            if not log_input:
                                opts.append(("log_input", "false"))
                            if full:
                                opts.append(("full", "true"))
                            if eps != 1e-8:
                                opts.append(("eps", f"{eps:g}"))
                            b.add(n, spec_of("poisson_nll", opts, reduction), "torch.nn.functional.poisson_nll_loss", dtype_name, reduction,
                                  lambda x, y, v, r, li=log_input, fu=full, e=eps: F.poisson_nll_loss(x, y, log_input=li, full=fu, eps=e, reduction=r),
                                  x, y)
    # eps is ignored with log_input=true
    n = "poisson_nll/log_input=True/full=False/eps=0.5/float64/flat/mean"
    g = gen_for(n)
    x, y = draw_input(g, [9], torch.float64, scale=1.5), draw_target(g, [9], torch.float64, "counts")
    b.add(n, spec_of("poisson_nll", [("eps", "0.5")], "mean"), "torch.nn.functional.poisson_nll_loss", "float64", "mean",
          lambda x, y, v, r: F.poisson_nll_loss(x, y, log_input=True, full=False, eps=0.5, reduction=r), x, y)


def gaussian(b):
    layouts = {
        "same/flat": ([9], [9]),
        "same/matrix": ([4, 5], [4, 5]),
        "dropped/matrix": ([4, 5], [4]),
        "one/matrix": ([4, 5], [4, 1]),
        "dropped/3d": ([2, 3, 4], [2, 3]),
        "one/flat": ([9], [1]),
    }
    for dtype_name, dtype in DTYPES.items():
        for layout, (shape, var_shape) in layouts.items():
            for reduction in REDUCTIONS:
                for full in [False, True]:
                    for eps in [1e-6, 0.25]:
                        n = f"gaussian_nll/full={full}/eps={eps:g}/{layout}/{dtype_name}/{reduction}"
                        g = gen_for(n)
                        x, y = draw_input(g, shape, dtype), draw_target(g, shape, dtype, "real")
                        var = (torch.rand(var_shape, generator=g, dtype=torch.float64) * 2 + 0.01).to(dtype)
                        vv = var.reshape(-1)
                        if vv.numel() >= 3:
                            vv[0] = 0.0      # clamped to eps
                            vv[1] = 1e-9     # below the default eps
                            vv[2] = 0.1      # below eps = 0.25
                        opts = []
                        if full:
                            opts.append(("full", "true"))
                        if eps != 1e-6:
                            opts.append(("eps", f"{eps:g}"))
                        b.add(n, spec_of("gaussian_nll", opts, reduction), "torch.nn.functional.gaussian_nll_loss", dtype_name, reduction,
                              lambda x, y, v, r, fu=full, e=eps: F.gaussian_nll_loss(x, y, v, full=fu, eps=e, reduction=r), x, y, var)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    b = Builder()
    point_losses(b)
    poisson(b)
    gaussian(b)
    doc = {
        "generator": "tools/make_fixtures_regression.py",
        "torch": torch.__version__,
        "comparison": "norm-wise per array: |got - ref| <= tol * max(1, max|ref|); tol 1e-5 float32, 1e-10 float64",
        "cases": b.cases,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{len(b.cases)} cases -> {args.out}")


if __name__ == "__main__":
    main()
