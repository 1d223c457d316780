"""One handoff episode in torch, as the daemons run it: the sharer prefills its context, the LCF
encoder reads its cache, the receiver prefills its own context, the decoder's entries are pinned
after the receiver's sinks, and the receiver answers the question.

  agent = load_agent("cw-gemma3")                 # the shipped GGUF, frozen
  slots = sharer_slots(adapter, sharer, [ids...])
  loss, correct = receiver_answer(receiver, ctx_ids, qa_rows, pins=adapter.decode(slots))

Positions follow cachewire's bounded cache (engine/cache/bounded_kv_cache.cc, Pin): in a
policy-bounded layer the pins take the M positions right after the first min(n_sink, n) entries
and later entries move up by M; a sliding-window layer's ring keeps its positions and holds its
pins at its last one (max(0, n - 1)), in view of the next window - 1 tokens. The
receiver's context was prefilled before the import, so it does not see the pins; the question does.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agents  # noqa: E402
import kv_forward as kvf  # noqa: E402
import models  # noqa: E402
import tokenizers as toks  # noqa: E402
import train  # noqa: E402

N_SINK = 4   # cachewire's default CachePolicy.n_sink


@dataclass
class Agent:
    name: str
    model: models.LM
    tok: object

    @property
    def n_ctx(self) -> int:
        return self.model.c.n_ctx


def load_agent(name: str, gguf_path: str | None = None) -> Agent:
    spec = agents.AGENTS[name]
    m = models.LM(models.Config(**{**spec.config.to_dict(), "prev_token_heads": 0}))
    path = gguf_path or os.path.join(agents.REPO, "models", f"{name}.gguf")
    train.load_gguf_weights(m, path)
    for p in m.parameters():
        p.requires_grad_(False)
    return Agent(name, m.eval(), toks.from_gguf(spec.config.arch, path))  # the file's own vocabulary


def pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (B, T) and lengths (B)."""
    T = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
    return ids, torch.tensor([len(r) for r in rows])


def sharer_entries(sharer: Agent, rows: list[list[int]]):
    """Per sharer layer (plain k, v, keep): the cache an encoder reads after prefilling rows."""
    ids, lengths = pad(rows)
    B, T = ids.shape
    pos = torch.arange(T)[None, :].expand(B, T)
    valid = pos < lengths[:, None]
    with torch.no_grad():
        out = kvf.run(sharer.model, ids, [pos] * sharer.model.c.n_layer, valid)
    return [(out.plain_k[il], out.cache[il].v, kvf.encoder_visible(sharer.model, il, lengths, T))
            for il in range(sharer.model.c.n_layer)]


def round_f16(x: torch.Tensor) -> torch.Tensor:
    """The wire's f16 rounding, with the gradient passed straight through."""
    return x + (x.half().float() - x).detach()


def sharer_slots(adapter, sharer: Agent, rows: list[list[int]]) -> torch.Tensor:
    """(B, M, r) slots, rounded as the wire rounds them. A per-token adapter's rows must send
    as many tokens each (LcfAdapter.encode_sent)."""
    lengths = torch.tensor([len(r) for r in rows])
    entries = sharer_entries(sharer, rows)
    if adapter.c.per_token:
        return round_f16(adapter.encode_sent(entries))
    return round_f16(adapter.encode_folded(entries, lengths))


def receiver_answer(receiver: Agent, ctx_rows: list[list[int]], qa_rows: list[tuple[list[int], list[int]]],
                    pins: list[tuple[torch.Tensor, torch.Tensor]] | None, pin_layers: list[int] | None = None,
                    owner: torch.Tensor | None = None):
    """ctx_rows[b]: the receiver's context (BOS first); qa_rows[b]: (question ids, answer ids);
    pins: per pinned layer (k plain, v), each (B, Hkv, M, D), for the layers pin_layers.
    owner[b]: the row of ctx_rows that question b follows (default: b).
    Returns (mean answer cross-entropy, per-row exact match under teacher forcing (B) bool)."""
    logits = receiver_logits(receiver, ctx_rows, [q + a for q, a in qa_rows], pins, pin_layers, owner)
    return answer_loss(logits, qa_rows)


def answer_loss(logits: torch.Tensor, qa_rows: list[tuple[list[int], list[int]]]):
    """(mean answer cross-entropy, per-row exact match under teacher forcing) of logits (B, T, V)
    over rows question + answer: each answer token predicted from the token before it."""
    B, Tq, _ = logits.shape
    target = torch.full((B, Tq), -100, dtype=torch.long)
    for b, (q, a) in enumerate(qa_rows):
        target[b, len(q) - 1:len(q) + len(a) - 1] = torch.tensor(a)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)
    hit = (logits.argmax(-1) == target) | (target == -100)
    return loss, hit.all(dim=1)


