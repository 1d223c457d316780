"""Independent numpy forward pass (float64) for GGUF `llama` and `gemma3` models: token ids in,
logits for every position out. It is the reference the C++ engine's forward pass is checked
against (tests/engine/model/golden/), so it favours plain, top-to-bottom code over speed.

Reads the GGUF itself through tools/gguf/gguf_io.py and dequantises every weight to float64 with
tools/reference/dequant_reference.py (falling back to quantize_reference.py's minimal dequant).
Runs one full causal prefill of positions 0..N-1 (no KV cache).

    /usr/bin/python3 tools/reference/forward_reference.py MODEL.gguf 1 2 3 4   # prints top-5 per position

Conventions (each one is what llama.cpp does for GGUF files of that architecture):
  llama   x -> RMSNorm -> Q,K,V; NORM rope (adjacent pairs x[2i], x[2i+1]) on Q,K with optional
          per-frequency divisors from `rope_freqs.weight` (Llama 3 scaling); attention scale
          1/sqrt(head_dim); GQA query head h uses kv head h // (n_head/n_head_kv); SwiGLU FFN
          down(silu(gate x) * up x); final RMSNorm; output.weight, or token_embd.weight if absent.
  gemma3  embeddings * sqrt(n_embd); per layer: RMSNorm -> Q,K,V; per-head RMSNorm of Q and K
          (attn_q_norm/attn_k_norm, over head_dim) before NEOX rope (pairs x[i], x[i+d/2]);
          Q scaled by 1/sqrt(key_length); layer il global iff il % 6 == 5 (rope base
          gemma3.rope.freq_base, optional linear scaling), else local (rope base 10000, no
          scaling, query i sees keys j with 0 <= i-j < sliding_window); attention output ->
          post_attention_norm -> residual; RMSNorm -> GeGLU down(gelu_tanh(gate x) * up x) ->
          post_ffw_norm -> residual; final RMSNorm; tied output (token_embd). Norm weights are
          used as stored (the converter already added Gemma's +1). No logit softcapping: Gemma 3
          has none (Gemma 2 had attention and final softcapping; Gemma 3 replaced them with QK-norm).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "gguf"))
sys.path.insert(0, _HERE)

import gguf_io  # noqa: E402

try:  # the independent dequantiser (all GGUF types the engine reads), written by another hand
    from dequant_reference import dequantize as _dequantize  # noqa: E402
except ImportError:  # fall back to the minimal F32/F16/Q8_0/Q4_K one beside the quantisers
    from quantize_reference import dequantize as _dequantize  # noqa: E402

GEMMA3_SWA_PATTERN = 6          # layer il is global iff il % 6 == 5
GEMMA3_LOCAL_ROPE_BASE = 10000.0


# ================================================================================================
# Weights: read and dequantise
# ================================================================================================

def dequantize_tensor(t: gguf_io.ReadTensor) -> np.ndarray:
    """A GGUF tensor -> float64 numpy array in numpy order (reversed ggml shape)."""
    n = int(np.prod(t.shape))
    flat = _dequantize(bytes(t.data), t.type_name, n)                         # (n,) float32
    return flat.astype(np.float64).reshape(tuple(reversed(t.shape)))


@dataclass
class HParams:
    arch: str
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int        # key_length (== value_length here)
    n_rot: int
    n_ff: int
    eps: float
    rope_base: float
    rope_linear_scale: float   # positions are multiplied by this (1/factor) on scaled layers
    sliding_window: int


class Model:
    """Hyperparameters from the metadata plus every tensor as float64 (numpy order)."""

    def __init__(self, path_or_bytes: str | bytes, act_quant: bool = False):
        if isinstance(path_or_bytes, str):
            with open(path_or_bytes, "rb") as f:
                path_or_bytes = f.read()
        r = gguf_io.GGUFReader(path_or_bytes)
        md = r.metadata
        a = md["general.architecture"]
        if a not in ("llama", "gemma3"):
            raise ValueError(f"unsupported architecture {a}")
        n_embd = int(md[f"{a}.embedding_length"])
        n_head = int(md[f"{a}.attention.head_count"])
        head_dim = int(md.get(f"{a}.attention.key_length", n_embd // n_head))
        v_len = int(md.get(f"{a}.attention.value_length", head_dim))
        if v_len != head_dim:
            raise ValueError("key_length != value_length is not supported")
        scaling = md.get(f"{a}.rope.scaling.type", "none")
        factor = float(md.get(f"{a}.rope.scaling.factor", 0.0) or 0.0)
        if scaling not in ("none", "linear"):
            raise ValueError(f"unsupported rope scaling {scaling}")
        self.hp = HParams(
            arch=a,
            n_vocab=r.tensors["token_embd.weight"].shape[1],
            n_embd=n_embd,
            n_layer=int(md[f"{a}.block_count"]),
            n_head=n_head,
            n_head_kv=int(md.get(f"{a}.attention.head_count_kv", n_head)),
            head_dim=head_dim,
            n_rot=int(md.get(f"{a}.rope.dimension_count", head_dim)),
            n_ff=int(md[f"{a}.feed_forward_length"]),
            eps=float(md.get(f"{a}.attention.layer_norm_rms_epsilon", 1e-6 if a == "gemma3" else 1e-5)),
            rope_base=float(md.get(f"{a}.rope.freq_base", 10000.0)),
            rope_linear_scale=1.0 / factor if scaling == "linear" and factor > 0 else 1.0,
            sliding_window=int(md.get(f"{a}.attention.sliding_window", 0)),
        )
        self.metadata = md
        self.w = {name: dequantize_tensor(t) for name, t in r.tensors.items()}
        self.types = {name: t.type_name for name, t in r.tensors.items()}
        self.act_quant = act_quant

    def linear(self, x: np.ndarray, name: str) -> np.ndarray:
        """x: (T, in) @ W[name].T -> (T, out). Exact unless act_quant (see quantize_activations)."""
        if self.act_quant:
            x = quantize_activations(x, self.types[name])
        return x @ self.w[name].T


def quantize_activations(x: np.ndarray, weight_type: str) -> np.ndarray:
    """Rounds matmul inputs the way llama.cpp's CPU dot products do, to estimate engine tolerances
    (never used for golden files): F16 weights -> activations to f16; Q8_0 -> 8-bit blocks of 32;
    K-quants -> 8-bit blocks of 256 (Q8_K); F32 -> unchanged."""
    if weight_type == "F16":
        return x.astype(np.float16).astype(np.float64)
    block = {"Q8_0": 32, "Q4_0": 32, "Q4_K": 256, "Q5_K": 256, "Q6_K": 256}.get(weight_type)
    if block is None or x.shape[-1] % block:
        return x
    xb = x.reshape(-1, block)
    d = np.abs(xb).max(axis=1, keepdims=True) / 127.0
    if block == 32:
        d = d.astype(np.float16).astype(np.float64)
    q = np.round(xb / np.where(d > 0, d, 1.0))
    return (q * d).reshape(x.shape)


# ================================================================================================
# Building blocks
# ================================================================================================

def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    """x: (..., n), w: (n,) -> x / sqrt(mean(x^2) + eps) * w."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope_angles(n_tokens: int, n_rot: int, base: float, pos_scale: float = 1.0,
                freq_divisors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """cos, sin of shape (n_tokens, n_rot/2): angle[p, i] = p*pos_scale * base^(-2i/n_rot) / div[i]."""
    inv_freq = base ** (-np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)    # (n_rot/2,)
    if freq_divisors is not None:
        inv_freq = inv_freq / freq_divisors.astype(np.float64)
    pos = np.arange(n_tokens, dtype=np.float64) * pos_scale                   # (n_tokens,)
    ang = pos[:, None] * inv_freq[None, :]
    return np.cos(ang), np.sin(ang)


