#!/bin/bash
# DeepReDuce, learned linearization (SNL-style) and SENet-style linearization
# on one store, at quickstart scale: the quickstart (DeepReDuce and channel
# pruning), then configs/quickstart_linearize.yaml and quickstart_senet.yaml,
# which reuse its trained baselines. Every network is trained with seeds 0 and
# 1; every choice is made on validation top-1 (1,000 held-out training images)
# and quoted on test top-1 as mean ± sd over the seeds.
#
# Prints each method's front, the best network of each method within each
# budget (and which wins there), and the epochs each method trained, from
# `deepreduce report` (the same tables are in DB-report/summary.md).
#
# Usage: bench/method_comparison.sh [DB=/tmp/deepreduce-methods.db] [WORKERS=2]   (BUILD=folder, default build)
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-/tmp/deepreduce-methods.db}
WORKERS=${2:-2}
DR=${BUILD:-build}/deepreduce
for c in quickstart quickstart_linearize quickstart_senet; do
  start=$(date +%s)
  "$DR" run "configs/$c.yaml" --db "$DB" --workers "$WORKERS" > "$DB.$c.log" 2>&1 || {
    echo "run configs/$c.yaml failed; see $DB.$c.log" >&2
    exit 1
  }
  echo "configs/$c.yaml: $(( $(date +%s) - start )) s (log: $DB.$c.log)"
done
"$DR" report --db "$DB" --out "$DB-report" > /dev/null
summary="$DB-report/summary.md"
echo
grep -E '^- (Pareto front|All-ReLU|Epochs trained per method)' "$summary"
# The fronts side by side, the budget table, and the criticality ranking.
awk '/^## Pareto front/ || /^## At each ReLU budget/ {show = 1} /^## ReLU criticality/ {show = 0} show' "$summary"
