"""The two agent architectures in torch, written in GGUF's conventions so export is a copy.

  llama   RMSNorm -> Q,K,V; NORM RoPE (adjacent pairs x[2i], x[2i+1]); GQA; SwiGLU; untied output.
  gemma3  embeddings * sqrt(d); RMSNorm -> Q,K,V; per-head RMSNorm of Q and K; NEOX RoPE (pairs
          x[i], x[i+D/2]); layer il global iff il % 6 == 5 (rope base `rope_base`), else local
          (rope base 10000, keys within `sliding_window`); post-attention and post-FFN norms;
          GeGLU (tanh GELU); tied output. Norm weights are plain multipliers (what GGUF stores).

The parameter names are the GGUF tensor names ('.' replaced by '__' inside torch), shapes are
torch's (out, in), which is GGUF's row-major (in fastest) layout.

Previous-token heads. A lookup ("code of Bob ?" -> the digits after "Bob" in the records)
needs an induction circuit: a head that moves each token's predecessors into it, and a later
head that matches on them. Small models find the first head slowly (TRAINING.md). Here it is
built at initialisation from RoPE alone: one residual dimension carries a constant, and a head
whose query and key both read that constant, with the query's phase advanced by `offset`
rotation steps, scores highest on the key exactly `offset` tokens back. Layer 0 gets heads at
offsets 1, 2, 3, ... so every position starts out seeing its last few tokens; training is free
to keep or change them, and the model stays a standard `llama`/`gemma3`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F

GEMMA3_SWA_PATTERN = 6
GEMMA3_LOCAL_ROPE_BASE = 10000.0


@dataclass
class Config:
    arch: str            # "llama" | "gemma3"
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_ctx: int
    rope_base: float = 10000.0
    eps: float = 1e-5
    sliding_window: int = 0      # gemma3 local layers
    prev_token_heads: int = 0    # heads of layer 0 built as previous-token heads (offsets 1..n)
    prev_token_logit: float = 48.0  # peak attention logit of those heads

    def to_dict(self) -> dict:
        return asdict(self)


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(n_pos: int, dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    inv = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]     # (T, D/2)
    return ang.cos().float(), ang.sin().float()


def rope_norm(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, D), pairs (2i, 2i+1)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0, y1 = x0 * cos - x1 * sin, x0 * sin + x1 * cos
    return torch.stack((y0, y1), dim=-1).flatten(-2)


def rope_neox(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, D), pairs (i, i + D/2)."""
    h = x.shape[-1] // 2
    x0, x1 = x[..., :h], x[..., h:]
    return torch.cat((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)


def gemma3_is_global(il: int) -> bool:
    return il % GEMMA3_SWA_PATTERN == GEMMA3_SWA_PATTERN - 1


class Block(nn.Module):
    def __init__(self, c: Config, il: int):
        super().__init__()
        self.c, self.il = c, il
        E, H, Hkv, D = c.n_embd, c.n_head, c.n_head_kv, c.head_dim
        self.attn_norm = nn.Parameter(torch.ones(E))
        self.attn_q = nn.Linear(E, H * D, bias=False)
        self.attn_k = nn.Linear(E, Hkv * D, bias=False)
        self.attn_v = nn.Linear(E, Hkv * D, bias=False)
        self.attn_output = nn.Linear(H * D, E, bias=False)
        self.ffn_norm = nn.Parameter(torch.ones(E))
        self.ffn_gate = nn.Linear(E, c.n_ff, bias=False)
        self.ffn_up = nn.Linear(E, c.n_ff, bias=False)
        self.ffn_down = nn.Linear(c.n_ff, E, bias=False)
        self.gemma = c.arch == "gemma3"
        if self.gemma:
            self.attn_q_norm = nn.Parameter(torch.ones(D))
            self.attn_k_norm = nn.Parameter(torch.ones(D))
            self.post_attention_norm = nn.Parameter(torch.ones(E))
            self.post_ffw_norm = nn.Parameter(torch.ones(E))
        for lin in (self.attn_output, self.ffn_down):  # small residual writes at the start
            nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * c.n_layer))

    def is_local(self) -> bool:
        return self.gemma and not gemma3_is_global(self.il)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor):
        c = self.c
        B, T, _ = x.shape
        H, Hkv, D = c.n_head, c.n_head_kv, c.head_dim
        h = rms_norm(x, self.attn_norm, c.eps)
        q = self.attn_q(h).view(B, T, H, D).transpose(1, 2)        # (B, H, T, D)
        k = self.attn_k(h).view(B, T, Hkv, D).transpose(1, 2)      # (B, Hkv, T, D)
        v = self.attn_v(h).view(B, T, Hkv, D).transpose(1, 2)
        cos, sin = rope
        if self.gemma:
            q = rms_norm(q, self.attn_q_norm, c.eps)
            k = rms_norm(k, self.attn_k_norm, c.eps)
            q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        else:
            q, k = rope_norm(q, cos, sin), rope_norm(k, cos, sin)
        if Hkv != H:
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
        s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D))       # (B, H, T, T)
        s = s.masked_fill(mask, float("-inf"))
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
        a = self.attn_output(a)
        if self.gemma:
            a = rms_norm(a, self.post_attention_norm, c.eps)
        x = x + a
        h = rms_norm(x, self.ffn_norm, c.eps)
        act = F.gelu(self.ffn_gate(h), approximate="tanh") if self.gemma else F.silu(self.ffn_gate(h))
        f = self.ffn_down(act * self.ffn_up(h))
        if self.gemma:
            f = rms_norm(f, self.post_ffw_norm, c.eps)
        return x + f


