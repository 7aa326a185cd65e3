#!/usr/bin/python3
"""Generate reference fixtures for LossKit's kd loss from PyTorch.

Writes tests/LossKit.Tests/Fixtures/kd.json (relative to the repository
root, located from this file's path). Each case holds the kd parameters, the
inputs (student logits, teacher logits, targets; flattened row-major) and the
reference's reduced loss, per-row losses and gradient with respect to the
student logits (torch autograd):

  per-row  alpha * tau^2 * F.kl_div(F.log_softmax(z/tau), F.softmax(t/tau),
           reduction='none').sum(1) + (1 - alpha) * F.cross_entropy(z, y,
           reduction='none')
  mean     over the rows whose target is not ignore_index (LossKit's
           documented semantics: an ignored row drops its KD part too); when
           no row is ignored this is checked against the textbook form
           F.kl_div(..., reduction='batchmean') * tau^2 * alpha
           + (1 - alpha) * F.cross_entropy(z, y).
  sum      the sum of the per-row losses; none: the per-row losses (the
           returned value is then their sum, as LossKit returns for none).

Deterministic: inputs come from a torch.Generator seeded from a CRC32 of the
case name, torch runs single-threaded, keys are written in a fixed order.

Usage: /usr/bin/python3 tools/make_fixtures_kd.py [--out PATH]
(needs Debian's python3-torch)
"""

import argparse
import json
import os
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def kd_rows(z, t, y, tau, alpha, ignore):
    kl = F.kl_div(F.log_softmax(z / tau, dim=1), F.softmax(t / tau, dim=1), reduction='none').sum(1)
    ce = F.cross_entropy(z, y, reduction='none', ignore_index=ignore)
    rows = alpha * tau * tau * kl + (1 - alpha) * ce
    keep = (y != ignore).to(z.dtype)
    return rows * keep, keep


def case(name, rows, classes, tau, alpha, reduction, dtype, scale=2.0, ignore_rows=(), teacher_scale=None):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    z = (torch.randn(rows, classes, generator=gen, dtype=torch.float64) * scale).to(dtype)
    t = (torch.randn(rows, classes, generator=gen, dtype=torch.float64) * (teacher_scale or scale)).to(dtype)
    y = torch.randint(0, classes, (rows,), generator=gen)
    ignore = -100
    for r in ignore_rows:
        y[r] = ignore
    z.requires_grad_(True)
    per_row, keep = kd_rows(z, t, y, tau, alpha, ignore)
    if reduction == 'mean':
        kept = keep.sum()
        loss = per_row.sum() / kept if kept > 0 else per_row.sum() * 0
        if not ignore_rows:
            textbook = (alpha * tau * tau * F.kl_div(F.log_softmax(z / tau, dim=1), F.softmax(t / tau, dim=1), reduction='batchmean')
                        + (1 - alpha) * F.cross_entropy(z, y))
            assert torch.allclose(loss, textbook, rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=0), name
    else:
        loss = per_row.sum()
    loss.backward()
    return {
        'name': name, 'dtype': str(dtype).replace('torch.', ''), 'rows': rows, 'classes': classes,
        'temperature': tau, 'alpha': alpha, 'ignore_index': ignore, 'reduction': reduction,
        'logits': [float(v) for v in z.detach().flatten().tolist()],
        'teacher_logits': [float(v) for v in t.flatten().tolist()],
        'targets': [int(v) for v in y.tolist()],
        'loss': float(loss.item()),
        'per_row': [float(v) for v in per_row.detach().tolist()],
        'gradient': [float(v) for v in z.grad.flatten().tolist()],
    }


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--out', default=os.path.join(here, '..', 'tests', 'LossKit.Tests', 'Fixtures', 'kd.json'))
    args = ap.parse_args()
    cases = []
    for dtype in (torch.float64, torch.float32):
        d = 'f64' if dtype == torch.float64 else 'f32'
        for tau in (1.0, 2.0, 4.0, 0.5):
            for alpha in (0.0, 0.3, 0.5, 1.0):
                for reduction in ('mean', 'sum', 'none'):
                    cases.append(case(f'kd_{d}_t{tau}_a{alpha}_{reduction}', 6, 7, tau, alpha, reduction, dtype))
        cases.append(case(f'kd_{d}_ignored_mean', 8, 5, 3.0, 0.7, 'mean', dtype, ignore_rows=(1, 6)))
        cases.append(case(f'kd_{d}_ignored_sum', 8, 5, 3.0, 0.7, 'sum', dtype, ignore_rows=(0,)))
        cases.append(case(f'kd_{d}_all_ignored', 3, 4, 4.0, 0.5, 'mean', dtype, ignore_rows=(0, 1, 2)))
        cases.append(case(f'kd_{d}_k1', 4, 1, 4.0, 0.5, 'mean', dtype))
        cases.append(case(f'kd_{d}_wide', 5, 300, 4.0, 0.5, 'mean', dtype))
        cases.append(case(f'kd_{d}_large', 4, 6, 2.0, 0.5, 'sum', dtype, scale=200.0, teacher_scale=50.0))
        cases.append(case(f'kd_{d}_sharp_teacher', 4, 6, 1.5, 0.9, 'mean', dtype, scale=1.0, teacher_scale=30.0))
    with open(args.out, 'w') as f:
        json.dump({'torch_version': torch.__version__, 'cases': cases}, f, indent=None, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.normpath(args.out)}')


if __name__ == '__main__':
    main()
