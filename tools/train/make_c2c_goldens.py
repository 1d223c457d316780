"""Golden files for cachewire's C2C fuser (tests/engine/adapter/c2c_fuser_test.cc): what the
torch network computes from the fuser file itself.

  make_c2c_goldens.py FUSER.c2c.gguf [...]   -> tests/data/adapters/golden/<name>.c2c.{json,fused.f32}
  make_c2c_goldens.py --synthetic            -> tests/data/adapters/golden/synthetic-*.c2c.{gguf,json}

Per fuser of the shipped agents, on the first shared_facts episode of the committed test split
that the two tokenizers split into different numbers of tokens (so the alignment is not the identity):
  token ids, byte spans and the alignment of both tokenizations of the shared text;
  fused      per receiver layer, the fused keys (un-rotated) then values, each
             (n_tokens, n_head_kv, head_dim), from both agents' own caches of that text (f32 file).
The shipped agents have one kv-head each, so the synthetic fusers (made-up models with two or
three kv-heads, head_dim_k != head_dim_v) cover the head groups: random inputs and outputs in the
JSON itself.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
import agents  # noqa: E402
import c2c_fuser  # noqa: E402
import c2c_handoff  # noqa: E402
import c2c_align  # noqa: E402
import episodes  # noqa: E402
import export_c2c  # noqa: E402
import handoff  # noqa: E402

OUT_DIR = os.path.join(agents.REPO, "tests", "data", "adapters", "golden")


def flat(t: torch.Tensor) -> list[float]:
    return [round(float(x), 7) for x in t.reshape(-1).tolist()]


def token_major(x: torch.Tensor) -> torch.Tensor:
    """(1, H, N, D) -> (N, H, D): the layout cachewire passes entries in."""
    return x[0].transpose(0, 1)


@torch.no_grad()
def golden(path: str) -> str:
    fuser, s_id, r_id, name = export_c2c.read(path)
    sharer, receiver = handoff.load_agent(s_id["name"]), handoff.load_agent(r_id["name"])
    test = os.path.join(agents.REPO, "tools", "suite", "data", "test.jsonl")
    for ep in (e for e in episodes.load_episodes(test) if e.family == "shared_facts"):
        text = ep.sharer_context
        s_ids, s_spans = c2c_align.token_spans(sharer, text)
        r_ids, r_spans = c2c_align.token_spans(receiver, text)
        if len(s_ids) != len(r_ids):
            break
    ctx = c2c_handoff.prefill_both(sharer, receiver, [text])
    own = [(ctx.receiver.plain_k[il], ctx.receiver.cache[il].v) for il in range(len(ctx.receiver.cache))]
    theirs = [(ctx.sharer.plain_k[il], ctx.sharer.cache[il].v) for il in range(len(ctx.sharer.cache))]
    fused = fuser.fuse(own, theirs, ctx.align)
    os.makedirs(OUT_DIR, exist_ok=True)
    fused_file = f"{name}.c2c.fused.f32"
    parts = [token_major(t).reshape(-1) for k, v in fused for t in (k, v)]
    torch.cat(parts).numpy().astype("<f4").tofile(os.path.join(OUT_DIR, fused_file))
    doc = {
        "fuser": os.path.relpath(path, agents.REPO), "sharer": s_id["name"], "receiver": r_id["name"],
        "episode": ep.id, "sharer_ids": s_ids, "receiver_ids": r_ids,
        "sharer_spans": s_spans, "receiver_spans": r_spans,
        "alignment": ctx.align[0].tolist(), "layer_map": fuser.c.layer_map,
        "n_tokens": len(r_ids), "fused_file": fused_file,
        # fused: per receiver layer k (n_tokens, n_head_kv, head_dim_k) then v (..., head_dim_v)
    }
    out = os.path.join(OUT_DIR, f"{name}.c2c.json")
    with open(out, "w") as f:
        json.dump(doc, f)
    return out


SYNTHETIC = {
    # receiver (n_layer, n_head_kv, head_dim_k, head_dim_v), sharer the same
    "synthetic-paired": ((3, 2, 4, 3), (5, 2, 5, 2)),   # equal head counts: a group per head
    "synthetic-joined": ((3, 2, 4, 3), (2, 3, 2, 2)),   # unequal: one group of every head
}


@torch.no_grad()
def synthetic(name: str) -> str:
    shapes = SYNTHETIC[name]
    ident = {}
    for side, (L, H, dk, dv) in zip(("receiver", "sharer"), shapes):
        ident[side] = {"name": f"{name}-{side}", "architecture": "llama", "n_layer": L, "n_head_kv": H,
                       "head_dim_k": dk, "head_dim_v": dv, "fingerprint": "0123456789abcdef"}
    torch.manual_seed(len(name))
    fuser = c2c_fuser.C2cFuser(export_c2c.config_for(ident["sharer"], ident["receiver"], 8))
    export_c2c.randomise(fuser)
    path = os.path.join(OUT_DIR, f"{name}.c2c.gguf")
    export_c2c.write(fuser, ident["sharer"], ident["receiver"], path, name)
    fuser, _, _, _ = export_c2c.read(path)   # the f16-rounded weights the file holds
    n = 5
    (_, hr, dkr, dvr), (_, hs, dks, dvs) = shapes
    layers = []
    for il, sl in enumerate(fuser.c.layer_map):
        rk, rv, sk, sv = (torch.randn(1, h, n, d) for h, d in ((hr, dkr), (hr, dvr), (hs, dks), (hs, dvs)))
        k, v = fuser.layers[il](rk, rv, sk, sv)
        layers.append({k_: flat(token_major(t)) for k_, t in
                       (("receiver_k", rk), ("receiver_v", rv), ("sharer_k", sk), ("sharer_v", sv),
                        ("fused_k", k), ("fused_v", v))})
    doc = {"fuser": os.path.relpath(path, agents.REPO), "n_tokens": n, "head_groups": fuser.c.head_groups,
           "layer_map": fuser.c.layer_map, "layers": layers}
    out = os.path.join(OUT_DIR, f"{name}.c2c.json")
    with open(out, "w") as f:
        json.dump(doc, f)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fusers", nargs="*")
    ap.add_argument("--synthetic", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for path in args.fusers:
        print(golden(path))
    if args.synthetic:
        for name in SYNTHETIC:
            print(synthetic(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
