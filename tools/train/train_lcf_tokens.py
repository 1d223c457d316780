"""Trains a per-token LCF adapter (lcf_adapter.py, per_token) for one sharer -> receiver pair of
the shipped agents, both frozen: each sharer token's slot (read from the token's entries and
its predecessor's) must decode into the entries the receiver holds, in every layer, for the same
text (its token covering the sharer token's last byte, c2c_align's rule with the sides swapped).
Pinned, those entries let the receiver look the text up as if it had read it: its own cache of
the text pinned this way answers 80% of test facts for cw-llama (probe_kv_translation.py),
against 2% with nothing.

  train_lcf_tokens.py --sharer cw-gemma3 --receiver cw-llama [--minutes 6] [--texts 1.0] [--out DIR]

The loss is the mean squared error of the decoded keys and values, each dimension scaled by
its spread over the data; inputs and targets are standardised for training and the scales are
folded into the weights on saving, so the file computes raw entries from raw entries. Texts
come from the suite's train split (facts, multi-fact, passkey); the map is fitted on every
token (select_tokens only picks which are sent). Writes DIR/checkpoint.pt in train_lcf.py's
format, which export_adapter.py turns into the adapter file.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
import agents  # noqa: E402
import c2c_align  # noqa: E402
import episodes  # noqa: E402
import export_adapter  # noqa: E402
import handoff  # noqa: E402
import lcf_adapter  # noqa: E402

FAMILIES = (("facts", 300), ("multi_fact", 100), ("passkey", 60))
MAX_TOKENS = 440          # texts either agent spells longer are left out (train_lcf.py's bound)
BATCH = 512               # tokens per step
HELD_BACK = 3000          # tokens kept out of training, for the reported R^2


def receiver_targets(receiver: handoff.Agent, text: str, sharer_spans: list[tuple[int, int]]):
    """The receiver's entries, all layers, at the token aligned to each sharer token
    ((N, L*Hkv*(dk+dv))), and its forward over the whole text."""
    r_ids, r_spans = c2c_align.token_spans(receiver, text)
    receiver_of = torch.tensor(c2c_align.align_tokens(sharer_spans, r_spans))
    out = handoff.context_forward(receiver, [r_ids])
    y = torch.cat([torch.cat((out.plain_k[il][0], out.cache[il].v[0]), -1).transpose(0, 1)
                   .reshape(len(r_ids), -1) for il in range(receiver.model.c.n_layer)], 1)
    return y[receiver_of], out


def token_rows(sharer: handoff.Agent, receiver: handoff.Agent, text: str):
    """Per sharer token: its entries per sharer layer (x (N, Hkv, n), held (N)) and the
    receiver's entries at the aligned token (receiver_targets)."""
    s_ids, s_spans = c2c_align.token_spans(sharer, text)
    entries = handoff.sharer_entries(sharer, [s_ids])
    xs = [(torch.cat((k[0], v[0]), -1).transpose(0, 1), ok[0]) for k, v, ok in entries]
    return xs, receiver_targets(receiver, text, s_spans)[0]


def collect(sharer, receiver, seed: int, scale: float):
    texts = []
    for fam, base in FAMILIES:
        n = round(base * scale)
        opts = {"count_tokens": lambda s: len(sharer.tok.encode(s)), "context_tokens": (100, MAX_TOKENS - 20)} \
            if fam == "passkey" else {"n_records": (4, 40)}
        texts += [e.sharer_context for e in episodes.generate("train", fam, n, seed=seed, **opts)]
    layers, ys, prev, at = None, [], [], 0
    for text in texts:
        if max(len(handoff.context_ids(a, text)) for a in (sharer, receiver)) > MAX_TOKENS:
            continue
        xs, y = token_rows(sharer, receiver, text)
        layers = [([], []) for _ in xs] if layers is None else layers
        for (xl, hl), (x, ok) in zip(layers, xs):
            xl.append(x)
            hl.append(ok)
        ys.append(y)
        prev.append(torch.cat((torch.tensor([-1]), torch.arange(at, at + len(y) - 1))))
        at += len(y)
    return [(torch.cat(x), torch.cat(h)) for x, h in layers], torch.cat(ys), torch.cat(prev)


