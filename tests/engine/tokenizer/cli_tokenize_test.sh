#!/usr/bin/env bash
# Runs the real `cachewire tokenize` on converted vocabularies and checks that `--ids` prints
# the reference ids (Hugging Face tokenizers) of a corpus text, and that errors name the file.
# Usage: cli_tokenize_test.sh CACHEWIRE_BIN REFS_DIR   (needs the tokenizer_refs fixture)
set -euo pipefail
bin="$1"; refs="$2"
python="${CACHEWIRE_PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python=python3
status=0
for v in llama3 gemma3; do
  # Case 2 of the corpus: plain English with punctuation.
  text="$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["cases"][2]["text"], end="")' "$refs/$v.json")"
  want="$("$python" -c 'import json,sys; print(" ".join(map(str, json.load(open(sys.argv[1]))["cases"][2]["ids"])))' "$refs/$v.json")"
  got="$("$bin" tokenize --model "$refs/$v.gguf" --no-bos --ids "$text")"
  if [ "$got" != "$want" ]; then
    echo "FAIL $v: got '$got', want '$want'" >&2; status=1
  else
    echo "ok   $v --ids: $got"
  fi
  # The table form prints one line per id, the same ids in the first column.
  table_ids="$("$bin" tokenize --model "$refs/$v.gguf" --no-bos "$text" | cut -f1 | tr '\n' ' ' | sed 's/ $//')"
  [ "$table_ids" = "$want" ] || { echo "FAIL $v table: '$table_ids'" >&2; status=1; }
done
# Errors go to stderr, name the file, and exit 1.
err="$(mktemp)"
trap 'rm -f "$err"' EXIT
if "$bin" tokenize --model "$refs/does-not-exist.gguf" --ids "x" 2>"$err"; then
  echo "FAIL: a missing file succeeded" >&2; status=1
elif ! grep -q "does-not-exist.gguf" "$err"; then
  echo "FAIL: error does not name the file: $(cat "$err")" >&2; status=1
fi
exit $status
