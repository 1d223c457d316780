#!/usr/bin/env bash
# Regenerates the test fixtures and golden files tied to the shipped agents' identity, after an
# agent or an adapter in models/ changed (an adapter file records both models' fingerprints, so
# the old fixtures would be refused):
#   bash tools/train/refresh_fixtures.sh
# - tests/data/adapters/<a>--<b>.random.{lcf,c2c}.gguf: random-weight adapters for both
#   directions (export_adapter.py / export_c2c.py --random, seed 1), and
#   <a>--<b>.random-tokens.lcf.gguf, a per-token one sending 6 tokens;
# - their golden files and those of the shipped LCF adapters (make_adapter_goldens.py,
#   make_c2c_goldens.py), in tests/data/adapters/golden/.
# The agents' own golden files (models/golden/) come from make_goldens.py, which needs the
# training checkpoints (tools/train/run.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
source tools/train/blas_env.sh
fixtures=tests/data/adapters
for pair in "cw-llama cw-gemma3" "cw-gemma3 cw-llama"; do
  set -- $pair
  $PY tools/train/export_adapter.py --random --sharer "models/$1.gguf" --receiver "models/$2.gguf" \
    "$fixtures/$1--$2.random.lcf.gguf"
  $PY tools/train/export_adapter.py --random --per-token --slots 6 --slot-dim 16 \
    --name "$1--$2.random-tokens" --sharer "models/$1.gguf" --receiver "models/$2.gguf" \
    "$fixtures/$1--$2.random-tokens.lcf.gguf"
  $PY tools/train/export_c2c.py --random --sharer "models/$1.gguf" --receiver "models/$2.gguf" \
    "$fixtures/$1--$2.random.c2c.gguf"
done
$PY tools/train/make_adapter_goldens.py models/adapters/*.lcf.gguf "$fixtures"/*.random.lcf.gguf
$PY tools/train/make_c2c_goldens.py "$fixtures"/*.random.c2c.gguf
echo "done: $fixtures and $fixtures/golden"
