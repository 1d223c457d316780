"""Writes the card of a trained C2C fuser (models/adapters/<name>.c2c.md): what it fuses, what it
was trained on and for how long, its size beside the same pair's LCF adapter, and its accuracy
from evaluate_c2c.py's JSON files (one per split).

  c2c_card.py CHECKPOINT FUSER.c2c.gguf OUT.md EVAL.json [EVAL.json ...]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import c2c_fuser  # noqa: E402
import train_c2c  # noqa: E402

MODES = ("alone", "c2c", "sharer")   # evaluate_c2c.py's keys, in the card's column order


def layer_sentence(layer_map: list[int]) -> str:
    if layer_map == list(range(len(layer_map))):
        return (f"Receiver layer il reads sharer layer il (both agents have {len(layer_map)} "
                f"layers; the sharer exports all {len(set(layer_map))})")
    return (f"Receiver layer il reads sharer layer {layer_map} [il] (by depth; the sharer exports "
            f"{len(set(layer_map))} layers)")


def accuracy_rows(evals: dict) -> list[str]:
    rows = []
    keys = sorted({k.rsplit("/", 1)[0] for k in evals if k.count("/") == 2},
                  key=lambda k: (k.split("/")[0] != "test", k))
    for split_family in keys:
        split, family = split_family.split("/")
        cells = [evals.get(f"{split_family}/{m}", {}) for m in MODES]
        acc = " | ".join(f"{c['accuracy']}% (n={c['n']})" if c.get("n") else "-" for c in cells)
        ce = " / ".join(f"{cells[i].get('answer_ce', math.nan):.3f}" for i in (0, 1))
        rows.append(f"| {split} | {family} | {acc} | {ce} |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("evals", nargs="+", help="evaluate_c2c.py --json outputs")
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu")
    cfg = c2c_fuser.C2cConfig(**ck["config"])
    n_params = c2c_fuser.n_params(c2c_fuser.C2cFuser(cfg))
    evals: dict = {}
    for path in args.evals:
        with open(path) as f:
            evals.update(json.load(f))
    name = os.path.basename(args.gguf)
    size = os.path.getsize(args.gguf)
    lcf = args.gguf.replace(".c2c.gguf", ".lcf.gguf")
    lcf_sentence = ""
    if os.path.exists(lcf):
        lcf_mb = os.path.getsize(lcf) / 1e6
        smaller = "fuser" if size / 1e6 < lcf_mb else "LCF adapter"
        lcf_sentence = (f" The LCF adapter\n  of the same pair is {lcf_mb:.2f} MB: at these "
                        f"agents' sizes the {smaller} is the smaller file (the\n  design's 4% "
                        "ratio assumes "
                        "fusers of hundreds of MB for large models).")
    families = ", ".join(f"{f} {int(p * 100)}%" for f, p in train_c2c.FAMILIES)
    gate0 = 1.0 / (1.0 + math.exp(-c2c_fuser.GATE_INIT))
    text = f"""# {name}

Cache-to-Cache fuser (LCF.md, "C2C fuser") from **{ck['sharer']}** (sharer) to **{ck['receiver']}**
(receiver), for shared-context handoffs: both agents hold the same text; each of the receiver's
cache entries is fused with the entry of the sharer token that covers its last byte, in place.
{layer_sentence(cfg.layer_map)},
and per layer a residual MLP (hidden {cfg.hidden}) over [k_r; v_r; k_s; v_s] adds to the
receiver's key and value, scaled by a learned gate per head that starts at
sigmoid({c2c_fuser.GATE_INIT:g}) = {gate0:.2f}.

- Parameters: {n_params:,} ({size / 1e6:.2f} MB as GGUF, {size:,} bytes, matrices f16).{
lcf_sentence}
- Training: `tools/train/train_c2c.py --sharer {ck['sharer']} --receiver {ck['receiver']}`, both
  agents frozen; loss = the receiver's cross-entropy on the answer to a question about the
  shared text, asked after the fused cache; the suite's train split
  ({families}; the episode's question and up to
  {train_c2c.QUESTIONS_PER_EPISODE - 1} more about its other records).
- Steps: {ck['step']:,} in {ck['seconds'] / 60:.0f} min on one core of a shared 2-core CPU.
- Served by the workers (`ExportCache` on the sharer, `FuseCache` on the receiver) and the
  router (`Handoff` mode C2C); a receiver whose text differs from the sharer's is refused.

Accuracy (`tools/train/evaluate_c2c.py {args.gguf} --split S --n 100`,
exact match under teacher forcing; "alone": the receiver answering from its own cache of the
text, what the fusion must beat; "sharer": the sharer answering from its own cache; answer
cross-entropy per token, alone / fused):

| split | family | alone | fused (C2C) | sharer | answer CE |
|---|---|---|---|---|---|
""" + "\n".join(accuracy_rows(evals)) + """

The daemons' figures (every mode on the same episodes, latency, bytes) are in bench/RESULTS.md
(`bench/run handoff`).
"""
    with open(args.out, "w") as f:
        f.write(text)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
