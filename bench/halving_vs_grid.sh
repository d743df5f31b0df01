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
import re, sys
out = sys.argv[1]
rows = {}
for name in ("grid", "halving"):
    md = open(f"{out}/{name}-report/summary.md").read()
    hv = float(re.search(r"hypervolume ([0-9.]+)", md).group(1))
    epochs = int(re.search(r"([0-9]+) epochs trained in all", md).group(1))
    front = sum(1 for _ in open(f"{out}/{name}-report/pareto.csv")) - 1
    rows[name] = (hv, epochs, front)
g, h = rows["grid"], rows["halving"]
print("| search | front size | hypervolume | vs grid | epochs trained | vs grid |")
print("|---|---|---|---|---|---|")
for name, (hv, ep, fr) in rows.items():
    print(f"| {name} | {fr} | {hv:.4f} | {100 * hv / g[0]:.1f}% | {ep} | {100 * ep / g[1]:.1f}% |")
PY
