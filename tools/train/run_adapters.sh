#!/usr/bin/env bash
# Trains, exports, evaluates and documents the adapters between the shipped agents, both
# directions side by side (one process per core):
#   bash tools/train/run_adapters.sh [LCF_MINUTES [C2C_MINUTES]]     (defaults 17 and 12)
# Per direction: the per-token LCF adapter (train_lcf_tokens.py) for LCF_MINUTES, then the C2C
# fuser for C2C_MINUTES. Needs only
# the shipped agents (models/*.gguf): each one's tokenizer is read from its file. Writes
# models/adapters/<sharer>--<receiver>.{lcf,c2c}.gguf with a card beside each, then refreshes the
# test fixtures and golden files tied to them (refresh_fixtures.sh). A cut C2C run resumes from
# build/train/c2c-<sharer>-<receiver>/checkpoint.pt (the LCF fit starts over: minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
LCF_MINUTES="${1:-17}"
C2C_MINUTES="${2:-12}"
PY=/usr/bin/python3
source tools/train/blas_env.sh
mkdir -p models/adapters

one_direction() {
  local lcf_dir="build/train/lcf-$1-$2" c2c_dir="build/train/c2c-$1-$2"
  local lcf="models/adapters/$1--$2.lcf.gguf" c2c="models/adapters/$1--$2.c2c.gguf"
  $PY tools/train/train_lcf_tokens.py --sharer "$1" --receiver "$2" --minutes "$LCF_MINUTES" \
    --texts 2.5
  $PY tools/train/train_c2c.py --sharer "$1" --receiver "$2" --minutes "$C2C_MINUTES"
  $PY tools/train/export_adapter.py "$lcf_dir/checkpoint.pt" "$lcf"
  $PY tools/train/evaluate_lcf.py "$lcf" --json "$lcf_dir/eval.json"
  $PY tools/train/adapter_card.py "$lcf_dir/checkpoint.pt" "$lcf" "$lcf_dir/eval.json" \
    "${lcf%.gguf}.md"
  $PY tools/train/export_c2c.py "$c2c_dir/checkpoint.pt" "$c2c"
  for split in test heldout; do
    $PY tools/train/evaluate_c2c.py "$c2c" --split "$split" --n 100 \
      --json "$c2c_dir/eval-$split.json"
  done
  $PY tools/train/c2c_card.py "$c2c_dir/checkpoint.pt" "$c2c" "${c2c%.gguf}.md" \
    "$c2c_dir/eval-test.json" "$c2c_dir/eval-heldout.json"
}

mkdir -p build/train
pids=()
for pair in "cw-llama cw-gemma3" "cw-gemma3 cw-llama"; do
  set -- $pair
  one_direction "$1" "$2" > "build/train/adapters-$1-$2.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ "$status" != 0 ]; then
  echo "adapter training failed: see build/train/adapters-*.log" >&2
  exit 1
fi
bash tools/train/refresh_fixtures.sh
echo "done: models/adapters/*.{lcf,c2c}.gguf (cards beside them), tests/data/adapters"
