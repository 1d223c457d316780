"""Suite accuracy of a trained agent (torch checkpoint), with the context in view and with none.

  evaluate.py --agent cw-llama [--split test|heldout] [--n 100] [--json OUT]
Prompt with the context in view: "<sharer_context> Question: <q> Answer:"; with none:
"<receiver_context> Question: <q> Answer:" (the receiver's own, unrelated text: the floor a
handoff must lift). Scoring is exact match of the answer tokens and the closing newline under
teacher forcing, which is exactly whether greedy decoding produces the answer (each greedy step
is the argmax given the correct prefix). Facts and multi-fact come from the committed split
files; passkeys are generated to fill the model's context with its own tokenizer. Episodes
whose prompt does not fit the context are counted apart.
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
import models  # noqa: E402
import tokenizers as toks  # noqa: E402


def load_model(agent: str) -> models.LM:
    ck = torch.load(os.path.join(agents.BUILD_DIR, agent, "checkpoint.pt"), map_location="cpu")
    m = models.LM(models.Config(**ck["config"]))
    m.load_state_dict(ck["model"])
    return m.eval()


@torch.no_grad()
def correct(m: models.LM, tok, context: str, question: str, answer: str, n_ctx: int) -> bool | None:
    segs = tok.encode_segments([context, f" Question: {question} Answer:", f" {answer}\n"])
    ids = [tok.bos] + segs[0] + segs[1] + segs[2]
    if len(ids) > n_ctx:
        return None
    logits = m(torch.tensor([ids[:-1]]))[0]
    start = 1 + len(segs[0]) + len(segs[1])
    pred = logits[start - 1:].argmax(-1)
    return bool((pred == torch.tensor(ids[start:])).all())


def evaluate(agent: str, split: str, n: int) -> dict:
    spec = agents.AGENTS[agent]
    tok = toks.from_gguf(spec.config.arch, os.path.join(agents.REPO, "models", f"{agent}.gguf"))
    m = load_model(agent)
    path = os.path.join(agents.REPO, "tools", "suite", "data", f"{split}.jsonl")
    eps = [e for e in episodes.load_episodes(path) if e.family in ("facts", "multi_fact")]
    count = lambda s: len(tok.encode(s))  # noqa: E731
    eps += episodes.generate(split, "passkey", n, seed=99, count_tokens=count,
                             context_tokens=spec.config.n_ctx - 40)
    out: dict = {}
    for fam in ("facts", "multi_fact", "passkey"):
        rows = [e for e in eps if e.family == fam][:n]
        for mode in ("context", "none"):
            res = [correct(m, tok, e.sharer_context if mode == "context" else e.receiver_context,
                           e.question, e.answer, spec.config.n_ctx) for e in rows]
            scored = [r for r in res if r is not None]
            out[f"{fam}/{mode}"] = {"accuracy": round(100.0 * sum(scored) / max(1, len(scored)), 1),
                                    "n": len(scored), "too_long": len(res) - len(scored)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--split", default="test", choices=["test", "heldout", "dev"])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    res = evaluate(a.agent, a.split, a.n)
    for k, v in res.items():
        print(f"{a.agent} {a.split} {k}: {v['accuracy']}% (n={v['n']}, too long {v['too_long']})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"agent": a.agent, "split": a.split, "results": res}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