def rope_norm(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """ggml NORM rope. x: (n_tokens, n_heads, head_dim); rotates pairs (x[2i], x[2i+1]), i < n_rot/2."""
    n_rot = 2 * cos.shape[1]
    out = x.copy()
    x0, x1 = x[..., 0:n_rot:2], x[..., 1:n_rot:2]                             # (T, H, n_rot/2)
    c, s = cos[:, None, :], sin[:, None, :]
    out[..., 0:n_rot:2] = x0 * c - x1 * s
    out[..., 1:n_rot:2] = x0 * s + x1 * c
    return out


def rope_neox(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """ggml NEOX rope. x: (n_tokens, n_heads, head_dim); rotates pairs (x[i], x[i + n_rot/2])."""
    half = cos.shape[1]
    out = x.copy()
    x0, x1 = x[..., 0:half], x[..., half:2 * half]                            # (T, H, n_rot/2)
    c, s = cos[:, None, :], sin[:, None, :]
    out[..., 0:half] = x0 * c - x1 * s
    out[..., half:2 * half] = x0 * s + x1 * c
    return out


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float, window: int = 0) -> np.ndarray:
    """Causal softmax attention with GQA.

    q: (T, n_head, d), k, v: (T, n_head_kv, d) -> (T, n_head * d).
    Query head h reads kv head h // (n_head / n_head_kv). window > 0: query i sees key j only if
    i - j < window (sliding window); otherwise all j <= i.
    """
    T, n_head, d = q.shape
    group = n_head // k.shape[1]
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    allowed = j <= i                                                          # (T, T)
    if window > 0:
        allowed &= (i - j) < window
    out = np.empty((T, n_head, d))
    for h in range(n_head):
        kh, vh = k[:, h // group, :], v[:, h // group, :]                    # (T, d)
        scores = (q[:, h, :] @ kh.T) * scale                                  # (T, T)
        scores = np.where(allowed, scores, -np.inf)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ vh
    return out.reshape(T, n_head * d)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (HF gelu_pytorch_tanh, ggml_gelu)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


# ================================================================================================
# Llama
# ================================================================================================

def forward_llama(m: Model, tokens: list[int]) -> np.ndarray:
    hp, W = m.hp, m.w
    T, H, Hkv, D = len(tokens), hp.n_head, hp.n_head_kv, hp.head_dim
    cos, sin = rope_angles(T, hp.n_rot, hp.rope_base, hp.rope_linear_scale, W.get("rope_freqs.weight"))

    x = W["token_embd.weight"][np.asarray(tokens)]                            # (T, n_embd)
    for il in range(hp.n_layer):
        p = f"blk.{il}."
        # -- attention ---------------------------------------------------------------------------
        h = rms_norm(x, W[p + "attn_norm.weight"], hp.eps)                    # (T, n_embd)
        q = m.linear(h, p + "attn_q.weight").reshape(T, H, D)                # (T, H, D)
        k = m.linear(h, p + "attn_k.weight").reshape(T, Hkv, D)              # (T, Hkv, D)
        v = m.linear(h, p + "attn_v.weight").reshape(T, Hkv, D)              # (T, Hkv, D)
        q = rope_norm(q, cos, sin)
        k = rope_norm(k, cos, sin)
        a = attention(q, k, v, 1.0 / math.sqrt(D))                            # (T, H*D)
        x = x + m.linear(a, p + "attn_output.weight")                        # (T, n_embd)
        # -- feed-forward (SwiGLU) ---------------------------------------------------------------
        h = rms_norm(x, W[p + "ffn_norm.weight"], hp.eps)
        g = silu(m.linear(h, p + "ffn_gate.weight")) * m.linear(h, p + "ffn_up.weight")  # (T, n_ff)
        x = x + m.linear(g, p + "ffn_down.weight")

    x = rms_norm(x, W["output_norm.weight"], hp.eps)
    out_name = "output.weight" if "output.weight" in W else "token_embd.weight"  # tied if absent
    return m.linear(x, out_name)                                              # (T, n_vocab)


# ================================================================================================
# Gemma 3
# ================================================================================================

def gemma3_is_global(il: int) -> bool:
    return il % GEMMA3_SWA_PATTERN == GEMMA3_SWA_PATTERN - 1


def forward_gemma3(m: Model, tokens: list[int]) -> np.ndarray:
    hp, W = m.hp, m.w
    T, H, Hkv, D = len(tokens), hp.n_head, hp.n_head_kv, hp.head_dim
    rope_global = rope_angles(T, hp.n_rot, hp.rope_base, hp.rope_linear_scale)
    rope_local = rope_angles(T, hp.n_rot, GEMMA3_LOCAL_ROPE_BASE, 1.0)
    q_scale = 1.0 / math.sqrt(D)                                              # query_pre_attn_scalar = head_dim

    x = W["token_embd.weight"][np.asarray(tokens)] * math.sqrt(hp.n_embd)     # (T, n_embd)
    for il in range(hp.n_layer):
        p = f"blk.{il}."
        is_global = gemma3_is_global(il)
        cos, sin = rope_global if is_global else rope_local
        window = 0 if is_global else hp.sliding_window
        # -- attention ---------------------------------------------------------------------------
        h = rms_norm(x, W[p + "attn_norm.weight"], hp.eps)                    # (T, n_embd)
        q = m.linear(h, p + "attn_q.weight").reshape(T, H, D)                # (T, H, D)
        k = m.linear(h, p + "attn_k.weight").reshape(T, Hkv, D)              # (T, Hkv, D)
        v = m.linear(h, p + "attn_v.weight").reshape(T, Hkv, D)              # (T, Hkv, D)
        q = rms_norm(q, W[p + "attn_q_norm.weight"], hp.eps)                  # per head, over D
        k = rms_norm(k, W[p + "attn_k_norm.weight"], hp.eps)
        q = rope_neox(q, cos, sin)
        k = rope_neox(k, cos, sin)
        a = attention(q * q_scale, k, v, 1.0, window)                         # (T, H*D)
        a = m.linear(a, p + "attn_output.weight")                            # (T, n_embd)
        x = x + rms_norm(a, W[p + "post_attention_norm.weight"], hp.eps)
        # -- feed-forward (GeGLU) ----------------------------------------------------------------
        h = rms_norm(x, W[p + "ffn_norm.weight"], hp.eps)
        g = gelu_tanh(m.linear(h, p + "ffn_gate.weight")) * m.linear(h, p + "ffn_up.weight")  # (T, n_ff)
        f = m.linear(g, p + "ffn_down.weight")
        x = x + rms_norm(f, W[p + "post_ffw_norm.weight"], hp.eps)

    x = rms_norm(x, W["output_norm.weight"], hp.eps)
    out_name = "output.weight" if "output.weight" in W else "token_embd.weight"  # tied if absent
    return m.linear(x, out_name)                                              # (T, n_vocab)


# ================================================================================================
# Entry points
# ================================================================================================

def forward(model: Model | str | bytes, tokens: list[int]) -> np.ndarray:
    """Logits (len(tokens), n_vocab) float64 for a full causal prefill at positions 0..N-1."""
    m = model if isinstance(model, Model) else Model(model)
    if not tokens:
        raise ValueError("empty token sequence")
    if min(tokens) < 0 or max(tokens) >= m.hp.n_vocab:
        raise ValueError("token id out of range")
    if m.hp.arch == "llama":
        return forward_llama(m, list(tokens))
    return forward_gemma3(m, list(tokens))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    m = Model(argv[0])
    tokens = [int(t) for t in argv[1:]]
    logits = forward(m, tokens)
    for pos, row in enumerate(logits):
        top = np.argsort(-row)[:5]
        print(f"pos {pos:3d} tok {tokens[pos]:6d} -> " + "  ".join(f"{t}:{row[t]:+.4f}" for t in top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
