#!/usr/bin/python3
"""Held-out check of deepreduce's SNL against an independent implementation in PyTorch (Python).

Both sides run the same three steps at the same settings, each from scratch:
  1. a baseline (as bench/accuracy_parity.py trains it),
  2. SNL's mask phase from it, distilled from it: a learnable alpha per pixel of every ReLU site
     (initially 1, the site computing alpha*relu(x) + (1-alpha)*x), Adam on CE + T^2*KL + lambda*sum|alpha|;
     after every epoch the alphas above the threshold are counted and an epoch whose count did not fall
     below its lowest multiplies lambda by the growth once the epoch's 0-based index is patience or more;
     it stops at the budget or the epoch cap; then alpha is binarised (> threshold) and cut to the budget
     keeping the largest,
  3. a fine-tuning under that fixed mask (SGD, momentum 0.9, weight decay 5e-4, cosine, CE + T^2*KL).
The Python side is written from SNL's published algorithm and its authors' script
(snl_finetune_unstructured.py), not from deepreduce's code. deepreduce's side is three `deepreduce train`
runs with the options the README documents. Both report the test top-1 of every step (all 10,000 test
images), the epochs the mask phase took, and the ReLUs kept.

Usage: /usr/bin/python3 bench/snl_check.py [--build build] [--seeds 0 1] [--budget 12000] ...
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLIBC_TUNABLES", "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_parity import augment, balanced, load  # noqa: E402
from reference_models import ResNet  # noqa: E402


class LearnableAlpha(nn.Module):
    """SNL's masked ReLU: one alpha per pixel of the site's activation."""

    def __init__(self, shape):
        super().__init__()
        self.alphas = nn.Parameter(torch.ones(1, *shape))

    def forward(self, x):
        return F.relu(x) * self.alphas + (1 - self.alphas) * x


def masked(net, size):
    """Every nn.ReLU of `net` replaced by a LearnableAlpha of its activation's shape."""
    shapes = {}
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.__setitem__(m, tuple(o.shape[1:])))
             for m in net.modules() if isinstance(m, nn.ReLU)]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 1, size, size))
    for h in hooks:
        h.remove()
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(parent, name, LearnableAlpha(shapes[child]))
    return net


def alphas(net):
    return [m.alphas for m in net.modules() if isinstance(m, LearnableAlpha)]


def kd_sum(logits, teacher_logits, y, T):
    kl = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(teacher_logits / T, 1), reduction="batchmean")
    return F.cross_entropy(logits, y) + T * T * kl


def evaluate(net, xte, yte):
    net.eval()
    with torch.no_grad():
        correct = sum((net(xte[b:b + 500]).argmax(1) == yte[b:b + 500]).sum().item() for b in range(0, len(yte), 500))
    return 100.0 * correct / len(yte)


def epochs_of(net, opt, xtr, ytr, args, g, loss_fn, after_epoch=None, lr_at=None, epochs=1):
    for epoch in range(epochs):
        if lr_at:
            for group in opt.param_groups:
                group["lr"] = lr_at(epoch) * group.get("scale", 1.0)
        net.train()
        perm = torch.randperm(xtr.size(0), generator=g)
        for b in range(0, xtr.size(0), args.batch):
            i = perm[b:b + args.batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net, augment(xtr[i], g), ytr[i]).backward()
            opt.step()
        if after_epoch and after_epoch(epoch):
            return epoch + 1
    return epochs


