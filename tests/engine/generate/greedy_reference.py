"""Checks a greedy continuation produced by `cachewire generate --temp 0 --print-ids` against the
independent numpy forward pass (tools/reference/forward_reference.py).

Teacher-forced: for every step i the reference runs prompt + engine_ids[:i] and the engine's id
must be the reference's argmax, or within the manifest's logit tolerance of it for the model's
weight type (a near-tie that float32/f16 arithmetic may break the other way). The continuation
must end at an EOS/EOT or after exactly max_tokens ids. Prints the reference's own argmax
continuation as well. Exit code 0 when the ids match, 1 otherwise.

    /usr/bin/python3 tests/engine/generate/greedy_reference.py MODEL.gguf \
        --prompt-ids "317 39 72" --engine-ids "12 40 ..." --max-tokens 8
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(_ROOT, "tools", "reference"))

import forward_reference  # noqa: E402

MANIFEST = os.path.join(_ROOT, "tests", "engine", "model", "golden", "manifest.json")


def tolerance(model_path: str) -> float:
    """The manifest's max |Δlogit| for the model's weight type (0.05 when it is not listed)."""
    with open(MANIFEST, encoding="utf-8") as f:
        manifest = json.load(f)
    bounds = manifest["tolerance"]["quantized_activations"]["max_abs"]
    for m in manifest["models"]:
        if m["model_file"] == os.path.basename(model_path):
            return float(bounds.get(m["weight_type"], 0.05))
    return 0.05


def ids(text: str) -> list[int]:
    return [int(t) for t in text.split()]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--engine-ids", required=True)
    ap.add_argument("--max-tokens", type=int, required=True)
    args = ap.parse_args(argv)

    model = forward_reference.Model(args.model)
    md = model.metadata
    stops = {int(md[k]) for k in ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id")
             if k in md}
    prompt, engine = ids(args.prompt_ids), ids(args.engine_ids)
    tol = tolerance(args.model)

    # The reference's own greedy continuation (for the log).
    ref: list[int] = []
    while len(ref) < args.max_tokens:
        ref.append(int(np.argmax(forward_reference.forward(model, prompt + ref)[-1])))
        if ref[-1] in stops:
            break
    print(f"reference greedy: {' '.join(map(str, ref))}")
    print(f"engine:           {' '.join(map(str, engine))}")

    ok = True
    for i, tok in enumerate(engine):
        row = forward_reference.forward(model, prompt + engine[:i])[-1]
        best = int(np.argmax(row))
        if tok != best:
            gap = float(row[best] - row[tok]) if 0 <= tok < len(row) else float("inf")
            verdict = "near-tie, accepted" if gap <= tol else "MISMATCH"
            print(f"step {i}: engine {tok}, reference argmax {best} (logit gap {gap:.4g}, "
                  f"tolerance {tol}): {verdict}")
            ok = ok and gap <= tol
        if tok in stops and i != len(engine) - 1:
            print(f"step {i}: end-of-generation token {tok} but the engine went on")
            ok = False
    ended = bool(engine) and engine[-1] in stops
    if len(engine) != args.max_tokens and not ended:
        print(f"engine produced {len(engine)} ids, neither max_tokens ({args.max_tokens}) nor "
              f"ending with an end-of-generation token {sorted(stops)}")
        ok = False
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
