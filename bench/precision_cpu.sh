#!/bin/bash
# bf16 autocast against fp32 on the CPU: the quickstart's baseline (ResNet18,
# alpha 0.25, blocks [1,1,1,1], Fashion-MNIST 4000/1000, 3 epochs, batch 128,
# lr 0.1 cosine) trained with seeds 0..SEEDS-1 at each precision; prints test
# top-1 per seed, the means, and training images/s.
#
# Usage: bench/precision_cpu.sh [SEEDS=4] [THREADS=2]   (BUILD=folder, default build)
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-4}
THREADS=${2:-2}
DR=${BUILD:-build}/deepreduce
WORK=$(mktemp -d /tmp/deepreduce-precision.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "| seed | fp32 top-1 | bf16 top-1 | fp32 img/s | bf16 img/s |"
echo "|---|---|---|---|---|"
for s in $(seq 0 $((SEEDS - 1))); do
  row="| $s"
  for p in fp32 bf16; do
    "$DR" train --arch resnet18 --alpha 0.25 --blocks 1,1,1,1 --dataset fashion-mnist --train-subset 4000 \
      --test-subset 1000 --epochs 3 --batch 128 --lr 0.1 --seed "$s" --threads "$THREADS" --precision $p -q \
      --out "$WORK/$p-$s" > /dev/null
  done
  /usr/bin/python3 - "$WORK" "$s" <<'PY'
import json, sys
w, s = sys.argv[1], sys.argv[2]
r = {p: json.load(open(f"{w}/{p}-{s}/result.json")) for p in ("fp32", "bf16")}
print(f"| {s} | {r['fp32']['top1']:.1f} | {r['bf16']['top1']:.1f} | {r['fp32']['images_per_second']:.0f} | "
      f"{r['bf16']['images_per_second']:.0f} |")
PY
done
/usr/bin/python3 - "$WORK" "$SEEDS" <<'PY'
import json, statistics, sys
w, n = sys.argv[1], int(sys.argv[2])
m = {p: [json.load(open(f"{w}/{p}-{s}/result.json")) for s in range(n)] for p in ("fp32", "bf16")}
t = {p: statistics.mean(r["top1"] for r in m[p]) for p in m}
ips = {p: statistics.mean(r["images_per_second"] for r in m[p]) for p in m}
print(f"| mean | {t['fp32']:.2f} | {t['bf16']:.2f} | {ips['fp32']:.0f} | {ips['bf16']:.0f} |")
print(f"bf16 - fp32: {t['bf16'] - t['fp32']:+.2f} points; bf16 trains {ips['bf16'] / ips['fp32']:.2f}x as fast")
PY
