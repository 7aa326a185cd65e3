#!/usr/bin/python3
"""Generate reference fixtures for LossKit's pair and triplet criteria with PyTorch.

Writes tests/LossKit.Tests/Fixtures/embedding.json (relative to the repository root,
located from this file's path). Each case holds a spec string, the named inputs of
the loss's kind (spec/io.md: pairs `input1`, `input2`, `target`; pair distances
`input`, `target`; triplets `anchor`, `positive`, `negative`) with their shapes, and
PyTorch's reduced loss, unreduced losses (reduction='none') and the gradient of the
reduced loss with respect to every differentiable input (autograd), computed by
torch.nn.functional's own criteria: margin_ranking_loss, cosine_embedding_loss,
hinge_embedding_loss, triplet_margin_loss.

Deterministic: inputs come from a torch.Generator seeded from a CRC32 of the case
name, torch runs single-threaded, keys are written in a fixed order.

Usage: /usr/bin/python3 tools/make_fixtures_embedding.py [--out PATH]
(needs Debian's python3-torch)
"""

import argparse
import json
import math
import os
import zlib

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def sign_targets(gen, n):
    return (torch.randint(0, 2, (n,), generator=gen) * 2 - 1).to(torch.float64)


def margin_logits(loss, x, w, labels, kw):
    """The logits of the proxy losses: s·cos θ with the margin on the label's column (InsightFace's ArcFace)."""
    c = F.normalize(x, dim=1) @ F.normalize(w, dim=1).t()
    onehot = F.one_hot(labels, c.shape[1]).to(torch.bool)
    if loss == 'normface':
        return kw['s'] * c
    if loss == 'proxy_nca':
        return 2 * kw['scale'] * c
    if loss == 'cosface':
        return kw['s'] * torch.where(onehot, c - kw['m'], c)
    m = kw['m']
    sine = torch.sqrt((1 - c * c).clamp(0, 1))
    phi = c * math.cos(m) - sine * math.sin(m)
    if kw.get('easy_margin'):
        phi = torch.where(c > 0, phi, c)
    else:
        phi = torch.where(c > math.cos(math.pi - m), phi, c - math.sin(math.pi - m) * m)
    return kw['s'] * torch.where(onehot, phi, c)


def proxy_anchor(x, w, labels, delta, alpha, reduction):
    """Kim et al. 2020 as pytorch-metric-learning: each proxy's log(1 + Σ e) over its positives (proxies with one) and
    its negatives; reduction='none' gives LossKit's per-row shares (each term split in proportion to the exponentials)."""
    c = F.normalize(x, dim=1) @ F.normalize(w, dim=1).t()
    pos = F.one_hot(labels, c.shape[1]).to(c.dtype)
    with_pos = pos.sum(0) > 0
    ep = torch.exp(-alpha * (c - delta)) * pos
    en = torch.exp(alpha * (c + delta)) * (1 - pos)
    tp = torch.log1p(ep.sum(0)) / with_pos.sum()
    tn = torch.log1p(en.sum(0)) / c.shape[1]
    if reduction != 'none':
        return tp[with_pos].sum() + tn.sum()
    share = lambda e, term: (e / torch.where(e.sum(0) > 0, e.sum(0), torch.ones_like(term)) * term).sum(1)
    return share(ep, torch.where(with_pos, tp, torch.zeros_like(tp))) + share(en, tn)


