#!/usr/bin/env bash
# An experiment on a real Slurm cluster: a single-node slurmctld + slurmd
# (Debian's slurm-wlm, munge) started here with a private configuration and
# ports, scripts/slurm/submit.sh as a user runs it, a worker array task and the
# coordinator job scancel'ed mid-experiment, the coordinator resubmitted. Every
# trial must end done with the same results as `deepreduce run`.
# Needs root (to start the daemons); exits 77 (skipped) with the reason otherwise.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DR=${DEEPREDUCE:-$ROOT/build/deepreduce}
skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root to start slurmctld, slurmd and munged"
for b in slurmctld slurmd sbatch scancel squeue munged; do
  command -v $b >/dev/null || skip "$b not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
done
[[ -x $DR ]] || { echo "FAILED: $DR not built"; exit 1; }

WORK=$(mktemp -d /tmp/deepreduce-slurm-XXXXXX)
HOST=$(hostname)
PORT=$((20000 + RANDOM % 20000))
export SLURM_CONF=$WORK/slurm.conf
started_munge=0
cleanup() {
  scancel --quiet --full $(squeue -h -o %i 2>/dev/null) 2>/dev/null
  sleep 1
  for p in slurmctld slurmd; do [[ -f $WORK/$p.pid ]] && kill "$(cat "$WORK/$p.pid")" 2>/dev/null; done
  pkill -f "deepreduce.*$WORK" 2>/dev/null
  [[ $started_munge -eq 1 ]] && pkill -x munged
  [[ ${KEEP:-0} -eq 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*"
  for f in "$WORK"/store.db.slurm/logs/*.log "$WORK"/log/*.log; do echo "--- $f"; tail -20 "$f"; done
  exit 1
}

mkdir -p "$WORK"/{state,spool,log}
cat >"$SLURM_CONF" <<CONF
ClusterName=deepreduce-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
ReturnToService=2
JobRequeue=1
KillWait=5
NodeName=$HOST CPUs=4 RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
if ! pgrep -x munged >/dev/null; then
  [[ -f /etc/munge/munge.key ]] || (command -v mungekey >/dev/null && mungekey --create) || skip "no munge key"
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged || skip "munged does not start here"
  started_munge=1
fi
slurmctld -f "$SLURM_CONF" || fail "slurmctld does not start"
slurmd -f "$SLURM_CONF" || fail "slurmd does not start"
for i in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T | grep -q idle || fail "the node never became idle: $(sinfo 2>&1)"

cat >"$WORK/exp.yaml" <<YAML
name: slurm
defaults: {dataset: synthetic, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1], epochs: 8, train_subset: 384, test_subset: 100, batch: 32, lr: 0.05}
trials:
  - name: t0
  - name: t1
    seed: 1
  - name: t2
    seed: 2
  - name: t3
    seed: 3
  - name: t4
    seed: 4
  - name: t5
    seed: 5
  - name: student
    cull: [stem]
    teacher: t0
YAML
"$DR" run "$WORK/exp.yaml" --db "$WORK/reference.db" --threads 1 >"$WORK/reference.log" 2>&1 || fail "reference run"

out=$("$ROOT/scripts/slurm/submit.sh" "$WORK/exp.yaml" --db "$WORK/store.db" --workers 2 --cpus-per-worker 1) ||
  fail "submit.sh: $out"
echo "$out"
COORD=$(echo "$out" | sed -n 's/^coordinator: job \([0-9]*\).*/\1/p')
ARRAY=$(echo "$out" | sed -n 's/^workers: array job \([0-9]*\).*/\1/p')
[[ -n $COORD && -n $ARRAY ]] || fail "no job ids in submit.sh's output"
grep -q "deepreduce status --db" <<<"$out" || fail "submit.sh does not say how to watch"

leased() { "$DR" status --db "$WORK/store.db" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["states"]["leased"])' 2>/dev/null || echo 0; }
done_count() { "$DR" status --db "$WORK/store.db" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["states"]["done"])' 2>/dev/null || echo 0; }
for i in $(seq 1 120); do [[ $(leased) -gt 0 ]] && break; sleep 0.5; done
[[ $(leased) -gt 0 ]] || fail "no trial was ever leased"
sleep 2
scancel "${ARRAY}_1" || fail "scancel of a worker task"
echo "cancelled worker task ${ARRAY}_1 mid-trial"
for i in $(seq 1 120); do [[ $(done_count) -ge 1 ]] && break; sleep 0.5; done
at_cancel=$(done_count)
scancel "$COORD" || fail "scancel of the coordinator"
echo "cancelled the coordinator (job $COORD) with $at_cancel of 7 trial(s) done"
[[ $at_cancel -lt 7 ]] || fail "the experiment finished before the coordinator was cancelled: make it longer"
for i in $(seq 1 60); do squeue -h -j "$COORD" 2>/dev/null | grep -q . || break; sleep 0.5; done
out=$("$ROOT/scripts/slurm/submit.sh" "$WORK/exp.yaml" --db "$WORK/store.db" --coordinator-only) || fail "resubmit: $out"
COORD2=$(echo "$out" | sed -n 's/^coordinator: job \([0-9]*\).*/\1/p')
echo "resubmitted the coordinator: job $COORD2"
for i in $(seq 1 600); do
  squeue -h -j "$COORD2" 2>/dev/null | grep -q . || break
  sleep 0.5
done
squeue -h -j "$COORD2" 2>/dev/null | grep -q . && fail "the resubmitted coordinator did not finish in 300 s"

python3 - "$DR" "$WORK" <<'PY' || fail "results differ from deepreduce run"
import json, subprocess, sys
dr, work = sys.argv[1], sys.argv[2]
def rows(db):
    out = subprocess.run([dr, "export", "--db", db, "--format", "json"], capture_output=True, text=True, check=True).stdout
    return {r["id"]: r for r in json.loads(out)}
mine, ref = rows(work + "/store.db"), rows(work + "/reference.db")
assert set(mine) == set(ref), (sorted(mine), sorted(ref))
for i, r in mine.items():
    assert r["state"] == "done", (i, r["state"])
    assert r["top1"] == ref[i]["top1"], (i, r["top1"], ref[i]["top1"])
print(f"{len(mine)} trials done, each with the reference run's top-1")
PY
ls "$WORK"/store.db.slurm/logs/worker-*.log >/dev/null 2>&1 || fail "no worker logs"
echo "PASSED: slurm experiment survived a cancelled worker task and a cancelled, resubmitted coordinator"
