#!/usr/bin/env bash
# Installs dependencies, builds deepreduce and runs every test (ctest over the
# GoogleTest suites), printing ctest's summary. Exit status: ctest's.
# DEEPREDUCE_CMAKE_ARGS (words) go to cmake's configure step, e.g.
# "-DDEEPREDUCE_USE_PCH=OFF" (what CI does); arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck disable=SC2086  # words, on purpose
scripts/build.sh ${DEEPREDUCE_CMAKE_ARGS:-}
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900 "$@"
