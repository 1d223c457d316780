"""Writes random-weight GGUFs of the `llama` and `gemma3` architectures, metadata named as llama.cpp
names it, so the C++ engine's loader and forward pass can be checked against forward_reference.py.

Two modes:
  tiny (default)  a fixed, seeded set of small models (each < 2 MB) covering head layouts
                  (MHA, GQA 4:1 and 2:1, head_dim 16/32/64) and weight types (F32, F16, Q8_0,
                  Q4_K, mixed), committed under tests/engine/model/golden/.
  --shapes        one model with the exact shapes of Llama-3.2-1B or Gemma-3-1B (F16 or Q8_0) for
                  benchmarks; streamed tensor by tensor, generated, never committed.

    /usr/bin/python3 tools/reference/make_tiny_models.py [--out-dir tests/engine/model/golden]
    /usr/bin/python3 tools/reference/make_tiny_models.py --shapes llama-3.2-1b --type q8_0 --out /tmp/l1b.gguf

Conventions (what an engine must do with these files; forward_reference.py implements them):
  * Weights: a matmul weight W (out, in) is stored with ggml shape (in, out), i.e. numpy row-major
    (out, in); y = W @ x.
  * RoPE: `llama` uses ggml's NORM rope, rotating adjacent pairs (x[2i], x[2i+1]); `gemma3` uses
    NEOX rope, rotating (x[i], x[i + n_rot/2]). Angle pos * base^(-2i/n_rot) / freq_factor[i].
    (llama.cpp's converter permutes HF Llama's Q/K rows so NORM rope on GGUF weights equals HF's
    rotate-half on HF weights; these weights are random, so no permutation is involved.)
  * Llama 3 rope scaling is stored as llama.cpp's converter stores it: a tensor
    `rope_freqs.weight` (F32, n_rot/2 factors that divide each frequency), and no
    `llama.rope.scaling.*` keys (llama.cpp aborts on an unknown `rope.scaling.type` such as "llama3").
  * GQA: query head h reads kv head h // (n_head / n_head_kv) (ggml's broadcast, HF's repeat_kv).
  * Gemma 3 norms: the GGUF norm weights already hold HF's (1 + w) (llama.cpp's converter adds 1),
    so every RMSNorm here is x / rms(x) * w. Layer il is global iff il % 6 == 5; local layers use
    rope base 10000 (not in the metadata, as in llama.cpp) and a sliding window: query i sees key j
    iff 0 <= i - j < sliding_window. Global layers use gemma3.rope.freq_base and optional
    gemma3.rope.scaling.type "linear" (position / factor); local layers are never scaled.
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import struct
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gguf"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gguf_io  # noqa: E402
from gguf_io import ARRAY, FLOAT32, INT32, STRING, UINT32, Typed  # noqa: E402

import quantize_reference as qr  # noqa: E402

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "tests", "engine", "model", "golden")

# llama_ftype values for general.file_type.
FILE_TYPE = {"F32": 0, "F16": 1, "Q8_0": 7, "Q4_K": 15}
# GGUF token types (llama.cpp's llama_token_type).
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6


# ================================================================================================
# Model specification
# ================================================================================================

@dataclass
class ModelSpec:
    """Everything that defines one generated model; weights depend on (seed, tensor name) only."""
    name: str
    arch: str                       # "llama" | "gemma3"
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_vocab: int
    n_ctx: int = 2048
    wtype: str = "F32"              # 2-D matmul weights
    embd_type: str = "F32"          # token_embd.weight
    output_type: str | None = None  # output.weight when untied (None: wtype)
    overrides: dict[str, str] = field(default_factory=dict)  # tensor-name suffix -> type
    tied: bool = False
    rope_base: float = 10000.0
    rope_llama3: dict[str, float] | None = None  # factor, low_freq_factor, high_freq_factor, original_context_length
    rope_linear_factor: float | None = None      # gemma3 global layers
    sliding_window: int = 0
    eps: float = 1e-5
    seed: int = 0
    weight_std: float | None = None  # None: 1/sqrt(fan_in) (tiny); else fixed (benchmarks)

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"


# The committed tiny set. Changing anything here changes the golden files: regenerate both.
TINY_MODELS: list[ModelSpec] = [
    ModelSpec("tiny-llama-mha-f32", "llama", n_embd=64, n_layer=2, n_head=4, n_head_kv=4, head_dim=16,
              n_ff=128, n_vocab=320, wtype="F32", embd_type="F32", tied=False, rope_base=10000.0, seed=11),
    ModelSpec("tiny-llama-gqa4-f16-rope3", "llama", n_embd=128, n_layer=2, n_head=8, n_head_kv=2, head_dim=16,
              n_ff=192, n_vocab=320, wtype="F16", embd_type="F16", tied=True, rope_base=500000.0,
              rope_llama3=dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_context_length=32),
              seed=12),
    ModelSpec("tiny-llama-gqa2-q8_0", "llama", n_embd=128, n_layer=2, n_head=4, n_head_kv=2, head_dim=32,
              n_ff=256, n_vocab=320, wtype="Q8_0", embd_type="Q8_0", output_type="Q8_0", tied=False,
              rope_base=10000.0, seed=13),
    ModelSpec("tiny-llama-gqa4-q4_k-mixed", "llama", n_embd=256, n_layer=2, n_head=4, n_head_kv=1, head_dim=64,
              n_ff=512, n_vocab=320, wtype="Q4_K", embd_type="Q4_K", output_type="F16", tied=False,
              overrides={"attn_v.weight": "Q8_0", "ffn_down.weight": "Q8_0"}, rope_base=10000.0, seed=14),
    ModelSpec("tiny-gemma3-gqa4-f16", "gemma3", n_embd=64, n_layer=6, n_head=4, n_head_kv=1, head_dim=32,
              n_ff=128, n_vocab=512, wtype="F16", embd_type="F16", tied=True, rope_base=1000000.0,
              sliding_window=8, eps=1e-6, seed=21),
    ModelSpec("tiny-gemma3-gqa2-q8_0-ropelin", "gemma3", n_embd=128, n_layer=7, n_head=4, n_head_kv=2, head_dim=32,
              n_ff=128, n_vocab=512, wtype="Q8_0", embd_type="Q8_0", tied=True, rope_base=1000000.0,
              rope_linear_factor=8.0, sliding_window=8, eps=1e-6, seed=22),
]
TINY_BY_NAME = {s.name: s for s in TINY_MODELS}

SHAPES = {
    "llama-3.2-1b": ModelSpec("llama-3.2-1b-shapes", "llama", n_embd=2048, n_layer=16, n_head=32, n_head_kv=8,
                              head_dim=64, n_ff=8192, n_vocab=128256, n_ctx=131072, tied=True, rope_base=500000.0,
                              rope_llama3=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                               original_context_length=8192),
                              eps=1e-5, seed=1, weight_std=0.02),
    "gemma-3-1b": ModelSpec("gemma-3-1b-shapes", "gemma3", n_embd=1152, n_layer=26, n_head=4, n_head_kv=1,
                            head_dim=256, n_ff=6912, n_vocab=262144, n_ctx=32768, tied=True, rope_base=1000000.0,
                            sliding_window=512, eps=1e-6, seed=2, weight_std=0.02),
}


# ================================================================================================
# Tokenizer metadata (minimal but valid vocabularies of exactly n_vocab entries)
# ================================================================================================

def gpt2_byte_chars() -> list[str]:
    """GPT-2's byte -> printable unicode map, in the order byte-level vocabularies list them."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def llama_bpe_vocab(n_vocab: int) -> dict[str, Any]:
    """Byte-level BPE (`gpt2` kind, Llama 3 style): 256 byte tokens, merges, trailing specials."""
    n_special = 3 if n_vocab < 1024 else 256
    chars = gpt2_byte_chars()
    order = sorted(chars, key=lambda c: ("Ġetaoinshrdlcumwfgypbvkjxqz".find(c) % 1000
                                         if c in "Ġetaoinshrdlcumwfgypbvkjxqz" else 1000 + chars.index(c)))
    n_merges = n_vocab - 256 - n_special
    tokens = list(chars)
    merges: list[str] = []

    def pairs() -> Iterator[tuple[str, str]]:
        level1 = ((a, b) for a in order for b in order)
        firsts = []
        for a, b in level1:
            firsts.append(a + b)
            yield a, b
        for t in firsts:
            for c in order:
                yield t, c

    for a, b in itertools.islice(pairs(), n_merges):
        merges.append(f"{a} {b}")
        tokens.append(a + b)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    specials += [f"<|reserved_special_token_{i}|>" for i in range(n_special - len(specials))]
    types = [TOKEN_NORMAL] * len(tokens) + [TOKEN_CONTROL] * len(specials)
    tokens += specials
    assert len(tokens) == n_vocab and len(set(tokens)) == n_vocab
    bos = n_vocab - n_special
    return {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "llama-bpe",
        "tokenizer.ggml.tokens": Typed(ARRAY, tokens, STRING),
        "tokenizer.ggml.token_type": Typed(ARRAY, types, INT32),
        "tokenizer.ggml.merges": Typed(ARRAY, merges, STRING),
        "tokenizer.ggml.bos_token_id": Typed(UINT32, bos),
        "tokenizer.ggml.eos_token_id": Typed(UINT32, bos + 1),
        "tokenizer.ggml.add_bos_token": True,
    }


