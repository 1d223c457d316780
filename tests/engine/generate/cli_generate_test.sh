#!/usr/bin/env bash
# End-to-end `cachewire generate` on a tiny golden model: greedy output is non-empty, identical
# across two runs, and its ids are the reference forward pass's argmax continuation
# (greedy_reference.py). Usage: cli_generate_test.sh CACHEWIRE SOURCE_DIR MODEL.gguf
set -euo pipefail
bin="$1"; src="$2"; model="$3"
python="${CACHEWIRE_PYTHON:-/usr/bin/python3}"
prompt="The quick brown fox"
n=8
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

run() { "$bin" generate --model "$model" --prompt "$prompt" --temp 0 --max-tokens "$n" \
          --threads 2 --seed 1 "$@"; }

run >"$tmp/text1" 2>"$tmp/err1"
run >"$tmp/text2" 2>"$tmp/err2"
cat "$tmp/err1"
echo "text: $(cat "$tmp/text1")"
[ -s "$tmp/text1" ] || { echo "FAIL: empty output"; exit 1; }
grep -q "generated: " "$tmp/err1" || { echo "FAIL: no stats line on stderr"; exit 1; }
cmp -s "$tmp/text1" "$tmp/text2" || { echo "FAIL: two greedy runs differ"; diff "$tmp/text1" "$tmp/text2"; exit 1; }

engine_ids="$(run --print-ids 2>/dev/null)"
[ -n "$engine_ids" ] || { echo "FAIL: no ids"; exit 1; }
[ "$engine_ids" = "$(run --print-ids 2>/dev/null)" ] || { echo "FAIL: ids differ across runs"; exit 1; }
prompt_ids="$("$bin" tokenize --model "$model" --ids "$prompt")"
echo "prompt ids: $prompt_ids"
"$python" "$src/tests/engine/generate/greedy_reference.py" "$model" \
  --prompt-ids "$prompt_ids" --engine-ids "$engine_ids" --max-tokens "$n"

# A bad flag value is an error naming the field, exit code 1.
set +e
run --top-p 2 >/dev/null 2>"$tmp/bad"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "top_p" "$tmp/bad" || { echo "FAIL: --top-p 2 gave rc $rc: $(cat "$tmp/bad")"; exit 1; }
"$bin" generate --model "$tmp/missing.gguf" --prompt x >/dev/null 2>"$tmp/bad" && exit 1
grep -q "missing.gguf" "$tmp/bad" || { echo "FAIL: missing file not named: $(cat "$tmp/bad")"; exit 1; }
echo PASS
