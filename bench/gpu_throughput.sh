#!/bin/bash
# GPU training throughput, two tables (record them in BENCHMARKS.md):
#   1. deepreduce's training step against PyTorch-Python's on the same device,
#      network, batch and precision (bench/gpu_throughput.py);
#   2. several small trials on one GPU: a coordinator and one worker with
#      --slots-per-device K (K = 1, 2, 4) train the same 8 trials (ResNet18,
#      alpha 0.5, stem and s1 culled, bf16, synthetic 32x32 data); aggregate
#      images/s = training images of all trials / wall time, and its gain over K = 1.
#
# Usage: bench/gpu_throughput.sh [--device cuda] [--python /usr/bin/python3] [--quick]
#   --python: the interpreter whose torch is the PyTorch side (the same version as
#             the LibTorch deepreduce was built against, for a fair ratio)
#   --quick:  tiny sizes; with --device cpu it checks the script on a machine without a GPU
# BUILD=folder selects the build (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DEVICE=cuda
PYTHON=/usr/bin/python3
QUICK=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_throughput.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
DR="$BUILD/deepreduce"
[ -x "$DR" ] || { echo "gpu_throughput.sh: $DR not built (scripts/build.sh)" >&2; exit 1; }

echo "## Training step: deepreduce vs PyTorch-Python"
"$PYTHON" bench/gpu_throughput.py --build "$BUILD" --device "$DEVICE" ${QUICK:+--quick}

echo
echo "## Trials per device (--slots-per-device)"
EPOCHS=5
TRIALS=8
[ -n "$QUICK" ] && EPOCHS=1 TRIALS=4
PRECISION=bf16
WORK=$(mktemp -d /tmp/deepreduce-gpu-slots.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
{
  echo "name: slots"
  echo "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.5, cull: [stem, s1], epochs: $EPOCHS, batch: 128, precision: $PRECISION}"
  echo "trials:"
  for s in $(seq 1 $TRIALS); do echo "  - {name: seed$s, seed: $s}"; done
} > "$WORK/trials.yaml"
IMAGES=$((TRIALS * EPOCHS * 2000))  # the synthetic training split has 2000 images
echo "$TRIALS trials x $EPOCHS epochs x 2000 images, ResNet18 alpha 0.5, stem+s1 culled, $PRECISION, batch 128, $DEVICE"
echo "| slots per device | wall s | aggregate img/s | vs 1 slot |"
echo "|---|---|---|---|"
BASE=""
for K in 1 2 4; do
  rm -rf "$WORK/db" "$WORK/addr"
  "$DR" coordinator "$WORK/trials.yaml" --db "$WORK/db" --bind 'tcp://127.0.0.1:*' --address-file "$WORK/addr" \
    > "$WORK/coordinator-$K.log" 2>&1 &
  COORD=$!
  START=$(date +%s.%N)
  "$DR" worker --connect-file "$WORK/addr" --device "$DEVICE" --slots-per-device $K --give-up-after 60 \
    > "$WORK/worker-$K.log" 2>&1 || { echo "worker failed:"; tail -5 "$WORK/worker-$K.log"; exit 1; }
  wait $COORD || { echo "coordinator failed:"; tail -5 "$WORK/coordinator-$K.log"; exit 1; }
  END=$(date +%s.%N)
  "$DR" status --db "$WORK/db" | grep -q "done *$TRIALS\|$TRIALS done" || { "$DR" status --db "$WORK/db"; exit 1; }
  awk -v k=$K -v s="$START" -v e="$END" -v n=$IMAGES -v base="$BASE" 'BEGIN {
    w = e - s; r = n / w; printf "| %d | %.1f | %.0f | %s |\n", k, w, r, base == "" ? "1.00x" : sprintf("%.2fx", r / base) }'
  [ -z "$BASE" ] && BASE=$(awk -v s="$START" -v e="$END" -v n=$IMAGES 'BEGIN { print n / (e - s) }')
done
