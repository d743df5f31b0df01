#!/usr/bin/env bash
# Builds the protocol decoder's libFuzzer target with clang (address and
# undefined-behaviour sanitizers) and fuzzes every message type for a bounded
# time, starting from a corpus of valid messages. Any crash, sanitizer report,
# or broken invariant (see protocol/fuzz_decode.cpp) fails the script and leaves
# the input in build-fuzz/.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TYPE]   (default 4; FUZZ_SECONDS also works)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TYPE=${1:-${FUZZ_SECONDS:-4}}
OUT=${FUZZ_DIR:-build-fuzz}
mkdir -p "$OUT"
CXX=${FUZZ_CXX:-clang++}
if ! command -v "$CXX" >/dev/null; then
  echo "fuzz: $CXX not found (scripts/install-deps.sh installs clang)" >&2
  exit 1
fi
BIN="$OUT/fuzz_decode"
SOURCES=(protocol/fuzz_decode.cpp protocol/protocol.cpp protocol/messages.cpp common/status.cpp common/digest.cpp)
if [[ ! -x "$BIN" || -n "$(find "${SOURCES[@]}" protocol/protocol.h protocol/messages.h common/status.h common/digest.h spec/artifact.h common/enum_names.h -newer "$BIN")" ]]; then
  echo "fuzz: building $BIN" >&2
  "$CXX" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -DJSON_DISABLE_ENUM_SERIALIZATION=1 \
    "${SOURCES[@]}" -lsodium -o "$BIN"
fi

T="0123456789abcdef0123456789abcdef"
D="0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
L="\"trial\":\"$T\",\"attempt\":1,\"lease\":\"$T\""
declare -A SEEDS=(
  [HELLO]="{\"v\":5,\"worker\":\"w\",\"host\":\"h\",\"pid\":1,\"devices\":[\"cpu\"],\"threads\":1,\"slots\":2,\"running\":[{$L}]}"
  [READY]='{"v":3,"slots":1}'
  [HEARTBEAT]='{"v":3}'
  [PROGRESS]="{\"v\":5,$L,\"epoch\":{\"epoch\":1,\"top1\":10.5}}"
  [UPLOAD]="{\"v\":5,$L,\"kind\":\"model\",\"chunk\":0,\"chunks\":1,\"size\":2}"
  [RESULT]="{\"v\":5,$L,\"result\":{\"top1\":50.5,\"epochs\":[{\"loss\":1}]},\"model\":{\"size\":0,\"blake2b\":\"$D\"},\"mask\":{\"size\":0,\"blake2b\":\"$D\"}}"
  [FAILED]="{\"v\":5,$L,\"reason\":\"x\",\"retryable\":true,\"environment\":false}"
  [FETCH]="{\"v\":5,\"trial\":\"$T\",\"kind\":\"checkpoint\"}"
  [BYE]='{"v":3}'
  [WELCOME]='{"v":3,"heartbeat_ms":1000}'
  [ASSIGN]="{\"v\":5,$L,\"spec\":{\"kind\":\"train\"},\"checkpoint\":false}"
  [ARTIFACT]="{\"v\":5,\"trial\":\"$T\",\"kind\":\"model\",\"chunk\":0,\"chunks\":1,\"size\":0,\"found\":false}"
  [CANCEL]="{\"v\":5,\"trial\":\"$T\"}"
  [RECEIPT]="{\"v\":5,\"trial\":\"$T\",\"attempt\":1,\"status\":\"stored\",\"reason\":\"\"}"
  [SHUTDOWN]='{"v":3,"reason":"done","rejoin":true}'
)
TYPES=(HELLO READY HEARTBEAT PROGRESS UPLOAD RESULT FAILED FETCH BYE WELCOME ASSIGN ARTIFACT CANCEL RECEIPT SHUTDOWN ANY)
failed=0
total_runs=0
for type in "${TYPES[@]}"; do
  corpus="$OUT/corpus-$type"
  mkdir -p "$corpus"
  if [[ $type == ANY ]]; then
    for t in "${!SEEDS[@]}"; do printf '%s\xff%s' "$t" "${SEEDS[$t]}" >"$corpus/seed-$t"; done
  else
    printf '%s' "${SEEDS[$type]}" >"$corpus/seed"
  fi
  log="$OUT/fuzz-$type.log"
  if FUZZ_TYPE=$type "$BIN" -max_total_time="$SECONDS_PER_TYPE" -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="$OUT/crash-$type-" "$corpus" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    [[ -z $runs ]] && runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    total_runs=$((total_runs + ${runs:-0}))
    printf 'fuzz %-9s %10s inputs in %ss: ok\n' "$type" "${runs:-?}" "$SECONDS_PER_TYPE"
  else
    failed=1
    echo "fuzz $type: FAILED (see $log)" >&2
    tail -30 "$log" >&2
  fi
done
echo "fuzz: $total_runs inputs over ${#TYPES[@]} targets"
exit $failed