class LM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.token_embd = nn.Embedding(c.n_vocab, c.n_embd)
        nn.init.normal_(self.token_embd.weight, std=1.0 / math.sqrt(c.n_embd))
        self.blocks = nn.ModuleList(Block(c, il) for il in range(c.n_layer))
        self.output_norm = nn.Parameter(torch.ones(c.n_embd))
        self.output = None if c.arch == "gemma3" else nn.Linear(c.n_embd, c.n_vocab, bias=False)
        if c.prev_token_heads:
            self._build_prev_token_heads()

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, n_vocab)."""
        c = self.c
        T = ids.shape[1]
        x = self.token_embd(ids)
        if c.arch == "gemma3":
            x = x * math.sqrt(c.n_embd)
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        causal = j > i
        local = causal | ((i - j) >= c.sliding_window) if c.sliding_window else causal
        rope_g = rope_tables(T, c.head_dim, c.rope_base)
        rope_l = rope_tables(T, c.head_dim, GEMMA3_LOCAL_ROPE_BASE) if c.arch == "gemma3" else rope_g
        for blk in self.blocks:
            if blk.is_local():
                x = blk(x, rope_l, local)
            else:
                x = blk(x, rope_g, causal)
        x = rms_norm(x, self.output_norm, c.eps)
        w = self.token_embd.weight if self.output is None else self.output.weight
        return x @ w.t()

    # ---- previous-token heads (see the module comment) ----------------------------------------
    @torch.no_grad()
    def _build_prev_token_heads(self) -> None:
        c = self.c
        D, n_pairs = c.head_dim, c.head_dim // 2
        blk = self.blocks[0]
        base = GEMMA3_LOCAL_ROPE_BASE if blk.is_local() else c.rope_base
        theta = base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)       # (D/2,)
        # Weight the high frequencies: they separate neighbours; the low ones damp far echoes.
        w = 0.6 ** torch.arange(n_pairs, dtype=torch.float64)
        w = w / w.sum()
        emb = self.token_embd.weight
        emb[:, 0] = emb[:, 1:].pow(2).mean().sqrt() * 4.0                    # the constant dim
        x = self.token_embd.weight * (math.sqrt(c.n_embd) if c.arch == "gemma3" else 1.0)
        x0 = (x[:, 0] * torch.rsqrt(x.pow(2).mean(-1) + c.eps)).mean().item()   # normed dim 0
        group = c.n_head // c.n_head_kv
        for hq in range(min(c.prev_token_heads, c.n_head)):
            offset = hq + 1
            hk = hq // group
            # Unit-phase vectors per pair; amplitude sqrt(w) so the peak score is sum(w) = 1.
            kv = torch.zeros(D, dtype=torch.float64)
            qv = torch.zeros(D, dtype=torch.float64)
            for f in range(n_pairs):
                a = math.sqrt(w[f].item())
                ang = -offset * theta[f].item()
                if c.arch == "gemma3":   # NEOX pairs (f, f + D/2)
                    i0, i1 = f, f + n_pairs
                else:                    # NORM pairs (2f, 2f+1)
                    i0, i1 = 2 * f, 2 * f + 1
                kv[i0], kv[i1] = a, 0.0
                qv[i0], qv[i1] = a * math.cos(ang), a * math.sin(ang)
            if c.arch == "gemma3":
                # QK-norm rescales to rms 1 (|v|^2 = D); the peak logit is then D/sqrt(D).
                gain = math.sqrt(c.prev_token_logit / math.sqrt(D))
                blk.attn_q_norm.fill_(gain)
                blk.attn_k_norm.fill_(gain)
                qs = ks = 1.0 / x0
            else:
                amp = math.sqrt(c.prev_token_logit * math.sqrt(D))
                qs = ks = amp / x0
            rows_q = slice(hq * D, (hq + 1) * D)
            rows_k = slice(hk * D, (hk + 1) * D)
            blk.attn_q.weight[rows_q, :] = 0.0
            blk.attn_q.weight[rows_q, 0] = (qv * qs).float()
            blk.attn_k.weight[rows_k, :] = 0.0          # shared by the GQA group: same key
            blk.attn_k.weight[rows_k, 0] = (kv * ks).float()
        blk.attn_norm.fill_(1.0)


def gguf_tensors(model: LM) -> dict[str, torch.Tensor]:
    """GGUF tensor name -> torch tensor (shape (out, in) or (n,))."""
    out: dict[str, torch.Tensor] = {"token_embd.weight": model.token_embd.weight}
    for il, blk in enumerate(model.blocks):
        p = f"blk.{il}."
        names = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                 "ffn_gate", "ffn_up", "ffn_down"]
        if blk.gemma:
            names += ["attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"]
        for n in names:
            t = getattr(blk, n)
            out[p + n + ".weight"] = t.weight if isinstance(t, nn.Linear) else t
    out["output_norm.weight"] = model.output_norm
    if model.output is not None:
        out["output.weight"] = model.output.weight
    return out
