"""Training batches for the agents: suite episodes and corpus text, tokenized with loss weights.

A sample is a list of segments (text, weight): the weight applies to every token of the
segment, so answers carry the loss and the records only a little (their content is random,
their templates are not). Formats (every answer ends in a newline, the stop the servers use):
  qa       "<records> Question: <q> Answer: <a>\n Question: ... Answer: <a>\n"   several per world
  multi    the same with two-hop questions (the answer joins two records)
  passkey  "<filler with the key sentence> Question: <q> Answer: <key>\n"
  summary  "<records> Summary: <compact restatement>\n"   (so a sharer can hand off by text)
  text     a run of corpus lines, loss everywhere
  varied   qa, multi or summary over a freshly invented pool (varied_pool.py): names, kinds and
           templates never the same twice, so the lookup is learnt apart from their wording
Curriculum levels raise the number of records per world (level_desc).
"""
from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
for sub in ("suite", "corpus"):
    sys.path.insert(0, os.path.join(HERE, "..", sub))
import build_corpus  # noqa: E402
import passkey as pk  # noqa: E402
import pools  # noqa: E402
import records as rec  # noqa: E402
import varied_pool  # noqa: E402

LEVELS = [(2, 4), (3, 6), (4, 8), (6, 12), (8, 16), (12, 24), (16, 32), (20, 40)]
MAX_LEVEL = len(LEVELS) - 1
CONTEXT_WEIGHT = 0.05
MIX = [("qa", 0.40), ("multi", 0.09), ("passkey", 0.11), ("summary", 0.08), ("varied", 0.18),
       ("text", 0.14)]


def level_desc(level: int) -> str:
    lo, hi = LEVELS[level]
    return f"{lo}-{hi} records per world"


def corpus_text(split: str) -> str:
    return build_corpus.load_corpus(split)


@dataclass
class Batch:
    ids: torch.Tensor          # (B, T) int64, 0-padded
    weights: torch.Tensor      # (B, T) loss weight of predicting ids[:, t] from ids[:, :t]
    answer_mask: torch.Tensor  # (B, T) 1 on answer tokens (exact-match scoring)


def world(rng: random.Random, n_records: int, pool=pools.TRAIN) -> list[rec.Record]:
    b = rec.WorldBuilder(rng, pool)
    b.fill(n_records)
    return b.records


def qa_segments(rng: random.Random, n_records: int, n_questions: int,
                pool=pools.TRAIN) -> list[tuple[str, float]]:
    records = world(rng, n_records, pool)
    segs = [(rec.render(rng, pool, records), CONTEXT_WEIGHT)]
    rels = rec.relations(pool)
    asked = rng.sample(records, min(n_questions, len(records)))
    for r in asked:
        options = [rel for rel in rels if rel.kind.name == r.kind]
        rel = rng.choice(options)
        # Backward questions need a unique answer: the value is held by one subject only.
        if rel.inverse and len(rel.follow(records, r.value)) != 1:
            rel = next(x for x in options if not x.inverse)
        q, a = rec.fact_question(rng, rel, r)
        segs.append((f" Question: {q} Answer:", 0.0))
        segs.append((f" {a}\n", 1.0))
    return segs


def multi_segments(rng: random.Random, n_records: int, n_questions: int,
                   pool=pools.TRAIN) -> list[tuple[str, float]]:
    """Two-hop questions: "What is the code of the owner of Oak Farm ?"."""
    records = world(rng, max(4, n_records), pool)
    rels = rec.relations(pool)
    segs = [(rec.render(rng, pool, records), CONTEXT_WEIGHT)]
    n = 0
    for _ in range(40):
        if n >= n_questions:
            break
        r1 = rng.choice(records)
        first = [rel for rel in rels if rel.kind.name == r1.kind and rel.target in rec.ENTITY_TYPES]
        if not first:
            continue
        rel1 = rng.choice(first)
        src = r1.value if rel1.inverse else r1.subject
        mids = rel1.follow(records, src)
        if len(mids) != 1:
            continue
        second = [rel for rel in rels if rel.source == rel1.target and rel.kind.name != rel1.kind.name]
        rng.shuffle(second)
        for rel2 in second:
            answers = rel2.follow(records, mids[0])
            if len(answers) == 1 and rel2.noun_phrases and rel1.noun_phrases:
                inner = rng.choice(rel1.noun_phrases).format(x=src)
                q = rng.choice(rel2.questions).format(s=inner)
                segs.append((f" Question: {q} Answer:", 0.0))
                segs.append((f" {answers[0]}\n", 1.0))
                n += 1
                break
    return segs


def summary_segments(rng: random.Random, n_records: int,
                     pool=pools.TRAIN) -> list[tuple[str, float]]:
    records = world(rng, min(n_records, 16), pool)
    return [(rec.render(rng, pool, records), CONTEXT_WEIGHT), (" Summary:", 0.0),
            (" " + rec.summary(pool, records) + "\n", 1.0)]


