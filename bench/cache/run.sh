#!/usr/bin/env bash
# bench/run cache [--quick] [--model FILE] [--text FILE] [bench_cache flags]
# Without --model, runs on the tiny golden llama (tests/engine/model/golden), the only model
# the repository carries; without --text, on /usr/share/common-licenses/GPL-3. Output goes to
# BUILD_DIR/bench-cache (CSV, PNG) unless --out says otherwise; the last line is the summary.
# Passkey accuracy needs --passkey FILE: a JSONL of episodes (sharer_context, question, answer)
# as tools/suite/ writes them.
set -euo pipefail
build="$1"; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
args=("$@")
have() { local f; for f in "${args[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }
have --model || args+=(--model "$root/tests/engine/model/golden/tiny-llama-gqa4-f16-rope3.gguf")
have --text || args+=(--text /usr/share/common-licenses/GPL-3)
have --out || args+=(--out "$build/bench-cache")
# The PNG plot needs matplotlib (kept out of scripts/install-deps: CI does not draw plots).
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null || true
fi
cmake --build "$build" --target bench_cache -j "${CACHEWIRE_JOBS:-2}" >/dev/null
exec "$build/bin/bench_cache" "${args[@]}"
