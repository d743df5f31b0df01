#!/usr/bin/env bash
# Runs an experiment on a Slurm cluster: the coordinator as one job, the workers
# as a job array that starts after it. Nothing runs on the login node.
#
#   scripts/slurm/submit.sh CONFIG --db STORE --workers N [--gpus-per-worker G]
#       [--cpus-per-worker C] [--slots-per-gpu K] [--partition P] [--time T] [--coordinator-only]
#       [-- sbatch options...]
#
# - Beside the store, STORE.slurm/ holds the experiment's CURVE keys (made
#   here once: only these workers get in), the coordinator's address (written
#   by the coordinator once bound to a free port; workers read it before every
#   reconnect) and logs/: coordinator-JOBID.log, worker-ARRAYID_TASK.log, and one
#   log per GPU worker.
# - Each array task runs one worker per GPU Slurm allotted it (CUDA_VISIBLE_DEVICES)
#   or, with --gpus-per-worker 0 (the default), one CPU worker with the task's CPUs.
#   --slots-per-gpu K trains K trials at once on each GPU (small networks leave
#   a GPU mostly idle; bench/gpu_throughput.sh measures the gain).
# - Both jobs are --requeue: a preempted job comes back. The coordinator stops
#   cleanly on SIGUSR1 (Slurm sends it 120 s before the time limit) and requeues
#   itself while trials remain; workers outlive a stopping coordinator and find
#   it again through the address file; finished trials are never trained again.
# - --coordinator-only submits a coordinator again for an existing STORE.slurm
#   (after scancel, or to change the time limit); running workers find it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEEPREDUCE=${DEEPREDUCE:-$ROOT/build/deepreduce}
usage() {
  sed -n 2,8p "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
CONFIG=$1
shift
DB="" WORKERS=1 GPUS=0 CPUS=1 SLOTS=1 PARTITION="" TIME="" ONLY_COORDINATOR=0 EXTRA=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --db) DB=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --gpus-per-worker) GPUS=$2; shift 2 ;;
    --cpus-per-worker) CPUS=$2; shift 2 ;;
    --slots-per-gpu) SLOTS=$2; shift 2 ;;
    --partition) PARTITION=$2; shift 2 ;;
    --time) TIME=$2; shift 2 ;;
    --coordinator-only) ONLY_COORDINATOR=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "submit.sh: unknown option $1" >&2; usage ;;
  esac
done
[[ -n $DB ]] || { echo "submit.sh: --db STORE is required" >&2; exit 2; }
[[ -f $CONFIG ]] || { echo "submit.sh: $CONFIG: no such config" >&2; exit 2; }
[[ $WORKERS =~ ^[1-9][0-9]*$ && $GPUS =~ ^[0-9]+$ && $CPUS =~ ^[1-9][0-9]*$ && $SLOTS =~ ^[1-9][0-9]*$ ]] ||
  { echo "submit.sh: --workers, --cpus-per-worker and --slots-per-gpu take numbers >= 1, --gpus-per-worker >= 0" >&2
    exit 2; }
[[ -x $DEEPREDUCE ]] || { echo "submit.sh: $DEEPREDUCE not found: build first (scripts/build.sh) or set DEEPREDUCE" >&2; exit 1; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: is this a Slurm login node?" >&2; exit 1; }
# Validate the config here, not in a queued job an hour from now.
"$DEEPREDUCE" plan "$CONFIG" >/dev/null

CONFIG=$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")
mkdir -p "$(dirname "$DB")"
DB=$(cd "$(dirname "$DB")" && pwd)/$(basename "$DB")
RUN_DIR=$DB.slurm
mkdir -p "$RUN_DIR/keys" "$RUN_DIR/logs"
if [[ ! -f $RUN_DIR/keys/server.secret ]]; then
  "$DEEPREDUCE" keygen --out "$RUN_DIR/keys/server" >/dev/null
  "$DEEPREDUCE" keygen --out "$RUN_DIR/keys/worker" >/dev/null
  cp "$RUN_DIR/keys/worker.public" "$RUN_DIR/keys/allowed"
fi
COMMON=(--parsable --requeue)
[[ -n $PARTITION ]] && COMMON+=(--partition="$PARTITION")
[[ -n $TIME ]] && COMMON+=(--time="$TIME")
EXPORTS="ALL,DR_BIN=$DEEPREDUCE,DR_CONFIG=$CONFIG,DR_DB=$DB,DR_RUN_DIR=$RUN_DIR,DR_GPUS_PER_WORKER=$GPUS,DR_SLOTS_PER_GPU=$SLOTS"

rm -f "$RUN_DIR/address"  # a stale address: workers wait for the new coordinator's
COORD=$(sbatch "${COMMON[@]}" "${EXTRA[@]}" --job-name=deepreduce-coordinator --ntasks=1 --cpus-per-task=1 \
  --signal=B:USR1@120 --output="$RUN_DIR/logs/coordinator-%j.log" --export="$EXPORTS" \
  "$ROOT/scripts/slurm/coordinator.sbatch")
COORD=${COORD%%;*}
echo "coordinator: job $COORD"
if [[ $ONLY_COORDINATOR -eq 0 ]]; then
  RESOURCES=(--ntasks=1 --cpus-per-task="$CPUS")
  [[ $GPUS -gt 0 ]] && RESOURCES+=(--gres=gpu:"$GPUS")
  ARRAY=$(sbatch "${COMMON[@]}" "${EXTRA[@]}" --job-name=deepreduce-workers --array=0-$((WORKERS - 1)) \
    --dependency=after:"$COORD" "${RESOURCES[@]}" --output="$RUN_DIR/logs/worker-%A_%a.log" \
    --export="$EXPORTS" "$ROOT/scripts/slurm/workers.sbatch")
  ARRAY=${ARRAY%%;*}
  echo "workers: array job $ARRAY (${WORKERS} task(s), ${GPUS} GPU(s) and ${CPUS} CPU(s) each)"
fi
cat <<MSG

watch it:   squeue -u ${USER:-$(id -un)}
            $DEEPREDUCE status --db $DB
            tail -f $RUN_DIR/logs/*.log
coordinator gone? submit it again (workers wait for it):
            $0 $CONFIG --db $DB --coordinator-only
the report: $DEEPREDUCE report --db $DB
MSG
