#!/usr/bin/env bash
# Builds tests/fuzz/gguf_reader_fuzz.cc with clang++ and libFuzzer (the main build uses gcc, so
# this compiles engine/gguf directly, each object through ccache) and runs it for a bounded
# number of runs/time, seeded with the broken corpus, the fixtures and tests/fuzz/corpus/.
# Usage: run_gguf_fuzz.sh BUILD_DIR SOURCE_DIR [RUNS] [MAX_SECONDS]
# Fails (exit 1) when clang++ or libFuzzer is missing: CI installs clang-14 and libclang-rt-14-dev.
set -euo pipefail
build="${1:?build dir}"
src="${2:?source dir}"
runs="${3:-${GGUF_FUZZ_RUNS:-200000}}"
max_s="${4:-${GGUF_FUZZ_SECONDS:-45}}"

cxx=""
for c in clang++-14 clang++; do
  if command -v "$c" >/dev/null; then cxx="$c"; break; fi
done
if [ -z "$cxx" ]; then
  echo "FAIL: clang++ not found; the GGUF fuzz test needs clang 14 with libFuzzer" >&2
  echo "      (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
launcher=()
command -v ccache >/dev/null && launcher=(ccache)

out="$build/fuzz"
mkdir -p "$out/obj" "$out/corpus" "$out/artifacts"
flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wpedantic -Werror
       -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -I"$src")
absl_mods="absl_status absl_statusor absl_strings absl_str_format absl_flat_hash_map absl_flat_hash_set"
read -r -a absl_cflags <<<"$(pkg-config --cflags $absl_mods)"
read -r -a absl_libs <<<"$(pkg-config --libs $absl_mods)"

objs=()
for f in "$src"/engine/gguf/*.cc "$src"/tests/fuzz/gguf_reader_fuzz.cc; do
  o="$out/obj/$(basename "${f%.cc}").o"
  "${launcher[@]}" "$cxx" "${flags[@]}" "${absl_cflags[@]}" -c "$f" -o "$o"
  objs+=("$o")
done
bin="$out/gguf_reader_fuzz"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" "${absl_libs[@]}" -o "$bin"; then
  echo "FAIL: linking with -fsanitize=fuzzer failed (is libclang-rt-14-dev installed?)" >&2
  exit 1
fi

seeds=("$src/tests/fuzz/corpus" "$src/tests/engine/gguf/broken" "$src/tests/engine/gguf/data")
log="$out/last_run.log"
echo "fuzz: $bin -runs=$runs -max_total_time=$max_s (corpus $out/corpus + ${#seeds[@]} seed dirs)"
set +e
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin" -runs="$runs" -max_total_time="$max_s" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -dict="$src/tests/fuzz/gguf.dict" -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
  "$out/corpus" "${seeds[@]}" >"$log" 2>&1
rc=$?
set -e
tail -n 25 "$log"
done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)"
executed="$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1 || true)"
if [ "$rc" -ne 0 ]; then
  echo "FAIL: gguf_reader_fuzz exited with $rc; crashing input under $out/artifacts/" >&2
  exit 1
fi
echo "fuzz: gguf_reader_fuzz passed: ${done_line:-no Done line} (executed units: ${executed:-?})"
