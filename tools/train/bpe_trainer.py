"""Byte-level BPE training (the `gpt2` tokenizer kind with Llama 3's pre-tokenizer) for cw-llama.

Text is split by Llama 3's pre-tokenizer regex, each piece's UTF-8 bytes are mapped to printable
characters (GPT-2's byte-to-unicode table), and the most frequent adjacent pair is merged until
the vocabulary is full. Pair counts are kept incrementally (pair -> count, pair -> words holding
it, a lazy max-heap), so a merge costs only the words it touches; a few MB of text train in
about a minute.

The result is a Hugging Face `tokenizer.json` (BPE model, ByteLevel pre-tokenizer with the
Llama 3 Split regex), which tools/tokenizers/convert_hf_tokenizer.py turns into GGUF metadata and
which the reference tokenizers library reads to check cachewire's encoder.
"""
from __future__ import annotations

import collections
import heapq
import json
from typing import Iterable

import regex

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_SPLIT_RE = regex.compile(LLAMA3_SPLIT)


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


BYTE_CHARS = byte_to_unicode()


def pieces_of(text: str) -> list[str]:
    """Pre-tokenized pieces of text, each as byte-level characters."""
    return ["".join(BYTE_CHARS[b] for b in m.encode("utf-8")) for m in _SPLIT_RE.findall(text)]


def train(texts: Iterable[str], vocab_size: int, specials: list[str], min_count: int = 2) -> dict:
    """Returns {"vocab": {token: id}, "merges": [(a, b), ...]}; specials take the last ids."""
    word_counts: collections.Counter[str] = collections.Counter()
    for text in texts:
        word_counts.update(pieces_of(text))
    words = [list(w) for w in word_counts]
    freqs = list(word_counts.values())

    pair_count: collections.Counter[tuple[str, str]] = collections.Counter()
    pair_words: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for wi, sym in enumerate(words):
        for a, b in zip(sym, sym[1:]):
            pair_count[(a, b)] += freqs[wi]
            pair_words[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    vocab = [BYTE_CHARS[b] for b in range(256)]
    n_merges = vocab_size - len(vocab) - len(specials)
    merges: list[tuple[str, str]] = []
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale entry
        if -neg < min_count:
            break
        merged = pair[0] + pair[1]
        merges.append(pair)
        vocab.append(merged)
        touched: dict[tuple[str, str], int] = {}
        for wi in list(pair_words[pair]):
            sym, f = words[wi], freqs[wi]
            for a, b in zip(sym, sym[1:]):
                pair_count[(a, b)] -= f
                touched[(a, b)] = 1
            out, i = [], 0
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == pair[0] and sym[i + 1] == pair[1]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            words[wi] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += f
                pair_words[(a, b)].add(wi)
                touched[(a, b)] = 1
        del pair_count[pair]
        pair_words.pop(pair, None)
        for p in touched:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
    vocab += specials
    return {"vocab": {t: i for i, t in enumerate(vocab)}, "merges": merges}


def hf_tokenizer_json(model: dict, specials: list[str]) -> dict:
    """A Hugging Face tokenizer.json for the trained model (Llama 3's layout)."""
    vocab = model["vocab"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True} for s in specials],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab,
                  "merges": [f"{a} {b}" for a, b in model["merges"]]},
    }


class Encoder:
    """Encodes text with a trained model exactly as the BPE of tokenizer.json does (no specials)."""

    def __init__(self, model: dict):
        self.vocab = model["vocab"]
        self.rank = {tuple(m): r for r, m in enumerate(model["merges"])}
        self.cache: dict[str, list[int]] = {}

    def _word(self, w: str) -> list[int]:
        sym = list(w)
        while len(sym) > 1:
            best = min(((self.rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(sym, sym[1:]))))
            if best[0] == 1 << 30:
                break
            i = best[1]
            sym[i:i + 2] = [sym[i] + sym[i + 1]]
        return [self.vocab[s] for s in sym]

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for w in pieces_of(text):
            got = self.cache.get(w)
            if got is None:
                got = self._word(w)
                if len(self.cache) < 1_000_000:
                    self.cache[w] = got
            ids.extend(got)
        return ids


def save(path: str, tokenizer_json: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tokenizer_json, f, ensure_ascii=False)
