#!/usr/bin/python3
"""Generate reference fixtures for LossKit's preference losses with PyTorch.

Writes tests/LossKit.Tests/Fixtures/preference.json (relative to the repository
root, located from this file's path). Each case holds a spec string, the inputs
(per-sequence log-probabilities of the policy and the reference, sequence
lengths) and the reference's reduced loss, per-pair losses and gradients with
respect to the two policy inputs (torch autograd). The per-pair formulas follow
TRL's DPOTrainer (dpo, every loss_type) and CPOTrainer (simpo, cpo), written
here in torch from those formulas; see the loss cards for where LossKit's
conventions differ from TRL (conservative sigmoid, per-pair CPO NLL).

Deterministic: inputs come from a torch.Generator seeded from a CRC32 of the case
name, torch runs single-threaded, keys are written in a fixed order.

Usage: /usr/bin/python3 tools/make_fixtures_preference.py [--out PATH]
(needs Debian's python3-torch)
"""

import argparse
import json
import os
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
ls = F.logsigmoid


def dpo(loss_type, c, r, cr, rr, lc, lr, beta, eps, tau):
    sc, sr = c - cr, r - rr
    if loss_type == 'ipo':
        sc, sr = sc / lc, sr / lr
    d = sc - sr
    u = beta * d
    if loss_type == 'sigmoid':
        return -(1 - eps) * ls(u) - eps * ls(-u)
    if loss_type == 'hinge':
        return torch.relu(1 - u)
    if loss_type == 'ipo':
        return (d - 1 / (2 * beta)) ** 2
    if loss_type == 'exo_pair':
        e = torch.tensor(eps, dtype=c.dtype)
        return torch.sigmoid(u) * (ls(u) - torch.log1p(-e)) + torch.sigmoid(-u) * (ls(-u) - torch.log(e))
    if loss_type == 'nca_pair':
        return -ls(beta * sc) - 0.5 * ls(-beta * sc) - 0.5 * ls(-beta * sr)
    if loss_type == 'robust':
        return (-(1 - eps) * ls(u) + eps * ls(-u)) / (1 - 2 * eps)
    if loss_type == 'bco_pair':
        return -ls(beta * sc) - ls(-beta * sr)
    if loss_type == 'sppo_hard':
        return (sc - 0.5 / beta) ** 2 + (sr + 0.5 / beta) ** 2
    if loss_type in ('aot', 'aot_pair'):
        if loss_type == 'aot':
            a, b = torch.sort(c - r, dim=0, stable=True)[0], torch.sort(cr - rr, dim=0, stable=True)[0]
        else:
            a, b = torch.sort(sc, dim=0, stable=True)[0], torch.sort(sr, dim=0, stable=True)[0]
        v = beta * (a - b)
        return -(1 - eps) * ls(v) - eps * ls(-v)
    if loss_type == 'apo_zero':
        return 1 - torch.sigmoid(beta * sc) + torch.sigmoid(beta * sr)
    if loss_type == 'apo_down':
        return torch.sigmoid(beta * sc) + 1 - torch.sigmoid(u)
    if loss_type == 'discopop':
        m = torch.sigmoid(u / tau)
        return -ls(u) * (1 - m) + torch.exp(-u) * m
    raise ValueError(loss_type)


