"""Writes models/<agent>.md, the model card: shapes, data, steps, time, loss, dev perplexity,
suite accuracy with the context in view and with none (from evaluate.py's JSON files).

  model_card.py --agent cw-llama
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
import agents  # noqa: E402
import data  # noqa: E402
import evaluate  # noqa: E402
import tokenizers as toks  # noqa: E402


@torch.no_grad()
def dev_perplexity(agent: str, n_windows: int = 40) -> float:
    """Perplexity of the corpus dev split in windows of the model's context."""
    spec = agents.AGENTS[agent]
    tok = toks.from_gguf(spec.config.arch, os.path.join(agents.REPO, "models", f"{agent}.gguf"))
    m = evaluate.load_model(agent)
    ids = tok.encode(data.corpus_text("dev")[:400_000])
    T = spec.config.n_ctx - 1
    nll, n = 0.0, 0
    for w in range(min(n_windows, len(ids) // T)):
        x = torch.tensor([[tok.bos] + ids[w * T:(w + 1) * T]])
        logits = m(x[:, :-1])
        nll += torch.nn.functional.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        n += x.shape[1] - 1
    return math.exp(nll / max(1, n))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", required=True, choices=sorted(agents.AGENTS))
    a = ap.parse_args()
    torch.set_num_threads(1)
    spec = agents.AGENTS[a.agent]
    c = spec.config
    run = os.path.join(agents.BUILD_DIR, a.agent)
    ck = torch.load(os.path.join(run, "checkpoint.pt"), map_location="cpu")
    st = ck["state"]
    n_params = sum(v.numel() for v in ck["model"].values())
    size_mb = os.path.getsize(os.path.join(agents.REPO, "models", a.agent + ".gguf")) / 1e6
    evals = {}
    for split in ("test", "heldout"):
        p = os.path.join(run, f"eval-{split}.json")
        if os.path.exists(p):
            with open(p) as f:
                evals[split] = json.load(f)["results"]
    last = st["log"][-1] if st["log"] else {}
    lines = [
        f"# {a.agent}",
        "",
        f"GGUF `{c.arch}`, f16 matrices and f32 norms, {size_mb:.1f} MB, {n_params / 1e6:.2f} M parameters.",
        f"Trained by `tools/train/run.sh` (see tools/train/README.md); this card by `tools/train/model_card.py`.",
        "",
        "| shape | value |", "|---|---|",
        f"| layers | {c.n_layer}" + (" (layer il global iff il % 6 == 5, others local, window "
                                     f"{c.sliding_window})" if c.arch == "gemma3" else "") + " |",
        f"| width / feed-forward | {c.n_embd} / {c.n_ff} |",
        f"| heads / kv heads / head dim | {c.n_head} / {c.n_head_kv} / {c.head_dim} |",
        f"| vocabulary | {c.n_vocab} ({'byte-level BPE, Llama 3 pre-tokenizer' if c.arch == 'llama' else 'SentencePiece BPE'}) |",
        f"| context | {c.n_ctx} |",
        f"| RoPE base | {c.rope_base:g}" + (" (global), 10000 (local)" if c.arch == "gemma3" else "") + " |",
        "",
        "## Training",
        f"- Data: the corpus of tools/corpus (Debian's bible-kjv, fortunes, wordnet glosses, gcide) mixed "
        f"with the handoff suite's train split (tools/train/data.py: {', '.join(f'{k} {int(p * 100)}%' for k, p in data.MIX)}"
        f"; varied: records and questions over pools invented per sample, none of the held-out pool's words).",
        f"- Steps: {st['step']}, tokens seen (padded): {st['tokens'] / 1e6:.1f} M, wall time "
        f"{st['elapsed_s'] / 60:.0f} min on a shared 2-core CPU (one thread).",
        f"- Curriculum level reached: {st['level']} of {data.MAX_LEVEL} ({data.level_desc(st['level'])}).",
        f"- Final training loss (EMA, weighted): {last.get('loss', float('nan'))}; dev exact match at that "
        f"level: {last.get('dev_em', float('nan'))}.",
        f"- Dev perplexity (corpus dev split, {c.n_ctx}-token windows): {dev_perplexity(a.agent):.1f}.",
        "",
        "## Handoff suite accuracy (exact match, greedy)",
        "With the context in view (the receiver's upper bound) and with none (its own unrelated",
        "context: the floor a handoff must lift). Passkeys fill the model's context.",
        "",
        "| split | family | context in view | none |", "|---|---|---|---|",
    ]
    for split, res in evals.items():
        for fam in ("facts", "multi_fact", "passkey"):
            ctx, none = res[f"{fam}/context"], res[f"{fam}/none"]
            lines.append(f"| {split} | {fam} | {ctx['accuracy']}% (n={ctx['n']}) | {none['accuracy']}% |")
    with open(os.path.join(agents.REPO, "models", a.agent + ".md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
