#!/usr/bin/env bash
# Trains, exports, evaluates and documents the LCF adapters between the shipped agents:
#   bash tools/train/run_adapters.sh [MINUTES]      (default 55 minutes for cw-llama -> cw-gemma3,
#                                                    a third of it for the reverse direction)
# Needs only the shipped agents (models/*.gguf): each one's tokenizer is read from its file.
# Writes models/adapters/<sharer>--<receiver>.lcf.gguf with a card beside it. A cut
# run resumes from build/train/lcf-<sharer>-<receiver>/checkpoint.pt.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-55}"
PY=/usr/bin/python3
source tools/train/blas_env.sh
mkdir -p models/adapters
for pair in "cw-llama cw-gemma3 $MINUTES" "cw-gemma3 cw-llama $((MINUTES / 3))"; do
  set -- $pair
  dir="build/train/lcf-$1-$2"
  $PY tools/train/train_lcf.py --sharer "$1" --receiver "$2" --minutes "$3" --match 1.0
  out="models/adapters/$1--$2.lcf.gguf"
  $PY tools/train/export_adapter.py "$dir/checkpoint.pt" "$out"
  $PY tools/train/evaluate_lcf.py "$out" --json "$dir/eval.json"
  $PY tools/train/adapter_card.py "$dir/checkpoint.pt" "$out" "$dir/eval.json" "${out%.gguf}.md"
done
$PY tools/train/make_adapter_goldens.py models/adapters/*.lcf.gguf
echo "done: models/adapters/*.lcf.gguf (cards beside them)"
