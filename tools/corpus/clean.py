"""Text cleaning for the training corpus: ASCII folding, whitespace, garbage and duplicates.

Every source reader (sources.py, gcide_text.py) hands over documents as lists of raw lines;
these functions turn them into the clean, deduplicated lines that build_corpus.py writes.
Kept free of any file access so the unit tests can run them on small synthetic input.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters whose NFKD form is not plain ASCII but which have an obvious ASCII spelling.
_ASCII_SPELLINGS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": " -- ", "\u2015": " -- ", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u00ad": "", "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE",
    "\u0153": "oe", "\u0152": "OE", "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L",
    "\u00f0": "d", "\u00de": "Th", "\u00fe": "th", "\u00b7": " ", "\u2022": " ",
}

_OVERSTRIKE = re.compile(r".\x08")             # "_\bA" or "A\bA": terminal bold / underline
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_PUNCT_RUN = re.compile(r"[^\w\s]{6,}")        # rules, boxes and ASCII-art strokes
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(]?[A-Z])")


@dataclass(frozen=True)
class CleanParams:
    min_chars: int = 12          # shorter lines are dropped
    min_words: int = 3
    max_chars: int = 1000        # longer lines are split at sentence ends
    min_letter_fraction: float = 0.6   # of the non-space characters


def to_ascii(text: str) -> str:
    """Folds text to ASCII: known spellings, then accents stripped, then the rest dropped."""
    text = _OVERSTRIKE.sub("", text)
    text = "".join(_ASCII_SPELLINGS.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if ord(ch) < 128)
    return _CONTROL.sub(" ", text)


def normalize_space(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """ASCII-folded text on one line with single spaces."""
    return normalize_space(to_ascii(text))


def is_garbage(line: str, params: CleanParams = CleanParams()) -> bool:
    """True for lines too short to be prose, mostly non-letters, or drawn with punctuation."""
    if len(line) < params.min_chars or len(line.split()) < params.min_words:
        return True
    visible = [ch for ch in line if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    if letters < params.min_letter_fraction * len(visible):
        return True
    return bool(_PUNCT_RUN.search(line))


def split_sentences(text: str) -> list[str]:
    """Splits prose after . ! ? when the next word starts a sentence (capital or quote)."""
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def split_long(line: str, max_chars: int) -> list[str]:
    """Packs the sentences of an over-long line into pieces of at most max_chars (a single
    sentence longer than that stays whole)."""
    if len(line) <= max_chars:
        return [line]
    pieces, current = [], ""
    for sentence in split_sentences(line):
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def clean_document(lines: list[str], params: CleanParams = CleanParams()) -> list[str]:
    """Cleans each raw line of one document; drops garbage, splits over-long lines."""
    out = []
    for raw in lines:
        line = clean_text(raw)
        for piece in split_long(line, params.max_chars):
            if not is_garbage(piece, params):
                out.append(piece)
    return out


class Deduplicator:
    """Drops lines seen before (compared case- and space-insensitively), across all sources.

    The first occurrence wins, so the result depends only on the order documents arrive in."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def filter(self, lines: list[str]) -> list[str]:
        kept = []
        for line in lines:
            key = line.lower()
            if key not in self._seen:
                self._seen.add(key)
                kept.append(line)
        return kept
