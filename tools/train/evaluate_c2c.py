"""Suite accuracy of a C2C fuser in torch (the daemons' numbers will come from `bench/run
handoff`): on shared-context episodes, the receiver answering from its cache of the text fused
with the sharer's (c2c), from its own cache alone (alone: what fusion must beat), and the sharer
answering from its own cache (sharer: where the fused knowledge comes from).

  evaluate_c2c.py FUSER.c2c.gguf [--split test] [--families shared_facts] [--n 50] [--json OUT]

Exact match under teacher forcing (each greedy step given the correct prefix), as evaluate_lcf.py,
and the mean cross-entropy on the answer tokens (finer than exact match on 50 episodes).
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
import c2c_handoff  # noqa: E402
import episodes  # noqa: E402
import export_c2c  # noqa: E402
import handoff  # noqa: E402

BATCH = 16
MODES = ("alone", "c2c", "sharer")


def fits(agent: handoff.Agent, e: episodes.Episode) -> bool:
    q, a = handoff.question_ids(agent, e.question, e.answer)
    return len(handoff.context_ids(agent, e.sharer_context)) + len(q) + len(a) <= agent.n_ctx


@torch.no_grad()
def hits(fuser, sharer: handoff.Agent, receiver: handoff.Agent, eps: list, mode: str):
    """Per episode exact match (N) and the mean answer cross-entropy (batches weighted by size)."""
    out, loss_sum = [], 0.0
    for i in range(0, len(eps), BATCH):
        chunk = eps[i:i + BATCH]
        ctx = c2c_handoff.prefill_both(sharer, receiver, [e.sharer_context for e in chunk])
        if mode == "sharer":
            qa = [handoff.question_ids(sharer, e.question, e.answer) for e in chunk]
            loss, hit = handoff.receiver_answer(sharer, ctx.sharer_ids, qa, None)
        else:
            qa = [handoff.question_ids(receiver, e.question, e.answer) for e in chunk]
            loss, hit = c2c_handoff.answer(fuser if mode == "c2c" else None, receiver, ctx, qa)
        out.append(hit)
        loss_sum += loss.item() * len(chunk)
    return torch.cat(out), loss_sum / max(1, len(eps))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fuser")
    ap.add_argument("--split", default="test")
    ap.add_argument("--families", default="shared_facts")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    fuser, s_id, r_id, name = export_c2c.read(args.fuser)
    sharer, receiver = handoff.load_agent(s_id["name"]), handoff.load_agent(r_id["name"])
    path = os.path.join(agents.REPO, "tools", "suite", "data", f"{args.split}.jsonl")
    everything = episodes.load_episodes(path)
    out: dict = {"fuser": name}
    for fam in args.families.split(","):
        eps = [e for e in everything if e.family == fam and fits(sharer, e) and fits(receiver, e)][:args.n]
        for mode in MODES:
            h, loss = hits(fuser, sharer, receiver, eps, mode)
            acc = 100.0 * h.float().mean().item() if len(h) else float("nan")
            out[f"{args.split}/{fam}/{mode}"] = {"accuracy": round(acc, 1), "answer_ce": round(loss, 4), "n": len(h)}
            print(f"{args.split:8s} {fam:18s} {mode:7s} {acc:5.1f}%  answer CE {loss:.4f} (n={len(h)})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
