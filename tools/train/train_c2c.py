"""Trains a C2C fuser for one sharer -> receiver pair of the shipped agents, both frozen
(LCF.md, "C2C fuser"): both prefill the same text, the receiver's cache of it is fused with the
sharer's, and the loss is the receiver's cross-entropy on the answer after " Question: ... Answer:".

  nice -n 19 env OPENBLAS_NUM_THREADS=1 train_c2c.py --sharer cw-gemma3 --receiver cw-llama --minutes 20

Episodes: the suite's train split, shared-context families (shared_facts mostly, some
shared_multi_fact), each text asked the episode's question and up to two more about its other
records (one prefill of both agents serves them all). Resumable: a checkpoint every 3 minutes in
build/train/c2c-<sharer>-<receiver>/, and a dev exact-match line every 50 steps (the first
line, at step 0, is the receiver alone: the untrained gates are nearly shut).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
import agents  # noqa: E402
import c2c_fuser  # noqa: E402
import c2c_handoff  # noqa: E402
import episodes  # noqa: E402
import handoff  # noqa: E402

FAMILIES = (("shared_facts", 0.8), ("shared_multi_fact", 0.2))
QUESTIONS_PER_EPISODE = 3
GATE_LR_MULT = 10.0    # gates start near shut; Adam moves a parameter ~lr a step, so ten times
SAVE_SECONDS = 180
DEV_EVERY = 50


def fuser_config(sharer: handoff.Agent, receiver: handoff.Agent, hidden: int) -> c2c_fuser.C2cConfig:
    s, r = sharer.model.c, receiver.model.c
    return c2c_fuser.C2cConfig(receiver_kv=(r.n_head_kv, r.head_dim, r.head_dim),
                               sharer_kv=(s.n_head_kv, s.head_dim, s.head_dim),
                               layer_map=c2c_fuser.layer_map(r.n_layer, s.n_layer), hidden=hidden)


class EpisodeStream:
    """Endless shared-context episodes of one split, drawn by family weight."""

    def __init__(self, split: str, seed: int, families=FAMILIES):
        self.split, self.seed, self.families = split, seed, families
        self.rng = random.Random(seed)
        self.chunk = 0
        self.buf: dict[str, list] = {f: [] for f, _ in families}

    def take(self) -> episodes.Episode:
        fam = self.rng.choices([f for f, _ in self.families], [w for _, w in self.families])[0]
        if not self.buf[fam]:
            self.buf[fam] = episodes.generate(self.split, fam, 64, seed=self.seed * 100000 + self.chunk)
            self.chunk += 1
            self.rng.shuffle(self.buf[fam])
        return self.buf[fam].pop()


def make_batch(stream: EpisodeStream, sharer, receiver, n_episodes: int, rng: random.Random,
               questions: int):
    """(texts, qa rows, owner): each text with up to `questions` questions, all fitting n_ctx."""
    texts, qa_rows, owner = [], [], []
    while len(texts) < n_episodes:
        e = stream.take()
        qas = [(e.question, e.answer)]
        if questions > 1:
            qas += episodes.extra_questions(e, rng, questions - 1)
        rows = [handoff.question_ids(receiver, q, a) for q, a in qas]
        n_r = len(handoff.context_ids(receiver, e.sharer_context))
        if len(handoff.context_ids(sharer, e.sharer_context)) > sharer.n_ctx or \
                n_r + max(len(q) + len(a) for q, a in rows) > receiver.n_ctx:
            continue
        for qa in rows:
            qa_rows.append(qa)
            owner.append(len(texts))
        texts.append(e.sharer_context)
    return texts, qa_rows, torch.tensor(owner)


def step_loss(fuser, sharer, receiver, batch):
    texts, qa_rows, owner = batch
    ctx = c2c_handoff.prefill_both(sharer, receiver, texts)
    return c2c_handoff.answer(fuser, receiver, ctx, qa_rows, owner)


def dev_em(fuser, sharer, receiver, batches) -> float:
    with torch.no_grad():
        hits = torch.cat([step_loss(fuser, sharer, receiver, b)[1] for b in batches])
    return round(hits.float().mean().item(), 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sharer", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--receiver", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--episodes", type=int, default=8, help="texts per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = args.out or os.path.join(agents.BUILD_DIR, f"c2c-{args.sharer}-{args.receiver}")
    os.makedirs(out, exist_ok=True)
    sharer, receiver = handoff.load_agent(args.sharer), handoff.load_agent(args.receiver)
    cfg = fuser_config(sharer, receiver, args.hidden)
    fuser = c2c_fuser.C2cFuser(cfg)
    gates = {id(p) for p in fuser.gate_parameters()}
    opt = torch.optim.AdamW([
        {"params": [p for p in fuser.parameters() if id(p) not in gates], "mult": 1.0},
        {"params": fuser.gate_parameters(), "mult": GATE_LR_MULT, "weight_decay": 0.0}],
        lr=args.lr, weight_decay=0.01)
    ck_path = os.path.join(out, "checkpoint.pt")
    step, spent = 0, 0.0
    if os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu")
        fuser.load_state_dict(ck["fuser"])
        opt.load_state_dict(ck["opt"])
        step, spent = ck["step"], ck["seconds"]
        print(f"resumed at step {step} ({spent / 60:.1f} min)", flush=True)
    stream = EpisodeStream("train", args.seed + step)
    dev = EpisodeStream("dev", 7, (("shared_facts", 1.0),))
    dev_batches = [make_batch(dev, sharer, receiver, 16, random.Random(i), 1) for i in range(4)]
    rng = random.Random(args.seed * 7919 + step)
    log = open(os.path.join(out, "train.log"), "a")
    started, last_save = time.time() - spent, time.time()
    budget = args.minutes * 60

    def record(rec: dict) -> None:
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()

    def save() -> None:
        torch.save({"fuser": fuser.state_dict(), "opt": opt.state_dict(), "step": step,
                    "seconds": time.time() - started, "config": cfg.to_dict(),
                    "sharer": args.sharer, "receiver": args.receiver}, ck_path + ".tmp")
        os.replace(ck_path + ".tmp", ck_path)

    if step == 0:
        record({"step": 0, "dev_em_receiver_alone": dev_em(None, sharer, receiver, dev_batches),
                "dev_em": dev_em(fuser, sharer, receiver, dev_batches)})
    ema = None
    while time.time() - started < budget:
        progress = min(1.0, (time.time() - started) / budget)
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr * g["mult"]
        loss, hit = step_loss(fuser, sharer, receiver,
                              make_batch(stream, sharer, receiver, args.episodes, rng, QUESTIONS_PER_EPISODE))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(fuser.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % DEV_EVERY == 0:
            gate = torch.sigmoid(torch.stack(fuser.gate_parameters())).mean(dim=(0, 2))
            record({"step": step, "min": round((time.time() - started) / 60, 2), "loss": round(ema, 4),
                    "train_em": round(hit.float().mean().item(), 3),
                    "dev_em": dev_em(fuser, sharer, receiver, dev_batches),
                    "gate_k": round(gate[0].item(), 3), "gate_v": round(gate[1].item(), 3), "lr": lr})
        if time.time() - last_save > SAVE_SECONDS:
            save()
            last_save = time.time()
    save()
    print(f"done: step {step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
