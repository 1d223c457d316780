"""Numpy quantisers that produce exact ggml block bytes (F16, Q8_0, Q4_K), with a minimal dequant.

cachewire's reference tools use these to write quantised GGUFs (tiny test models, benchmark-size
models); the C++ engine's dequantisers are then checked against files it did not write. Written
from the published ggml block layouts, vectorised over blocks so that a 1B-parameter model
quantises in seconds. Run as a script for a self-check.

Block layouts (little-endian, blocks laid along each row, rows one after another):

  Q8_0  32 elements, 34 bytes:  f16 d | int8 qs[32]                    x = d * q
  Q4_K 256 elements, 144 bytes: f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
        8 sub-blocks of 32 with 6-bit scale sc[j] and 6-bit min m[j]:  x = d*sc[j]*q - dmin*m[j]
        scales[12] packing (ggml's get_scale_min_k4):
          j < 4 : sc[j] = scales[j] & 63          m[j] = scales[j+4] & 63
          j >= 4: sc[j] = (scales[j+4] & 15) | ((scales[j-4] >> 6) << 4)
                  m[j]  = (scales[j+4] >> 4)  | ((scales[j]   >> 6) << 4)
        qs: for each 64-element group g (sub-blocks 2g and 2g+1), byte qs[32g + l] holds
            element 64g + l in its low nibble and element 64g + 32 + l in its high nibble.
"""
from __future__ import annotations

import sys

import numpy as np

QK8_0 = 32
QK_K = 256