def gemma_spm_vocab(n_vocab: int) -> dict[str, Any]:
    """SentencePiece (`llama` kind, Gemma style): specials, <0xNN> byte pieces, scored pieces."""
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    special_types = [TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_UNKNOWN, TOKEN_USER_DEFINED, TOKEN_USER_DEFINED]
    tokens = specials + [f"<0x{b:02X}>" for b in range(256)]
    types = special_types + [TOKEN_BYTE] * 256
    alphabet = "▁etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ0123456789.,'-"
    n_pieces = n_vocab - len(tokens)

    def pieces() -> Iterator[str]:
        for length in itertools.count(1):
            for combo in itertools.product(alphabet, repeat=length):
                yield "".join(combo)

    tokens += list(itertools.islice(pieces(), n_pieces))
    types += [TOKEN_NORMAL] * n_pieces
    scores = [0.0] * (n_vocab - n_pieces) + [-float(i) for i in range(n_pieces)]
    assert len(tokens) == n_vocab and len(set(tokens)) == n_vocab
    return {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.pre": "default",
        "tokenizer.ggml.tokens": Typed(ARRAY, tokens, STRING),
        "tokenizer.ggml.scores": Typed(ARRAY, scores, FLOAT32),
        "tokenizer.ggml.token_type": Typed(ARRAY, types, INT32),
        "tokenizer.ggml.bos_token_id": Typed(UINT32, 2),
        "tokenizer.ggml.eos_token_id": Typed(UINT32, 1),
        "tokenizer.ggml.unknown_token_id": Typed(UINT32, 3),
        "tokenizer.ggml.padding_token_id": Typed(UINT32, 0),
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_eos_token": False,
    }


