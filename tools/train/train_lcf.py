"""Trains an LCF adapter for one sharer -> receiver pair of the shipped agents, both frozen
(LCF.md): the loss is the receiver's cross-entropy on the answer, given the imported slots, its
own different context and the question. Resumable: a checkpoint every few minutes.

  train_lcf.py --sharer cw-llama --receiver cw-gemma3 [--minutes 40] [--out DIR] [--distill W]

--distill W adds W times a context-distillation term: the KL divergence from the receiver reading
the sharer's text itself (the teacher: "context in view") to the receiver with the pins, over
every position of the question and the answer. The answer's cross-entropy alone is a few tokens
of signal per episode, and nothing at all while the pins carry no answer; the teacher's
distributions over the question's tokens (the names and kinds the records hold) and over the
answer (its soft targets) ask the pins for what the text gives, from the first step.

Episodes come from the suite's train split (facts, multi-fact, passkey, shared facts), each with
the episode's question and up to two more about other records, all answered from the same slots;
receiver contexts are the episodes' own unrelated texts, or the sharer's text itself (shared
facts), so the adapter learns to be context-agnostic.
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
import episodes  # noqa: E402
import handoff  # noqa: E402
import kv_forward as kvf  # noqa: E402
import lcf_adapter  # noqa: E402
import lcf_match  # noqa: E402

# shared_facts: the receiver already read the sharer's text. The pins must not drown what its
# own cache says (without these episodes an import cut the receiver's accuracy on shared
# contexts from 77% to 13%, bench/RESULTS.md).
FAMILIES = (("facts", 0.45), ("multi_fact", 0.25), ("passkey", 0.15), ("shared_facts", 0.15))
QUESTIONS_PER_EPISODE = 3
# Sharer record counts by training progress: few records first (the slots' lookup forms on
# easy episodes), the suite's full 4-40 for the last quarter and more.
CURRICULUM = ((4, 6), (4, 12), (4, 24), (4, 40))


def adapter_config(sharer: handoff.Agent, receiver: handoff.Agent, n_slots: int, slot_dim: int,
                   pos_pool: bool = True):
    s, r = sharer.model.c, receiver.model.c
    return lcf_adapter.LcfConfig(
        sharer_layers=[2 * s.head_dim] * s.n_layer, sharer_kv_heads=s.n_head_kv,
        receiver_kv=(r.n_head_kv, r.head_dim, r.head_dim),
        receiver_layers=kvf.pinnable_layers(receiver.model), n_slots=n_slots, slot_dim=slot_dim,
        pos_pool=pos_pool)


class EpisodeStream:
    """Endless train-split episodes that fit both agents' contexts."""

    def __init__(self, sharer: handoff.Agent, receiver: handoff.Agent, split: str, seed: int):
        self.sharer, self.receiver, self.split = sharer, receiver, split
        self.rng = random.Random(seed)
        self.chunk = 0
        self.seed = seed
        self.buf: list = []
        self.records = (4, 40)   # sharer records per episode (a curriculum narrows it early on)

    def set_records(self, records: tuple[int, int]) -> None:
        if records != self.records:
            self.records, self.buf = records, []

    def _refill(self) -> None:
        count = lambda s: len(self.sharer.tok.encode(s))  # noqa: E731
        for fam, _ in FAMILIES:
            opts = {"count_tokens": count, "context_tokens": (100, self.sharer.n_ctx - 40)} \
                if fam == "passkey" else {"n_records": self.records}
            n = 64 if fam != "passkey" else 16
            self.buf += [(fam, e) for e in episodes.generate(
                self.split, fam, n, seed=self.seed * 100000 + self.chunk, **opts)]
        self.chunk += 1
        self.rng.shuffle(self.buf)

    def take(self) -> episodes.Episode:
        while True:
            r, total = self.rng.random(), 0.0
            for fam, w in FAMILIES:
                total += w
                if r <= total:
                    break
            if not any(f == fam for f, _ in self.buf):
                self._refill()
            i = next(i for i, (f, _) in enumerate(self.buf) if f == fam)
            return self.buf.pop(i)[1]


