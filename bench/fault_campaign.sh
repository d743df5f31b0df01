#!/usr/bin/env bash
# The fault campaign: runs the chaos tests (real coordinator, worker and run
# processes on loopback, SIGKILLed at random moments; 10,000 hostile messages;
# a full disk when run as root) and prints what each did and how it ended.
#   bench/fault_campaign.sh            # about 3 minutes here, after scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD_DIR:-build}/tests/coordinator_tests
[[ -x $BIN ]] || { echo "fault_campaign: build first (scripts/build.sh)" >&2; exit 1; }
log=$(mktemp)
status=0
"$BIN" --gtest_filter='ChaosTest.*:FullDiskTest.*' >"$log" 2>&1 || status=$?
grep '^campaign:' "$log" | sed 's/^campaign: /- /'
grep -E '^\[  (PASSED|FAILED) ' "$log"
[[ $status -eq 0 ]] || { echo "fault_campaign: failures, full log in $log" >&2; exit $status; }
rm -f "$log"
