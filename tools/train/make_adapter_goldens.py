"""Golden files for cachewire's LCF adapter (tests/engine/adapter/lcf_adapter_test.cc): what the
torch network that trains adapters computes, from the adapter file itself, on the shipped agents.

  make_adapter_goldens.py ADAPTER.gguf [...]       -> tests/data/adapters/golden/<name>.{json,logits.f32}

Per adapter, on the first facts episode of the committed test split:
  slots      the encoder's output over the sharer's cache after prefilling the sharer's context
  pins       the decoder's (k, v) per pinned receiver layer, from the slots rounded to f16
  logits     the receiver's logits over question + answer after prefilling its own context and
             importing those pins (every position, raw f32)
Token ids are stored, so the test does not depend on the tokenizers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
sys.path.insert(0, os.path.join(HERE, "..", "gguf"))
import agents  # noqa: E402
import episodes  # noqa: E402
import export_adapter  # noqa: E402
import gguf_io  # noqa: E402
import handoff  # noqa: E402
import lcf_adapter  # noqa: E402

OUT_DIR = os.path.join(agents.REPO, "tests", "data", "adapters", "golden")


def load_adapter_file(path: str) -> tuple[lcf_adapter.LcfAdapter, dict, dict, str]:
    """The torch network holding exactly the file's (f16-rounded) weights."""
    r = gguf_io.GGUFReader(path)
    md = r.metadata
    sharer, receiver = export_adapter.identities_in(r)
    cfg = export_adapter.config_for(sharer, receiver, int(md["cachewire.lcf.n_slots"]),
                                    int(md["cachewire.lcf.slot_dim"]),
                                    bool(md.get("cachewire.lcf.per_token", False)))
    cfg.pool_heads = int(md["cachewire.lcf.pool_heads"])
    cfg.ff_mult = int(md["cachewire.lcf.ff_dim"]) // cfg.slot_dim
    cfg.pos_pool = "enc.pos.weight" in r.tensors
    adapter = lcf_adapter.LcfAdapter(cfg)
    export_adapter.copy_tensors(r, adapter.gguf_tensors())
    return adapter.eval(), sharer, receiver, md["general.name"]


@torch.no_grad()
def golden(path: str) -> str:
    adapter, s_id, r_id, name = load_adapter_file(path)
    sharer, receiver = handoff.load_agent(s_id["name"]), handoff.load_agent(r_id["name"])
    test = os.path.join(agents.REPO, "tools", "suite", "data", "test.jsonl")
    ep = next(e for e in episodes.load_episodes(test) if e.family == "facts")
    s_ids = handoff.context_ids(sharer, ep.sharer_context)
    entries = handoff.sharer_entries(sharer, [s_ids])
    if adapter.c.per_token:
        slots = adapter.encode_sent(entries)
    else:
        slots = adapter.encode(entries, torch.tensor([len(s_ids)]))
    slots16 = slots.half().float()
    pins = adapter.decode(slots16)
    c_ids = handoff.context_ids(receiver, ep.receiver_context)
    q, a = handoff.question_ids(receiver, ep.question, ep.answer)
    logits = handoff.receiver_logits(receiver, [c_ids], [q + a], pins, adapter.c.receiver_layers)[0]
    os.makedirs(OUT_DIR, exist_ok=True)
    logits_file = f"{name}.logits.f32"
    logits.numpy().astype("<f4").tofile(os.path.join(OUT_DIR, logits_file))
    flat = lambda t: [round(float(x), 7) for x in t.reshape(-1).tolist()]  # noqa: E731
    doc = {
        "adapter": os.path.relpath(path, agents.REPO), "sharer": s_id["name"], "receiver": r_id["name"],
        "episode": ep.id, "sharer_ids": s_ids, "receiver_ids": c_ids, "qa_ids": q + a,
        "n_slots": int(slots.shape[1]), "slot_dim": adapter.c.slot_dim,
        "slots": flat(slots[0]),
        # pins per layer as the decoder lays them out: (M, n_head_kv, head_dim)
        "pins": {str(il): {"k": flat(k[0].transpose(0, 1)), "v": flat(v[0].transpose(0, 1))}
                 for il, (k, v) in zip(adapter.c.receiver_layers, pins)},
        "logits_file": logits_file, "n_vocab": int(logits.shape[-1]),
    }
    out = os.path.join(OUT_DIR, f"{name}.json")
    with open(out, "w") as f:
        json.dump(doc, f)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adapters", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for path in args.adapters:
        print(golden(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