# The teacher reads the sharer's text in the receiver's own vocabulary within its positions.
TEACHER_MAX_TOKENS = 440


def make_batch(stream: EpisodeStream, n_episodes: int, rng: random.Random, questions: int,
               teacher: bool = False):
    """(sharer ids, receiver context ids, (question, answer) ids, owner[, teacher context ids])
    per episode; questions name their episode by owner."""
    sh, rc = stream.sharer, stream.receiver
    s_rows, ctx_rows, qa_rows, owner, t_rows = [], [], [], [], []
    while len(s_rows) < n_episodes:
        e = stream.take()
        s_ids = handoff.context_ids(sh, e.sharer_context)
        c_ids = handoff.context_ids(rc, e.receiver_context)
        t_ids = handoff.context_ids(rc, e.sharer_context) if teacher else []
        if len(t_ids) > TEACHER_MAX_TOKENS:
            continue
        qas = [(e.question, e.answer)]
        if questions > 1 and not e.family.endswith("passkey"):
            qas += episodes.extra_questions(e, rng, questions - 1)
        rows = [handoff.question_ids(rc, q, a) for q, a in qas]
        if len(s_ids) > sh.n_ctx or len(c_ids) + max(len(q) + len(a) for q, a in rows) > 300:
            continue
        for qa in rows:
            qa_rows.append(qa)
            owner.append(len(s_rows))
        ctx_rows.append(c_ids)
        s_rows.append(s_ids)
        t_rows.append(t_ids)
    batch = (s_rows, ctx_rows, qa_rows, torch.tensor(owner))
    return batch + (t_rows,) if teacher else batch


def step_loss(adapter, sharer, receiver, batch):
    s_rows, ctx_rows, qa_rows, owner = batch[:4]
    slots = handoff.sharer_slots(adapter, sharer, s_rows)[owner]
    pins = adapter.decode(slots)
    return handoff.receiver_answer(receiver, ctx_rows, qa_rows, pins, adapter.c.receiver_layers, owner)


def matched_loss(adapter, sharer, receiver, batch):
    """(answer cross-entropy, attention-matching loss (lcf_match.py), per-row exact match)."""
    s_rows, ctx_rows, qa_rows, owner, t_rows = batch
    slots = handoff.sharer_slots(adapter, sharer, s_rows)[owner]
    pins = adapter.decode(slots)
    ce, hit = handoff.receiver_answer(receiver, ctx_rows, qa_rows, pins, adapter.c.receiver_layers, owner)
    mt = lcf_match.match_loss(pins, adapter.c.receiver_layers, receiver, ctx_rows, t_rows, qa_rows, owner)
    return ce, mt, hit


