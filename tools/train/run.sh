#!/usr/bin/env bash
# Reproduces both shipped agents from a fresh Debian 12 machine:
#   bash tools/train/run.sh [MINUTES]      (default 100 minutes of training per model)
# Installs the packages, builds the corpus, trains both tokenizers, trains cw-llama and
# cw-gemma3 side by side (one process per core; each resumes from build/train/<agent>/ if cut),
# exports models/<agent>.gguf, evaluates on the suite, writes the model cards and the golden
# files of tests/models/. Set CACHEWIRE_TRAIN_INIT=1 to start from the shipped GGUFs' weights
# (continue training) instead of from scratch. Where models/<agent>.gguf exists its vocabulary
# is kept (train and export --tokenizer-from): the adapters, golden files and suite ids are tied
# to it, and the corpus packages of another machine need not retrain the same one.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-100}"
PY=/usr/bin/python3

if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-torch libopenblas0-pthread python3-numpy python3-sentencepiece python3-regex \
    bible-kjv bible-kjv-text fortunes fortunes-min wordnet-base dict-gcide nodejs npm >/dev/null
fi
(cd tools/tokenizers && [ -d node_modules ] || npm ci --silent)
source tools/train/blas_env.sh

$PY tools/corpus/build_corpus.py
$PY tools/train/train_tokenizers.py
init=()
pids=()
# The vocabulary flag: a shipped file's (see above), else the one train_tokenizers.py wrote
# ($2: the flag that names its directory, export_gguf.py's --tokenizer; train.py finds it itself).
vocab() {
  if [ -f "models/$1.gguf" ]; then echo "--tokenizer-from=models/$1.gguf"
  elif [ -n "$2" ]; then echo "$2=build/train/tokenizers/$1"; fi
}
mkdir -p build/train
for agent in cw-llama cw-gemma3; do
  if [ "${CACHEWIRE_TRAIN_INIT:-0}" = 1 ]; then init=(--init-from "models/$agent.gguf"); fi
  $PY tools/train/train.py --agent "$agent" --minutes "$MINUTES" "${init[@]}" \
    $(vocab "$agent" "") > "build/train/$agent.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for agent in cw-llama cw-gemma3; do
  $PY tools/train/export_gguf.py "build/train/$agent/checkpoint.pt" "models/$agent.gguf" \
    $(vocab "$agent" --tokenizer) --name "$agent"
  for split in test heldout; do
    $PY tools/train/evaluate.py --agent "$agent" --split "$split" --json "build/train/$agent/eval-$split.json"
  done
  $PY tools/train/model_card.py --agent "$agent"
done
$PY tools/train/make_goldens.py
echo "done: models/cw-llama.gguf models/cw-gemma3.gguf (cards models/*.md)"
