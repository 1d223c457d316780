#!/usr/bin/env bash
# bench/run adapter [--quick] [bench_adapter flags]
# Without --adapter: both shipped LCF adapters (models/adapters/*.lcf.gguf), each with its own
# sharer and receiver from models/, one thread (as the local stack runs its workers).
set -euo pipefail
build="$1"; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cmake --build "$build" --target bench_adapter -j "${CACHEWIRE_JOBS:-2}" >/dev/null
extra=("$@")
for f in "${extra[@]}"; do
  if [ "$f" = --adapter ]; then exec "$build/bin/bench_adapter" "${extra[@]}"; fi
done
for pair in "cw-llama cw-gemma3" "cw-gemma3 cw-llama"; do
  read -r sharer receiver <<<"$pair"
  "$build/bin/bench_adapter" --adapter "$root/models/adapters/$sharer--$receiver.lcf.gguf" \
    --sharer "$root/models/$sharer.gguf" --receiver "$root/models/$receiver.gguf" "${extra[@]}"
  echo
done
