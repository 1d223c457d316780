"""LcfAdapter.encode_folded (the encoder computed without r-wide items, as cachewire's
engine/adapter/lcf_encoder.cc runs it, and training's faster path) is encode: the same slots and
the same gradients, with several kv-heads per layer, entries masked out, and with and without
positional pooling. Needs python3-torch; skipped without it."""
from __future__ import annotations

import os
import sys
import unittest

try:
    import torch
except ImportError:  # CI's machine has no torch: the C++ golden tests cover the encoder there
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


@unittest.skipIf(torch is None, "python3-torch is not installed")
class EncodeFolded(unittest.TestCase):
    def adapter(self, pos_pool: bool):
        import lcf_adapter
        torch.manual_seed(3)
        cfg = lcf_adapter.LcfConfig(sharer_layers=[24, 24, 24], sharer_kv_heads=2,
                                    receiver_kv=(2, 8, 8), receiver_layers=[0, 1], n_slots=5,
                                    slot_dim=32, pool_heads=4, pos_pool=pos_pool)
        a = lcf_adapter.LcfAdapter(cfg).double()
        with torch.no_grad():  # biases and gains away from their initial zeros and ones
            for p in a.parameters():
                p.add_(0.3 * torch.randn_like(p))
        return a

    def entries(self):
        B, N = 3, 11
        lengths = torch.tensor([11, 7, 4])
        out = []
        for il in range(3):
            keep = torch.arange(N)[None, :] < lengths[:, None]
            if il == 1:                      # a sliding-window layer reads only its last entries
                keep = keep & (torch.arange(N)[None, :] >= lengths[:, None] - 3)
            k = torch.randn(B, 2, N, 12, dtype=torch.float64, requires_grad=True)
            v = torch.randn(B, 2, N, 12, dtype=torch.float64, requires_grad=True)
            out.append((k, v, keep))
        return out, lengths

    def test_same_slots_and_gradients(self):
        for pos_pool in (False, True):
            a = self.adapter(pos_pool)
            entries, lengths = self.entries()
            grads = []
            for fn in (a.encode, a.encode_folded):
                a.zero_grad()
                for k, v, _ in entries:
                    k.grad = v.grad = None
                slots = fn(entries, lengths)
                (slots * torch.linspace(-1, 1, slots.numel()).view_as(slots)).sum().backward()
                grads.append((slots.detach(), [p.grad.clone() for n, p in a.named_parameters()
                                                if n.startswith("enc")],
                              entries[0][0].grad.clone()))
            (s0, p0, k0), (s1, p1, k1) = grads
            self.assertGreater(s0.abs().max().item(), 0.1)
            torch.testing.assert_close(s1, s0, rtol=1e-9, atol=1e-9)
            for g0, g1 in zip(p0, p1):
                torch.testing.assert_close(g1, g0, rtol=1e-8, atol=1e-9)
            torch.testing.assert_close(k1, k0, rtol=1e-8, atol=1e-9)

    def test_masked_entries_do_not_matter(self):
        a = self.adapter(True)
        entries, lengths = self.entries()
        before = a.encode_folded(entries, lengths)
        with torch.no_grad():
            for k, v, keep in entries:
                k[~keep[:, None, :].expand_as(k[..., 0])] = 1e3
        torch.testing.assert_close(a.encode_folded(entries, lengths), before)


if __name__ == "__main__":
    unittest.main()
