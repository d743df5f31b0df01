#!/bin/bash
# The run path at scale: `deepreduce run` on a list of N no-op trials (each
# returns at once: what is measured is the coordinator, the store and the
# protocol) with W in-process workers. Prints one row per (N, W): wall time,
# lifecycles/s overall, in the first and last tenth of the results (from the
# store's done events), the peak memory of the process, and how long `status`
# then takes on that store.
#
# Usage: bench/run_scale.sh [N...]   (default 1000 10000; W from WORKERS="1 8 64", BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/.."
DR=${BUILD:-build}/deepreduce
SIZES=${*:-1000 10000}
WORKERS=${WORKERS:-8}
WORK=$(mktemp -d /tmp/deepreduce-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "| trials | workers | wall s | lifecycles/s | first tenth /s | last tenth /s | last/first | peak RSS MiB | status s |"
echo "|---|---|---|---|---|---|---|---|---|"
for N in $SIZES; do
  /usr/bin/python3 - "$N" > "$WORK/list-$N.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("name: scale\ndefaults: {dataset: synthetic}\ntrials:")
for i in range(n):
    print(f"  - {{kind: noop, seed: {i}}}")
PY
  for W in $WORKERS; do
    rm -rf "$WORK/db" "$WORK/db-report"
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$DR" run "$WORK/list-$N.yaml" --db "$WORK/db" --workers "$W" \
      > "$WORK/run.log" 2>&1 || { tail -5 "$WORK/run.log"; exit 1; }
    read -r WALL RSS < "$WORK/time"
    START=$(date +%s.%N)
    "$DR" status --db "$WORK/db" > /dev/null
    STATUS=$(awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    RATES=$("${BUILD:-build}/bench/done_rates" "$WORK/db")
    /usr/bin/python3 - "$N" "$W" "$WALL" "$RSS" "$STATUS" "$RATES" <<'PY'
import json, sys
n, w, wall, rss, status, r = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], json.loads(sys.argv[6])
print(f"| {int(n):,} | {w} | {wall:.1f} | {r['overall']:,.0f} | {r['first_tenth']:,.0f} | {r['last_tenth']:,.0f} | "
      f"{r['last_tenth'] / r['first_tenth']:.2f} | {rss / 1024:.0f} | {status} |")
PY
  done
done
