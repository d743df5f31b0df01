#!/usr/bin/env bash
# Installs every Debian package deepreduce needs to build, test and run its demo.
# Idempotent: when everything is present it prints nothing and exits 0.
# Works as root or through sudo. Nothing outside Debian's archive is fetched.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev   # libFuzzer + sanitizers for the protocol fuzz targets (scripts/fuzz.sh)
  libtorch-dev
  libzmq3-dev cppzmq-dev libsodium-dev
  libyaml-cpp-dev
  librocksdb-dev
  libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev zlib1g-dev
  libjpeg62-turbo-dev   # TinyImageNet's JPEGs
  libonnx-dev libprotobuf-dev libcpp-httplib-dev
  python3-onnx python3-opencv python3-torch   # tests only: ONNX's checker, OpenCV as an independent runtime, torch.load
  dataset-fashion-mnist
  librsvg2-bin   # reports: each figure also as a PDF (rsvg-convert)
  chromium       # the live page test runs its script in a real browser; scripts/screenshot.sh
  slurm-wlm munge   # the Slurm test starts a single-node cluster (as root)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: missing packages (${missing[*]}) and not root, no sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
