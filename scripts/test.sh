#!/usr/bin/env bash
# Installs dependencies, builds deepreduce and runs every test (ctest over the
# GoogleTest suites), printing ctest's summary. Exit status: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900 "$@"