class Source:
    """Endless batches for one tokenizer; dev batches are fixed per level."""

    def __init__(self, tok, n_ctx: int, seed: int):
        self.tok, self.n_ctx = tok, n_ctx
        self.rng = random.Random(seed)
        self.filler = build_corpus.filler_sentences(random.Random(seed + 1))
        self.lines = [ln for ln in corpus_text("train").split("\n") if ln.strip()]
        self.dev: dict[int, Batch] = {}

    # ---- samples ------------------------------------------------------------------------------
    def sample(self, kind: str, level: int, rng: random.Random) -> list[tuple[str, float]]:
        lo, hi = LEVELS[level]
        n_records = rng.randint(lo, hi)
        if kind == "qa":
            return qa_segments(rng, n_records, rng.randint(2, 6))
        if kind == "multi":
            return multi_segments(rng, n_records, rng.randint(1, 4))
        if kind == "summary":
            return summary_segments(rng, n_records)
        if kind == "varied":
            pool = varied_pool.invent_pool(rng)
            form = rng.choices(("qa", "multi", "summary"), weights=(0.7, 0.15, 0.15))[0]
            if form == "multi":
                return multi_segments(rng, n_records, rng.randint(1, 4), pool)
            if form == "summary":
                return summary_segments(rng, n_records, pool)
            return qa_segments(rng, n_records, rng.randint(2, 6), pool)
        if kind == "passkey":
            ctx = pk.build_passkey(rng, pools.TRAIN, self.filler, rng.randint(40, self.n_ctx - 60),
                                   rng.choice((4, 5, 6)), count_tokens=lambda s: len(self.tok.encode(s)))
            q = pk.passkey_question(rng, pools.TRAIN)
            return [(ctx.text, CONTEXT_WEIGHT), (f" Question: {q} Answer:", 0.0), (f" {ctx.key}\n", 1.0)]
        start = rng.randrange(len(self.lines))
        text = " ".join(self.lines[start:start + 40])
        return [(text, 1.0)]

    def encode(self, segs: list[tuple[str, float]]):
        """(ids, weights, answer mask) with BOS first; None when not even the first question fits.
        A sample longer than n_ctx keeps whole question/answer pairs from the front."""
        ids, w, ans = [self.tok.bos], [0.0], [0]
        if len(segs) == 1:  # plain text: any prefix will do
            ids += self.tok.encode(segs[0][0])[:self.n_ctx - 1]
            return ids, [segs[0][1]] * len(ids), [0] * len(ids)
        fits = None
        for (text, weight), seg_ids in zip(segs, self.tok.encode_segments(t for t, _ in segs)):
            ids += seg_ids
            w += [weight] * len(seg_ids)
            ans += [1 if weight == 1.0 and len(segs) > 1 else 0] * len(seg_ids)
            if len(ids) > self.n_ctx:
                break
            if weight == 1.0:
                fits = len(ids)
        if fits is None:
            return None
        return ids[:fits], w[:fits], ans[:fits]

    def encoded_sample(self, kind: str, level: int, rng: random.Random):
        for _ in range(8):
            got = self.encode(self.sample(kind, level, rng))
            if got is not None:
                return got
            level = max(0, level - 1)
        raise RuntimeError(f"no {kind} sample fits {self.n_ctx} tokens")

    def collate(self, rows: list[tuple[list[int], list[float], list[int]]]) -> Batch:
        T = max(len(r[0]) for r in rows)
        ids = torch.zeros(len(rows), T, dtype=torch.long)
        w = torch.zeros(len(rows), T)
        ans = torch.zeros(len(rows), T, dtype=torch.long)
        for i, (a, b, c) in enumerate(rows):
            ids[i, :len(a)] = torch.tensor(a)
            w[i, :len(b)] = torch.tensor(b)
            ans[i, :len(c)] = torch.tensor(c)
        return Batch(ids, w, ans)

    def batch(self, token_budget: int, level: int) -> Batch:
        """Samples of one kind until about token_budget tokens (padded) are in the batch: long
        samples (text, passkeys) come few to a batch, short ones many, so each step costs alike."""
        r = self.rng.random()
        kind = MIX[-1][0]
        for name, p in MIX:
            if r < p:
                kind = name
                break
            r -= p
        rows = [self.encoded_sample(kind, level, self.rng)]
        while (len(rows) + 1) * max(len(x[0]) for x in rows) <= token_budget and len(rows) < 64:
            rows.append(self.encoded_sample(kind, level, self.rng))
        return self.collate(rows)

    def dev_batch(self, level: int, n: int = 32) -> Batch:
        if level not in self.dev:
            rng = random.Random(1_000_003 + level)
            rows = [self.encode(qa_segments(rng, rng.randint(*LEVELS[level]), 1)) for _ in range(n)]
            self.dev[level] = self.collate([r for r in rows if r is not None])
        return self.dev[level]


def suite_texts(n: int, rng: random.Random) -> list[str]:
    """Plain texts of every training format (for tokenizer training)."""
    out = []
    for i in range(n):
        segs = qa_segments(rng, rng.randint(4, 30), 4) if i % 3 else multi_segments(rng, 12, 3)
        out.append("".join(t for t, _ in segs).replace("\n", " "))
        if i % 5 == 0:
            records = world(rng, 10)
            out.append(rec.summary(pools.TRAIN, records))
        if i % 7 == 0:
            out.append(rng.choice(pools.TRAIN.passkey_records).format(k=rec.spaced_digits(rng, 5)) + " " +
                       pk.passkey_question(rng, pools.TRAIN))
    return out
