#!/usr/bin/python3
"""Accuracy parity: `deepreduce train` against the same training in PyTorch (Python).

Same network (bench/reference_models.py), data (Debian's Fashion-MNIST, 28x28 padded
to 32, normalised with mean 0.2860 / std 0.3530), augmentation (pad 4 + random crop,
horizontal flip), optimiser (SGD 0.9 momentum, weight decay 5e-4, cosine schedule),
batch and epochs. Training subsets are class-balanced on both sides but drawn by
different generators, so the two differ by sampling noise, not by method.

Usage: /usr/bin/python3 bench/accuracy_parity.py [--build build] [--epochs 3] [--train-subset 10000]
           [--lr 0.1] [--nesterov] [--blocks 1 1 1 1] [--precision fp32|bf16|auto] [--seeds 0 1 ...]

--precision is deepreduce's (its default, auto, trains in bf16 on a CPU with native bf16); the
PyTorch side trains in fp32. The last row is the mean over the seeds.
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLIBC_TUNABLES", "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_models import ResNet  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(split):
    images = idx(DATA / f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = idx(DATA / f"{split}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    x = torch.from_numpy(np.pad(images, ((0, 0), (0, 0), (2, 2), (2, 2)))).float().div(255)
    return (x - 0.2860) / 0.3530, torch.from_numpy(labels)


def balanced(x, y, n, seed):
    g = np.random.default_rng(seed)
    keep = np.concatenate([g.permutation(np.flatnonzero(y.numpy() == c))[: n // 10] for c in range(10)])
    keep.sort()
    return x[keep], y[keep]


def augment(x, g):
    pad_value = (0 - 0.2860) / 0.3530
    padded = F.pad(x, (4, 4, 4, 4), value=pad_value)
    out = torch.empty_like(x)
    shifts = torch.randint(0, 9, (x.size(0), 2), generator=g)
    flips = torch.rand(x.size(0), generator=g) < 0.5
    for i in range(x.size(0)):
        dy, dx = shifts[i].tolist()
        img = padded[i, :, dy:dy + 32, dx:dx + 32]
        out[i] = img.flip(2) if flips[i] else img
    return out


def pytorch_run(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr = balanced(*load("train"), args.train_subset, args.seed)
    xte, yte = load("t10k")
    net = ResNet("resnet18", args.alpha, 10, 1, blocks=args.blocks)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=args.nesterov)
    g = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        for group in opt.param_groups:
            group["lr"] = 0.5 * args.lr * (1 + math.cos(math.pi * epoch / args.epochs))
        net.train()
        perm = torch.randperm(xtr.size(0), generator=g)
        for b in range(0, xtr.size(0), args.batch):
            i = perm[b:b + args.batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(augment(xtr[i], g)), ytr[i]).backward()
            opt.step()
    seconds = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        correct = sum((net(xte[b:b + 500]).argmax(1) == yte[b:b + 500]).sum().item() for b in range(0, 10000, 500))
    return 100.0 * correct / 10000, seconds


def deepreduce_run(args):
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(Path(args.build) / "deepreduce"), "train", "--arch", "resnet18", "--alpha", str(args.alpha),
               "--dataset", "fashion-mnist", "--train-subset", str(args.train_subset), "--epochs", str(args.epochs),
               "--batch", str(args.batch), "--lr", str(args.lr), "--seed", str(args.seed), "--threads",
               str(args.threads), "--precision", args.precision, "-q", "--out", out]
        if args.blocks:
            cmd += ["--blocks", ",".join(map(str, args.blocks))]
        if args.nesterov:
            cmd.append("--nesterov")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        result = json.loads((Path(out) / "result.json").read_text())
        return result["top1"], seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-subset", type=int, default=10000)
    ap.add_argument("--alpha", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--nesterov", action="store_true", help="Nesterov momentum on both sides")
    ap.add_argument("--blocks", type=int, nargs=4, help="blocks per stage (default 2 2 2 2)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"], help="deepreduce's precision")
    args = ap.parse_args()
    print(f"ResNet18 alpha {args.alpha} blocks {args.blocks or [2, 2, 2, 2]}, Fashion-MNIST, {args.train_subset} training images, full test set, "
          f"{args.epochs} epochs, batch {args.batch}, lr {args.lr} cosine{', Nesterov' if args.nesterov else ''}, "
          f"{args.threads} threads, deepreduce in {args.precision}")
    print("| seed | deepreduce top-1 | deepreduce s | PyTorch top-1 | PyTorch s |")
    print("|---|---|---|---|---|")
    rows = []
    for seed in args.seeds:
        args.seed = seed
        d, ds = deepreduce_run(args)
        p, ps = pytorch_run(args)
        rows.append((d, ds, p, ps))
        print(f"| {seed} | {d:.2f} | {ds:.0f} | {p:.2f} | {ps:.0f} |", flush=True)
    mean = [sum(r[k] for r in rows) / len(rows) for k in range(4)]
    print(f"| mean | {mean[0]:.2f} | {mean[1]:.0f} | {mean[2]:.2f} | {mean[3]:.0f} |")


if __name__ == "__main__":
    main()
