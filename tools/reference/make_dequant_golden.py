#!/usr/bin/env python3
"""Writes dequantisation golden files into tests/engine/gguf/golden/.

For every tensor type: seeded random block bytes (random bits everywhere, with the f16 scale
fields overwritten by sane finite values) -> <type>.bin, and the float32 values computed by
dequant_reference.py -> <type>.f32 (little-endian). manifest.txt lists "type n_elems" per line.
Run: /usr/bin/python3 tools/reference/make_dequant_golden.py
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from dequant_reference import BLOCKS, dequantize  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "engine" / "gguf" / "golden"

# Elements per type: a few KB of f32 each.
N_ELEMS = {"F32": 256, "F16": 512, "BF16": 512, "Q4_0": 1024, "Q8_0": 1024,
           "Q4_K": 1024, "Q5_K": 1024, "Q6_K": 1024}
# Byte offsets of the f16 scale fields within a block (overwritten with finite values).
SCALE_FIELDS = {"Q4_0": [0], "Q8_0": [0], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}

# f16 bit patterns worth pinning down: zeros, subnormals, normal limits, inf, a quiet NaN.
F16_SPECIALS = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00,
                0x3C00, 0xBC00, 0x3555, 0x0200, 0x8001, 0x7E00]
BF16_SPECIALS = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80,
                 0x3F80, 0xBF80, 0x3EAB, 0x7FC0]


def make_bytes(rng: np.random.Generator, type_name: str, n: int) -> bytes:
    if type_name == "F32":
        vals = rng.standard_normal(n).astype(np.float32) * np.float32(3)
        vals[:6] = [0.0, -0.0, np.inf, -np.inf, 1e-40, 3.4e38]  # incl. an f32 subnormal
        return vals.astype("<f4").tobytes()
    if type_name in ("F16", "BF16"):
        bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
        specials = F16_SPECIALS if type_name == "F16" else BF16_SPECIALS
        bits[:len(specials)] = specials
        # keep random patterns finite (exponent all-ones would be inf/NaN): clear its top bit
        exp_mask, top = (0x7C00, 0x4000) if type_name == "F16" else (0x7F80, 0x4000)
        rand = bits[len(specials):]
        rand[(rand & exp_mask) == exp_mask] &= np.uint16(0xFFFF ^ top)
        return bits.astype("<u2").tobytes()
    per_block, block_bytes = BLOCKS[type_name]
    n_blocks = n // per_block
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint16).astype(np.uint8)
    for off in SCALE_FIELDS[type_name]:
        scale = rng.uniform(0.001, 0.05, size=n_blocks) * rng.choice([-1.0, 1.0], size=n_blocks)
        raw[:, off:off + 2] = scale.astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    return raw.tobytes()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240607)
    manifest = []
    for type_name, n in N_ELEMS.items():
        raw = make_bytes(rng, type_name, n)
        values = dequantize(raw, type_name, n)
        stem = type_name.lower()
        (OUT / f"{stem}.bin").write_bytes(raw)
        (OUT / f"{stem}.f32").write_bytes(values.astype("<f4").tobytes())
        manifest.append(f"{type_name} {n}")
        print(f"{type_name}: {n} elements, {len(raw)} bytes, "
              f"range [{np.nanmin(values):.4g}, {np.nanmax(values):.4g}]")
    (OUT / "manifest.txt").write_text(
        "# type n_elems: <type>.bin holds the raw blocks, <type>.f32 the expected values.\n"
        "# Made by tools/reference/make_dequant_golden.py (tools/reference/dequant_reference.py).\n"
        + "\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