def distill_loss(adapter, sharer, receiver, batch):
    """(answer cross-entropy, KL(teacher || pinned receiver) over the question and answer
    positions, per-row exact match): the teacher is the receiver with the sharer's text as its
    context (batch[4]), no pins."""
    s_rows, ctx_rows, qa_rows, owner, t_rows = batch
    slots = handoff.sharer_slots(adapter, sharer, s_rows)[owner]
    pins = adapter.decode(slots)
    rows = [q + a for q, a in qa_rows]
    student = handoff.receiver_logits(receiver, ctx_rows, rows, pins, adapter.c.receiver_layers, owner)
    with torch.no_grad():
        teacher = handoff.receiver_logits(receiver, t_rows, rows, None, None, owner)
    B, T, _ = student.shape
    seen = torch.zeros(B, T, dtype=torch.bool)  # positions predicting a question or answer token
    for b, (q, a) in enumerate(qa_rows):
        seen[b, :len(q) + len(a) - 1] = True
    ce, hit = handoff.answer_loss(student, qa_rows)
    log_s, log_t = student.log_softmax(-1), teacher.log_softmax(-1)
    kl = (log_t.exp() * (log_t - log_s)).sum(-1)
    kl = (kl * seen).sum() / seen.sum().clamp(min=1)
    return ce, kl, hit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sharer", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--receiver", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--minutes", type=float, default=40.0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--episodes", type=int, default=8, help="episodes per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--slots", type=int, default=32)
    ap.add_argument("--slot-dim", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pos-pool", action=argparse.BooleanOptionalAction, default=True, help=
                    "positional pooling (lcf_adapter.py): slot m leans on the m-th stretch of text")
    ap.add_argument("--records", default=None,
                    help="fixed sharer record range LO,HI for training and dev (no curriculum)")
    ap.add_argument("--match", type=float, default=0.0,
                    help="weight of the attention-matching loss (lcf_match.py); 0: off")
    ap.add_argument("--distill", type=float, default=0.0,
                    help="weight of the context-distillation KL (see the module comment); 0: off")
    args = ap.parse_args()
    fixed = tuple(int(x) for x in args.records.split(",")) if args.records else None
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    out = args.out or os.path.join(agents.BUILD_DIR, f"lcf-{args.sharer}-{args.receiver}")
    os.makedirs(out, exist_ok=True)
    sharer, receiver = handoff.load_agent(args.sharer), handoff.load_agent(args.receiver)
    cfg = adapter_config(sharer, receiver, args.slots, args.slot_dim, args.pos_pool)
    adapter = lcf_adapter.LcfAdapter(cfg)
    opt = torch.optim.AdamW(adapter.parameters(), lr=args.lr, weight_decay=0.01)
    ck_path = os.path.join(out, "checkpoint.pt")
    step, spent = 0, 0.0
    if os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu")
        adapter.load_state_dict(ck["adapter"])
        opt.load_state_dict(ck["opt"])
        step, spent = ck["step"], ck["seconds"]
        print(f"resumed at step {step} ({spent / 60:.1f} min)", flush=True)
    stream = EpisodeStream(sharer, receiver, "train", args.seed + step)
    dev = EpisodeStream(sharer, receiver, "dev", 7)
    if fixed:
        dev.set_records(fixed)
    dev_batches = [make_batch(dev, 16, random.Random(i), 1) for i in range(4)]
    rng = random.Random(args.seed * 7919 + step)
    log = open(os.path.join(out, "train.log"), "a")
    started, last_save = time.time() - spent, time.time()
    budget = args.minutes * 60

    def save() -> None:
        torch.save({"adapter": adapter.state_dict(), "opt": opt.state_dict(), "step": step,
                    "seconds": time.time() - started, "config": cfg.to_dict(),
                    "sharer": args.sharer, "receiver": args.receiver, "distill": args.distill,
                    "match": args.match},
                   ck_path + ".tmp")
        os.replace(ck_path + ".tmp", ck_path)

    ema = kl_ema = None
    while time.time() - started < budget:
        progress = (time.time() - started) / budget
        stream.set_records(fixed or CURRICULUM[min(len(CURRICULUM) - 1, int(progress * len(CURRICULUM) / 0.75))])
        warm = min(1.0, (step + 1) / 100)
        lr = args.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.time() - started) / budget))))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = make_batch(stream, args.episodes, rng, QUESTIONS_PER_EPISODE,
                           teacher=args.distill > 0 or args.match > 0)
        if args.match > 0:
            ce, mt, hit = matched_loss(adapter, sharer, receiver, batch)
            loss = ce + args.match * mt
            kl_ema = mt.item() if kl_ema is None else 0.95 * kl_ema + 0.05 * mt.item()
        elif args.distill > 0:
            ce, kl, hit = distill_loss(adapter, sharer, receiver, batch)
            loss = ce + args.distill * kl
            kl_ema = kl.item() if kl_ema is None else 0.95 * kl_ema + 0.05 * kl.item()
        else:
            loss, hit = step_loss(adapter, sharer, receiver, batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(adapter.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 50 == 0:
            with torch.no_grad():
                acc = torch.cat([step_loss(adapter, sharer, receiver, b)[1] for b in dev_batches])
            rec = {"step": step, "min": round((time.time() - started) / 60, 2), "loss": round(ema, 4),
                   "train_em": round(hit.float().mean().item(), 3),
                   "dev_em": round(acc.float().mean().item(), 3), "lr": lr}
            if kl_ema is not None:
                rec["match" if args.match > 0 else "kl"] = round(kl_ema, 4)
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if time.time() - last_save > 180:
            save()
            last_save = time.time()
    save()
    print(f"done: step {step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