def case(name, loss, spec, n, reduction, dtype, **kw):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    rnd = lambda: -(torch.rand(n, generator=gen, dtype=torch.float64) * 40 + 1)
    c, r, cr, rr = rnd(), rnd(), rnd(), rnd()
    lc = torch.randint(1, 30, (n,), generator=gen).to(torch.float64)
    lr = torch.randint(1, 30, (n,), generator=gen).to(torch.float64)
    c, r = c.to(dtype).requires_grad_(True), r.to(dtype).requires_grad_(True)
    cr, rr, lc, lr = cr.to(dtype), rr.to(dtype), lc.to(dtype), lr.to(dtype)
    beta, eps = kw.get('beta', 0.1), kw.get('eps', 0.0)
    if loss == 'dpo':
        ref_c, ref_r = (torch.zeros_like(cr), torch.zeros_like(rr)) if kw.get('reference_free') else (cr, rr)
        per = dpo(kw['loss_type'], c, r, ref_c, ref_r, lc, lr, beta, eps, kw.get('tau', 0.05))
    elif loss == 'simpo':
        u = beta * (c / lc - r / lr) - kw['gamma']
        per = -(1 - eps) * ls(u) - eps * ls(-u)
    elif loss == 'cpo':
        u = beta * (c - r)
        per = -(1 - eps) * ls(u) - eps * ls(-u) - kw['alpha'] * c / lc
    value = per.mean() if reduction == 'mean' else per.sum()
    value.backward()
    flat = lambda t: [float(v) for v in t.detach().to(torch.float64)]
    return {
        'name': name, 'spec': spec, 'dtype': str(dtype).replace('torch.', ''),
        'policy_chosen_logps': flat(c), 'policy_rejected_logps': flat(r),
        'reference_chosen_logps': flat(cr), 'reference_rejected_logps': flat(rr),
        'chosen_lengths': flat(lc), 'rejected_lengths': flat(lr),
        'loss': float(value), 'unreduced': flat(per),
        'grad_policy_chosen_logps': flat(c.grad), 'grad_policy_rejected_logps': flat(r.grad),
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(here, '..', 'tests', 'LossKit.Tests', 'Fixtures', 'preference.json'))
    out = parser.parse_args().out
    cases = []
    dpo_variants = [('sigmoid', {}), ('sigmoid', {'eps': 0.2}), ('hinge', {}), ('ipo', {}), ('exo_pair', {'eps': 1e-3}),
                    ('nca_pair', {}), ('robust', {'eps': 0.1}), ('bco_pair', {}), ('sppo_hard', {}), ('aot', {}),
                    ('aot', {'eps': 0.1}), ('aot_pair', {}), ('apo_zero', {}), ('apo_down', {}), ('discopop', {}),
                    ('discopop', {'tau': 0.5, 'beta': 0.5}), ('sigmoid', {'reference_free': True, 'beta': 0.05})]
    for loss_type, kw in dpo_variants:
        args = [f"loss_type={loss_type}"]
        if 'beta' in kw: args.append(f"beta={kw['beta']:g}")
        if 'eps' in kw: args.append(f"label_smoothing={kw['eps']:g}")
        if kw.get('reference_free'): args.append('reference_free=true')
        if 'tau' in kw: args.append(f"discopop_tau={kw['tau']:g}")
        for reduction in ['mean', 'sum', 'none']:
            for dtype in [torch.float64, torch.float32]:
                spec = f"dpo({', '.join(args + ([] if reduction == 'mean' else [f'reduction={reduction}']))})"
                cases.append(case(f'{spec} {dtype}', 'dpo', spec, 7, reduction, dtype, loss_type=loss_type, **kw))
    for reduction in ['mean', 'sum', 'none']:
        for spec, loss, kw in [('simpo', 'simpo', {'beta': 2.0, 'gamma': 0.5}),
                               ('simpo(beta=2.5, gamma=1.2, label_smoothing=0.1)', 'simpo', {'beta': 2.5, 'gamma': 1.2, 'eps': 0.1}),
                               ('cpo', 'cpo', {'alpha': 1.0}), ('cpo(beta=0.3, alpha=0.5)', 'cpo', {'beta': 0.3, 'alpha': 0.5})]:
            if reduction != 'mean':
                spec = spec[:-1] + f', reduction={reduction})' if spec.endswith(')') else spec + f'(reduction={reduction})'
            cases.append(case(f'{spec} float64', loss, spec, 5, reduction, torch.float64, **kw))
    with open(out, 'w') as f:
        json.dump({'torch_version': torch.__version__, 'cases': cases}, f, indent=None, separators=(',', ':'))
        f.write('\n')
    print(f'{len(cases)} cases -> {out}')


if __name__ == '__main__':
    main()
