"""Golden files that tie the shipped agents to the torch models that produced them.

  make_goldens.py [--out models/golden/] [--agent NAME]
For each agent (models/<agent>.gguf and build/train/<agent>/checkpoint.pt; --agent: that one):
  <agent>.logits.f32    logits (n_tokens, n_vocab) of the torch model, its matrices rounded to
                        f16 as exported, over <agent>.tokens.json's `ids`
  <agent>.tokens.json   {ids, prompt, greedy: the torch model's greedy continuation ids,
                        tokenizer_cases: [{text, ids}] from the reference tokenizer}
The reference tokenizers are independent of cachewire's: Hugging Face tokenizers (through
tools/tokenizers/reference_ids.js) for cw-llama's tokenizer.json, the sentencepiece library for
cw-gemma3's model. The C++ test (tests/models/) compares cachewire against all of it.
Token ids come from the tokenizer the GGUF carries. The reference cases need the tokenizer's
source files (build/train/tokenizers/<agent>, train_tokenizers.py); without them, a model
retrained on the shipped file's vocabulary keeps the cases of its previous golden file, which
depend on the vocabulary alone.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "suite"))
import agents  # noqa: E402
import episodes  # noqa: E402
import models  # noqa: E402
import tokenizers as toks  # noqa: E402

REPO = agents.REPO
TOKENIZER_CORPUS = os.path.join(REPO, "tests", "engine", "tokenizer", "corpus.jsonl")


def exported_model(agent: str) -> models.LM:
    ck = torch.load(os.path.join(agents.BUILD_DIR, agent, "checkpoint.pt"), map_location="cpu")
    m = models.LM(models.Config(**ck["config"]))
    m.load_state_dict(ck["model"])
    with torch.no_grad():
        for t in models.gguf_tensors(m).values():
            if t.dim() == 2:
                t.copy_(t.half().float())
    m.eval()
    return m


def greedy(m: models.LM, ids: list[int], n: int) -> list[int]:
    out = list(ids)
    with torch.no_grad():
        for _ in range(n):
            out.append(int(m(torch.tensor([out]))[0, -1].argmax()))
    return out[len(ids):]


def tokenizer_texts() -> list[str]:
    texts = []
    with open(TOKENIZER_CORPUS, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            texts.append(o["text"] if "text" in o else o["repeat"] * o["times"])
    eps = episodes.load_episodes(os.path.join(REPO, "tools", "suite", "data", "test.jsonl"))[:20]
    texts += [e.sharer_context + " Question: " + e.question + " Answer:" for e in eps]
    return texts


def reference_cases(agent: str, arch: str, texts: list[str], out_dir: str) -> list[dict]:
    tdir = agents.tokenizer_dir(agent)
    if not os.path.isdir(tdir):
        with open(os.path.join(out_dir, f"{agent}.tokens.json"), encoding="utf-8") as f:
            return json.load(f)["tokenizer_cases"]
    if arch == "gemma3":
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=os.path.join(tdir, "spm.model"))
        return [{"text": t, "ids": sp.encode(t)} for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        out = os.path.join(tmp, "refs.json")
        subprocess.run(["node", os.path.join(REPO, "tools", "tokenizers", "reference_ids.js"),
                        "--tokenizer", os.path.join(tdir, "tokenizer.json"), "--corpus", corpus,
                        "--name", agent, "--out", out], check=True)
        with open(out, encoding="utf-8") as f:
            return [{"text": c["text"], "ids": c["ids"]} for c in json.load(f)["cases"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "models", "golden"))
    ap.add_argument("--agent", choices=sorted(agents.AGENTS), help="only this agent")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    ep = episodes.load_episodes(os.path.join(REPO, "tools", "suite", "data", "test.jsonl"))[0]
    prompt = ep.sharer_context + " Question: " + ep.question + " Answer:"
    for agent, spec in agents.AGENTS.items():
        if a.agent and agent != a.agent:
            continue
        arch = spec.config.arch
        tok = toks.from_gguf(arch, os.path.join(REPO, "models", f"{agent}.gguf"))
        m = exported_model(agent)
        ids = [tok.bos] + tok.encode(prompt)
        logits = m(torch.tensor([ids]))[0].detach().numpy().astype(np.float32)
        logits.tofile(os.path.join(a.out, f"{agent}.logits.f32"))
        # Hugging Face tokenizers match added tokens in the text; sentencepiece's encode never
        # produces control symbols: the C++ side encodes with parse_special to match each.
        doc = {"prompt": prompt, "answer": ep.answer, "ids": ids, "greedy": greedy(m, ids, 12),
               "parse_special": arch == "llama",
               "tokenizer_cases": reference_cases(agent, arch, tokenizer_texts(), a.out)}
        with open(os.path.join(a.out, f"{agent}.tokens.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f)
        print(f"{agent}: {len(ids)} tokens, logits {logits.shape}, greedy {doc['greedy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
