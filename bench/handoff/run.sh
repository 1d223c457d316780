#!/usr/bin/env bash
# bench/run handoff [--quick] [flags of handoff_bench.py]: the handoff suite through the real
# daemons, every mode on the same episodes, then latency against context length.
# Called by bench/run as `bash run.sh BUILD_DIR args...`.
set -euo pipefail
build="$1"; shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x "$build/bin/cachewire" ] || [ ! -d "$build/client/python/gen" ]; then
  echo "bench/handoff: $build lacks bin/cachewire or the Python stubs; run scripts/build" >&2
  exit 2
fi
exec /usr/bin/python3 "$here/handoff_bench.py" --build "$build" "$@"