class Standardised(torch.nn.Module):
    """The adapter trained on standardised inputs and targets (fold() writes the plain one)."""

    def __init__(self, adapter: lcf_adapter.LcfAdapter, layers, y: torch.Tensor):
        super().__init__()
        self.adapter = adapter
        self.mx = [(x[h].mean((0, 1)), x[h].std((0, 1)) + 1e-3) for x, h in layers]
        self.my, self.sy = y.mean(0), y.std(0) + 1e-3
        with torch.no_grad():
            for lk, lv in zip(adapter.dec_k, adapter.dec_v):
                for lin in (lk, lv):
                    lin.weight.mul_(0.1)
                    lin.bias.zero_()

    def forward(self, layers, prev: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Standardised predictions (R, L*Hkv*(dk+dv)) for token rows; prev[i]: the row of
        token i's predecessor in its text, -1 for none."""
        z = 0.0
        before = prev[rows].clamp(min=0)
        has = (prev[rows] >= 0).float()
        a = self.adapter
        for proj, back, (x, held), (m, s) in zip(a.enc_in, a.enc_prev, layers, self.mx):
            for lin, at, w in ((proj, rows, held[rows].float()), (back, before, held[before].float() * has)):
                u = lin(((x[at] - m) / s).transpose(0, 1)[None])[0]    # (Hkv, R, r)
                z = z + (u * w[None, :, None]).sum(0)
        pins = self.adapter.decode(handoff.round_f16(z)[None])
        return torch.cat([torch.cat((k[0], v[0]), -1).transpose(0, 1).reshape(len(rows), -1)
                          for k, v in pins], 1)

    @torch.no_grad()
    def fold(self) -> lcf_adapter.LcfAdapter:
        """The adapter on raw entries: x scales into enc.in, y scales into dec.k / dec.v."""
        a = self.adapter
        for proj, back, (m, s) in zip(a.enc_in, a.enc_prev, self.mx):
            for lin in (proj, back):
                lin.bias.sub_((lin.weight @ (m / s))[None, :])
                lin.weight.div_(s[None, :])
        hkv, dk, dv = a.c.receiver_kv
        width = hkv * (dk + dv)
        for j, (lk, lv) in enumerate(zip(a.dec_k, a.dec_v)):
            my = self.my[j * width:(j + 1) * width].view(hkv, dk + dv)
            sy = self.sy[j * width:(j + 1) * width].view(hkv, dk + dv)
            for lin, sl in ((lk, slice(0, dk)), (lv, slice(dk, dk + dv))):
                mu, sd = my[:, sl].reshape(-1), sy[:, sl].reshape(-1)
                lin.weight.mul_(sd[:, None])
                lin.bias.mul_(sd).add_(mu)
        return a


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sharer", required=True)
    ap.add_argument("--receiver", required=True)
    ap.add_argument("--minutes", type=float, default=6.0, help="training time after the data is built")
    ap.add_argument("--slots", type=int, default=128, help="the most tokens sent")
    ap.add_argument("--slot-dim", type=int, default=64)
    ap.add_argument("--ff-mult", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--texts", type=float, default=1.0, help="texts per family, times the default")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out_dir = args.out or os.path.join(agents.REPO, "build", "train", f"lcf-{args.sharer}-{args.receiver}")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    t0 = time.time()
    sharer, receiver = handoff.load_agent(args.sharer), handoff.load_agent(args.receiver)
    with torch.no_grad():
        layers, y, prev = collect(sharer, receiver, args.seed, args.texts)
    s_id = export_adapter.identity(os.path.join(agents.REPO, "models", f"{args.sharer}.gguf"))
    r_id = export_adapter.identity(os.path.join(agents.REPO, "models", f"{args.receiver}.gguf"))
    cfg = export_adapter.config_for(s_id, r_id, args.slots, args.slot_dim)
    cfg.per_token, cfg.pos_pool, cfg.ff_mult, cfg.pool_heads = True, False, args.ff_mult, 1
    model = Standardised(lcf_adapter.LcfAdapter(cfg), layers, y)
    yn = (y - model.my) / model.sy
    order = torch.randperm(len(y))
    held, rows = order[:HELD_BACK], order[HELD_BACK:]
    opt = torch.optim.AdamW(model.adapter.parameters(), lr=args.lr, weight_decay=1e-4)
    print(json.dumps({"tokens": len(y), "data_min": round((time.time() - t0) / 60, 2),
                      "params": lcf_adapter.n_params(model.adapter)}), flush=True)
    start, step, log = time.time(), 0, []
    while time.time() - start < 60 * args.minutes:
        frac = (time.time() - start) / (60 * args.minutes)
        for g in opt.param_groups:   # cosine from lr down to a tenth
            g["lr"] = args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, frac))))
        i = rows[torch.randint(len(rows), (BATCH,))]
        loss = (model(layers, prev, i) - yn[i]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 250 == 0:
            with torch.no_grad():
                err = (model(layers, prev, held) - yn[held]).pow(2) * model.sy ** 2
                r2 = 1 - err.sum() / ((y[held] - y[held].mean(0)) ** 2).sum()
            line = {"step": step, "min": round((time.time() - start) / 60, 2), "loss": round(float(loss), 4),
                    "held_r2": round(float(r2), 4)}
            log.append(line)
            print(json.dumps(line), flush=True)
    adapter = model.fold()
    torch.save({"config": cfg.to_dict(), "adapter": adapter.state_dict(), "sharer": args.sharer,
                "receiver": args.receiver, "step": step, "log": log,
                "args": {"minutes": args.minutes, "texts": args.texts},
                "minutes": round((time.time() - t0) / 60, 2), "kind": "per_token"},
               os.path.join(out_dir, "checkpoint.pt"))
    print(f"{out_dir}/checkpoint.pt: {step} steps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
