"""Attention matching: a dense training signal for an LCF adapter's pins (`train_lcf.py --match W`).

The answer's cross-entropy reaches the decoder only through the frozen receiver's whole stack,
and says little until an answer is nearly right. Yet the target is known layer by layer: an
oracle that pins the receiver's own cache of the sharer's text answers 79% of facts (README).
So in every receiver layer, for the queries the receiver makes when it has read the text itself
(at the question and answer positions), the M pins should give the attention output that the
text's N entries give, and carry the same total weight against the rest of the cache (the
log-sum-exp of the scores):

    o_P = softmax(q K_P^T) V_P,  o_T = softmax(q K_T^T) V_T
    loss = mean |o_P - o_T|^2 / mean |o_T|^2 + LSE_WEIGHT * mean (lse_P - lse_T)^2

with the means over the answer's positions, and the question's at QUESTION_WEIGHT.

Each block's keys are rotated where it sits in its own handoff: in a global layer the text from
position 0 with the queries after it, the pins after the sinks with the queries after the
receiver's context; in a sliding-window layer both at the ring's last position, one step before
the first query.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

import handoff
import kv_forward as kvf

LSE_WEIGHT = 0.1
# The lookup happens at the answer: from the position that predicts its first token on. The
# question's own positions (reading the names and kinds) count this much, so that the loss is
# not an average in which the one lookup that answers is a small part.
QUESTION_WEIGHT = 0.1


def _attend(q: torch.Tensor, q_pos: torch.Tensor, k: torch.Tensor, k_pos: torch.Tensor,
            v: torch.Tensor, k_valid: torch.Tensor, base: float, neox: bool):
    """Plain q (B, H, Tq, D) and k (B, Hkv, N, D) rotated at their positions; returns the
    attention output (B, H, Tq, D) over the valid keys and the scores' log-sum-exp (B, H, Tq)."""
    qr, kr = kvf.rope_at(q, q_pos, base, neox), kvf.rope_at(k, k_pos, base, neox)
    rep = q.shape[1] // k.shape[1]
    kr, v = kr.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    s = (qr @ kr.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    s = s.masked_fill(~k_valid[:, None, None, :], float("-inf"))
    return s.softmax(-1) @ v, s.logsumexp(-1)


@dataclass
class TeacherTargets:
    """What the receiver did with the text in view, per layer, for question rows b: its plain
    queries q (B, H, Tq, D), the text's attention output o (B, H, Tq, D) and log-sum-exp
    (B, H, Tq); with the rows' lengths lq (B) and the receiver's own context lengths lc (B)."""
    q: list[torch.Tensor]
    o: list[torch.Tensor]
    lse: list[torch.Tensor]
    lq: torch.Tensor
    lc: torch.Tensor
    lqq: torch.Tensor | None = None   # the questions' lengths (None, older shards: no weighting)

    def to(self, dtype: torch.dtype) -> "TeacherTargets":
        f = lambda xs: [x.to(dtype) for x in xs]  # noqa: E731
        return TeacherTargets(f(self.q), f(self.o), f(self.lse), self.lq, self.lc, self.lqq)


@torch.no_grad()
def teacher_targets(receiver: handoff.Agent, ctx_rows: list[list[int]], t_rows: list[list[int]],
                    qa_rows: list[tuple[list[int], list[int]]],
                    owner: torch.Tensor) -> TeacherTargets:
    """ctx_rows and t_rows: per episode the receiver's own context and its tokens of the
    sharer's text; qa_rows[b] follows episode owner[b]. Needs no adapter: the targets can be
    computed once and reused (lcf_offline.py)."""
    m = receiver.model
    rows = [q + a for q, a in qa_rows]
    queries: list[torch.Tensor] = []
    # One prefill of the text: its entries are the target, and the teacher's context.
    text = handoff.context_forward(receiver, t_rows)
    handoff.receiver_logits(receiver, t_rows, rows, None, None, owner, capture_q=queries,
                            ctx_out=text)
    ids, lt = handoff.pad(t_rows)
    E, N = ids.shape
    j = torch.arange(N)[None, :].expand(E, N)
    lt, t_valid = lt[owner], (j < lt[:, None])[owner]
    _, lq = handoff.pad(rows)
    B, Tq = len(owner), int(lq.max())
    t = torch.arange(Tq)[None, :]
    outs, lses = [], []
    for il in range(m.c.n_layer):
        base, neox = kvf.layer_base(m, il), m.blocks[il].gemma
        tk, tv = text.plain_k[il][owner], text.cache[il].v[owner]
        t_kpos = (lt - 1)[:, None].expand(B, N) if m.blocks[il].is_local() else j[:1].expand(B, N)
        o_t, lse_t = _attend(queries[il], lt[:, None] + t, tk, t_kpos, tv, t_valid, base, neox)
        outs.append(o_t)
        lses.append(lse_t)
    lc = torch.tensor([len(r) for r in ctx_rows])[owner]
    lqq = torch.tensor([len(q) for q, _ in qa_rows])
    return TeacherTargets(queries, outs, lses, lq, lc, lqq)


def pin_loss(pins: list[tuple[torch.Tensor, torch.Tensor]], pin_layers: list[int],
             receiver: handoff.Agent, target: TeacherTargets) -> torch.Tensor:
    """pins: per pin layer (plain k, v), each (B, Hkv, M, D), row b for question row b."""
    m = receiver.model
    lc, lq = target.lc, target.lq
    B, Tq, M = len(lq), int(lq.max()), pins[0][0].shape[2]
    t = torch.arange(Tq)[None, :]
    q_valid = (t < lq[:, None]).float()
    if target.lqq is not None:
        q_valid = q_valid * torch.where(t >= (target.lqq - 1)[:, None], 1.0, QUESTION_WEIGHT)
    q_valid = q_valid[:, None, :]                                       # (B, 1, Tq)
    every_pin = torch.ones(B, M, dtype=torch.bool)
    total = torch.zeros(())
    for (pk, pv), il in zip(pins, pin_layers):
        base, neox = kvf.layer_base(m, il), m.blocks[il].gemma
        q, o_t, lse_t = (x[il].float() for x in (target.q, target.o, target.lse))
        p_kpos = handoff.pin_positions(m, il, lc, M)
        p_qpos = lc[:, None] + t + (0 if m.blocks[il].is_local() else M)
        o_p, lse_p = _attend(q, p_qpos, pk, p_kpos, pv, every_pin, base, neox)
        scale = (o_t.pow(2).sum(-1) * q_valid).sum() + 1e-6
        err = ((o_p - o_t).pow(2).sum(-1) * q_valid).sum() / scale
        lse = ((lse_p - lse_t).pow(2) * q_valid).sum() / (q_valid.sum() * q.shape[1])
        total = total + err + LSE_WEIGHT * lse
    return total / len(pin_layers)


def match_loss(pins: list[tuple[torch.Tensor, torch.Tensor]], pin_layers: list[int],
               receiver: handoff.Agent, ctx_rows: list[list[int]], t_rows: list[list[int]],
               qa_rows: list[tuple[list[int], list[int]]], owner: torch.Tensor) -> torch.Tensor:
    """The loss with the teacher run for this batch (train_lcf.py --match)."""
    target = teacher_targets(receiver, ctx_rows, t_rows, qa_rows, owner)
    return pin_loss(pins, pin_layers, receiver, target)
