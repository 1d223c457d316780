"""Suite accuracy of an LCF adapter in torch (the daemons' numbers come from `bench/run handoff`):
the receiver answering with the imported slots, with nothing (NONE), and with the sharer's
context in its own view (the ceiling), on the committed test and held-out episodes.

  evaluate_lcf.py ADAPTER.gguf [--splits test,heldout] [--n 100] [--json OUT]

Exact match under teacher forcing (each greedy step given the correct prefix), as evaluate.py.
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
import agents  # noqa: E402
import episodes  # noqa: E402
import handoff  # noqa: E402
import make_adapter_goldens  # noqa: E402

# shared_facts: the receiver read the text already; "none" is its own reading, and an import
# should not lower it.
FAMILIES = ("facts", "multi_fact", "passkey", "shared_facts")
BATCH = 16


@torch.no_grad()
def accuracy(adapter, sharer, receiver, eps, mode: str) -> tuple[float, int]:
    hits, n = 0, 0
    # A per-token adapter's episodes send different numbers of slots: one at a time.
    batch = 1 if mode == "lcf" and adapter.c.per_token else BATCH
    for i in range(0, len(eps), batch):
        chunk = [e for e in eps[i:i + batch] if len(handoff.context_ids(sharer, e.sharer_context)) <= sharer.n_ctx]
        if not chunk:
            continue
        qa = [handoff.question_ids(receiver, e.question, e.answer) for e in chunk]
        if mode == "context":
            ctx = [handoff.context_ids(receiver, e.sharer_context) for e in chunk]
            keep = [j for j, c in enumerate(ctx) if len(c) + len(qa[j][0]) + len(qa[j][1]) <= receiver.n_ctx]
            _, hit = handoff.receiver_answer(receiver, [ctx[j] for j in keep], [qa[j] for j in keep], None)
        else:
            ctx = [handoff.context_ids(receiver, e.receiver_context) for e in chunk]
            pins = None
            if mode == "lcf":
                slots = handoff.sharer_slots(adapter, sharer, [handoff.context_ids(sharer, e.sharer_context)
                                                               for e in chunk])
                pins = adapter.decode(slots)
            _, hit = handoff.receiver_answer(receiver, ctx, qa, pins, adapter.c.receiver_layers)
        hits += int(hit.sum())
        n += len(hit)
    return (100.0 * hits / n if n else float("nan")), n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adapter")
    ap.add_argument("--splits", default="test,heldout")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    adapter, s_id, r_id, name = make_adapter_goldens.load_adapter_file(args.adapter)
    sharer, receiver = handoff.load_agent(s_id["name"]), handoff.load_agent(r_id["name"])
    out: dict = {"adapter": name}
    for split in args.splits.split(","):
        path = os.path.join(agents.REPO, "tools", "suite", "data", f"{split}.jsonl")
        eps = episodes.load_episodes(path)
        for fam in FAMILIES:
            rows = [e for e in eps if e.family == fam][:args.n]
            for mode in ("none", "lcf", "context"):
                acc, n = accuracy(adapter, sharer, receiver, rows, mode)
                out[f"{split}/{fam}/{mode}"] = {"accuracy": round(acc, 1), "n": n}
                print(f"{split:8s} {fam:11s} {mode:8s} {acc:5.1f}% (n={n})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
