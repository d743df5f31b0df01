#!/usr/bin/env bash
# Installs dependencies, builds deepreduce and runs the quickstart: the whole
# DeepReDuce pipeline (criticality, culling, thinning, reshaping, each network
# without and with KD) and the channel-pruning comparison, on Debian's
# Fashion-MNIST, through the embedded coordinator and two local workers. About 8
# minutes on 2 CPU cores after the build. Run it again and it resumes: nothing finished
# is trained twice. It ends with the Pareto front, the report's path, and the front
# exported as ONNX and scored again in OpenCV (runs/quickstart-front/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building (Release) ==" >&2
scripts/build.sh >/dev/null
DR=build/deepreduce

echo "== The model zoo, CIFAR-100 (32x32), all ReLUs: exact counts =="
$DR count --arch all --classes 100
echo
echo "== The quickstart experiment: what it will train first =="
$DR plan configs/quickstart.yaml | sed -n 1,8p   # sed reads it all: no SIGPIPE under pipefail
echo
# A store an earlier deepreduce left here is brought to this version first.
if [ -d runs/quickstart.db ]; then
  why=$($DR status --db runs/quickstart.db 2>&1 >/dev/null || true)
  case $why in *"deepreduce migrate"*) $DR migrate --db runs/quickstart.db ;; esac
fi
echo "== Running it (progress below; Ctrl-C stops, running this script again resumes) =="
$DR run configs/quickstart.yaml --db runs/quickstart.db --workers 2
echo
echo "== The front leaves the tool: ONNX for private-inference runtimes, checked in OpenCV =="
rm -rf runs/quickstart-front
$DR export-model --db runs/quickstart.db --front --test-set --out runs/quickstart-front
# Another runtime scores each exported network on the test images its stored top-1 came from.
/usr/bin/python3 scripts/verify_export.py runs/quickstart-front
