#!/usr/bin/env bash
# bench/run engine [--quick] [--model FILE]... [--threads N] [--llama-bench PATH] [bench_engine flags]
# Without --model, benchmarks the random-weight GGUFs with the shapes of Llama-3.2-1B and
# Gemma-3-1B (Q8_0 and F16; --quick: Llama Q8_0 only), generated on first use by
# tools/reference/make_tiny_models.py into $CACHEWIRE_BENCH_MODELS (default BUILD_DIR/bench-models)
# and reused afterwards. Builds bench_engine, then runs it; the first model names the last line.
set -euo pipefail
build="$1"; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${CACHEWIRE_BENCH_MODELS:-$build/bench-models}"

quick=0
have_model=0
args=()
for a in "$@"; do
  [ "$a" = "--quick" ] && quick=1
  [ "$a" = "--model" ] && have_model=1
  args+=("$a")
done

if [ "$have_model" = 0 ]; then
  if [ "$quick" = 1 ]; then
    specs=("llama-3.2-1b q8_0")
  else
    specs=("llama-3.2-1b q8_0" "llama-3.2-1b f16" "gemma-3-1b q8_0" "gemma-3-1b f16")
  fi
  mkdir -p "$cache"
  for spec in "${specs[@]}"; do
    read -r shapes type <<<"$spec"
    file="$cache/$shapes-$type.gguf"
    if [ ! -s "$file" ]; then
      echo "generating $file (random weights, once)" >&2
      nice -n 10 /usr/bin/python3 "$root/tools/reference/make_tiny_models.py" \
        --shapes "$shapes" --type "$type" --out "$file.tmp" >&2
      mv "$file.tmp" "$file"
    fi
    args+=(--model "$file")
  done
fi

cmake --build "$build" --target bench_engine -j "${CACHEWIRE_JOBS:-2}" >/dev/null
exec "$build/bin/bench_engine" "${args[@]}"
