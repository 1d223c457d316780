"""The agents' forward pass with explicit positions and extra cached keys: what the handoff needs
from a frozen model, written to mirror cachewire's caches.

  ForwardOut = run(model, ids, pos, valid, past=None)

`pos` gives every token its RoPE position per layer kind (a cache that takes pinned entries
shifts later tokens, a Gemma 3 local layer does not), `past` adds entries a layer already holds
(its rotated keys, values, positions, validity), and a key is visible to a query when it is valid,
not after it, and, in a sliding-window layer, less than the window behind. The same rule makes the
causal mask, padding, Gemma's local windows and the pinned entries of an LCF import.

Keys come back both rotated (what a cache stores) and plain (after QK-norm, before RoPE: what an
LCF encoder reads and an LCF decoder writes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import models


@dataclass
class LayerKv:
    k: torch.Tensor        # (B, Hkv, N, D) rotated for pos
    v: torch.Tensor        # (B, Hkv, N, D)
    pos: torch.Tensor      # (B, N) long
    valid: torch.Tensor    # (B, N) bool


@dataclass
class ForwardOut:
    logits: torch.Tensor           # (B, T, n_vocab)
    cache: list[LayerKv]           # the tokens' own entries per layer (rotated keys)
    plain_k: list[torch.Tensor]    # (B, Hkv, T, D) per layer, before RoPE


def layer_base(model: models.LM, il: int) -> float:
    blk = model.blocks[il]
    return models.GEMMA3_LOCAL_ROPE_BASE if blk.is_local() else model.c.rope_base


def rope_at(x: torch.Tensor, pos: torch.Tensor, base: float, neox: bool) -> torch.Tensor:
    """x (B, H, T, D) rotated for positions pos (B, T)."""
    D = x.shape[-1]
    inv = base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    ang = pos.double()[:, None, :, None] * inv                       # (B, 1, T, D/2)
    cos, sin = ang.cos().float(), ang.sin().float()
    return models.rope_neox(x, cos, sin) if neox else models.rope_norm(x, cos, sin)


def visible(model: models.LM, il: int, q_pos: torch.Tensor, k_pos: torch.Tensor,
            k_valid: torch.Tensor) -> torch.Tensor:
    """(B, Tq, Tk) bool: which keys each query sees."""
    d = q_pos[:, :, None] - k_pos[:, None, :]
    ok = k_valid[:, None, :] & (d >= 0)
    if model.blocks[il].is_local() and model.c.sliding_window:
        ok = ok & (d < model.c.sliding_window)
    return ok


def _block(model: models.LM, il: int, x: torch.Tensor, pos: torch.Tensor, valid: torch.Tensor,
           past: LayerKv | None, capture_q: list | None = None):
    blk, c = model.blocks[il], model.c
    B, T, _ = x.shape
    H, Hkv, D = c.n_head, c.n_head_kv, c.head_dim
    h = models.rms_norm(x, blk.attn_norm, c.eps)
    q = blk.attn_q(h).view(B, T, H, D).transpose(1, 2)
    k = blk.attn_k(h).view(B, T, Hkv, D).transpose(1, 2)
    v = blk.attn_v(h).view(B, T, Hkv, D).transpose(1, 2)
    if blk.gemma:
        q = models.rms_norm(q, blk.attn_q_norm, c.eps)
        k = models.rms_norm(k, blk.attn_k_norm, c.eps)
    plain_k = k
    if capture_q is not None:
        capture_q.append(q)
    base = layer_base(model, il)
    q, k = rope_at(q, pos, base, blk.gemma), rope_at(k, pos, base, blk.gemma)
    keys, values, k_pos, k_valid = k, v, pos, valid
    if past is not None:
        keys = torch.cat((past.k, k), dim=2)
        values = torch.cat((past.v, v), dim=2)
        k_pos = torch.cat((past.pos, pos), dim=1)
        k_valid = torch.cat((past.valid, valid), dim=1)
    mask = visible(model, il, pos, k_pos, k_valid)                   # (B, T, N)
    if Hkv != H:
        keys = keys.repeat_interleave(H // Hkv, dim=1)
        values = values.repeat_interleave(H // Hkv, dim=1)
    s = (q @ keys.transpose(-1, -2)) * (1.0 / math.sqrt(D))
    s = s.masked_fill(~mask[:, None], float("-inf"))
    # A padding query may see no key at all (a window past the text): its row is NaN; zero it
    # so that 0 * NaN does not reach real rows through the padding's values.
    a = (s.softmax(-1).nan_to_num(0.0) @ values).transpose(1, 2).reshape(B, T, H * D)
    a = blk.attn_output(a)
    if blk.gemma:
        a = models.rms_norm(a, blk.post_attention_norm, c.eps)
    x = x + a
    h = models.rms_norm(x, blk.ffn_norm, c.eps)
    act = F.gelu(blk.ffn_gate(h), approximate="tanh") if blk.gemma else F.silu(blk.ffn_gate(h))
    f = blk.ffn_down(act * blk.ffn_up(h))
    if blk.gemma:
        f = models.rms_norm(f, blk.post_ffw_norm, c.eps)
    return x + f, LayerKv(k, v, pos, valid), plain_k


def run(model: models.LM, ids: torch.Tensor, pos: list[torch.Tensor], valid: torch.Tensor,
        past: list[LayerKv | None] | None = None, capture_q: list | None = None) -> ForwardOut:
    """ids (B, T); pos: per layer (B, T) positions; valid (B, T) marks real (unpadded) tokens.
    capture_q, when given, receives each layer's plain queries (B, H, T, D): after QK-norm,
    before RoPE."""
    c = model.c
    x = model.token_embd(ids)
    if c.arch == "gemma3":
        x = x * math.sqrt(c.n_embd)
    cache, plain = [], []
    for il in range(c.n_layer):
        x, kv, pk = _block(model, il, x, pos[il], valid, None if past is None else past[il],
                           capture_q)
        cache.append(kv)
        plain.append(pk)
    x = models.rms_norm(x, model.output_norm, c.eps)
    w = model.token_embd.weight if model.output is None else model.output.weight
    return ForwardOut(x @ w.t(), cache, plain)


def pinnable_layers(model: models.LM) -> list[int]:
    """Layers whose cache takes pinned entries: every layer (a sliding-window layer's ring holds
    its pins at its last position, so they stay in view for the next window - 1 tokens)."""
    return list(range(model.c.n_layer))


def encoder_visible(model: models.LM, il: int, lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) the entries of layer il an LCF encoder reads after a prefill of `lengths` tokens:
    those the next token would attend to (a sliding-window layer: its last window - 1)."""
    t = torch.arange(T)[None, :]
    ok = t < lengths[:, None]
    if model.blocks[il].is_local() and model.c.sliding_window:
        ok = ok & (t > lengths[:, None] - model.c.sliding_window)
    return ok
