#!/usr/bin/env bash
# Successive halving against the full grid on the same space, at quickstart
# scale (Fashion-MNIST, narrow ResNet18, 2 CPU cores): the hypervolume of each
# front and the training epochs each spent. Both stores train the all-ReLU
# baseline, so both reports measure hypervolume against the same reference
# (10x the baseline's ReLUs, 0% top-1).
#   bench/halving_vs_grid.sh [OUT_DIR]     # about 20 minutes here
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/bench-halving}
mkdir -p "$OUT"
DR=build/deepreduce
common='dataset: {name: fashion-mnist, train_subset: 3000, test_subset: 1000}
model: {arch: resnet18, alpha: 0.25, blocks: [1, 1, 1, 1]}
train: {epochs: 9, batch: 128, lr: 0.1, schedule: cosine, weight_decay: 5e-4}
kd: {temperature: 4, lambda: 0.9}'
space='  strategy: grid
  cull: [[], [stem], [s1], [s4], [stem, s1], [stem, s1, s4], [stem, s1, s2]]
  thin: [[], [s2, s3]]
  rho: [1, 0.5]
  kd: [false, true]'
printf 'name: bench-grid\n%s\nsearch:\n%s\n' "$common" "$space" > "$OUT/grid.yaml"
printf 'name: bench-halving\n%s\nsearch:\n%s\n  successive_halving: {min_epochs: 1, eta: 3, bands: 1}\n' \
  "$common" "$space" > "$OUT/halving.yaml"
for name in grid halving; do
  start=$(date +%s)
  $DR run "$OUT/$name.yaml" --db "$OUT/$name.db" > "$OUT/$name.log" 2>&1
  echo "$name: $(( $(date +%s) - start )) s" >&2
done
/usr/bin/env python3 - "$OUT" <<'PY'
# Hypervolume of each front in (log10 ReLUs, top-1), against one reference for
# all: 10x the most ReLUs of any trained network, and 0% top-1 (the report's)
# or 70% (tight: it weighs the front's shape, not the accuracy every network has).
import csv, math, re, sys
out = sys.argv[1]
def front(name):
    return [(int(r["relus"]), float(r["top1"])) for r in csv.DictReader(open(f"{out}/{name}-report/pareto.csv"))]
def hv(points, x_ref, y_ref):
    area, y_prev = 0.0, y_ref
    for relus, top1 in sorted(points):
        x = math.log10(max(relus, 1))
        if x < x_ref and top1 > y_prev:
            area += (x_ref - x) * (top1 - y_prev)
            y_prev = top1
    return area
names = ("grid", "halving")
most = max(int(r["relus"]) for n in names for r in csv.DictReader(open(f"{out}/{n}-report/trials.csv")))
x_ref = math.log10(10 * most)
grid = front("grid")
epochs = {n: int(re.search(r"([0-9]+) epochs trained in all", open(f"{out}/{n}-report/summary.md").read()).group(1))
          for n in names}
print("| search | front size | hypervolume vs grid (ref 0% top-1) | (ref 70% top-1) | epochs trained | vs grid |")
print("|---|---|---|---|---|---|")
for n in names:
    f = front(n)
    print(f"| {n} | {len(f)} | {100 * hv(f, x_ref, 0) / hv(grid, x_ref, 0):.1f}% | "
          f"{100 * hv(f, x_ref, 70) / hv(grid, x_ref, 70):.1f}% | {epochs[n]} | {100 * epochs[n] / epochs['grid']:.1f}% |")
PY
