"""The two shipped agents: shapes, tokenizer kinds and training settings, in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass

import models

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = os.path.join(REPO, "build", "train")


@dataclass
class AgentSpec:
    config: models.Config
    vocab_size: int
    lr: float
    batch_tokens: int  # padded tokens per batch
    total_steps: int  # length of the cosine schedule (training stops on time first)


AGENTS = {
    # Llama family: MQA 4/1, SwiGLU, untied output, byte-level BPE. Narrow and deep: probes on
    # 2 cores (README) found d=160 x 4 layers at lr 2e-3 never learned lookup in an hour (3% of
    # test facts), d=128 x 6 at lr 3e-3 diverged, and d=128 x 6 at lr 1e-3 reached 27%.
    "cw-llama": AgentSpec(
        models.Config(arch="llama", n_vocab=4096, n_embd=128, n_layer=6, n_head=4, n_head_kv=1,
                      head_dim=32, n_ff=384, n_ctx=512, rope_base=10000.0, eps=1e-5,
                      prev_token_heads=4),
        vocab_size=4096, lr=1e-3, batch_tokens=2048, total_steps=20000),
    # Gemma 3: 5 local (window 128) + 1 global layer, MQA 4/1, QK-norm, sandwich norms, GeGLU,
    # tied output, SentencePiece BPE.
    "cw-gemma3": AgentSpec(
        models.Config(arch="gemma3", n_vocab=3072, n_embd=128, n_layer=6, n_head=4, n_head_kv=1,
                      head_dim=32, n_ff=384, n_ctx=512, rope_base=1000000.0, eps=1e-6,
                      sliding_window=128, prev_token_heads=4),
        vocab_size=3072, lr=3e-3, batch_tokens=2048, total_steps=20000),
}


def tokenizer_dir(agent: str) -> str:
    return os.path.join(BUILD_DIR, "tokenizers", agent)
