"""Trains one agent model on CPU, resumably: `train.py --agent cw-llama|cw-gemma3 --minutes M`.

Batches mix the handoff suite's train split (records with several questions, multi-fact,
passkeys, summaries: loss on the answers) with plain corpus text (loss everywhere); see data.py.
A curriculum raises the number of records per episode when the model answers the current level
(exact match of every answer of a dev batch, teacher-forced: equal to greedy decoding). A
checkpoint is written every few minutes and on exit, and a rerun resumes from it, so the run
survives a cut. One thread per process (OpenBLAS and torch threads otherwise compete).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agents  # noqa: E402
import data  # noqa: E402
import models  # noqa: E402
import tokenizers as toks  # noqa: E402


def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def batch_loss(model: models.LM, batch: data.Batch) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch.ids[:, :-1])
    target = batch.ids[:, 1:]
    w = batch.weights[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                           reduction="none").view_as(target)
    return (ce * w).sum() / w.sum().clamp(min=1.0), logits


@torch.no_grad()
def exact_match(model: models.LM, batch: data.Batch) -> float:
    """Share of samples whose every answer token is the argmax (== greedy decoding's answer)."""
    model.eval()
    logits = model(batch.ids[:, :-1])
    model.train()
    ok = (logits.argmax(-1) == batch.ids[:, 1:]) | (batch.answer_mask[:, 1:] == 0)
    return ok.all(dim=1).float().mean().item()


def load_gguf_weights(model: models.LM, path: str) -> None:
    """Copies a GGUF's tensors (F16/F32) into the model: continuing a shipped model's training."""
    sys.path.insert(0, os.path.join(HERE, "..", "gguf"))
    import gguf_io
    import numpy as np
    r = gguf_io.GGUFReader(path)
    with torch.no_grad():
        for name, t in models.gguf_tensors(model).items():
            src = r.tensors.get(name)
            if src is None:
                raise SystemExit(f"{path}: tensor {name} missing")
            dtype = {"F16": np.float16, "F32": np.float32}[src.type_name]
            arr = np.frombuffer(src.data, dtype=dtype).astype(np.float32).reshape(tuple(t.shape))
            t.copy_(torch.from_numpy(arr))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", required=True, choices=sorted(agents.AGENTS))
    ap.add_argument("--minutes", type=float, default=90.0)
    ap.add_argument("--out", default=None, help="run directory (default build/train/AGENT)")
    ap.add_argument("--checkpoint-minutes", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--init-from", default=None,
                    help="start from a shipped GGUF's weights (when no checkpoint exists yet)")
    ap.add_argument("--tokenizer-from", default=None,
                    help="train on the vocabulary a GGUF carries instead of build/train/tokenizers/"
                         "AGENT (a model that replaces a shipped one keeps its file's vocabulary)")
    a = ap.parse_args()

    spec = agents.AGENTS[a.agent]
    run_dir = a.out or os.path.join(agents.BUILD_DIR, a.agent)
    os.makedirs(run_dir, exist_ok=True)
    torch.set_num_threads(1)
    tok = (toks.from_gguf(spec.config.arch, a.tokenizer_from) if a.tokenizer_from
           else toks.load(spec.config.arch, agents.tokenizer_dir(a.agent)))
    cfg = spec.config
    if cfg.n_vocab != tok.n_vocab:
        raise SystemExit(f"{a.agent}: tokenizer has {tok.n_vocab} tokens, config says {cfg.n_vocab}")

    torch.manual_seed(a.seed)
    model = models.LM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), weight_decay=0.05)
    state = {"step": 0, "level": 0, "elapsed_s": 0.0, "tokens": 0, "log": []}
    ck_path = os.path.join(run_dir, "checkpoint.pt")
    if os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        print(f"resumed at step {state['step']} level {state['level']} ({state['elapsed_s'] / 60:.1f} min)")
    elif a.init_from:
        load_gguf_weights(model, a.init_from)
        print(f"initialised from {a.init_from}")

    source = data.Source(tok, cfg.n_ctx, seed=a.seed + state["step"])
    budget_s = a.minutes * 60.0
    total_steps_guess = spec.total_steps
    t_start = time.time() - state["elapsed_s"]
    last_ck = time.time()
    ema = None

    def save(final: bool = False) -> None:
        state["elapsed_s"] = time.time() - t_start
        tmp = ck_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                    "config": cfg.to_dict()}, tmp)
        os.replace(tmp, ck_path)
        with open(os.path.join(run_dir, "progress.json"), "w") as f:
            json.dump({k: v for k, v in state.items() if k != "log"} | {"final": final,
                      "last": state["log"][-1] if state["log"] else None}, f, indent=1)

    while time.time() - t_start < budget_s:
        step = state["step"]
        for g in opt.param_groups:
            g["lr"] = lr_at(step, spec.lr, 200, total_steps_guess)
        batch = source.batch(spec.batch_tokens, state["level"])
        loss, _ = batch_loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["tokens"] += int(batch.ids.numel())
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if state["step"] % 50 == 0:
            dev = source.dev_batch(state["level"])
            em = exact_match(model, dev)
            elapsed = time.time() - t_start
            entry = {"step": state["step"], "level": state["level"], "loss": round(ema, 4),
                     "dev_em": round(em, 3), "min": round(elapsed / 60, 2),
                     "tok_s": round(state["tokens"] / max(1.0, elapsed))}
            state["log"].append(entry)
            print(json.dumps(entry), flush=True)
            if em >= 0.8 and state["level"] < data.MAX_LEVEL:
                state["level"] += 1
                print(f"curriculum -> level {state['level']}: {data.level_desc(state['level'])}", flush=True)
        if time.time() - last_ck > a.checkpoint_minutes * 60:
            save()
            last_ck = time.time()
    save(final=True)
    print(f"done: {state['step']} steps, {state['elapsed_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
