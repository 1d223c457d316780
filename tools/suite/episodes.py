"""Episodes of the handoff suite: what the sharer read, what the receiver has of its own, the
question only the sharer's context answers, and the answer.

    generate(split, family, n, seed, **opts) -> list[Episode]
    training_texts(episode, rng) -> [(prompt, target), ...]
    multi_qa_text(episode, rng, n_questions) -> (text, [(start, end) of each answer])

Splits: "train", "dev", "test" draw names, kinds and templates from pools.TRAIN; "heldout"
from pools.HELDOUT, which shares none of them. Episode i of (split, family, seed) is made by
its own random.Random seeded with all four, so splits never share a random stream and
generate(n=10) is the first ten of generate(n=100).

Families: "facts" (one record answers), "multi_fact" (two records joined through a bridge
entity answer), "passkey" (a key hidden in long filler), and "shared_facts",
"shared_multi_fact", "shared_passkey", where the receiver read the very same context (the
C2C comparison). Options (keyword arguments, see SuiteOptions) set record counts, digits,
passkey lengths, the token counter and the filler source.
"""
from __future__ import annotations

import json
import pathlib
import random
import sys
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

_HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
from passkey import (build_passkey, count_words, passkey_question,  # noqa: E402
                     passkey_summary, take_filler)
from pools import Pool, pool_for  # noqa: E402
from records import (ENTITY_TYPES, Record, Relation, WorldBuilder, fact_question,  # noqa: E402
                     relations, render, summary)
from score import contains_phrase  # noqa: E402

SPLITS = ("train", "dev", "test", "heldout")
BASE_FAMILIES = ("facts", "multi_fact", "passkey")
FAMILIES = BASE_FAMILIES + tuple(f"shared_{f}" for f in BASE_FAMILIES)
EXTRA_QUESTIONS = 3        # extra single-record questions per episode in training_texts


@dataclass
class Episode:
    id: str
    family: str
    split: str
    sharer_context: str
    receiver_context: str
    question: str
    answer: str
    shared_context: bool
    meta: dict


@dataclass
class SuiteOptions:
    n_records: int | tuple[int, int] = (4, 40)        # sharer records (multi_fact: >= 4)
    receiver_records: int | tuple[int, int] = (4, 16)
    kinds: list[str] | None = None                    # restrict attribute kinds (curricula)
    code_digits: int = 4
    context_tokens: int | tuple[int, int] = (400, 500)  # passkey context length
    receiver_tokens: int = 128                        # passkey receiver's own filler
    passkey_digits: int = 5
    count_tokens: Callable[[str], int] | None = None  # default: words
    filler: Callable[[random.Random], Iterator[str]] | None = None  # default: the corpus


def _draw(rng: random.Random, spec) -> int:
    return spec if isinstance(spec, int) else rng.randint(spec[0], spec[1])


# ---- prompt formats (shared with tools/train and bench/) -------------------------------------

def qa_prompt(context: str, question: str) -> str:
    return f"{context} Question: {question} Answer:"


def summary_prompt(context: str) -> str:
    return f"{context} Summary:"


# ---- families ---------------------------------------------------------------------------------

def _receiver_records(rng, pool, opts, avoid: set[str]) -> str:
    world = WorldBuilder(rng, pool, opts.kinds, opts.code_digits, avoid=avoid)
    world.fill(_draw(rng, opts.receiver_records))
    return render(rng, pool, world.records)


def _entities(records: list[Record]) -> set[str]:
    return {r.subject for r in records} | {r.value for r in records}


def _facts(rng, pool, opts, split):
    n_records = _draw(rng, opts.n_records)
    world = WorldBuilder(rng, pool, opts.kinds, opts.code_digits)
    world.fill(n_records)
    target = rng.randrange(len(world.records))
    record = world.records[target]
    relation = rng.choice([r for r in relations(pool, opts.kinds) if r.kind.name == record.kind])
    question, answer = fact_question(rng, relation, record)
    context = render(rng, pool, world.records)
    receiver = _receiver_records(rng, pool, opts, _entities(world.records) | {answer})
    meta = {"records": [r.as_list() for r in world.records], "target": target,
            "inverse": relation.inverse}
    return context, receiver, question, answer, meta


def chains(pool: Pool, kinds: list[str] | None = None) -> list[tuple[Relation, Relation]]:
    """Two-hop questions: entity -r1-> bridge -r2-> answer, never a relation and its inverse."""
    rels = relations(pool, kinds)
    return [(r1, r2) for r1 in rels for r2 in rels
            if r1.target in ENTITY_TYPES and r2.source == r1.target
            and not (r1.kind == r2.kind and r1.inverse != r2.inverse)]


def _multi_fact(rng, pool, opts, split):
    n_records = max(4, _draw(rng, opts.n_records))
    r1, r2 = rng.choice(chains(pool, opts.kinds))
    world = WorldBuilder(rng, pool, opts.kinds, opts.code_digits)
    entity, bridge = world.new_entity(r1.source), world.new_entity(r1.target)
    if r2.target in ENTITY_TYPES:
        answer = world.new_entity(r2.target)
    else:
        answer = world.random_value(r2.kind, bridge)
    k1, k2 = r1.kind.name, r2.kind.name
    first = Record(bridge, k1, entity) if r1.inverse else Record(entity, k1, bridge)
    second = Record(answer, k2, bridge) if r2.inverse else Record(bridge, k2, answer)
    if not (world.add(first) and world.add(second)):
        raise RuntimeError("a fresh world rejected its question chain")
    world.fill(n_records)
    records = list(world.records)
    rng.shuffle(records)
    derived = {a for b in r1.follow(records, entity) for a in r2.follow(records, b)}
    if derived != {answer}:
        raise RuntimeError(f"multi_fact chain is ambiguous: {derived}")
    noun_phrase = rng.choice(r1.noun_phrases).format(x=entity)
    question = rng.choice(r2.questions).format(s=noun_phrase)
    context = render(rng, pool, records)
    receiver = _receiver_records(rng, pool, opts, _entities(records) | {answer})
    meta = {"records": [r.as_list() for r in records],
            "support": [records.index(first), records.index(second)],
            "entity": entity, "bridge": bridge,
            "chain": [[r1.kind.name, r1.inverse], [r2.kind.name, r2.inverse]]}
    return context, receiver, question, answer, meta