def python_side(args, seed):
    torch.set_num_threads(args.threads)
    torch.manual_seed(seed)
    xtr, ytr = balanced(*load("train"), args.train_subset, seed)
    xte, yte = load("t10k")
    g = torch.Generator().manual_seed(seed)
    out = {}
    # 1. The baseline.
    base = ResNet("resnet18", args.alpha, 10, 1, blocks=[1, 1, 1, 1])
    opt = torch.optim.SGD(base.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    epochs_of(base, opt, xtr, ytr, args, g, lambda n, x, y: F.cross_entropy(n(x), y),
              lr_at=lambda e: 0.5 * args.lr * (1 + math.cos(math.pi * e / args.epochs)), epochs=args.epochs)
    out["base"] = evaluate(base, xte, yte)
    teacher = base
    teacher.eval()
    # 2. The mask phase.
    net = masked(ResNet("resnet18", args.alpha, 10, 1, blocks=[1, 1, 1, 1]), 32)
    net.load_state_dict(base.state_dict(), strict=False)
    total = sum(a.numel() for a in alphas(net))
    alpha_ids = {id(a) for a in alphas(net)}
    weights = [p for p in net.parameters() if id(p) not in alpha_ids]
    groups = [{"params": weights, "lr": args.mask_lr}]
    groups.append({"params": alphas(net), "lr": args.alpha_lr or args.mask_lr})
    opt = torch.optim.Adam(groups)
    state = {"lam": args.lam, "lowest": total + 1, "count": total}

    def loss(n, x, y):
        with torch.no_grad():
            t = teacher(x)
        return kd_sum(n(x), t, y, args.temperature) + state["lam"] * sum(a.abs().sum() for a in alphas(n))

    def after(epoch):
        state["count"] = sum(int((a > args.threshold).sum()) for a in alphas(net))
        if state["count"] < state["lowest"]:
            state["lowest"] = state["count"]
        elif epoch >= args.patience:
            state["lam"] *= args.growth
        return state["count"] <= args.budget

    out["mask_epochs"] = epochs_of(net, opt, xtr, ytr, args, g, loss, after_epoch=after, epochs=args.mask_cap)
    out["reached"] = state["count"] <= args.budget
    out["mask"] = evaluate(net, xte, yte)
    # Binarised, cut to the budget keeping the largest alphas.
    flat = torch.cat([a.detach().flatten() for a in alphas(net)])
    keep = flat > args.threshold
    if int(keep.sum()) > args.budget:
        order = torch.argsort(flat, descending=True, stable=True)
        keep = torch.zeros_like(keep)
        keep[order[:args.budget]] = True
    offset = 0
    for a in alphas(net):
        a.data = keep[offset:offset + a.numel()].view_as(a).float()
        a.requires_grad_(False)
        offset += a.numel()
    out["relus"] = int(keep.sum())
    # 3. The fine-tuning.
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=args.ft_lr, momentum=0.9,
                          weight_decay=5e-4)
    def tuned_loss(n, x, y):
        with torch.no_grad():
            t = teacher(x)
        return kd_sum(n(x), t, y, args.temperature)

    epochs_of(net, opt, xtr, ytr, args, g, tuned_loss,
              lr_at=lambda e: 0.5 * args.ft_lr * (1 + math.cos(math.pi * e / args.ft_epochs)), epochs=args.ft_epochs)
    out["finetuned"] = evaluate(net, xte, yte)
    return out


