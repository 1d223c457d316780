#!/usr/bin/python3
"""Exact-match scoring of handoff-suite answers, shared by the benchmarks and the trainers.

Normalisation: lower case, punctuation to spaces, whitespace collapsed, and spaces between
digits removed, so "4 1 9 3 ." == "4193" and " Carl  Diaz" == "carl diaz". A generation is
first cut at its first stop (newline, "Question:", " ." or "Answer:"), since models trained
on the suite go on with the next record or question.

    /usr/bin/python3 tools/suite/score.py EPISODES.jsonl PREDICTIONS.jsonl
PREDICTIONS lines are {"id": ..., "prediction": ...}; prints accuracy per split and family.
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict

_PUNCT = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_DIGIT_GAP = re.compile(r"(?<=\d) (?=\d)")
_STOP = re.compile(r"\n|Question:|Answer:|\s\.(?:\s|$)")


def normalize(text: str) -> str:
    text = _PUNCT.sub(" ", text.lower())
    text = _SPACES.sub(" ", text).strip()
    return _DIGIT_GAP.sub("", text)


def cut_answer(generated: str) -> str:
    """The answer part of a generation: everything before the first stop."""
    match = _STOP.search(generated)
    return generated[:match.start()] if match else generated


def exact_match(prediction: str, answer: str) -> bool:
    return normalize(cut_answer(prediction)) == normalize(answer)


def contains_phrase(text: str, phrase: str) -> bool:
    """True when phrase occurs in text as whole words, compared after normalisation."""
    return f" {normalize(phrase)} " in f" {normalize(text)} "


def accuracy_by_group(rows) -> dict[str, dict]:
    """rows: (split, family, correct) -> {"split/family": {n, correct, accuracy}}."""
    groups = defaultdict(lambda: [0, 0])
    for split, family, correct in rows:
        group = groups[f"{split}/{family}"]
        group[0] += 1
        group[1] += int(bool(correct))
    return {name: {"n": n, "correct": c, "accuracy": c / n} for name, (n, c) in
            sorted(groups.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        episodes = {e["id"]: e for e in map(json.loads, f)}
    with open(argv[2]) as f:
        predictions = {p["id"]: p["prediction"] for p in map(json.loads, f)}
    rows = [(e["split"], e["family"], exact_match(predictions.get(i, ""), e["answer"]))
            for i, e in episodes.items()]
    for name, result in accuracy_by_group(rows).items():
        print(f"{name:24s} {result['correct']:5d} / {result['n']:5d}  {result['accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