def default_filler(split: str) -> Callable[[random.Random], Iterator[str]]:
    """Corpus filler: evaluation splits read the corpus's dev text, training ones its train."""
    sys.path.insert(0, str(_HERE.parent / "corpus"))
    from build_corpus import filler_sentences
    corpus_split = "dev" if split in ("test", "heldout") else "train"
    return lambda rng: filler_sentences(rng, corpus_split)


def _passkey(rng, pool, opts, split):
    count = opts.count_tokens or count_words
    filler = (opts.filler or default_filler(split))(rng)
    context_tokens = _draw(rng, opts.context_tokens)
    ctx = build_passkey(rng, pool, filler, context_tokens, opts.passkey_digits, count)
    receiver = " ".join(take_filler(filler, opts.receiver_tokens, count))
    if contains_phrase(receiver, ctx.key):
        raise RuntimeError("the passkey receiver's filler holds the key")
    meta = {"key_sentence": ctx.key_sentence, "depth": round(ctx.depth, 4),
            "n_tokens": ctx.n_tokens, "context_tokens": context_tokens}
    return ctx.text, receiver, passkey_question(rng, pool), ctx.key, meta


_BUILDERS = {"facts": _facts, "multi_fact": _multi_fact, "passkey": _passkey}


def generate(split: str, family: str, n: int, seed: int, **opts) -> list[Episode]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    options = SuiteOptions(**opts)
    pool = pool_for(split)
    unknown = set(options.kinds or ()) - {k.name for k in pool.kinds}
    if unknown:
        raise ValueError(f"the {split} pool has no kinds {sorted(unknown)}")
    base = family.removeprefix("shared_")
    shared = base != family
    episodes = []
    for i in range(n):
        rng = random.Random(f"cachewire-suite/{split}/{family}/{seed}/{i}")
        context, receiver, question, answer, meta = _BUILDERS[base](rng, pool, options, split)
        episodes.append(Episode(
            id=f"{split}-{family}-{seed}-{i:04d}", family=family, split=split,
            sharer_context=context, receiver_context=context if shared else receiver,
            question=question, answer=answer, shared_context=shared, meta=meta))
    return episodes


# ---- training formats -------------------------------------------------------------------------

def _records(episode: Episode) -> list[Record]:
    return [Record(*r) for r in episode.meta.get("records", [])]


def summary_of(episode: Episode) -> str:
    """What a sharer hands off by text: the records restated compactly, or the pass key."""
    pool = pool_for(episode.split)
    if episode.family.endswith("passkey"):
        return passkey_summary(pool, episode.answer)
    return summary(pool, _records(episode))


def extra_questions(episode: Episode, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Single-record questions about other records of the sharer's context."""
    pool = pool_for(episode.split)
    records = _records(episode)
    out = []
    for record in rng.sample(records, min(n, len(records))):
        relation = rng.choice([r for r in relations(pool) if r.kind.name == record.kind])
        question, answer = fact_question(rng, relation, record)
        if question != episode.question:
            out.append((question, answer))
    return out


def training_texts(episode: Episode, rng: random.Random) -> list[tuple[str, str]]:
    """Training pairs, targets starting with a space:
      1. the question with the sharer's context in view, then the same for up to
         EXTRA_QUESTIONS other records ("<records> Question: ... Answer:" -> " 4 1 9 3");
      2. summarise the records ("<records> Summary:" -> " Bob Smith : code 4 1 9 3 ; ...");
      3. the question answered from that summary (the receiver's side of a text handoff).
    The several-questions-in-one-text format is multi_qa_text()."""
    context = episode.sharer_context
    pairs = [(qa_prompt(context, episode.question), f" {episode.answer}")]
    pairs += [(qa_prompt(context, q), f" {a}")
              for q, a in extra_questions(episode, rng, EXTRA_QUESTIONS)]
    text_summary = summary_of(episode)
    pairs.append((summary_prompt(context), f" {text_summary}"))
    pairs.append((qa_prompt(text_summary, episode.question), f" {episode.answer}"))
    return pairs


def multi_qa_text(episode: Episode, rng: random.Random,
                  n_questions: int = 4) -> tuple[str, list[tuple[int, int]]]:
    """One text: the context, then several " Question: ... Answer: ..." pairs in random order
    (the episode's own among them). Returns it with the (start, end) character span of every
    answer, so a trainer can put the loss on the answers only."""
    qas = [(episode.question, episode.answer)] + extra_questions(episode, rng, n_questions - 1)
    rng.shuffle(qas)
    text, spans = episode.sharer_context, []
    for question, answer in qas:
        text += f" Question: {question} Answer: "
        spans.append((len(text), len(text) + len(answer)))
        text += answer
    return text, spans


# ---- files ------------------------------------------------------------------------------------

def to_json(episode: Episode) -> str:
    return json.dumps(asdict(episode), ensure_ascii=True)


def from_json(line: str) -> Episode:
    return Episode(**json.loads(line))


def load_episodes(path) -> list[Episode]:
    with open(path, encoding="ascii") as f:
        return [from_json(line) for line in f if line.strip()]