def case(name, spec, loss, reduction, dtype, n=7, d=5, **kw):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    rnd = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64)
    if loss == 'margin_ranking':
        x = {'input1': rnd(n), 'input2': rnd(n)}
        t = {'target': sign_targets(gen, n)}
        f = lambda a, red: F.margin_ranking_loss(a['input1'], a['input2'], t['target'].to(dtype), margin=kw['margin'], reduction=red)
    elif loss == 'cosine_embedding':
        x = {'input1': rnd(n, d), 'input2': rnd(n, d)}
        if kw.get('zero_row'):
            x['input1'][1] = 0
            x['input2'][2] = 0
        t = {'target': sign_targets(gen, n)}
        f = lambda a, red: F.cosine_embedding_loss(a['input1'], a['input2'], t['target'].to(dtype), margin=kw['margin'], reduction=red)
    elif loss == 'hinge_embedding':
        x = {'input': rnd(n).abs() * 1.5}
        t = {'target': sign_targets(gen, n)}
        f = lambda a, red: F.hinge_embedding_loss(a['input'], t['target'].to(dtype), margin=kw['margin'], reduction=red)
    elif loss in ('normface', 'cosface', 'arcface', 'proxy_nca'):
        k = kw.get('k', 4)
        x = {'embeddings': rnd(n, d), 'proxies': rnd(k, d)}
        if kw.get('zero_row'):
            x['embeddings'][0] = 0
        labels = torch.randint(0, k, (n,), generator=gen)
        t = {'labels': labels.to(torch.float64)}
        f = lambda a, red: F.cross_entropy(margin_logits(loss, a['embeddings'], a['proxies'], labels, kw), labels, reduction=red)
    elif loss == 'proxy_anchor':
        k = kw.get('k', 4)
        x = {'embeddings': rnd(n, d), 'proxies': rnd(k, d)}
        labels = torch.randint(0, k - 1, (n,), generator=gen)   # the last proxy has no positive
        t = {'labels': labels.to(torch.float64)}
        f = lambda a, red: proxy_anchor(a['embeddings'], a['proxies'], labels, kw['margin'], kw['alpha'], red)
    elif loss == 'triplet_margin':
        x = {'anchor': rnd(n, d), 'positive': rnd(n, d), 'negative': rnd(n, d)}
        t = {}
        f = lambda a, red: F.triplet_margin_loss(a['anchor'], a['positive'], a['negative'], margin=kw['margin'], p=kw['p'],
                                                 eps=kw['eps'], swap=kw['swap'], reduction=red)
    else:
        raise ValueError(loss)
    leaves = {k: v.to(dtype).requires_grad_(True) for k, v in x.items()}
    value = f(leaves, reduction)
    value.sum().backward()
    unreduced = f({k: v.detach() for k, v in leaves.items()}, 'none')
    flat = lambda v: [float(e) for e in v.detach().to(torch.float64).reshape(-1)]
    inputs = {k: {'shape': list(v.shape), 'values': flat(v)} for k, v in leaves.items()}
    for k, v in t.items():
        inputs[k] = {'shape': list(v.shape), 'values': flat(v)}
    return {
        'name': name, 'spec': spec, 'dtype': str(dtype).replace('torch.', ''),
        'inputs': inputs, 'loss': float(value.sum()), 'unreduced': flat(unreduced),
        'grads': {k: {'shape': list(v.shape), 'values': flat(v.grad)} for k, v in leaves.items()},
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(here, '..', 'tests', 'LossKit.Tests', 'Fixtures', 'embedding.json'))
    out = parser.parse_args().out
    variants = [
        ('margin_ranking', {'margin': 0.0}, ''), ('margin_ranking', {'margin': 0.5}, 'margin=0.5'),
        ('cosine_embedding', {'margin': 0.0}, ''), ('cosine_embedding', {'margin': 0.3}, 'margin=0.3'),
        ('cosine_embedding', {'margin': -0.4, 'zero_row': True}, 'margin=-0.4'),
        ('hinge_embedding', {'margin': 1.0}, ''), ('hinge_embedding', {'margin': 2.0}, 'margin=2'),
        ('triplet_margin', {'margin': 1.0, 'p': 2.0, 'eps': 1e-6, 'swap': False}, ''),
        ('triplet_margin', {'margin': 2.0, 'p': 1.0, 'eps': 1e-6, 'swap': False}, 'margin=2, p=1'),
        ('triplet_margin', {'margin': 1.5, 'p': 3.0, 'eps': 1e-3, 'swap': True}, 'margin=1.5, p=3, eps=0.001, swap=true'),
        ('triplet_margin', {'margin': 3.0, 'p': 2.0, 'eps': 0.0, 'swap': True}, 'margin=3, eps=0, swap=true'),
        ('normface', {'s': 16}, ''), ('normface', {'s': 5, 'zero_row': True}, 's=5'),
        ('cosface', {'s': 64, 'm': 0.35}, ''), ('cosface', {'s': 10, 'm': 0.2, 'k': 7}, 's=10, m=0.2'),
        ('arcface', {'s': 64, 'm': 0.5}, ''), ('arcface', {'s': 8, 'm': 0.3, 'k': 3}, 's=8, m=0.3'),
        ('arcface', {'s': 8, 'm': 0.5, 'easy_margin': True}, 's=8, easy_margin=true'),
        ('arcface', {'s': 4, 'm': 1.2}, 's=4, m=1.2'),
        ('proxy_nca', {'scale': 1}, ''), ('proxy_nca', {'scale': 3}, 'scale=3'),
        ('proxy_anchor', {'margin': 0.1, 'alpha': 32}, ''), ('proxy_anchor', {'margin': 0.3, 'alpha': 4, 'k': 6}, 'margin=0.3, alpha=4'),
    ]
    cases = []
    for loss, kw, args in variants:
        for reduction in (['sum'] if loss == 'proxy_anchor' else ['mean', 'sum', 'none']):
            for dtype in [torch.float64, torch.float32]:
                parts = [a for a in [args, '' if reduction == 'mean' or loss == 'proxy_anchor' else f'reduction={reduction}'] if a]
                spec = loss + (f"({', '.join(parts)})" if parts else '')
                name = f"{spec} {str(dtype).replace('torch.', '')}"
                cases.append(case(name, spec, loss, reduction, dtype, **kw))
    with open(out, 'w') as fh:
        json.dump({'torch_version': torch.__version__, 'cases': cases}, fh, indent=None, separators=(',', ':'))
        fh.write('\n')
    print(f'{len(cases)} cases -> {out}')


if __name__ == '__main__':
    main()
