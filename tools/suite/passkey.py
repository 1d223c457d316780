"""Passkey contexts: a short key sentence hidden at a random depth in corpus filler.

    ... filler sentences ... The pass key is 7 3 9 1 4 . Remember it . ... filler ...

The context grows sentence by sentence until it holds about `context_tokens` tokens, counted
by a caller-supplied `count_tokens(text) -> int` (a model's tokenizer) or, by default, by
words. The key goes at the sentence boundary nearest to depth * length, depth uniform in
[0, 1]; the depth actually reached (in tokens before the key / tokens of filler) is recorded.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterator

from pools import Pool
from records import spaced_digits

# Filler must not talk about keys or look like the prompt format.
_BANNED = ("pass key", "secret number", "question:", "answer:")


def count_words(text: str) -> int:
    return len(text.split())


@dataclass
class PasskeyContext:
    text: str
    key: str
    key_sentence: str
    depth: float          # fraction of filler tokens before the key
    n_tokens: int         # count_tokens(text)


def take_filler(filler: Iterator[str], n_tokens: int,
                count_tokens: Callable[[str], int]) -> list[str]:
    """Sentences from filler until they hold at least n_tokens tokens (at least one)."""
    sentences, total = [], 0
    for sentence in filler:
        lowered = sentence.lower()
        if any(word in lowered for word in _BANNED):
            continue
        sentences.append(sentence)
        total += count_tokens(sentence)
        if total >= n_tokens:
            break
    return sentences


def build_passkey(rng: random.Random, pool: Pool, filler: Iterator[str], context_tokens: int,
                  n_digits: int,
                  count_tokens: Callable[[str], int] = count_words) -> PasskeyContext:
    key = spaced_digits(rng, n_digits)
    key_sentence = rng.choice(pool.passkey_records).format(k=key)
    target_depth = rng.random()
    budget = max(1, context_tokens - count_tokens(key_sentence))
    sentences = take_filler(filler, budget, count_tokens)
    # cumulative[i]: filler tokens before sentence i; the key goes at the nearest boundary.
    cumulative = [0]
    for sentence in sentences:
        cumulative.append(cumulative[-1] + count_tokens(sentence))
    total = cumulative[-1]
    position = min(range(len(cumulative)), key=lambda i: abs(cumulative[i] - target_depth * total))
    text = " ".join(sentences[:position] + [key_sentence] + sentences[position:])
    return PasskeyContext(text=text, key=key, key_sentence=key_sentence,
                          depth=cumulative[position] / total if total else 0.0,
                          n_tokens=count_tokens(text))


def passkey_question(rng: random.Random, pool: Pool) -> str:
    return rng.choice(pool.passkey_questions)


def passkey_summary(pool: Pool, key: str) -> str:
    return f"{pool.passkey_label} {key} ."
