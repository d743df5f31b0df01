#!/usr/bin/env bash
# Installs dependencies, builds deepreduce and runs the quickstart: the exact
# ReLU / MAC / parameter counts of the four architectures and of the
# DeepReDuce-style reductions of ResNet18 on CIFAR-100.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
DR=build/deepreduce

echo "== The model zoo, CIFAR-100 (32x32), all ReLUs =="
$DR count --arch all --classes 100
echo
echo "== ResNet18: culling the two least critical stages (stem, S1), thinning S3 =="
$DR count --arch resnet18 --classes 100 --cull stem,s1 --thin s3
echo
echo "== The same network reshaped: half the channels (alpha 0.5) =="
$DR count --arch resnet18 --classes 100 --cull stem,s1 --thin s3 --alpha 0.5
echo
echo "== A small experiment: baseline, culled, culled + KD (coordinator and a local worker) =="
$DR run configs/demo_trials.yaml --db runs/demo-trials.db
