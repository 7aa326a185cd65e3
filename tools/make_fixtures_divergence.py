#!/usr/bin/python3
"""Generate reference fixtures for LossKit's divergences from PyTorch.

Writes tests/LossKit.Tests/Fixtures/divergence.json (relative to the repository
root, located from this file's path). Each case holds a spec string, the inputs
(input = log q, target = p or log p; flattened row-major) and the reference's
reduced loss, unreduced values and gradient with respect to the input (torch
autograd):

  kl              F.kl_div(input, target, reduction=..., log_target=...): PyTorch's
                  KLDivLoss itself; unreduced is element-wise (N x K).
  reverse_kl      sum_j q_j (x_j - log p_j), q = exp(x)
  jsd(beta)       beta KL(p || m) + (1 - beta) KL(q || m), m = beta p + (1 - beta) q
                  (Liger's LigerJSD; beta = 0 is KL(p || q), beta = 1 is KL(q || p));
                  scaled=true divides by beta (1 - beta)
  tvd             sum_j |q_j - p_j| / 2
  hellinger       sum_j (sqrt p_j - exp(x_j / 2))^2 / 2
  cauchy_schwarz  -log((sum p q)^2 / (sum p^2 sum q^2))
  wasserstein1    sum_{k < K-1} |cumsum(q - p)_k|

The row-wise divergences are written in torch from their formulas (an independent
slow reference); their reductions: mean over rows, batchmean = sum / N, sum, and
none (the returned value is then the sum, as LossKit returns for none).

Deterministic: inputs come from a torch.Generator seeded from a CRC32 of the case
name, torch runs single-threaded, keys are written in a fixed order.

Usage: /usr/bin/python3 tools/make_fixtures_divergence.py [--out PATH]
(needs Debian's python3-torch)
"""

import argparse
import json
import os
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def rows_of(name, x, p, lp, beta=0.5, scaled=False):
    q = x.exp()
    if name == 'reverse_kl':
        return (q * (x - lp)).sum(1)
    if name == 'jsd':
        if beta == 0:
            return F.kl_div(x, p, reduction='none').sum(1)
        if beta == 1:
            return (q * (x - lp)).sum(1)
        m = beta * p + (1 - beta) * q
        v = beta * (p * (lp - m.log())).sum(1) + (1 - beta) * (q * (x - m.log())).sum(1)
        return v / (beta * (1 - beta)) if scaled else v
    if name == 'tvd':
        return 0.5 * (q - p).abs().sum(1)
    if name == 'hellinger':
        return 0.5 * ((p.sqrt() - (0.5 * x).exp()) ** 2).sum(1)
    if name == 'cauchy_schwarz':
        return -torch.log((p * q).sum(1) ** 2 / ((p * p).sum(1) * (q * q).sum(1)))
    if name == 'wasserstein1':
        return torch.cumsum(q - p, dim=1)[:, :-1].abs().sum(1)
    raise ValueError(name)


def case(name, loss, rows, classes, reduction, log_target=False, dtype=torch.float64, beta=0.5, scaled=False,
         zero_targets=False, scale=2.0):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = F.log_softmax(torch.randn(rows, classes, generator=gen, dtype=torch.float64) * scale, dim=1)
    lp = F.log_softmax(torch.randn(rows, classes, generator=gen, dtype=torch.float64) * scale, dim=1)
    p = lp.exp()
    if zero_targets:
        p[:, 0] = 0
        lp = p.log()
    x = x.to(dtype).detach().requires_grad_(True)
    p, lp = p.to(dtype), lp.to(dtype)
    target = lp if log_target else p
    if loss == 'kl':
        unreduced = F.kl_div(x, target, reduction='none', log_target=log_target)
        value = unreduced.sum() if reduction == 'none' else F.kl_div(x, target, reduction=reduction, log_target=log_target)
    else:
        unreduced = rows_of(loss, x, p, lp, beta, scaled)
        value = {'mean': unreduced.mean(), 'batchmean': unreduced.sum() / rows,
                 'sum': unreduced.sum(), 'none': unreduced.sum()}[reduction]
    value.backward()
    args = []
    if loss == 'jsd':
        args.append(f'beta={beta:g}')
        if scaled:
            args.append('scaled=true')
    if log_target:
        args.append('log_target=true')
    if reduction != 'mean':
        args.append(f'reduction={reduction}')
    spec = loss + (f"({', '.join(args)})" if args else '')
    flat = lambda t: [float(v) for v in t.detach().to(torch.float64).reshape(-1)]
    return {
        'name': name, 'spec': spec, 'dtype': str(dtype).replace('torch.', ''), 'rows': rows, 'classes': classes,
        'input': flat(x), 'target': flat(target), 'loss': float(value), 'unreduced': flat(unreduced),
        'grad_input': flat(x.grad),
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(here, '..', 'tests', 'LossKit.Tests', 'Fixtures', 'divergence.json'))
    out = parser.parse_args().out
    cases = []
    for loss in ['kl', 'reverse_kl', 'jsd', 'tvd', 'hellinger', 'cauchy_schwarz', 'wasserstein1']:
        for reduction in ['mean', 'batchmean', 'sum', 'none']:
            for log_target in [False, True]:
                for dtype in [torch.float64, torch.float32]:
                    for rows, classes in [(3, 5), (1, 1), (4, 9)]:
                        name = f'{loss} {reduction} log_target={log_target} {dtype} {rows}x{classes}'
                        cases.append(case(name, loss, rows, classes, reduction, log_target, dtype))
    for beta in [0.0, 0.1, 0.9, 1.0]:
        for scaled in [False, True]:
            name = f'jsd beta={beta} scaled={scaled}'
            cases.append(case(name, 'jsd', 4, 7, 'batchmean', beta=beta, scaled=scaled))
    for reduction in ['mean', 'batchmean', 'sum', 'none']:
        cases.append(case(f'kl zero targets {reduction}', 'kl', 3, 6, reduction, zero_targets=True))
    with open(out, 'w') as f:
        json.dump({'torch_version': torch.__version__, 'cases': cases}, f, indent=None, separators=(',', ':'))
        f.write('\n')
    print(f'{len(cases)} cases -> {out}')


if __name__ == '__main__':
    main()
