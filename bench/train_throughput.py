#!/usr/bin/python3
"""Training throughput: deepreduce (C++ LibTorch) against PyTorch in Python.

Both sides train the same network (same widths, shortcuts, init) on a fixed batch of
the same shape with SGD (momentum 0.9, weight decay 5e-4) and the same thread count;
both use Debian's LibTorch 1.13 underneath. Three processes are measured in
interleaved rounds (one round of each, repeated) because this machine's speed drifts
from minute to minute; the table reports medians:
  - deepreduce: bench/train_step_bench (the trainer's allocator setting and step)
  - PyTorch: a plain Python training step, default glibc malloc
  - PyTorch + tuned malloc: the same with glibc told what deepreduce does itself
    (mmap off, trim off), to separate that effect from the rest.
Also prints deepreduce's data pipeline throughput (augmented batches) against its
training throughput.

Usage: /usr/bin/python3 bench/train_throughput.py [--build build] [--rounds 7]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Idle OpenMP threads spin-wait by default and would steal the other processes'
# cores between interleaved rounds; every side waits passively instead.
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
TUNED_MALLOC = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647"


def python_server(arch, alpha, batch, threads, steps):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reference_models import ResNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = ResNet(arch, alpha, 10, 3)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    print(json.dumps({"params": sum(p.numel() for p in net.parameters()), "torch": torch.__version__}), flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        print(batch * steps / (time.perf_counter() - t0), flush=True)


class Server:
    """A benchmark process answering one timed round per line it reads (bench/gpu_throughput.py uses it too)."""

    def __init__(self, argv, env=None, header=False):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.header = None
        if header:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit(f"{argv[0]} did not start")
            self.header = json.loads(line)

    def round(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("a benchmark process ended early")
        return float(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--serve-python", nargs=3, metavar=("ARCH", "ALPHA", "BATCH"))
    args = ap.parse_args()
    if args.serve_python:
        arch, alpha, batch = args.serve_python
        python_server(arch, float(alpha), int(batch), args.threads, args.steps)
        return
    bench = Path(args.build) / "bench" / "train_step_bench"
    configs = [("resnet18", 0.25, 128), ("resnet18", 0.5, 128), ("resnet34", 0.25, 64)]
    rows = []
    torch_version = "?"
    for arch, alpha, batch in configs:
        common = ["--arch", arch, "--alpha", str(alpha), "--batch", str(batch), "--threads", str(args.threads)]
        once = json.loads(subprocess.run([str(bench), *common, "--steps", "2"], check=True, capture_output=True,
                                         text=True).stdout)
        py_argv = [sys.executable, __file__, "--serve-python", arch, str(alpha), str(batch),
                   "--threads", str(args.threads), "--steps", str(args.steps)]
        sides = {
            "deepreduce": Server([str(bench), *common, "--steps", str(args.steps), "--serve", "1"]),
            "pytorch": Server(py_argv, header=True),
            "pytorch_tuned": Server(py_argv, env={"GLIBC_TUNABLES": TUNED_MALLOC}, header=True),
        }
        for name in ("pytorch", "pytorch_tuned"):
            if sides[name].header["params"] != once["params"]:
                sys.exit(f"model mismatch: deepreduce {once['params']} params, PyTorch {sides[name].header['params']}")
        torch_version = sides["pytorch"].header["torch"]
        for s in sides.values():
            s.round()  # warm
        got = {k: [] for k in sides}
        for _ in range(args.rounds):
            for k, s in sides.items():
                got[k].append(s.round())
        for s in sides.values():
            s.close()
        med = {k: statistics.median(v) for k, v in got.items()}
        ratio = statistics.median([a / b for a, b in zip(got["deepreduce"], got["pytorch"])])
        ratio_tuned = statistics.median([a / b for a, b in zip(got["deepreduce"], got["pytorch_tuned"])])
        rows.append((arch, alpha, batch, once["params"], med, ratio, ratio_tuned, once["loader_images_per_second"]))
    print(f"threads {args.threads}, {args.rounds} interleaved rounds of {args.steps} steps, 3x32x32 inputs, "
          f"torch {torch_version}")
    print("| model | alpha | batch | params | deepreduce img/s | PyTorch img/s | ratio | PyTorch + tuned malloc img/s "
          "| ratio | loader img/s | loader / train |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for arch, alpha, batch, params, med, r, rt, loader in rows:
        print(f"| {arch} | {alpha} | {batch} | {params:,} | {med['deepreduce']:.0f} | {med['pytorch']:.0f} | {r:.2f}x "
              f"| {med['pytorch_tuned']:.0f} | {rt:.2f}x | {loader:,.0f} | {loader / med['deepreduce']:.0f}x |")


if __name__ == "__main__":
    main()
