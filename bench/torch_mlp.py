#!/usr/bin/python3
"""One training epoch of an MLP 784-256-10 on Fashion-MNIST: PyTorch (CPU) against LossKit.

Both sides do the same work per epoch:
  * the training rows of LossKit's default split (45,000 of the 60,000 Fashion-MNIST
    training images; the other 15,000 are validation), pixels standardised per
    feature with statistics of those rows;
  * minibatches of 128 in a fresh random order each epoch (the last one smaller);
  * forward (Linear-ReLU-Linear), mean softmax cross-entropy, backward;
  * SGD with momentum 0.9 (PyTorch's rule: v = mu*v + g + wd*w, w -= lr*v), weight
    decay 1e-4 on the weight matrices only, learning rate 0.05 with LossKit's
    schedule (linear warm-up over the first 5% of steps, then cosine to 0),
    stepped once per batch.
Only the training steps are timed (no evaluation), in float32, on --threads threads
(2 by default). OPENBLAS_CORETYPE=SkylakeX and OMP_WAIT_POLICY=PASSIVE (PyTorch's best
setting here; override it from the environment) are set before torch is imported.

Before that it runs (the Release build, built first; bench/losskit_cli.py)
  losskit train --data fashion-mnist
      --model mlp:256 --epochs N --batch-size 128 --optimizer sgd --lr 0.05
      --threads T --json
and reads the epoch times from the run record, and prints
both times and the ratio LossKit / PyTorch (> 1: LossKit is slower). With several
epochs the fastest epoch of each side is compared (the first includes warm-up).

Usage: bench/torch_mlp.py [--epochs 1] [--threads 2] [--data-dir DIR] [--torch-only] [--json PATH]
"""

import os

os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"  # before torch is imported
# PyTorch's OpenMP threads otherwise spin after each parallel region and fight OpenBLAS's own threads for the two
# cores: an epoch took 2.2 s with the default policy and 0.51-0.58 s with PASSIVE on this machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import gzip
import json
import math
import shlex
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
from losskit_cli import cli  # noqa: E402
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
HIDDEN = 256
BATCH = 128
LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4
WARMUP = 0.05
TRAIN_FRACTION = 0.75  # LossKit's default split 0.6/0.2(/0.2): train : validation = 3 : 1 of the provided training rows


def read_idx(path):
    """An IDX file (gzip or plain) as a uint8 tensor of its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = bytearray(data[4 + 4 * ndim:])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def find(data_dir, base):
    for name in (base + ".gz", base):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{base}(.gz) not found in {data_dir} (apt-get install -y dataset-fashion-mnist)")


def lr_at(step, total):
    warm = round(WARMUP * total)
    if step < warm:
        return LR * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return LR * 0.5 * (1 + math.cos(math.pi * progress))


def blas_in_use():
    """The BLAS shared library this process has loaded (after a matrix product), resolved; None if none is found."""
    torch.ones(8, 8) @ torch.ones(8, 8)
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return None
    return ", ".join(sorted({os.path.realpath(p) for p in paths})) or None


def torch_epochs(data_dir, epochs, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    images = read_idx(find(data_dir, "train-images-idx3-ubyte"))
    labels = read_idx(find(data_dir, "train-labels-idx1-ubyte")).long()
    n_all = images.shape[0]
    n = round(n_all * TRAIN_FRACTION)
    perm = torch.randperm(n_all)[:n]
    x = images[perm].reshape(n, -1).float()
    y = labels[perm]
    mean, std = x.mean(0), x.std(0, unbiased=False)
    std[std == 0] = 1
    x = ((x - mean) / std).contiguous()

    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10))
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": WEIGHT_DECAY}, {"params": biases, "weight_decay": 0.0}],
                          lr=LR, momentum=MOMENTUM)
    steps_per_epoch = (n + BATCH - 1) // BATCH
    total = steps_per_epoch * epochs
    step = 0
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            xb, yb = x[idx], y[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total)
            opt.step()
            step += 1
        times.append(time.perf_counter() - t0)
    return n, times


def losskit_epochs(data_dir, epochs, threads):
    cmd = cli("train", "--data", "fashion-mnist", "--model", f"mlp:{HIDDEN}", "--epochs", str(epochs),
           "--batch-size", str(BATCH), "--optimizer", "sgd", "--lr", str(LR), "--momentum", str(MOMENTUM),
           "--weight-decay", str(WEIGHT_DECAY), "--warmup", str(WARMUP), "--threads", str(threads), "--json")
    if data_dir != DEFAULT_DATA_DIR:
        cmd += ["--data-dir", data_dir]
    print("$ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"LossKit failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"no JSON record in LossKit's output:\n{proc.stdout}")
    record = json.loads(lines[-1])
    return record, [e["seconds"] for e in record["epochs"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    ap.add_argument("--torch-only", action="store_true")
    ap.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = ap.parse_args()

    # LossKit first: PyTorch's worker threads keep spinning for a while after its last call.
    lk = None if args.torch_only else losskit_epochs(args.data_dir, args.epochs, args.threads)
    n, t_torch = torch_epochs(args.data_dir, args.epochs, args.threads)
    best_torch = min(t_torch)
    blas = blas_in_use()
    print(f"PyTorch BLAS: {blas or 'unknown'}")
    if blas and "openblas" not in blas.lower() and "mkl" not in blas.lower():
        print("warning: PyTorch is not using an optimised BLAS here (Debian's reference libblas is selected), "
              "so its matrix products are slow and the ratio below flatters LossKit; install libopenblas0 "
              "(update-alternatives selects it) for a fair comparison.")
    print(f"PyTorch {torch.__version__}: {n} rows, batch {BATCH}, {args.threads} threads: "
          f"epoch {', '.join(f'{t:.3f}' for t in t_torch)} s")
    result = {"threads": args.threads, "epochs": args.epochs, "torch_version": torch.__version__, "torch_blas": blas,
              "torch_train_rows": n, "torch_epoch_seconds": t_torch}
    if not args.torch_only:
        record, t_lk = lk
        best_lk = min(t_lk)
        rows = record["dataset"]["train_rows"]
        print(f"LossKit: {rows} rows, batch {BATCH}, {args.threads} threads: "
              f"epoch {', '.join(f'{t:.3f}' for t in t_lk)} s (test accuracy after {args.epochs} epoch(s): {record['test']['accuracy']:.4f})")
        ratio = best_lk / best_torch
        print(f"ratio LossKit / PyTorch (fastest epoch each): {ratio:.2f}")
        result.update({"losskit_train_rows": rows, "losskit_epoch_seconds": t_lk, "ratio": ratio,
                       "losskit_test_accuracy": record["test"]["accuracy"]})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