def deepreduce_side(args, seed, work):
    exe = str(Path(args.build) / "deepreduce")
    common = ["--arch", "resnet18", "--alpha", str(args.alpha), "--blocks", "1,1,1,1", "--dataset", "fashion-mnist",
              "--train-subset", str(args.train_subset), "--batch", str(args.batch), "--seed", str(seed),
              "--threads", str(args.threads), "--precision", "fp32", "-q"]

    def train(name, extra):
        subprocess.run([exe, "train", *common, *extra, "--out", str(work / name)], check=True, capture_output=True)
        return json.loads((work / name / "result.json").read_text())

    base = str(work / "base" / "model.pt")
    out = {}
    out["base"] = train("base", ["--epochs", str(args.epochs), "--lr", str(args.lr)])["top1"]
    m = train("mask", ["--mask-learnable", "pixel", "--linearize-budget", str(args.budget), "--linearize-lambda",
                       str(args.lam), "--linearize-growth", str(args.growth), "--linearize-patience", str(args.patience),
                       "--linearize-threshold", str(args.threshold), "--linearize-alpha-lr", str(args.alpha_lr),
                       "--init", base, "--teacher", base, "--kd-form", "sum", "--kd-temperature",
                       str(args.temperature), "--optimizer", "adam", "--lr", str(args.mask_lr), "--weight-decay", "0",
                       "--schedule", "constant", "--epochs", str(args.mask_cap)])
    out["mask_epochs"] = len(m["epochs"])
    out["reached"] = m["epochs"][-1]["relus"] <= args.budget
    out["mask"] = m["top1"]
    out["relus"] = m["relus"]
    f = train("ft", ["--mask", str(work / "mask" / "mask.bin"), "--init", str(work / "mask" / "model.pt"),
                     "--teacher", base, "--kd-form", "sum", "--kd-temperature", str(args.temperature), "--epochs",
                     str(args.ft_epochs), "--lr", str(args.ft_lr)])
    out["finetuned"] = f["top1"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--train-subset", type=int, default=4000)
    ap.add_argument("--alpha", type=float, default=0.25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=8, help="the baseline's")
    ap.add_argument("--lr", type=float, default=0.05, help="the baseline's (SGD, cosine)")
    ap.add_argument("--budget", type=int, default=12000)
    ap.add_argument("--lam", type=float, default=1e-4, help="the initial L1 weight")
    ap.add_argument("--growth", type=float, default=1.5)
    ap.add_argument("--patience", type=int, default=1)
    ap.add_argument("--threshold", type=float, default=0.01)
    ap.add_argument("--mask-lr", type=float, default=1e-3, help="Adam, weights")
    ap.add_argument("--alpha-lr", type=float, default=0.0, help="Adam, alpha (0: --mask-lr)")
    ap.add_argument("--mask-cap", type=int, default=30, help="the mask phase's epoch cap")
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--ft-epochs", type=int, default=4)
    ap.add_argument("--ft-lr", type=float, default=0.01)
    args = ap.parse_args()
    print(f"SNL, ResNet18 alpha {args.alpha} (blocks 1,1,1,1), Fashion-MNIST {args.train_subset} training images, "
          f"full test set; baseline {args.epochs} epochs lr {args.lr}; budget {args.budget}, lambda {args.lam:g} "
          f"x{args.growth:g} from index {args.patience}, Adam {args.mask_lr:g} (alpha {args.alpha_lr or args.mask_lr:g}), "
          f"cap {args.mask_cap}; fine-tuning {args.ft_epochs} epochs lr {args.ft_lr:g}; {args.threads} threads")
    print("| seed | side | baseline | mask phase: epochs, reached | after the mask phase | ReLUs | fine-tuned | drop | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {"deepreduce": [], "PyTorch": []}
    for seed in args.seeds:
        for side in ("deepreduce", "PyTorch"):
            t0 = time.perf_counter()
            if side == "deepreduce":
                with tempfile.TemporaryDirectory() as work:
                    r = deepreduce_side(args, seed, Path(work))
            else:
                r = python_side(args, seed)
            s = time.perf_counter() - t0
            rows[side].append(r)
            print(f"| {seed} | {side} | {r['base']:.2f} | {r['mask_epochs']}, {'yes' if r['reached'] else 'cut'} | "
                  f"{r['mask']:.2f} | {r['relus']:,} | {r['finetuned']:.2f} | {r['base'] - r['finetuned']:.2f} | "
                  f"{s:.0f} |", flush=True)
    for side, rs in rows.items():
        n = len(rs)
        mean = lambda k: sum(r[k] for r in rs) / n  # noqa: E731
        print(f"| mean | {side} | {mean('base'):.2f} | {mean('mask_epochs'):.1f} | {mean('mask'):.2f} | "
              f"{mean('relus'):,.0f} | {mean('finetuned'):.2f} | {mean('base') - mean('finetuned'):.2f} | |")


if __name__ == "__main__":
    main()
