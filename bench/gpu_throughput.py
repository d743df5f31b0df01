#!/usr/bin/python3
"""GPU training throughput: deepreduce (C++ LibTorch) against PyTorch in Python.

Both sides run the same training step on the same device: the same network
(ResNet18, and ResNet18 at alpha 0.5 with its stem and s1 ReLUs culled), a fixed
batch of 128 or 512 3x32x32 images resident on the device, SGD (momentum 0.9,
weight decay 5e-4), channels-last, cuDNN benchmark mode, and the same precision:
  fp32; bf16 autocast; fp16 autocast with a dynamic loss scale (GradScaler).
Each step reads the loss once on both sides. The sides run in interleaved
rounds (one of each, repeated) and the table reports medians; the ratio is
deepreduce / PyTorch, so above 1.00 deepreduce is faster.

The PyTorch side is whichever torch the given interpreter imports; the
deepreduce side is the LibTorch it was built against. For a fair figure they
should be the same version (a pip torch and `-DCMAKE_PREFIX_PATH=$(python -c
'import torch; print(torch.utils.cmake_prefix_path)')`); the table prints both.

Usage: python bench/gpu_throughput.py [--build build] [--device cuda] [--rounds 7]
       (--device cpu --quick checks the script itself on a machine without a GPU)
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import Server  # noqa: E402  (one timed round per line, interleaved)

NETWORKS = [("resnet18", 1.0, ""), ("resnet18", 0.5, "stem,s1")]


def python_server(arch, alpha, cull, batch, device, precision, threads, steps):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reference_models import ResNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    dev = torch.device(device)
    net = ResNet(arch, alpha, 10, 3, culled=tuple(c for c in cull.split(",") if c)).to(dev)
    net = net.to(memory_format=torch.channels_last)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=dev)
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    scaler = torch.cuda.amp.GradScaler() if precision == "fp16" else None

    def forward():
        if dtype is None:
            return net(x)
        with torch.autocast(dev.type, dtype=dtype):
            return net(x)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = forward()
        loss = F.cross_entropy(logits.float(), y)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        return loss.item()

    for _ in range(5):
        step()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(json.dumps({"params": sum(p.numel() for p in net.parameters()), "torch": torch.__version__,
                      "device": name}), flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        print(batch * steps / (time.perf_counter() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="batch 32, 2 rounds of 2 steps, fp32 and bf16 only")
    ap.add_argument("--serve-python", nargs=6, metavar=("ARCH", "ALPHA", "CULL", "BATCH", "DEVICE", "PRECISION"))
    args = ap.parse_args()
    if args.serve_python:
        arch, alpha, cull, batch, device, precision = args.serve_python
        python_server(arch, float(alpha), cull.strip("-"), int(batch), device, precision, args.threads, args.steps)
        return
    cuda = args.device.startswith("cuda")
    batches = [32] if args.quick else [128, 512]
    precisions = ["fp32", "bf16", "fp16"] if cuda and not args.quick else ["fp32", "bf16"]
    if args.quick:
        args.rounds, args.steps = 2, 2
    bench = Path(args.build) / "bench" / "train_step_bench"
    rows, versions = [], {}
    for arch, alpha, cull in NETWORKS:
        for batch in batches:
            for precision in precisions:
                common = ["--arch", arch, "--alpha", str(alpha), "--batch", str(batch), "--threads", str(args.threads),
                          "--device", args.device, "--precision", precision, "--channels-last", "1"]
                if cull:
                    common += ["--cull", cull]
                mine = Server([str(bench), *common, "--steps", str(args.steps), "--serve", "1"])
                theirs = Server([sys.executable, __file__, "--serve-python", arch, str(alpha), cull or "-", str(batch),
                                 args.device, precision, "--threads", str(args.threads), "--steps", str(args.steps)],
                                header=True)
                versions = theirs.header
                mine.round()
                theirs.round()
                a, b = [], []
                for _ in range(args.rounds):
                    a.append(mine.round())
                    b.append(theirs.round())
                mine.close()
                theirs.close()
                ratio = statistics.median([x / y for x, y in zip(a, b)])
                rows.append((arch, alpha, cull or "-", batch, precision, statistics.median(a), statistics.median(b), ratio))
                print(f"  {arch} a{alpha} cull {cull or '-'} batch {batch} {precision}: deepreduce "
                      f"{statistics.median(a):,.0f} img/s, PyTorch {statistics.median(b):,.0f} img/s, {ratio:.2f}x",
                      file=sys.stderr, flush=True)
    print(f"device {versions.get('device')} ({args.device}), PyTorch-Python {versions.get('torch')}, "
          f"{args.rounds} interleaved rounds of {args.steps} steps, channels-last, cuDNN benchmark")
    print("| network | alpha | culled | batch | precision | deepreduce img/s | PyTorch img/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for arch, alpha, cull, batch, precision, a, b, r in rows:
        print(f"| {arch} | {alpha} | {cull} | {batch} | {precision} | {a:,.0f} | {b:,.0f} | {r:.2f}x |")


if __name__ == "__main__":
    main()
