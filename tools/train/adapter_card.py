"""Writes the card of a trained LCF adapter (models/adapters/<name>.md): what it was trained on,
for how long, its size, and its accuracy from evaluate_lcf.py's JSON.

  adapter_card.py CHECKPOINT ADAPTER.gguf EVAL.json OUT.md
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lcf_adapter  # noqa: E402
import train_lcf  # noqa: E402


def log_rows(out_dir: str) -> list[dict]:
    path = os.path.join(out_dir, "train.log")
    lines = open(path).read().split("\n") if os.path.exists(path) else []
    return [json.loads(x) for x in lines if x.startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("gguf")
    ap.add_argument("eval_json")
    ap.add_argument("out")
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu")
    cfg = lcf_adapter.LcfConfig(**ck["config"])
    n_params = lcf_adapter.n_params(lcf_adapter.LcfAdapter(cfg))
    ev = json.load(open(args.eval_json))
    name = os.path.basename(args.gguf)
    rows = []
    for split in ("test", "heldout"):
        for fam in train_lcf.FAMILIES:
            f = fam[0]
            cells = [ev.get(f"{split}/{f}/{m}", {}) for m in ("none", "lcf", "context")]
            if any(c.get("n") for c in cells):
                rows.append(f"| {split} | {f} | " + " | ".join(
                    f"{c['accuracy']}% (n={c['n']})" if c.get("n") else "-" for c in cells) + " |")
    if cfg.per_token:
        return write(args.out, per_token_text(ck, cfg, n_params, args.gguf, name) + table(rows))
    rows_log = log_rows(os.path.dirname(args.checkpoint))
    log = rows_log[-1] if rows_log else {}
    peak = max((r["lr"] for r in rows_log), default=float("nan"))
    families = ", ".join(f"{f.replace('_', ' ')} {round(p * 100)}%" for f, p in train_lcf.FAMILIES)
    match = ck.get("match", 0.0)
    flags = f" --match {match}" if match else ""
    matching = (f", plus {match} x the attention-matching loss (lcf_match.py: in every receiver layer "
                "the pins should answer the receiver's queries as its own cache of the text does)"
                if match else "")
    pooling = (", with positional pooling (slot m leans on the m-th stretch of the text)"
               if cfg.pos_pool else "")
    text = f"""# {name}

Latent Cache Flow adapter (LCF.md) from **{ck['sharer']}** (sharer) to **{ck['receiver']}**
(receiver): the encoder reads the sharer's cache and writes {cfg.n_slots} slots of width
{cfg.slot_dim} ({cfg.n_slots * cfg.slot_dim * 2} bytes as f16 on the wire){pooling}; the decoder turns
them into {cfg.n_slots} pinned entries in each of the receiver's {len(cfg.receiver_layers)} layers.

- Parameters: {n_params:,} ({os.path.getsize(args.gguf) / 1e6:.2f} MB as GGUF, matrices f16).
- Training: `tools/train/train_lcf.py --sharer {ck['sharer']} --receiver {ck['receiver']}{flags}`, both
  agents frozen, loss = the receiver's cross-entropy on the answer given the imported slots, its
  own context (unrelated, or the sharer's text itself in shared facts) and the question{matching};
  the suite's train split ({families}; up to 3 questions per episode from the same
  slots), sharer record counts
  widened by a curriculum (4-6, 4-12, 4-24, then 4-40 records); AdamW, peak rate {peak:.1e}
  after 100 warm-up steps, cosine down to a tenth of it by the end of the time budget.
- Steps: {ck['step']:,} in {ck['seconds'] / 60:.0f} min on one core of a shared 2-core CPU.
- Last training log line: {json.dumps(log)} (dev_em: exact match on 64 dev episodes).

"""
    return write(args.out, text + table(rows))


def table(rows: list[str]) -> str:
    return """Accuracy (`tools/train/evaluate_lcf.py`, exact match under teacher forcing; "context" is the
receiver reading the sharer's context itself, the ceiling; episodes whose sharer context does not
fit the sharer's 512 positions are left out):

| split | family | none | LCF | context in view |
|---|---|---|---|---|
""" + "\n".join(rows) + "\n\nThe daemons' figures (latency, bytes, every mode) are in bench/RESULTS.md (`bench/run handoff`).\n"


def write(out: str, text: str) -> int:
    with open(out, "w") as f:
        f.write(text)
    print(out)
    return 0


def per_token_text(ck: dict, cfg, n_params: int, gguf: str, name: str) -> str:
    log = ck.get("log") or [{}]
    a = ck.get("args", {})
    flags = "".join(f" --{k} {v}" for k, v in a.items())
    return f"""# {name}

Per-token Latent Cache Flow adapter (LCF.md; `lcf_adapter.py`, per_token) from **{ck['sharer']}**
(sharer) to **{ck['receiver']}** (receiver). The encoder pools nothing: it sends one slot of
{cfg.slot_dim} values per sharer token, for at most {cfg.n_slots} tokens (the first 4, then
those of lowest mean key L2 norm, in text order): at most {cfg.n_slots * cfg.slot_dim * 2} bytes
as f16 on the wire. Each slot is the sum over the token's cache entries (every layer still
holding it) of a per-layer projection, plus the same over its predecessor's; the decoder (two
GELU layers of {cfg.ff_mult * cfg.slot_dim}, read by one linear map per receiver layer) turns it
into the key and value the receiver would hold for that token had it read the text, pinned in
each of its {len(cfg.receiver_layers)} layers.

- Parameters: {n_params:,} ({os.path.getsize(gguf) / 1e6:.2f} MB as GGUF, matrices f16).
- Training: `tools/train/train_lcf_tokens.py --sharer {ck['sharer']} --receiver {ck['receiver']}{flags}`,
  both agents frozen: the decoded keys and values of every sharer token against the receiver's
  own entries for the same text (the token holding the sharer token's last byte), mean squared
  error per dimension scaled by its spread; texts of the suite's train split (facts, multi-fact,
  passkey); AdamW, cosine from 1e-3 to a tenth.
- Steps: {ck['step']:,} in {ck['minutes']:.0f} min (text prefills included) on one core of a
  shared 2-core CPU; last log line {json.dumps(log[-1])} (held_r2: the share of the targets'
  variance the decoder explains, on 3,000 tokens held out).

"""


if __name__ == "__main__":
    sys.exit(main())
