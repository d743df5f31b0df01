#!/usr/bin/env bash
# The store's size on disk after one full-width ResNet18 trial of N epochs,
# trained through `deepreduce run` (coordinator + worker: a checkpoint is sent
# and stored after every epoch). Artifacts are files outside RocksDB's WAL and
# only the newest checkpoint is kept, so the size must not grow with N beyond
# one checkpoint and the final model.
#   bench/store_size.sh [OUT_DIR] [EPOCHS...]     # default: 3 30 (about 10 minutes here)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/bench-store-size}
shift || true
EPOCHS=("$@")
[[ ${#EPOCHS[@]} -eq 0 ]] && EPOCHS=(3 30)
mkdir -p "$OUT"
DR=build/deepreduce
printf '| epochs | store | artifacts/ | RocksDB (WAL + tables) | checkpoint files | model files | wall |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
for n in "${EPOCHS[@]}"; do
  cat > "$OUT/r18-$n.yaml" <<YAML
name: store-size-$n
defaults: {dataset: synthetic, arch: resnet18, alpha: 1, epochs: $n, train_subset: 64, test_subset: 32, batch: 32}
trials:
  - name: full-width
YAML
  rm -rf "$OUT/r18-$n.db"
  start=$(date +%s)
  $DR run "$OUT/r18-$n.yaml" --db "$OUT/r18-$n.db" > "$OUT/r18-$n.log" 2>&1
  wall=$(( $(date +%s) - start ))
  db="$OUT/r18-$n.db"
  total=$(du -sb "$db" | cut -f1)
  art=$(du -sb "$db/artifacts" | cut -f1)
  ckpt=$(find "$db/artifacts" -name '*.checkpoint.*' | wc -l)
  model=$(find "$db/artifacts" -name '*.model.*' | wc -l)
  mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
  printf '| %s | %s | %s | %s | %s | %s | %s s |\n' "$n" "$(mb "$total")" "$(mb "$art")" \
    "$(mb $((total - art)))" "$ckpt" "$model" "$wall"
done