Q8_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "i1", (QK8_0,))])
Q4_K_BLOCK = np.dtype([("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", (12,)), ("qs", "u1", (QK_K // 2,))])
assert Q8_0_BLOCK.itemsize == 34 and Q4_K_BLOCK.itemsize == 144

# Elements per block and bytes per block, by ggml type name.
BLOCK_INFO = {"F32": (1, 4), "F16": (1, 2), "Q8_0": (QK8_0, 34), "Q4_K": (QK_K, 144)}


def row_bytes(type_name: str, n_cols: int) -> int:
    """Bytes of one row of `n_cols` elements in `type_name`."""
    block, nbytes = BLOCK_INFO[type_name]
    if n_cols % block:
        raise ValueError(f"{type_name} needs rows that are a multiple of {block}, got {n_cols}")
    return n_cols // block * nbytes


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C roundf: halves go away from zero (ggml's Q8_0 reference uses roundf)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


# ================================================================================================
# F16 / F32
# ================================================================================================

def quantize_f16(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, dtype=np.float32).astype("<f2").tobytes()


def quantize_f32(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, dtype="<f4").tobytes()


# ================================================================================================
# Q8_0
# ================================================================================================

def quantize_q8_0(x: np.ndarray) -> bytes:
    """x: (..., n) float with n % 32 == 0 -> Q8_0 bytes. d = amax/127 (f16), q = roundf(x/d)."""
    xb = np.asarray(x, dtype=np.float32).reshape(-1, QK8_0)            # (n_blocks, 32)
    amax = np.abs(xb).max(axis=1)                                         # (n_blocks,)
    d = amax / np.float32(127.0)
    with np.errstate(divide="ignore"):
        inv_d = np.where(d > 0, np.float32(1.0) / d, np.float32(0.0)).astype(np.float32)
    out = np.empty(xb.shape[0], dtype=Q8_0_BLOCK)
    out["d"] = d.astype(np.float16)
    out["qs"] = np.clip(_round_half_away(xb * inv_d[:, None]), -127, 127).astype(np.int8)
    return out.tobytes()


def dequantize_q8_0(data: bytes | memoryview, n: int) -> np.ndarray:
    """Q8_0 bytes of `n` elements -> float32 (n,)."""
    blocks = np.frombuffer(data, dtype=Q8_0_BLOCK, count=n // QK8_0)
    return (blocks["d"].astype(np.float32)[:, None] * blocks["qs"].astype(np.float32)).reshape(n)


# ================================================================================================
# Q4_K
# ================================================================================================

def _fit_scale_min(x: np.ndarray, n_max: int = 15, n_step: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric 4-bit fit per 32-element sub-block: x ~ scale*q - mn with q in [0, n_max].

    x: (m, 32). Returns scale (m,) >= 0 and mn (m,) >= 0 (the value stored as 'min').
    A small search over quantisation grids, each followed by a weighted least-squares refit of
    (scale, min) in the spirit of ggml's make_qkx2_quants; the min is kept <= 0 in x space.
    """
    w = np.sqrt(np.mean(x * x, axis=1, keepdims=True)) + np.abs(x)    # (m, 32) weights
    lo = np.minimum(x.min(axis=1), 0.0)                                 # (m,)
    hi = x.max(axis=1)
    rng_ = hi - lo
    flat = rng_ <= 0
    rng_ = np.where(flat, 1.0, rng_)

    best_scale = rng_ / n_max
    best_min = -lo                                                      # stored as positive
    q0 = np.clip(np.rint((x - lo[:, None]) / best_scale[:, None]), 0, n_max)
    best_err = np.sum(w * (best_scale[:, None] * q0 + lo[:, None] - x) ** 2, axis=1)

    sw = w.sum(axis=1)
    swx = (w * x).sum(axis=1)
    for step in range(n_step + 1):
        iscale = (n_max - 1.0 + 0.1 * step) / rng_                      # grid candidates
        q = np.clip(np.rint(iscale[:, None] * (x - lo[:, None])), 0, n_max)
        swl = (w * q).sum(axis=1)
        swl2 = (w * q * q).sum(axis=1)
        swxl = (w * x * q).sum(axis=1)
        det = sw * swl2 - swl * swl
        ok = det > 0
        det = np.where(ok, det, 1.0)
        scale = (sw * swxl - swx * swl) / det
        mn = (swl2 * swx - swl * swxl) / det                           # x ~ scale*q + mn
        pos = mn > 0                                                    # min must stay <= 0
        scale = np.where(pos, np.where(swl2 > 0, swxl / np.where(swl2 > 0, swl2, 1.0), 0.0), scale)
        mn = np.where(pos, 0.0, mn)
        err = np.sum(w * (scale[:, None] * q + mn[:, None] - x) ** 2, axis=1)
        better = ok & (scale > 0) & (err < best_err)
        best_err = np.where(better, err, best_err)
        best_scale = np.where(better, scale, best_scale)
        best_min = np.where(better, -mn, best_min)

    best_scale = np.where(flat, 0.0, best_scale)
    best_min = np.where(flat, -lo, best_min)
    return best_scale.astype(np.float32), best_min.astype(np.float32)


def _pack_scales_k4(sc: np.ndarray, mn: np.ndarray) -> np.ndarray:
    """sc, mn: (nb, 8) ints in [0, 63] -> (nb, 12) u8 in ggml's Q4_K/Q5_K scale layout."""
    sc = sc.astype(np.uint8)
    mn = mn.astype(np.uint8)
    out = np.empty((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    out[:, 4:8] = mn[:, 0:4] | ((mn[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:8] & 15) | ((mn[:, 4:8] & 15) << 4)
    return out


def _unpack_scales_k4(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nb, 12) u8 -> sc (nb, 8), mn (nb, 8) as int32, following get_scale_min_k4."""
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), dtype=np.int32)
    mn = np.empty((s.shape[0], 8), dtype=np.int32)
    sc[:, 0:4] = s[:, 0:4] & 63
    mn[:, 0:4] = s[:, 4:8] & 63
    sc[:, 4:8] = (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:8] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def quantize_q4_k(x: np.ndarray, chunk_blocks: int = 4096) -> bytes:
    """x: (..., n) float with n % 256 == 0 -> Q4_K bytes (chunked to bound memory)."""
    xs = np.asarray(x, dtype=np.float32).reshape(-1, QK_K)
    parts = [_quantize_q4_k_blocks(xs[i:i + chunk_blocks]) for i in range(0, xs.shape[0], chunk_blocks)]
    return b"".join(parts)


def _quantize_q4_k_blocks(xb: np.ndarray) -> bytes:
    nb = xb.shape[0]
    sub = xb.reshape(nb, 8, 32)                                         # (nb, 8, 32)
    scale, mn = _fit_scale_min(sub.reshape(nb * 8, 32))
    scale = scale.reshape(nb, 8)
    mn = mn.reshape(nb, 8)

    # Superblock: 6-bit quantisation of the 8 scales and 8 mins against f16 d and dmin.
    max_scale = scale.max(axis=1)                                       # (nb,)
    max_min = mn.max(axis=1)
    inv_s = np.where(max_scale > 0, 63.0 / np.where(max_scale > 0, max_scale, 1.0), 0.0)
    inv_m = np.where(max_min > 0, 63.0 / np.where(max_min > 0, max_min, 1.0), 0.0)
    ls = np.clip(np.rint(inv_s[:, None] * scale), 0, 63).astype(np.int32)
    lm = np.clip(np.rint(inv_m[:, None] * mn), 0, 63).astype(np.int32)
    d16 = (max_scale / 63.0).astype(np.float16)
    dmin16 = (max_min / 63.0).astype(np.float16)

    # Requantise the elements with the scales exactly as they will be decoded.
    eff_d = d16.astype(np.float32)[:, None] * ls                        # (nb, 8)
    eff_m = dmin16.astype(np.float32)[:, None] * lm
    safe = np.where(eff_d > 0, eff_d, 1.0)
    q = np.rint((sub + eff_m[:, :, None]) / safe[:, :, None])
    q = np.where(eff_d[:, :, None] > 0, np.clip(q, 0, 15), 0).astype(np.uint8)  # (nb, 8, 32)

    out = np.empty(nb, dtype=Q4_K_BLOCK)
    out["d"] = d16
    out["dmin"] = dmin16
    out["scales"] = _pack_scales_k4(ls, lm)
    qg = q.reshape(nb, 4, 2, 32)                                        # (nb, group, lo/hi, 32)
    out["qs"] = (qg[:, :, 0, :] | (qg[:, :, 1, :] << 4)).reshape(nb, 128)
    return out.tobytes()


def dequantize_q4_k(data: bytes | memoryview, n: int) -> np.ndarray:
    """Q4_K bytes of `n` elements -> float32 (n,)."""
    nb = n // QK_K
    blocks = np.frombuffer(data, dtype=Q4_K_BLOCK, count=nb)
    d = blocks["d"].astype(np.float32)[:, None]                         # (nb, 1)
    dmin = blocks["dmin"].astype(np.float32)[:, None]
    sc, mn = _unpack_scales_k4(blocks["scales"])                        # (nb, 8)
    qs = blocks["qs"].reshape(nb, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(nb, 8, 32).astype(np.float32)
    y = (d * sc)[:, :, None] * q - (dmin * mn)[:, :, None]
    return y.reshape(n).astype(np.float32)


# ================================================================================================
# Dispatch
# ================================================================================================

QUANTIZERS = {"F32": quantize_f32, "F16": quantize_f16, "Q8_0": quantize_q8_0, "Q4_K": quantize_q4_k}


def quantize(x: np.ndarray, type_name: str) -> bytes:
    """x: numpy (rows, cols) row-major (ggml shape (cols, rows)) -> the tensor's data bytes."""
    x = np.asarray(x)
    row_bytes(type_name, x.shape[-1])  # validates the row length
    return QUANTIZERS[type_name](x)


def dequantize(data: bytes | memoryview, type_name: str, n: int) -> np.ndarray:
    """Data bytes of `n` elements -> float32 (n,). Only the types this module writes."""
    if type_name == "F32":
        return np.frombuffer(data, dtype="<f4", count=n).astype(np.float32)
    if type_name == "F16":
        return np.frombuffer(data, dtype="<f2", count=n).astype(np.float32)
    if type_name == "Q8_0":
        return dequantize_q8_0(data, n)
    if type_name == "Q4_K":
        return dequantize_q4_k(data, n)
    raise ValueError(f"no dequantiser for {type_name}")


# ================================================================================================
# Self-check
# ================================================================================================

def _self_check() -> int:
    rng = np.random.default_rng(0)
    failures = 0

    def report(name: str, ok: bool, detail: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")

    x = rng.standard_normal((64, 512)).astype(np.float32)
    x[3, :32] = 0.0                                  # an all-zero block
    x[5, 256:512] = 1.5                              # a constant superblock
    x[7, :] *= 1e-3                                  # a tiny-valued row

    # Q8_0: error at most half a step (d/2) per element, plus the f16 rounding of d.
    b = quantize(x, "Q8_0")
    report("Q8_0 size", len(b) == x.size // 32 * 34, f"{len(b)} bytes")
    y = dequantize(b, "Q8_0", x.size).reshape(x.shape)
    d = np.abs(x.reshape(-1, 32)).max(axis=1) / 127
    err = np.abs(y - x).reshape(-1, 32).max(axis=1)
    bound = d * 0.5 + np.abs(x.reshape(-1, 32)).max(axis=1) * 2e-3 + 1e-12
    report("Q8_0 error", bool(np.all(err <= bound)), f"max err/step {np.max(err / np.maximum(d, 1e-30)):.3f}")
    report("Q8_0 zero block", bool(np.all(y[3, :32] == 0)), "exact zeros")

    # Q4_K: relative RMS error on gaussian data is about 0.08-0.1 (4 bits with asymmetric range).
    b = quantize(x, "Q4_K")
    report("Q4_K size", len(b) == x.size // 256 * 144, f"{len(b)} bytes")
    y = dequantize(b, "Q4_K", x.size).reshape(x.shape)
    rel = np.sqrt(np.mean((y - x) ** 2) / np.mean(x ** 2))
    report("Q4_K rms error", rel < 0.12, f"relative rms {rel:.4f}")
    sub = x.reshape(-1, 32)
    span = sub.max(axis=1) - np.minimum(sub.min(axis=1), 0)
    werr = np.abs(y - x).reshape(-1, 32).max(axis=1)
    report("Q4_K max error", bool(np.all(werr <= span / 15 * 1.5 + 1e-6)),
           f"max err/span {np.max(werr / np.maximum(span, 1e-30)):.4f}")
    report("Q4_K constant block", bool(np.allclose(y[5, 256:], 1.5, rtol=2e-2)), f"{y[5, 256]:.4f}")
    report("Q4_K tiny row", bool(np.sqrt(np.mean((y[7] - x[7]) ** 2) / np.mean(x[7] ** 2)) < 0.15), "relative")

    # Scale packing round trip over every 6-bit value in every slot.
    sc = rng.integers(0, 64, size=(1000, 8))
    mn = rng.integers(0, 64, size=(1000, 8))
    sc2, mn2 = _unpack_scales_k4(_pack_scales_k4(sc, mn))
    report("Q4_K scale packing", bool(np.array_equal(sc, sc2) and np.array_equal(mn, mn2)), "round trip")

    # A hand-built Q4_K block decodes as the layout says (nibble order and scale slots).
    blk = np.zeros(1, dtype=Q4_K_BLOCK)
    blk["d"], blk["dmin"] = 1.0, 0.5
    ls = np.arange(1, 9)[None, :]                 # sub-block j has scale j+1
    lm = np.arange(8)[None, :] * 2                # and min 2j
    blk["scales"] = _pack_scales_k4(ls, lm)
    blk["qs"][0, 0] = 0x3A                        # element 0 -> 10 (sub-block 0), element 32 -> 3 (sub-block 1)
    blk["qs"][0, 96 + 31] = 0xF0                  # element 255 -> 15 (sub-block 7), element 223 -> 0 (sub-block 6)
    y = dequantize(blk.tobytes(), "Q4_K", 256)
    want = {0: 1 * 10 - 0.0, 32: 2 * 3 - 0.5 * 2, 255: 8 * 15 - 0.5 * 14, 223: 0 - 0.5 * 12, 1: 0.0}
    got = {i: float(y[i]) for i in want}
    report("Q4_K hand block", all(abs(got[i] - want[i]) < 1e-6 for i in want), f"{got}")

    # F16 is exact to f16 precision.
    y = dequantize(quantize(x, "F16"), "F16", x.size).reshape(x.shape)
    report("F16", bool(np.allclose(y, x, rtol=1e-3, atol=1e-7)), "round trip")

    print("all ok" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(_self_check())
