"""Regenerates tests/engine/model/golden/: the tiny GGUF models (make_tiny_models.py) and, for each,
golden logits from forward_reference.py over fixed seeded token sequences, plus manifest.json.
The C++ engine's model tests load each GGUF, run the same sequences as full prefills from
position 0, and compare their logits with these.

    /usr/bin/python3 tools/reference/make_golden_logits.py [--out-dir tests/engine/model/golden]

Files per model <name>: <name>.gguf and <name>.logits.f32 (little-endian float32, the rows of all
its sequences concatenated: shape (sum of sequence lengths, n_vocab), row-major). The format is
described in the directory's README.md; manifest.json says where each sequence's rows start.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import zlib

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import forward_reference as fr  # noqa: E402
import make_tiny_models as mtm  # noqa: E402

SEQUENCE_LENGTHS = (1, 7, 33)   # 33 > the gemma3 sliding window (8), so local layers mask
COMMAND = "/usr/bin/python3 tools/reference/make_golden_logits.py"

# Measured with forward_reference (see README.md): float32 math on the dequantised weights differs
# from these float64 logits by < 1e-5; rounding matmul inputs as llama.cpp's CPU kernels do (f16
# for F16 weights, 8-bit blocks for Q8_0/Q4_K) moves logits by up to ~0.01 (F16) / ~0.2 (Q8_0, Q4_K).
TOLERANCE = {
    "float_activations": {"max_abs": 1e-3, "note": "engine multiplies float32 activations by dequantised weights"},
    "quantized_activations": {"max_abs": {"F32": 1e-3, "F16": 0.05, "Q8_0": 0.5, "Q4_K": 0.5},
                              "min_row_cosine": 0.999,
                              "note": "engine rounds matmul inputs to f16 / 8-bit blocks (llama.cpp CPU style); "
                                      "key by the model's weight_type"},
}


def sequences_for(spec: mtm.ModelSpec) -> list[list[int]]:
    """Fixed token sequences for one model, seeded by its name."""
    rng = np.random.default_rng([20240601, zlib.crc32(spec.name.encode())])
    return [rng.integers(0, spec.n_vocab, size=n).tolist() for n in SEQUENCE_LENGTHS]


def golden_for(spec: mtm.ModelSpec, gguf_path: str) -> tuple[np.ndarray, dict]:
    """Logits (rows, n_vocab) float32 and the manifest entry for one model file."""
    model = fr.Model(gguf_path)
    seqs = sequences_for(spec)
    rows, entries, offset = [], [], 0
    for tokens in seqs:
        logits = fr.forward(model, tokens)                                    # (len, n_vocab) float64
        rows.append(logits)
        entries.append({
            "tokens": tokens,
            "row_offset": offset,
            "n_rows": len(tokens),
            "argmax": [int(a) for a in logits.argmax(axis=1)],
        })
        offset += len(tokens)
    all_rows = np.concatenate(rows).astype("<f4")
    with open(gguf_path, "rb") as f:
        data = f.read()
    hp = model.hp
    entry = {
        "name": spec.name,
        "arch": spec.arch,
        "model_file": spec.file_name,
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "logits_file": f"{spec.name}.logits.f32",
        "logits_dtype": "float32-le",
        "logits_shape": [int(all_rows.shape[0]), int(all_rows.shape[1])],
        "n_vocab": hp.n_vocab,
        "n_embd": hp.n_embd,
        "n_layer": hp.n_layer,
        "n_head": hp.n_head,
        "n_head_kv": hp.n_head_kv,
        "head_dim": hp.head_dim,
        "n_ff": hp.n_ff,
        "weight_type": spec.wtype,
        "tensor_types": sorted({t.type_name for t in fr.gguf_io.GGUFReader(data).tensors.values()}),
        "tied_output": spec.tied,
        "sequences": entries,
    }
    if spec.arch == "gemma3":
        entry["sliding_window"] = hp.sliding_window
        entry["global_layers"] = [il for il in range(hp.n_layer) if fr.gemma3_is_global(il)]
    if spec.rope_llama3:
        entry["llama3_rope_scaling"] = spec.rope_llama3
    if spec.rope_linear_factor:
        entry["rope_linear_factor_global_layers"] = spec.rope_linear_factor
    return all_rows, entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=mtm.DEFAULT_OUT_DIR)
    args = ap.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)

    manifest = {
        "format": 1,
        "generated_by": COMMAND,
        "reference": "tools/reference/forward_reference.py (numpy float64, dequantised weights, full causal "
                     "prefill at positions 0..N-1; logits rounded to float32 when written)",
        "tolerance": TOLERANCE,
        "models": [],
    }
    for spec in mtm.TINY_MODELS:
        gguf_path = os.path.join(args.out_dir, spec.file_name)
        mtm.write_model(spec, gguf_path)
        rows, entry = golden_for(spec, gguf_path)
        with open(os.path.join(args.out_dir, entry["logits_file"]), "wb") as f:
            f.write(rows.tobytes())
        manifest["models"].append(entry)
        print(f"{spec.name}: {os.path.getsize(gguf_path)} B model, logits {tuple(rows.shape)}")
    text = json.dumps(manifest, indent=1)
    text = re.sub(r"\[[\d,\s-]*\]", lambda mt: "[" + ", ".join(mt.group(0)[1:-1].split()).replace(",,", ",") + "]", text)
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
