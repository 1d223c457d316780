"""Reference row dequantisation for GGUF tensor types, in numpy.

Written independently of engine/gguf/dequantize.cc, from the published ggml block layouts, so
that golden files made here (make_dequant_golden.py) check the C++ side. Everything is computed
in float32 in ggml's order (d * scale, then * q, then - dmin * min), so results should match the
C++ loops bit for bit; tests still allow a 1e-6 relative tolerance for FMA contraction.

Block layouts (little-endian, `d`/`dmin` are IEEE half floats):
  F32 / F16 / BF16   plain element arrays (bf16 = top 16 bits of an f32)
  Q4_0  (32 elems, 18 B):  d | qs[16]        x[j] = (qs[j] & 15) - 8, x[j+16] = (qs[j] >> 4) - 8
  Q8_0  (32 elems, 34 B):  d | int8 qs[32]   x = qs * d
  Q4_K  (256 elems, 144 B): d | dmin | scales[12] | qs[128]
  Q5_K  (256 elems, 176 B): d | dmin | scales[12] | qh[32] | qs[128]
  Q6_K  (256 elems, 210 B): ql[128] | qh[64] | int8 scales[16] | d
"""
from __future__ import annotations

import numpy as np

# name -> (elements per block, bytes per block)
BLOCKS = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2), "Q4_0": (32, 18), "Q8_0": (32, 34),
    "Q4_K": (256, 144), "Q5_K": (256, 176), "Q6_K": (256, 210),
}


def _blocks(raw: bytes, type_name: str, n_elems: int) -> np.ndarray:
    """The raw bytes as a (n_blocks, block_bytes) uint8 matrix, checking the size."""
    per_block, block_bytes = BLOCKS[type_name]
    if n_elems % per_block:
        raise ValueError(f"{n_elems} elements is not a whole number of {type_name} blocks")
    n_blocks = n_elems // per_block
    buf = np.frombuffer(raw, dtype=np.uint8)
    if buf.size != n_blocks * block_bytes:
        raise ValueError(f"{type_name}: {n_elems} elements need {n_blocks * block_bytes} bytes, got {buf.size}")
    return buf.reshape(n_blocks, block_bytes)


def _half(col: np.ndarray) -> np.ndarray:
    """(n, 2) uint8 -> (n, 1) float32 from little-endian half floats."""
    return np.ascontiguousarray(col).view("<f2").astype(np.float32).reshape(-1, 1)


def _scale_min_k4(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12) packed bytes -> (n, 8) 6-bit scales and (n, 8) 6-bit mins, as float32.

    Sub-blocks 0..3 keep their low 6 bits in bytes 0..3 (scale) and 4..7 (min); sub-blocks 4..7
    take 4 bits from bytes 8..11 (low nibble: scale, high nibble: min) and their top 2 bits from
    the spare top bits of bytes 0..3 (scale) and 4..7 (min).
    """
    q = scales.astype(np.uint32)
    sc = np.empty((q.shape[0], 8), dtype=np.uint32)
    mn = np.empty((q.shape[0], 8), dtype=np.uint32)
    sc[:, :4] = q[:, 0:4] & 63
    mn[:, :4] = q[:, 4:8] & 63
    sc[:, 4:] = (q[:, 8:12] & 0xF) | ((q[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (q[:, 8:12] >> 4) | ((q[:, 4:8] >> 6) << 4)
    return sc.astype(np.float32), mn.astype(np.float32)


def _q4_0(b: np.ndarray) -> np.ndarray:
    d = _half(b[:, 0:2])
    qs = b[:, 2:18]
    q = np.concatenate([(qs & 0xF), (qs >> 4)], axis=1).astype(np.int32) - 8
    return q.astype(np.float32) * d


def _q8_0(b: np.ndarray) -> np.ndarray:
    d = _half(b[:, 0:2])
    return b[:, 2:34].view(np.int8).astype(np.float32) * d


def _k_quant_nibbles(qs: np.ndarray) -> np.ndarray:
    """(n, 128) bytes -> (n, 8, 32) 4-bit values in element order: 32 bytes serve sub-blocks
    2c (low nibbles) and 2c+1 (high nibbles)."""
    chunks = qs.reshape(-1, 4, 32)
    out = np.empty((qs.shape[0], 8, 32), dtype=np.uint32)
    out[:, 0::2, :] = chunks & 0xF
    out[:, 1::2, :] = chunks >> 4
    return out


def _q4_k(b: np.ndarray) -> np.ndarray:
    d, dmin = _half(b[:, 0:2]), _half(b[:, 2:4])
    sc, mn = _scale_min_k4(b[:, 4:16])
    q = _k_quant_nibbles(b[:, 16:144]).astype(np.float32)
    d_sub = (d * sc)[:, :, None]      # (n, 8, 1)
    m_sub = (dmin * mn)[:, :, None]
    return (d_sub * q - m_sub).reshape(-1, 256)


def _q5_k(b: np.ndarray) -> np.ndarray:
    d, dmin = _half(b[:, 0:2]), _half(b[:, 2:4])
    sc, mn = _scale_min_k4(b[:, 4:16])
    qh = b[:, 16:48].astype(np.uint32)            # (n, 32): bit s is the 5th bit of sub-block s
    low = _k_quant_nibbles(b[:, 48:176])          # (n, 8, 32)
    bits = np.stack([(qh >> s) & 1 for s in range(8)], axis=1)  # (n, 8, 32)
    q = (low + bits * 16).astype(np.float32)
    return ((d * sc)[:, :, None] * q - (dmin * mn)[:, :, None]).reshape(-1, 256)


def _q6_k(b: np.ndarray) -> np.ndarray:
    n = b.shape[0]
    ql = b[:, 0:128].astype(np.int32).reshape(n, 2, 64)   # per 128-element half
    qh = b[:, 128:192].astype(np.int32).reshape(n, 2, 32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32).reshape(n, 2, 8)
    d = _half(b[:, 208:210]).reshape(n, 1, 1)
    out = np.empty((n, 2, 4, 32), dtype=np.float32)       # (block, half, quarter k, l)
    for k in range(4):
        nib = ql[:, :, (k & 1) * 32:(k & 1) * 32 + 32]
        nib = (nib >> 4) if k >= 2 else (nib & 0xF)
        q = (nib | (((qh >> (2 * k)) & 3) << 4)) - 32      # (n, 2, 32) in [-32, 31]
        # elements l = 0..15 use scale 2k, l = 16..31 use scale 2k + 1
        scale = np.repeat(sc[:, :, 2 * k:2 * k + 2], 16, axis=2)  # (n, 2, 32)
        out[:, :, k, :] = (d * scale) * q.astype(np.float32)
    return out.reshape(n, 256)


def dequantize(raw: bytes, type_name: str, n_elems: int) -> np.ndarray:
    """Dequantises n_elems elements of `type_name` from raw block bytes into float32."""
    if type_name == "F32":
        return np.frombuffer(raw, dtype="<f4", count=n_elems).astype(np.float32)
    if type_name == "F16":
        return np.frombuffer(raw, dtype="<f2", count=n_elems).astype(np.float32)
    if type_name == "BF16":
        u = np.frombuffer(raw, dtype="<u2", count=n_elems).astype(np.uint32) << 16
        return u.view(np.float32)
    fn = {"Q4_0": _q4_0, "Q8_0": _q8_0, "Q4_K": _q4_k, "Q5_K": _q5_k, "Q6_K": _q6_k}[type_name]
    with np.errstate(over="ignore", invalid="ignore"):
        return fn(_blocks(raw, type_name, n_elems)).reshape(-1).astype(np.float32)
