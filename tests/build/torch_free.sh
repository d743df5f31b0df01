#!/bin/bash
# The libraries that define, store and move trials build without LibTorch:
# no source under spec/, storage/, protocol/, coordinator/, search/ or report/ includes
# a header of train/, nn/, export/ or worker/; no object of deepreduce_spec,
# _data, _storage, _protocol, _coordinator, _search, _report or _cli includes a LibTorch
# header (directly or through the precompiled torch header) or gets LibTorch's
# flags; and neither the `deepreduce` executable nor the test binaries linking
# only them load libtorch. Run by ctest (a Ninja build).
#
# Usage: tests/build/torch_free.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: torch_free.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$BUILD"
command -v ninja >/dev/null || { echo "torch_free.sh: needs ninja (scripts/build.sh uses it)"; exit 77; }
bad=0
if grep -rnE '#include "(train|nn|export|worker)/' "$SRC"/{spec,storage,protocol,coordinator,search,report,common}; then
  echo "the files above reach into the LibTorch side (train/, nn/, export/, worker/)"; bad=1
fi
for lib in spec data storage protocol coordinator search report cli; do
  objs=$(find . -path "*deepreduce_$lib.dir/*" -name '*.o' | sort)
  [ -n "$objs" ] || { echo "deepreduce_$lib: no objects found under $BUILD (built?)"; exit 1; }
  for o in $objs; do
    o=${o#./}
    if ninja -t deps "$o" | grep -qE '/(torch|ATen|c10)/'; then
      echo "$o includes LibTorch headers:"; ninja -t deps "$o" | grep -E '/(torch|ATen|c10)/' | head -3; bad=1
    fi
    if ninja -t commands "$o" | tail -1 | tr ' ' '\n' | grep -qiE 'torch'; then
      echo "$o is compiled with LibTorch flags:"; ninja -t commands "$o" | tail -1 | tr ' ' '\n' | grep -iE 'torch' | head -3; bad=1
    fi
  done
  echo "deepreduce_$lib: $(echo "$objs" | wc -l) object(s), none with LibTorch"
done
for bin in deepreduce tests/spec_tests tests/data_tests tests/storage_tests tests/protocol_tests tests/coordinator_tests \
    tests/search_tests tests/report_tests; do
  if ldd "$bin" | grep -q libtorch; then echo "$bin loads LibTorch"; bad=1; else echo "$bin: no LibTorch"; fi
done
exit $bad
