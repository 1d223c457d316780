"""Readers for the Debian packages the corpus is made of; each returns raw documents.

A document is a list of raw lines (cleaning happens later, in clean.py) and is the unit the
corpus is shuffled and split by:
  bible     one chapter of the King James Bible, a verse per line (bible-kjv's reader
            decodes /usr/lib/bible.data from bible-kjv-text)
  fortunes  one fortune cookie, its lines joined (fortunes, fortunes-min)
  wordnet   one synset: "lemma: gloss" (wordnet-base)
  gcide     one dictionary entry, a definition per line (dict-gcide; see gcide_text.py)
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from gcide_text import read_gcide


@dataclass(frozen=True)
class SourcePaths:
    bible_reader: str = "/usr/bin/bible"
    bible_data: str = "/usr/lib/bible.data"
    fortunes_dir: str = "/usr/share/games/fortunes"
    wordnet_dir: str = "/usr/share/wordnet"
    gcide_dict: str = "/usr/share/dictd/gcide.dict.dz"
    gcide_index: str = "/usr/share/dictd/gcide.index"


# Debian package -> the file that proves it is installed.
PACKAGES = {
    "bible-kjv-text": lambda p: p.bible_data,
    "bible-kjv": lambda p: p.bible_reader,
    "fortunes": lambda p: os.path.join(p.fortunes_dir, "computers"),
    "fortunes-min": lambda p: os.path.join(p.fortunes_dir, "fortunes"),
    "wordnet-base": lambda p: os.path.join(p.wordnet_dir, "data.noun"),
    "dict-gcide": lambda p: p.gcide_dict,
}

# Fortune files that are pictures rather than prose, and the directory of offensive ones.
_SKIPPED_FORTUNES = {"ascii-art"}
_OFFENSIVE_DIR = "off"
_SYNSET = re.compile(r"^\d{8} \d{2} [nvasr] [0-9a-f]{2} \S")   # offset lexfile type count lemma
_VERSE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


def _read_text(path: str) -> str:
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_bible_listing(listing: str) -> list[list[str]]:
    """`Ge1:1 In the beginning ...` lines -> one document per book and chapter."""
    documents, current_key = [], None
    for line in listing.splitlines():
        match = _VERSE.match(line)
        if not match:
            continue
        key = (match.group(1), match.group(2))
        if key != current_key:
            documents.append([])
            current_key = key
        documents[-1].append(match.group(4))
    return documents


def read_bible(paths: SourcePaths) -> list[list[str]]:
    listing = subprocess.run(
        [paths.bible_reader, "-f", "-p", os.path.dirname(paths.bible_data), "Gen1:1-Rev22:21"],
        check=True, capture_output=True, text=True, encoding="latin-1").stdout
    return parse_bible_listing(listing)


def parse_fortune_file(text: str) -> list[list[str]]:
    """A strfile source: fortunes separated by lines holding only '%'."""
    documents = []
    for block in re.split(r"^%\s*$", text, flags=re.MULTILINE):
        joined = " ".join(line.strip() for line in block.splitlines() if line.strip())
        if joined:
            documents.append([joined])
    return documents


def read_fortunes(paths: SourcePaths) -> list[list[str]]:
    documents = []
    for name in sorted(os.listdir(paths.fortunes_dir)):
        path = os.path.join(paths.fortunes_dir, name)
        # .dat are strfile indexes, .u8 are links to the same text, 'off' holds offensive ones.
        if ("." in name or name in _SKIPPED_FORTUNES or name == _OFFENSIVE_DIR
                or os.path.islink(path) or not os.path.isfile(path)):
            continue
        documents.extend(parse_fortune_file(_read_text(path)))
    return documents


def parse_wordnet_line(line: str) -> str | None:
    """`offset lex_filenum ss_type w_cnt lemma lex_id ... | gloss` -> "lemma: gloss" (None
    for anything else, such as the licence header)."""
    if not _SYNSET.match(line) or " | " not in line:
        return None
    fields, gloss = line.split(" | ", 1)
    parts = fields.split(" ")
    lemma = re.sub(r"\([a-z]+\)$", "", parts[4]).replace("_", " ")
    gloss = gloss.strip()
    return f"{lemma}: {gloss}" if gloss else None


def read_wordnet(paths: SourcePaths) -> list[list[str]]:
    documents = []
    for part in ("adj", "adv", "noun", "verb"):
        with open(os.path.join(paths.wordnet_dir, f"data.{part}"), encoding="utf-8",
                  errors="replace") as f:
            for line in f:
                text = parse_wordnet_line(line)
                if text:
                    documents.append([text])
    return documents


def read_all(paths: SourcePaths) -> dict[str, list[list[str]]]:
    """Every source, in a fixed order (deduplication keeps the first occurrence)."""
    return {
        "bible": read_bible(paths),
        "fortunes": read_fortunes(paths),
        "wordnet": read_wordnet(paths),
        "gcide": read_gcide(paths.gcide_dict, paths.gcide_index),
    }