# ================================================================================================
# Metadata
# ================================================================================================

def llama3_rope_factors(head_dim: int, base: float, factor: float, low_freq_factor: float,
                        high_freq_factor: float, original_context_length: float) -> np.ndarray:
    """(head_dim/2,) float32 divisors of each rope frequency, as llama.cpp's converter computes them."""
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    low_wavelen = original_context_length / low_freq_factor
    high_wavelen = original_context_length / high_freq_factor
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (original_context_length / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.asarray(out, dtype=np.float32)


def model_metadata(spec: ModelSpec) -> dict[str, Any]:
    a = spec.arch
    f32 = lambda v: Typed(FLOAT32, float(v))  # noqa: E731
    u32 = lambda v: Typed(UINT32, int(v))     # noqa: E731
    md: dict[str, Any] = {
        "general.architecture": a,
        "general.name": spec.name,
        "general.file_type": u32(FILE_TYPE[spec.wtype]),
    }
    if spec.wtype not in ("F32", "F16"):
        md["general.quantization_version"] = u32(2)
    md.update({
        f"{a}.context_length": u32(spec.n_ctx),
        f"{a}.embedding_length": u32(spec.n_embd),
        f"{a}.block_count": u32(spec.n_layer),
        f"{a}.feed_forward_length": u32(spec.n_ff),
        f"{a}.attention.head_count": u32(spec.n_head),
        f"{a}.attention.head_count_kv": u32(spec.n_head_kv),
        f"{a}.rope.freq_base": f32(spec.rope_base),
        f"{a}.attention.layer_norm_rms_epsilon": f32(spec.eps),
        f"{a}.attention.key_length": u32(spec.head_dim),
        f"{a}.attention.value_length": u32(spec.head_dim),
    })
    if a == "llama":
        md["llama.rope.dimension_count"] = u32(spec.head_dim)
        md["llama.vocab_size"] = u32(spec.n_vocab)
        md.update(llama_bpe_vocab(spec.n_vocab))
    elif a == "gemma3":
        md["gemma3.attention.sliding_window"] = u32(spec.sliding_window)
        if spec.rope_linear_factor:
            md["gemma3.rope.scaling.type"] = "linear"
            md["gemma3.rope.scaling.factor"] = f32(spec.rope_linear_factor)
        md.update(gemma_spm_vocab(spec.n_vocab))
    else:
        raise ValueError(a)
    return md


# ================================================================================================
# Tensor plan: (name, numpy shape, type, producer of float32 row chunks)
# ================================================================================================

@dataclass
class TensorPlan:
    name: str
    np_shape: tuple[int, ...]      # numpy order (rows, cols); ggml shape is the reverse
    type_name: str
    make: Callable[[], Iterator[np.ndarray]]  # yields float32 chunks of whole rows, in order

    @property
    def ggml_shape(self) -> tuple[int, ...]:
        return tuple(reversed(self.np_shape))

    @property
    def nbytes(self) -> int:
        rows = int(np.prod(self.np_shape[:-1])) if len(self.np_shape) > 1 else 1
        return rows * qr.row_bytes(self.type_name, self.np_shape[-1])


def _tensor_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _gaussian(spec: ModelSpec, name: str, shape: tuple[int, ...], std: float, mean: float = 0.0,
              rows_per_chunk: int = 8192) -> Callable[[], Iterator[np.ndarray]]:
    def make() -> Iterator[np.ndarray]:
        rng = _tensor_rng(spec.seed, name)
        rows = shape[0] if len(shape) > 1 else 1
        cols = shape[-1]
        for r0 in range(0, rows, rows_per_chunk):
            n = min(rows_per_chunk, rows - r0)
            x = rng.standard_normal((n, cols), dtype=np.float32)
            x *= np.float32(std)
            if mean:
                x += np.float32(mean)
            yield x if len(shape) > 1 else x.reshape(cols)
    return make


def _const(values: np.ndarray) -> Callable[[], Iterator[np.ndarray]]:
    return lambda: iter([values.astype(np.float32)])


def tensor_plan(spec: ModelSpec, wtype: str | None = None) -> list[TensorPlan]:
    """The model's tensors in file order. `wtype` overrides every non-F32 type (for F32 originals)."""
    E, F, V = spec.n_embd, spec.n_ff, spec.n_vocab
    q_out, kv_out = spec.n_head * spec.head_dim, spec.n_head_kv * spec.head_dim
    plans: list[TensorPlan] = []

    def type_for(name: str, default: str) -> str:
        if wtype is not None:
            return wtype
        for suffix, t in spec.overrides.items():
            if name.endswith(suffix):
                return t
        return default

    def matmul(name: str, out: int, inp: int, default: str | None = None) -> None:
        std = spec.weight_std or 1.0 / math.sqrt(inp)
        plans.append(TensorPlan(name, (out, inp), type_for(name, default or spec.wtype),
                                _gaussian(spec, name, (out, inp), std)))

    def norm(name: str, n: int) -> None:
        std = 0.0 if spec.weight_std else 0.1
        plans.append(TensorPlan(name, (n,), "F32", _gaussian(spec, name, (n,), std, mean=1.0)))

    embd_std = spec.weight_std or 2.0 / math.sqrt(E)  # logits O(1) when tied; layers dominate the residual
    plans.append(TensorPlan("token_embd.weight", (V, E), type_for("token_embd.weight", spec.embd_type),
                            _gaussian(spec, "token_embd.weight", (V, E), embd_std)))
    if spec.arch == "llama" and spec.rope_llama3:
        factors = llama3_rope_factors(spec.head_dim, spec.rope_base, **spec.rope_llama3)
        plans.append(TensorPlan("rope_freqs.weight", (spec.head_dim // 2,), "F32", _const(factors)))
    for il in range(spec.n_layer):
        p = f"blk.{il}."
        norm(p + "attn_norm.weight", E)
        matmul(p + "attn_q.weight", q_out, E)
        matmul(p + "attn_k.weight", kv_out, E)
        matmul(p + "attn_v.weight", kv_out, E)
        if spec.arch == "gemma3":
            norm(p + "attn_q_norm.weight", spec.head_dim)
            norm(p + "attn_k_norm.weight", spec.head_dim)
        matmul(p + "attn_output.weight", E, q_out)
        if spec.arch == "gemma3":
            norm(p + "post_attention_norm.weight", E)
        norm(p + "ffn_norm.weight", E)
        matmul(p + "ffn_gate.weight", F, E)
        matmul(p + "ffn_up.weight", F, E)
        matmul(p + "ffn_down.weight", E, F)
        if spec.arch == "gemma3":
            norm(p + "post_ffw_norm.weight", E)
    norm("output_norm.weight", E)
    if not spec.tied:
        std = spec.weight_std or 2.0 / math.sqrt(E)
        plans.append(TensorPlan("output.weight", (V, E), type_for("output.weight", spec.output_type or spec.wtype),
                                _gaussian(spec, "output.weight", (V, E), std)))
    return plans


def float_weights(spec: ModelSpec) -> dict[str, np.ndarray]:
    """The unquantised float32 weights, numpy shapes (for tests)."""
    return {p.name: np.concatenate([c.reshape(-1) for c in p.make()]).reshape(p.np_shape) for p in tensor_plan(spec)}


# ================================================================================================
# Streaming GGUF writer (same layout as gguf_io.GGUFWriter, one tensor in memory at a time)
# ================================================================================================

def _header_bytes(metadata: dict[str, Any], plans: list[TensorPlan], alignment: int) -> tuple[bytes, list[int]]:
    head = [gguf_io.GGUF_MAGIC, struct.pack("<IQQ", 3, len(plans), len(metadata))]
    for key, value in metadata.items():
        tv = gguf_io._default_type(value)
        head.append(gguf_io._pack_string(key) + struct.pack("<I", tv.type) + gguf_io._pack_value(tv.type, tv.value, tv.elem_type))
    offsets, off = [], 0
    for p in plans:
        offsets.append(off)
        off = (off + p.nbytes + alignment - 1) // alignment * alignment
    for p, o in zip(plans, offsets):
        shape = p.ggml_shape
        head.append(gguf_io._pack_string(p.name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *shape))
        head.append(struct.pack("<IQ", gguf_io.TYPE_ID[p.type_name], o))
    out = b"".join(head)
    return out + b"\0" * ((-len(out)) % alignment), offsets


def write_gguf(path: str, metadata: dict[str, Any], plans: list[TensorPlan], alignment: int = 32,
               verbose: bool = False) -> int:
    """Writes the file; returns its size. Tensors are produced, quantised and written one by one."""
    header, offsets = _header_bytes(metadata, plans, alignment)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        base = len(header)
        for p, o in zip(plans, offsets):
            t0 = time.time()
            assert f.tell() == base + o
            written = 0
            for chunk in p.make():
                b = qr.quantize(chunk, p.type_name)
                f.write(b)
                written += len(b)
            assert written == p.nbytes, (p.name, written, p.nbytes)
            f.write(b"\0" * ((-written) % alignment))
            if verbose:
                print(f"  {p.name:32s} {p.type_name:5s} {str(p.ggml_shape):18s} {time.time() - t0:6.2f}s", flush=True)
        size = f.tell()
    os.replace(tmp, path)
    return size


def write_model(spec: ModelSpec, path: str, wtype: str | None = None, verbose: bool = False) -> int:
    md = model_metadata(spec)
    if wtype is not None:
        md["general.file_type"] = Typed(UINT32, FILE_TYPE[wtype])
        md.pop("general.quantization_version", None)
    return write_gguf(path, md, tensor_plan(spec, wtype), verbose=verbose)


def model_bytes(spec: ModelSpec, wtype: str | None = None) -> bytes:
    """The whole file in memory (tests)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, spec.file_name)
        write_model(spec, path, wtype)
        with open(path, "rb") as f:
            return f.read()


# ================================================================================================
# Command line
# ================================================================================================

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir_pos", nargs="?", help="output directory for the tiny set (same as --out-dir)")
    ap.add_argument("--out-dir", default=None, help=f"tiny set directory (default {os.path.relpath(DEFAULT_OUT_DIR, REPO_ROOT)})")
    ap.add_argument("--shapes", choices=sorted(SHAPES), help="write one benchmark-shaped model instead")
    ap.add_argument("--type", default="f16", choices=["f16", "q8_0", "q4_k", "f32"], help="matmul/embedding type for --shapes")
    ap.add_argument("--out", help="output file for --shapes")
    args = ap.parse_args(argv)

    if args.shapes:
        if not args.out:
            ap.error("--shapes needs --out FILE")
        base = SHAPES[args.shapes]
        t = args.type.upper()
        spec = ModelSpec(**{**base.__dict__, "wtype": t, "embd_type": t, "output_type": t,
                            "name": f"{base.name}-{args.type}"})
        t0 = time.time()
        size = write_model(spec, args.out, verbose=True)
        print(f"wrote {args.out}: {size / 2**30:.2f} GiB in {time.time() - t0:.1f}s")
        return 0

    out_dir = args.out_dir or args.out_dir_pos or DEFAULT_OUT_DIR
    os.makedirs(out_dir, exist_ok=True)
    for spec in TINY_MODELS:
        path = os.path.join(out_dir, spec.file_name)
        size = write_model(spec, path)
        print(f"wrote {os.path.relpath(path)} ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
