"""The Cache-to-Cache fuser (LCF.md, "C2C fuser") in torch: the network cachewire's
engine/adapter/c2c_fuser.cc runs, tensor for tensor (gguf_tensors() gives the GGUF names).

Both agents prefilled the same text. For receiver layer il, reading sharer layer
s = layer_map[il] (by depth), and every receiver token t with its aligned sharer token a(t)
(c2c_align.py), per head group g:

    x   = [k_r; v_r; k_s; v_s]            keys un-rotated (after QK-norm, before RoPE), as the
                                          LCF encoder reads them; k_s, v_s from token a(t)
    h   = gelu_tanh(W_in x + b_in[g])     width `hidden`
    d   = W_out h + b_out                 = [dk (heads of g, Dk); dv (heads of g, Dv)]
    k_r' = k_r + sigmoid(gate[0, head]) * dk,   v_r' = v_r + sigmoid(gate[1, head]) * dv

Head groups: when both models have the same number of kv-heads, head h of the receiver is fused
with head h of the sharer (one group per head, the weights shared by the layer's groups, a bias
per group to tell them apart): the pairing is cheap and keeps a per-head MLP small. Otherwise
there is no natural pairing, so one group holds every head of both. The shipped agents have one
kv-head each: one group either way.

Gates start at sigmoid(GATE_INIT) ~ 0.05: the untrained fuser barely moves the receiver's
cache, so training starts from the receiver reading the text itself.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

GATE_INIT = -3.0


def layer_map(n_receiver: int, n_sharer: int) -> list[int]:
    """Receiver layer il reads sharer layer round(il * (Ls - 1) / (Lr - 1)), halves rounded up
    (integer arithmetic, so C++ gets the same); a one-layer receiver reads sharer layer 0."""
    if n_receiver == 1:
        return [0]
    den = n_receiver - 1
    return [(2 * il * (n_sharer - 1) + den) // (2 * den) for il in range(n_receiver)]


@dataclass
class C2cConfig:
    receiver_kv: tuple[int, int, int]   # (n_head_kv, head_dim_k, head_dim_v)
    sharer_kv: tuple[int, int, int]
    layer_map: list[int]                # per receiver layer: the sharer layer it reads
    hidden: int = 256
    extra: dict = field(default_factory=dict)

    @property
    def head_groups(self) -> int:
        return self.receiver_kv[0] if self.receiver_kv[0] == self.sharer_kv[0] else 1

    def to_dict(self) -> dict:
        return asdict(self)


def grouped(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, H, N, D) -> (B, G, N, H/G * D): each group's heads side by side, head-major."""
    B, H, N, D = x.shape
    return x.view(B, groups, H // groups, N, D).permute(0, 1, 3, 2, 4).reshape(B, groups, N, -1)


def ungrouped(x: torch.Tensor, heads: int, dim: int) -> torch.Tensor:
    """(B, G, N, H/G * D) -> (B, H, N, D), the inverse of grouped."""
    B, G, N, _ = x.shape
    return x.view(B, G, N, heads // G, dim).permute(0, 1, 3, 2, 4).reshape(B, heads, N, dim)


class FuseLayer(nn.Module):
    def __init__(self, c: C2cConfig):
        super().__init__()
        hr, dkr, dvr = c.receiver_kv
        hs, dks, dvs = c.sharer_kv
        G = c.head_groups
        n_in = (hr * (dkr + dvr) + hs * (dks + dvs)) // G
        n_out = hr * (dkr + dvr) // G
        self.c = c
        self.in_weight = nn.Parameter(torch.randn(c.hidden, n_in) / math.sqrt(n_in))
        self.in_bias = nn.Parameter(torch.zeros(G, c.hidden))
        self.out_weight = nn.Parameter(torch.randn(n_out, c.hidden) / math.sqrt(c.hidden))
        self.out_bias = nn.Parameter(torch.zeros(n_out))
        self.gate = nn.Parameter(torch.full((2, hr), GATE_INIT))   # row 0 keys, row 1 values

    def forward(self, rk, rv, sk, sv):
        """Receiver (B, Hr, N, D) keys (plain) and values, the aligned sharer ones (B, Hs, N, D).
        Returns the fused (k, v), keys plain."""
        hr, dkr, dvr = self.c.receiver_kv
        G = self.c.head_groups
        x = torch.cat([grouped(t, G) for t in (rk, rv, sk, sv)], dim=-1)      # (B, G, N, n_in)
        h = F.gelu(x @ self.in_weight.t() + self.in_bias[None, :, None, :], approximate="tanh")
        d = h @ self.out_weight.t() + self.out_bias                           # (B, G, N, n_out)
        nk = hr // G * dkr
        dk, dv = ungrouped(d[..., :nk], hr, dkr), ungrouped(d[..., nk:], hr, dvr)
        g = torch.sigmoid(self.gate)
        return rk + g[0][None, :, None, None] * dk, rv + g[1][None, :, None, None] * dv


class C2cFuser(nn.Module):
    def __init__(self, c: C2cConfig):
        super().__init__()
        self.c = c
        self.layers = nn.ModuleList(FuseLayer(c) for _ in c.layer_map)

    def fuse(self, receiver: list[tuple[torch.Tensor, torch.Tensor]],
             sharer: list[tuple[torch.Tensor, torch.Tensor]], align: torch.Tensor):
        """receiver: per receiver layer (plain k, v) (B, Hr, Nr, D); sharer: per sharer layer
        (plain k, v) (B, Hs, Ns, D); align (B, Nr): the sharer token of each receiver token.
        Returns per receiver layer the fused (plain k, v)."""
        out = []
        for il, layer in enumerate(self.layers):
            sk, sv = sharer[self.c.layer_map[il]]
            idx = align[:, None, :, None]
            sk = sk.gather(2, idx.expand(-1, sk.shape[1], -1, sk.shape[3]))
            sv = sv.gather(2, idx.expand(-1, sv.shape[1], -1, sv.shape[3]))
            out.append(layer(*receiver[il], sk, sv))
        return out

    def gguf_tensors(self) -> dict[str, torch.Tensor]:
        t: dict[str, torch.Tensor] = {}
        for il, lay in enumerate(self.layers):
            t[f"fuse.{il}.in.weight"], t[f"fuse.{il}.in.bias"] = lay.in_weight, lay.in_bias
            t[f"fuse.{il}.out.weight"], t[f"fuse.{il}.out.bias"] = lay.out_weight, lay.out_bias
            t[f"fuse.{il}.gate"] = lay.gate
        return t

    def gate_parameters(self) -> list[nn.Parameter]:
        return [lay.gate for lay in self.layers]


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
