#!/usr/bin/env bash
# bench/run router [--quick] [--clients N] [--duration S] [--max-tokens K] [--model FILE]
#                  [--threads T]
# Requests/s and p50/p99 latency of Generate through the router with N concurrent clients
# (cachewire-load), and the same load sent straight to the worker in the same run, so that the
# router's cost is the difference. One worker (default model: the tiny golden Llama, whose
# forward pass is cheap enough that the RPC path shows) and one router with a token, both on
# loopback. --quick: 5 s per side. Last line:
#   router: clients=N rps=X p50_ms=X p99_ms=X direct_rps=X errors=N
# Called by bench/run as `bash run.sh BUILD_DIR args...`.
set -euo pipefail
build="$1"; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$build/bin"

clients=8
duration=15
max_tokens=16
threads=1
model="$root/tests/engine/model/golden/tiny-llama-gqa2-q8_0.gguf"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) duration=5 ;;
    --clients) clients="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --max-tokens) max_tokens="$2"; shift ;;
    --model) model="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    *) echo "bench/router: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

for target in cachewire-worker cachewire-router cachewire-load; do
  [ -x "$bin/$target" ] || cmake --build "$build" --target "$target" >&2
done

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts a daemon (in this shell, so that cleanup knows its pid) with its stdout in
# $tmp/NAME.out, waits for its listening line and sets $address to its gRPC address.
start_daemon() {
  local name="$1"; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 300); do
    if grep -q '^listening ' "$tmp/$name.out" 2>/dev/null; then
      address=$(sed -n 's/^listening grpc=\([^ ]*\).*/\1/p' "$tmp/$name.out")
      return 0
    fi
    sleep 0.1
  done
  echo "bench/router: $name did not start:" >&2
  cat "$tmp/$name.err" >&2
  return 1
}

start_daemon worker "$bin/cachewire-worker" --model "$model" --listen 127.0.0.1:0 \
  --threads "$threads" --log-level warn
worker="$address"
printf 'agents:\n  - name: bench\n    worker: %s\n' "$worker" >"$tmp/router.yaml"
token="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
(umask 077; echo "$token" >"$tmp/tokens")
start_daemon router "$bin/cachewire-router" --config "$tmp/router.yaml" \
  --token-file "$tmp/tokens" --listen 127.0.0.1:0 --log-level warn
router="$address"

load_args=(--clients "$clients" --duration "$duration" --max-tokens "$max_tokens")
echo "model: $(basename "$model") | worker threads: $threads | clients: $clients | ${duration}s per side | $max_tokens tokens per request"
"$bin/cachewire-load" --target router --address "$router" --token "$token" "${load_args[@]}" \
  | tee "$tmp/router.load"
"$bin/cachewire-load" --target worker --address "$worker" "${load_args[@]}" | tee "$tmp/direct.load"

field() { sed -n "s/^load: .* $2=\([^ ]*\).*/\1/p" "$1"; }
errors=$(( $(field "$tmp/router.load" errors) + $(field "$tmp/direct.load" errors) ))
echo "router: clients=$clients rps=$(field "$tmp/router.load" rps)" \
  "p50_ms=$(field "$tmp/router.load" p50_ms) p99_ms=$(field "$tmp/router.load" p99_ms)" \
  "direct_rps=$(field "$tmp/direct.load" rps) errors=$errors"
