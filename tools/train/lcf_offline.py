"""Offline attention matching for an LCF adapter: the frozen models run once per episode, not
once per step.

  lcf_offline.py produce --sharer S --receiver R --out DIR [--seed N]     (runs until killed)
  lcf_offline.py train --sharer S --receiver R --out DIR [--minutes 20]

With both models frozen, everything `train_lcf.py --match` recomputes at every step except the
adapter itself is a function of the episode: the sharer's cache, and the receiver's teacher
targets (its queries with the text in view and the text's attention outputs per layer,
lcf_match.TeacherTargets). `produce` writes them, a batch of episodes per shard under
DIR/teacher/ in f16; `train` fits the adapter to the matching loss alone over the shards
written so far (rereading the folder as `produce` adds more), so a step costs the folded
encoder, the decoder and an M-wide attention: a few times cheaper than one with the models in
the loop, and the data keeps growing while it trains (run both at once, one core each).

`train` writes train_lcf.py's checkpoint, so `train_lcf.py --match 1` continues from it with
the answer's cross-entropy (its own optimizer state and schedule).
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agents  # noqa: E402
import handoff  # noqa: E402
import lcf_adapter  # noqa: E402
import lcf_match  # noqa: E402
import train_lcf  # noqa: E402

EPISODES_PER_SHARD = 16


def produce(args) -> int:
    torch.set_num_threads(1)
    sharer, receiver = handoff.load_agent(args.sharer), handoff.load_agent(args.receiver)
    folder = os.path.join(args.out, "teacher")
    os.makedirs(folder, exist_ok=True)
    stream = train_lcf.EpisodeStream(sharer, receiver, "train", args.seed)
    rng = random.Random(args.seed)
    n = len(glob.glob(os.path.join(folder, f"s{args.seed}-*.pt")))
    while True:
        # Every record range of train_lcf's curriculum in turn: easy and hard episodes mixed.
        stream.set_records(train_lcf.CURRICULUM[n % len(train_lcf.CURRICULUM)])
        s_rows, ctx_rows, qa_rows, owner, t_rows = train_lcf.make_batch(
            stream, EPISODES_PER_SHARD, rng, train_lcf.QUESTIONS_PER_EPISODE, teacher=True)
        entries = handoff.sharer_entries(sharer, s_rows)
        target = lcf_match.teacher_targets(receiver, ctx_rows, t_rows, qa_rows, owner)
        shard = {"entries": [(k.half(), v.half(), ok) for k, v, ok in entries],
                 "lengths": torch.tensor([len(r) for r in s_rows]), "owner": owner,
                 "target": target.to(torch.float16)}
        path = os.path.join(folder, f"s{args.seed}-{n:05d}.pt")
        torch.save(shard, path + ".tmp")
        os.replace(path + ".tmp", path)
        n += 1


class Shards:
    """The shards on disk, loaded once each; rescan() picks up those written since."""

    def __init__(self, folder: str):
        self.folder, self.loaded, self.items = folder, set(), []

    def rescan(self) -> int:
        for path in sorted(glob.glob(os.path.join(self.folder, "*.pt"))):
            if path not in self.loaded:
                self.loaded.add(path)
                self.items.append(torch.load(path))
        return len(self.items)


def shard_loss(adapter, receiver, shard) -> torch.Tensor:
    entries = [(k.float(), v.float(), ok) for k, v, ok in shard["entries"]]
    slots = handoff.round_f16(adapter.encode_folded(entries, shard["lengths"]))
    pins = adapter.decode(slots[shard["owner"]])
    return lcf_match.pin_loss(pins, adapter.c.receiver_layers, receiver, shard["target"])


def train(args) -> int:
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    sharer, receiver = handoff.load_agent(args.sharer), handoff.load_agent(args.receiver)
    cfg = train_lcf.adapter_config(sharer, receiver, args.slots, args.slot_dim, True)
    adapter = lcf_adapter.LcfAdapter(cfg)
    opt = torch.optim.AdamW(adapter.parameters(), lr=args.lr, weight_decay=0.01)
    shards = Shards(args.shards or os.path.join(args.out, "teacher"))
    while shards.rescan() < args.min_shards:
        time.sleep(10)
    # The first shards are held out for the matching loss on unseen episodes.
    held, first = shards.items[:2], 2
    dev = train_lcf.EpisodeStream(sharer, receiver, "dev", 7)
    dev_batches = [train_lcf.make_batch(dev, 16, random.Random(i), 1) for i in range(4)]
    log = open(os.path.join(args.out, "offline.log"), "a")
    started, step, budget, ema = time.time(), 0, args.minutes * 60, None
    while time.time() - started < budget:
        if step % 100 == 0:
            shards.rescan()
        frac = (time.time() - started) / budget
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.45 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = shard_loss(adapter, receiver, random.choice(shards.items[first:]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(adapter.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % args.eval_every == 0:
            with torch.no_grad():
                held_loss = sum(shard_loss(adapter, receiver, s).item() for s in held) / len(held)
                acc = torch.cat([train_lcf.step_loss(adapter, sharer, receiver, b)[1]
                                 for b in dev_batches])
            rec = {"step": step, "min": round((time.time() - started) / 60, 2),
                   "match": round(ema, 4), "held_match": round(held_loss, 4),
                   "dev_em": round(acc.float().mean().item(), 3), "shards": len(shards.items),
                   "lr": lr}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
    fresh = torch.optim.AdamW(adapter.parameters(), lr=args.lr, weight_decay=0.01)
    torch.save({"adapter": adapter.state_dict(), "opt": fresh.state_dict(), "step": 0,
                "seconds": 0.0, "config": cfg.to_dict(), "sharer": args.sharer,
                "receiver": args.receiver, "distill": 0.0, "match": 1.0,
                "offline": {"steps": step, "minutes": round((time.time() - started) / 60, 1),
                            "episodes": EPISODES_PER_SHARD * len(shards.items)}},
               os.path.join(args.out, "checkpoint.pt"))
    print(f"done: {step} offline steps over {len(shards.items)} shards", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=("produce", "train"))
    ap.add_argument("--sharer", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--receiver", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--slots", type=int, default=32)
    ap.add_argument("--slot-dim", type=int, default=256)
    ap.add_argument("--shards", default=None,
                    help="train: the folder of another run's shards (default DIR/teacher)")
    ap.add_argument("--min-shards", type=int, default=12, help="shards to wait for before training")
    ap.add_argument("--eval-every", type=int, default=200)
    args = ap.parse_args()
    args.out = args.out or os.path.join(agents.BUILD_DIR, f"lcf-{args.sharer}-{args.receiver}")
    os.makedirs(args.out, exist_ok=True)
    return produce(args) if args.phase == "produce" else train(args)


if __name__ == "__main__":
    sys.exit(main())
