#!/usr/bin/env bash
# bench/run tokenizer [--quick] [--size-mb N] [--runs N] [--vocab a,b]: makes sure the converted
# vocabularies exist (the same generator as the tokenizer_refs test fixture), then runs
# bench_tokenizer on them. Called by bench/run as `bash run.sh BUILD_DIR args...`.
set -euo pipefail
build="$1"; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/tests/engine/tokenizer/make_refs.sh" "$root" "$build/tokenizer_refs" >&2
exec "$build/bin/bench_tokenizer" --refs "$build/tokenizer_refs" "$@"
