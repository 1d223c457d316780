"""One shared-context handoff with a C2C fuser in torch, as the daemons will run it: both agents
prefill the same text, the receiver's cache of it is fused with the sharer's, and the receiver
answers the question after it.

  ctx = prefill_both(sharer, receiver, texts)           # both caches, the token alignment
  loss, hit = answer(fuser, receiver, ctx, qa_rows, owner)   # fuser None: the receiver alone

The fused entries replace the receiver's own where they are (keys un-rotated, fused, rotated
again for the same position): nothing moves, so the question takes the positions after the text.
The text itself was prefilled before the fusion (its upper layers saw the unfused lower ones),
as in a daemon that fuses a finished prefill.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import c2c_align  # noqa: E402
import handoff  # noqa: E402
import kv_forward as kvf  # noqa: E402


@dataclass
class SharedContext:
    receiver: kvf.ForwardOut   # the receiver's prefill of the texts (B rows, padded)
    sharer: kvf.ForwardOut
    lengths: torch.Tensor      # (B) receiver tokens per text
    align: torch.Tensor        # (B, Tr) long: the sharer token of each receiver token (0 on padding)
    receiver_ids: list[list[int]]
    sharer_ids: list[list[int]]


def prefill(agent: handoff.Agent, rows: list[list[int]]) -> tuple[kvf.ForwardOut, torch.Tensor]:
    ids, lengths = handoff.pad(rows)
    B, T = ids.shape
    pos = torch.arange(T)[None, :].expand(B, T)
    with torch.no_grad():
        out = kvf.run(agent.model, ids, [pos] * agent.model.c.n_layer, pos < lengths[:, None])
    return out, lengths


def prefill_both(sharer: handoff.Agent, receiver: handoff.Agent, texts: list[str]) -> SharedContext:
    s_rows, r_rows, aligns = [], [], []
    for text in texts:
        s_ids, s_spans = c2c_align.token_spans(sharer, text)
        r_ids, r_spans = c2c_align.token_spans(receiver, text)
        s_rows.append(s_ids)
        r_rows.append(r_ids)
        aligns.append(c2c_align.align_tokens(r_spans, s_spans))
    s_out, _ = prefill(sharer, s_rows)
    r_out, lengths = prefill(receiver, r_rows)
    align = torch.zeros(len(texts), int(lengths.max()), dtype=torch.long)
    for b, a in enumerate(aligns):
        align[b, :len(a)] = torch.tensor(a)
    return SharedContext(r_out, s_out, lengths, align, r_rows, s_rows)


def receiver_past(fuser, receiver: handoff.Agent, ctx: SharedContext) -> list[kvf.LayerKv]:
    """The receiver's cache of the texts per layer (rotated keys), fused when fuser is given."""
    m = receiver.model
    if fuser is None:
        return ctx.receiver.cache
    own = [(ctx.receiver.plain_k[il], ctx.receiver.cache[il].v) for il in range(m.c.n_layer)]
    theirs = [(ctx.sharer.plain_k[il], ctx.sharer.cache[il].v) for il in range(len(ctx.sharer.cache))]
    past = []
    for il, (k, v) in enumerate(fuser.fuse(own, theirs, ctx.align)):
        c = ctx.receiver.cache[il]
        k = kvf.rope_at(k, c.pos, kvf.layer_base(m, il), m.blocks[il].gemma)
        past.append(kvf.LayerKv(k, v, c.pos, c.valid))
    return past


def answer_logits(receiver: handoff.Agent, past: list[kvf.LayerKv], lengths: torch.Tensor,
                  rows: list[list[int]], owner: torch.Tensor) -> torch.Tensor:
    """Logits (Bq, T, n_vocab) of rows run after the (fused) text; row b follows text owner[b]."""
    qa, lq = handoff.pad(rows)
    B, T = qa.shape
    t = torch.arange(T)[None, :].expand(B, T)
    q_pos = lengths[owner][:, None] + t
    mine = [kvf.LayerKv(p.k[owner], p.v[owner], p.pos[owner], p.valid[owner]) for p in past]
    return kvf.run(receiver.model, qa, [q_pos] * receiver.model.c.n_layer, t < lq[:, None], mine).logits


def answer(fuser, receiver: handoff.Agent, ctx: SharedContext,
           qa_rows: list[tuple[list[int], list[int]]], owner: torch.Tensor | None = None):
    """Mean cross-entropy on the answers and per row exact match under teacher forcing (Bq)."""
    owner = torch.arange(len(qa_rows)) if owner is None else owner
    past = receiver_past(fuser, receiver, ctx)
    logits = answer_logits(receiver, past, ctx.lengths, [q + a for q, a in qa_rows], owner)
    B, T, V = logits.shape
    target = torch.full((B, T), -100, dtype=torch.long)
    for b, (q, a) in enumerate(qa_rows):   # each answer token is predicted from the one before
        target[b, len(q) - 1:len(q) + len(a) - 1] = torch.tensor(a)
    loss = F.cross_entropy(logits.reshape(-1, V), target.reshape(-1), ignore_index=-100)
    hit = (logits.argmax(-1) == target) | (target == -100)
    return loss, hit.all(dim=1)
