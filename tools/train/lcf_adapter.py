"""The Latent Cache Flow adapter (LCF.md) in torch: the network cachewire's engine/adapter/ runs,
tensor for tensor (names are the GGUF ones with '.' as '__').

Encoder (sharer side), over every kept cache entry e of every (sharer layer l, kv-head h) (heads
may keep different entries under L2 eviction, so each is an item of its own):
    x = [k; v]                                    the key un-rotated (after QK-norm where the model has it)
    u = rmsnorm(W_l x + b_l[h]) * enc.norm        width r; the bias per (layer, head) tells them apart
    slots = enc.out(concat_h softmax(Q_h K_h^T / sqrt(r/H)) V_h)
        Q = enc.query (M, r), K = enc.pool_k(u), V = enc.pool_v(u), H = pool heads
    with positional pooling (enc.pos, one precision p_h per pool head), each score also gets
        - p_h (t / T - (m + 0.5) / M)^2     t: the entry's token index, T: the tokens shared
    so slot m leans on the m-th stretch of the text. Without it the learned queries can only
    select by content, and records alike in kind (every "X code N") blur into every slot.
Per-token encoder (per_token: no pooling), one slot per sharer token t sent:
    z_t = sum over the (layer l, kv-head h) entries of token t the encoder reads of W_l x + b_l[h]
        + the same over token t - 1's entries with enc.prev (W'_l, b'_l[h])
    a layer that no longer holds a token (a sliding-window layer's older tokens, an evicted
    entry) adds nothing, and its bias tells the decoder which layers spoke. Tokens sent: the first
    N_SINK, then those of lowest mean key L2 norm (CACHE.md's compression), up to n_slots, in
    text order (select_tokens). The decoder then translates each token's slot into the entries
    the receiver would hold for it had it read the text (train_lcf_tokens.py).
Decoder (receiver side), on the f16 slots z (M, r):
    y = z + dec.down(gelu_tanh(dec.up(rmsnorm(z) * dec.norm)))
    (per-token adapters: y = gelu_tanh(dec.mid(gelu_tanh(dec.up(rmsnorm(z) * dec.norm)))), ff
    wide, no dec.down: a narrow slot, r = 64, must still decode into every layer's entries, and
    heads reading r values could give only r independent outputs for all the layers)
    per receiver layer l that takes pins: k = dec.k.l(y), v = dec.v.l(y)   (M, Hkv, D) each
    keys un-rotated: the receiver's cache rotates them for the positions they are pinned at.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict, field

import torch
import torch.nn as nn
import torch.nn.functional as F

NORM_EPS = 1e-6
N_SINK = 4    # per-token adapters always send the first tokens (CachePolicy.n_sink)


@dataclass
class LcfConfig:
    sharer_layers: list[int]       # per sharer layer: head_dim_k + head_dim_v
    receiver_kv: tuple[int, int, int]   # receiver (n_head_kv, head_dim_k, head_dim_v)
    receiver_layers: list[int]     # receiver layers that take pins
    sharer_kv_heads: int = 1
    n_slots: int = 32              # M
    slot_dim: int = 256            # r
    pool_heads: int = 4
    ff_mult: int = 2
    pos_pool: bool = False         # enc.pos: positional pooling (above)
    per_token: bool = False        # one slot per sharer token sent, n_slots the most (above)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class ItemProjection(nn.Module):
    """[k; v] of one kv-head's entry -> width r: a weight per layer, a bias per (layer, head)."""

    def __init__(self, n_in: int, n_heads: int, r: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(r, n_in) / math.sqrt(n_in))
        self.bias = nn.Parameter(torch.zeros(n_heads, r))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, Hkv, N, n_in) -> (B, Hkv, N, r)."""
        return x @ self.weight.t() + self.bias[None, :, None, :]


def rms(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * w


class LcfAdapter(nn.Module):
    def __init__(self, c: LcfConfig):
        super().__init__()
        self.c = c
        r, M = c.slot_dim, c.n_slots
        self.enc_in = nn.ModuleList(ItemProjection(n, c.sharer_kv_heads, r) for n in c.sharer_layers)
        if c.per_token:
            self.enc_prev = nn.ModuleList(ItemProjection(n, c.sharer_kv_heads, r) for n in c.sharer_layers)
        else:
            self.enc_norm = nn.Parameter(torch.ones(r))
            self.enc_query = nn.Parameter(torch.randn(M, r) / math.sqrt(r))
            self.enc_pool_k = nn.Linear(r, r, bias=False)
            self.enc_pool_v = nn.Linear(r, r, bias=False)
            self.enc_out = nn.Linear(r, r)
        self.dec_norm = nn.Parameter(torch.ones(r))
        self.dec_up = nn.Linear(r, c.ff_mult * r)
        if c.per_token:
            self.dec_mid = nn.Linear(c.ff_mult * r, c.ff_mult * r)
        else:
            self.dec_down = nn.Linear(c.ff_mult * r, r)
        hkv, dk, dv = c.receiver_kv
        width = c.ff_mult * r if c.per_token else r   # what the heads read
        self.dec_k = nn.ModuleList(nn.Linear(width, hkv * dk) for _ in c.receiver_layers)
        self.dec_v = nn.ModuleList(nn.Linear(width, hkv * dv) for _ in c.receiver_layers)
        if c.pos_pool and not c.per_token:
            # All heads but the last start local (a slot's own stretch: -2 one slot-width away,
            # -8 two); the last starts global. Learned from there.
            # (Registered last: the other parameters draw the same initial values as without.)
            p = torch.full((c.pool_heads,), 2.0 * M * M)
            p[-1] = 0.0
            self.enc_pos = nn.Parameter(p)

    # ---- per-token encoder ----------------------------------------------------------------
    def encode_tokens(self, entries: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """entries as for encode(). Returns every token's slot (B, N, r) (select_tokens picks
        the ones sent)."""
        z = 0.0
        for proj, prev, (k, v, ok) in zip(self.enc_in, self.enc_prev, entries):
            x = torch.cat((k, v), dim=-1)                                # (B, Hkv, N, n)
            held = ok[:, None, :, None].to(x.dtype)
            z = z + (proj(x) * held).sum(1)
            p = (prev(x) * held).sum(1)                                  # token t's, for t + 1
            z = z + F.pad(p, (0, 0, 1, 0))[:, :-1]
        return z

    def encode_sent(self, entries: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """The slots a per-token encoder sends (B, M, r): each row's tokens picked by
        select_tokens. Its rows must send as many tokens each (one row, say)."""
        z = self.encode_tokens(entries)
        sent = [select_tokens(entries, b, self.c.n_slots) for b in range(z.shape[0])]
        if len({len(s) for s in sent}) != 1:
            raise ValueError("per-token slots: rows send different numbers of tokens")
        return torch.stack([z[b, s] for b, s in enumerate(sent)])

    # ---- encoder --------------------------------------------------------------------------
    def encode(self, entries: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
               lengths: torch.Tensor | None = None) -> torch.Tensor:
        """entries: per sharer layer (k (B, Hkv, N, Dk) plain, v (B, Hkv, N, Dv), keep (B, N)),
        entry n being token n; lengths (B): the tokens shared (positional pooling needs them).
        Returns slots (B, M, r)."""
        items, keep, token = [], [], []
        for proj, (k, v, ok) in zip(self.enc_in, entries):
            B, Hkv, N, _ = k.shape
            items.append(proj(torch.cat((k, v), dim=-1)).reshape(B, Hkv * N, -1))
            keep.append(ok.repeat(1, Hkv))
            token.append(torch.arange(N).repeat(Hkv))
        u = rms(torch.cat(items, dim=1), self.enc_norm)                 # (B, I, r)
        ok = torch.cat(keep, dim=1)                                      # (B, I)
        B, I, r = u.shape
        H, dh = self.c.pool_heads, r // self.c.pool_heads
        K = self.enc_pool_k(u).view(B, I, H, dh).transpose(1, 2)       # (B, H, I, dh)
        V = self.enc_pool_v(u).view(B, I, H, dh).transpose(1, 2)
        Q = self.enc_query.view(1, -1, H, dh).transpose(1, 2)          # (1, H, M, dh)
        s = (Q @ K.transpose(-1, -2)) / math.sqrt(dh)                   # (B, H, M, I)
        s = self._pool_scores(s, torch.cat(token), ok, lengths)
        pooled = (s.softmax(-1) @ V).transpose(1, 2).reshape(B, -1, r)  # (B, M, r)
        return self.enc_out(pooled)

    def encode_folded(self, entries: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                      lengths: torch.Tensor | None = None) -> torch.Tensor:
        """encode(), computed without the r-wide items (what cachewire's encoder runs, and
        training's faster path). The pooling is linear in u = g * z / rho (z = W x + b,
        rho = rms(z)), so a head's score folds into the item's narrow [k; v]:
            Q_m . W_k u = ((P_m * g) W x + (P_m * g) . b) / rho,   P_m = W_k^T Q_m / sqrt(dh)
        with rho^2 = (x^T W^T W x + 2 (W^T b) . x + |b|^2) / r + eps from a Gram matrix; and
        the pooled values need only the softmax-weighted sums of x (weights a / rho):
            sum_i a_i W_v u_i = W_v (g * (W sum_i (a_i / rho_i) x_i + b sum_i a_i / rho_i)).
        Per item that is ~2 M n + n^2 multiply-adds instead of r n + 2 r^2."""
        c = self.c
        r, H, M = c.slot_dim, c.pool_heads, c.n_slots
        dh = r // H
        q = self.enc_query.view(M, H, dh)
        P = torch.einsum("mhd,hdr->hmr", q, self.enc_pool_k.weight.view(H, dh, r)) / math.sqrt(dh)
        Pg = P * self.enc_norm                                            # (H, M, r)
        xs, scores, rhos, keep, token = [], [], [], [], []
        for proj, (k, v, ok) in zip(self.enc_in, entries):
            x = torch.cat((k, v), dim=-1)                                # (B, Hkv, N, n)
            B, Hkv, N, _ = x.shape
            W, b = proj.weight, proj.bias                                # (r, n), (Hkv, r)
            z2 = ((x @ (W.t() @ W)) * x).sum(-1) + 2 * (x @ (W.t() @ b.t())).diagonal(
                dim1=1, dim2=3).transpose(1, 2) + b.pow(2).sum(-1)[None, :, None]
            rho = torch.sqrt(z2 / r + NORM_EPS)                          # (B, Hkv, N)
            s = torch.einsum("hmn,bgin->bghmi", Pg @ W, x) \
                + torch.einsum("hmr,gr->ghm", Pg, b)[None, :, :, :, None]
            s = (s / rho[:, :, None, None, :]).permute(0, 2, 3, 1, 4)        # (B, H, M, Hkv, N)
            scores.append(s.reshape(B, H, M, -1))
            xs.append(x)
            rhos.append(rho.reshape(B, -1))
            keep.append(ok.repeat(1, Hkv))
            token.append(torch.arange(N).repeat(Hkv))
        s = torch.cat(scores, dim=-1)                                    # (B, H, M, I)
        ok = torch.cat(keep, dim=1)
        B = s.shape[0]
        s = self._pool_scores(s, torch.cat(token), ok, lengths)
        w = s.softmax(-1) / torch.cat(rhos, dim=1)[:, None, None, :]    # (B, H, M, I)
        y = torch.zeros(B, H, M, r)
        at = 0
        for proj, x in zip(self.enc_in, xs):
            _, Hkv, N, n = x.shape
            for g in range(Hkv):
                wg = w[..., at:at + N]
                y = y + (wg @ x[:, g][:, None]) @ proj.weight.t() \
                    + wg.sum(-1, keepdim=True) * proj.bias[g]
                at += N
        Wv = self.enc_pool_v.weight.view(H, dh, r)
        pooled = torch.einsum("bhmr,hdr->bmhd", y * self.enc_norm, Wv).reshape(B, M, r)
        return self.enc_out(pooled)

    def _pool_scores(self, s: torch.Tensor, token: torch.Tensor, ok: torch.Tensor,
                     lengths: torch.Tensor | None) -> torch.Tensor:
        """The pooling scores s (B, H, M, I) with the positional term (when the adapter has one)
        and the entries not kept (ok (B, I) false) masked out; token (I): each item's token."""
        if self.c.pos_pool:
            if lengths is None:
                raise ValueError("positional pooling needs the sharer's lengths")
            x = token[None, :].float() / lengths[:, None].float()              # (B, I)
            centre = (torch.arange(self.c.n_slots).float() + 0.5) / self.c.n_slots  # (M)
            d2 = (x[:, None, :] - centre[None, :, None]).pow(2)                # (B, M, I)
            s = s - self.enc_pos[None, :, None, None] * d2[:, None]
        return s.masked_fill(~ok[:, None, None, :], float("-inf"))

    # ---- decoder --------------------------------------------------------------------------
    def decode(self, slots: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """slots (B, M, r) -> per pinned receiver layer (k, v), each (B, Hkv, M, D), keys plain."""
        h = F.gelu(self.dec_up(rms(slots, self.dec_norm)), approximate="tanh")
        if self.c.per_token:
            y = F.gelu(self.dec_mid(h), approximate="tanh")
        else:
            y = slots + self.dec_down(h)
        B, M, _ = y.shape
        hkv, dk, dv = self.c.receiver_kv
        out = []
        for lk, lv in zip(self.dec_k, self.dec_v):
            k = lk(y).view(B, M, hkv, dk).transpose(1, 2)
            v = lv(y).view(B, M, hkv, dv).transpose(1, 2)
            out.append((k, v))
        return out

    # ---- GGUF names -----------------------------------------------------------------------
    def gguf_tensors(self) -> dict[str, torch.Tensor]:
        t: dict[str, torch.Tensor] = {}
        for il, lin in enumerate(self.enc_in):
            t[f"enc.in.{il}.weight"], t[f"enc.in.{il}.bias"] = lin.weight, lin.bias
        if self.c.per_token:
            for il, lin in enumerate(self.enc_prev):
                t[f"enc.prev.{il}.weight"], t[f"enc.prev.{il}.bias"] = lin.weight, lin.bias
        else:
            self._pooling_tensors(t)
        t["dec.norm.weight"] = self.dec_norm
        t["dec.up.weight"], t["dec.up.bias"] = self.dec_up.weight, self.dec_up.bias
        if self.c.per_token:
            t["dec.mid.weight"], t["dec.mid.bias"] = self.dec_mid.weight, self.dec_mid.bias
        else:
            t["dec.down.weight"], t["dec.down.bias"] = self.dec_down.weight, self.dec_down.bias
        for lk, lv, il in zip(self.dec_k, self.dec_v, self.c.receiver_layers):
            t[f"dec.k.{il}.weight"], t[f"dec.k.{il}.bias"] = lk.weight, lk.bias
            t[f"dec.v.{il}.weight"], t[f"dec.v.{il}.bias"] = lv.weight, lv.bias
        return t

    def _pooling_tensors(self, t: dict[str, torch.Tensor]) -> None:
        t["enc.norm.weight"] = self.enc_norm
        t["enc.query.weight"] = self.enc_query
        t["enc.pool_k.weight"] = self.enc_pool_k.weight
        t["enc.pool_v.weight"] = self.enc_pool_v.weight
        t["enc.out.weight"], t["enc.out.bias"] = self.enc_out.weight, self.enc_out.bias
        if self.c.pos_pool:
            t["enc.pos.weight"] = self.enc_pos


def select_tokens(entries: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], row: int,
                  most: int) -> torch.Tensor:
    """The tokens a per-token encoder sends for batch row `row`, ascending: of those some layer
    holds, the first N_SINK, then the rest by lowest mean key L2 norm (over the (layer, kv-head)
    entries holding the token; ties to the earlier token), `most` in all. The engine's
    LcfEncoder applies the same rule (norms summed in double, as here)."""
    total, count = 0.0, 0.0
    for k, _, ok in entries:
        held = ok[row].double()                                      # (N)
        total = total + (k[row].double().norm(dim=-1) * held[None, :]).sum(0)
        count = count + held * k.shape[1]
    held = torch.nonzero(count > 0).flatten()
    if len(held) <= most:
        return held
    sinks = held[held < N_SINK][:most]
    rest = held[held >= N_SINK]
    mean = (total[rest] / count[rest]).tolist()
    order = sorted(range(len(rest)), key=lambda i: (mean[i], int(rest[i])))
    chosen = rest[torch.tensor(order[:most - len(sinks)], dtype=torch.long)]
    return torch.cat((sinks, chosen)).sort().values


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def upgrade_state(state: dict) -> dict:
    """Checkpoints from before per-head item biases stored enc_in.l.bias as (r): one head."""
    return {k: (v[None, :] if k.startswith("enc_in.") and k.endswith(".bias") and v.dim() == 1 else v)
            for k, v in state.items()}