def context_forward(receiver: Agent, ctx_rows: list[list[int]]) -> kvf.ForwardOut:
    """The receiver's prefill of its contexts (BOS first), padded, at positions from 0."""
    ctx, lc = pad(ctx_rows)
    i0 = torch.arange(ctx.shape[1])[None, :].expand(ctx.shape)
    with torch.no_grad():
        return kvf.run(receiver.model, ctx, [i0] * receiver.model.c.n_layer, i0 < lc[:, None])


def pin_positions(m: models.LM, il: int, lc: torch.Tensor, M: int) -> torch.Tensor:
    """(B, M) where layer il puts M pins after contexts of lc tokens: after the sinks in a layer
    that shifts, at a sliding-window ring's last position otherwise."""
    if m.blocks[il].is_local():
        return torch.clamp(lc - 1, min=0)[:, None].expand(len(lc), M)
    return torch.clamp(lc, max=N_SINK)[:, None] + torch.arange(M)[None, :]


def receiver_logits(receiver: Agent, ctx_rows: list[list[int]], rows: list[list[int]],
                    pins: list[tuple[torch.Tensor, torch.Tensor]] | None,
                    pin_layers: list[int] | None = None, owner: torch.Tensor | None = None,
                    capture_q: list | None = None,
                    ctx_out: kvf.ForwardOut | None = None) -> torch.Tensor:
    """Logits (B, T, n_vocab) of `rows` run after the receiver's context and the import; row b
    follows ctx_rows[owner[b]] (each context runs once however many questions follow it).
    capture_q receives the rows' plain queries per layer (kv_forward.run); ctx_out, when given,
    is context_forward(receiver, ctx_rows), already run."""
    m = receiver.model
    L = m.c.n_layer
    ctx, lc = pad(ctx_rows)
    owner = torch.arange(len(ctx_rows)) if owner is None else owner
    if ctx_out is None:
        ctx_out = context_forward(receiver, ctx_rows)
    lc = lc[owner]
    B, Tc = len(owner), ctx.shape[1]
    M = 0 if pins is None else pins[0][0].shape[2]
    pin_of = dict(zip(pin_layers or [], pins or []))
    # Layers that shift: the bounded ones taking pins (a sliding-window layer's ring keeps its
    # positions and puts its pins at the last one).
    shifts = {il for il in pin_of if not m.blocks[il].is_local()}
    sink = torch.clamp(lc, max=N_SINK)[:, None]                      # (B, 1)
    i = torch.arange(Tc)[None, :].expand(B, Tc)
    # The context ran before the import, at its own positions; pinning then moved the entries
    # after the sinks up by M (a rotation of their keys) in the layers that shift.
    shifted = torch.where(i < sink, i, i + M)
    past: list[kvf.LayerKv] = []
    for il in range(L):
        c = ctx_out.cache[il]
        kv = kvf.LayerKv(c.k[owner], c.v[owner], c.pos[owner], c.valid[owner])
        if il in shifts:
            k = kvf.rope_at(ctx_out.plain_k[il][owner], shifted, kvf.layer_base(m, il), m.blocks[il].gemma)
            kv = kvf.LayerKv(k, kv.v, shifted, kv.valid)
        if il in pin_of:
            pk, pv = pin_of[il]
            ppos = pin_positions(m, il, lc, M)
            pk = kvf.rope_at(pk, ppos, kvf.layer_base(m, il), m.blocks[il].gemma)
            kv = kvf.LayerKv(torch.cat((kv.k, pk), 2), torch.cat((kv.v, pv), 2),
                             torch.cat((kv.pos, ppos), 1),
                             torch.cat((kv.valid, torch.ones(B, M, dtype=torch.bool)), 1))
        past.append(kv)
    qa, lq = pad(rows)
    Tq = qa.shape[1]
    t = torch.arange(Tq)[None, :].expand(B, Tq)
    q_pos = [lc[:, None] + t + (M if il in shifts else 0) for il in range(L)]
    return kvf.run(m, qa, q_pos, t < lq[:, None], past, capture_q).logits


def question_ids(agent: Agent, question: str, answer: str) -> tuple[list[int], list[int]]:
    """" Question: q Answer:" and " a\\n" as the receiver tokenizes text appended to a session."""
    q, a = agent.tok.encode_segments(["x", f" Question: {question} Answer:", f" {answer}\n"])[1:]
    return q, a


def context_ids(agent: Agent, text: str) -> list[int]:
    return [agent.tok.bos] + agent.tok.encode(text)
