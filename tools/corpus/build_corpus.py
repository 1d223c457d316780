#!/usr/bin/python3
"""Builds the English training corpus from Debian packages and serves it to the trainers.

    /usr/bin/python3 tools/corpus/build_corpus.py [--out DIR]     (default build/corpus/)

writes DIR/train.txt and DIR/dev.txt (one clean ASCII line per verse, fortune, gloss or
definition; documents kept together, shuffled by document with a fixed seed, 98/2 split per
source) and DIR/stats.json (documents, lines and bytes per source and split, package versions).
Missing packages are installed with apt-get when running as root; otherwise the tool names them
and exits non-zero.

Module API, used by tools/train and tools/suite:
    load_corpus(split) -> str                    "train" or "dev"; builds on demand
    filler_sentences(rng) -> iterator of str     endless prose sentences for passkey filler
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Iterator

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from clean import CleanParams, Deduplicator, clean_document, split_sentences  # noqa: E402
from sources import PACKAGES, SourcePaths, read_all  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPLITS = ("train", "dev")


class CorpusUnavailable(RuntimeError):
    """The corpus is not built and cannot be (packages missing, not root)."""


@dataclass(frozen=True)
class BuildParams:
    seed: int = 1234
    dev_fraction: float = 0.02
    clean: CleanParams = field(default_factory=CleanParams)


def default_out_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("CACHEWIRE_CORPUS_DIR", ROOT / "build" / "corpus"))


# ---- packages -------------------------------------------------------------------------------

def package_versions(names, paths: SourcePaths = SourcePaths()) -> dict[str, str | None]:
    """Installed version of each Debian package, None when it is not installed. Without
    dpkg (not Debian), a package counts as present, version "unknown", when its file is."""
    if not shutil.which("dpkg-query"):
        return {name: "unknown" if os.path.exists(PACKAGES[name](paths)) else None
                for name in names}
    versions = {}
    for name in names:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Version}", name],
                                capture_output=True, text=True)
        status, _, version = result.stdout.partition("|")
        versions[name] = version if "install ok installed" in status else None
    return versions


def ensure_packages() -> dict[str, str]:
    """Installs missing source packages as root; raises CorpusUnavailable otherwise."""
    versions = package_versions(PACKAGES)
    missing = [name for name, version in versions.items() if version is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                       check=True, env=env)
        versions = package_versions(PACKAGES)
        missing = [name for name, version in versions.items() if version is None]
    if missing:
        raise CorpusUnavailable("missing Debian packages: " + " ".join(missing) +
                                " (run scripts/install-deps as root)")
    return versions


# ---- assembling -----------------------------------------------------------------------------

def assemble(documents_by_source: dict[str, list[list[str]]], params: BuildParams = BuildParams()):
    """Cleans, deduplicates, shuffles and splits documents.

    Returns ({split: [line, ...]}, {source: {split: {documents, lines, bytes}}}). Each source
    gives dev_fraction of its documents to dev, so dev has every kind of text."""
    rng = random.Random(params.seed)
    dedup = Deduplicator()
    split_docs: dict[str, list[list[str]]] = {split: [] for split in SPLITS}
    stats = {}
    for source, documents in documents_by_source.items():
        cleaned = [dedup.filter(clean_document(doc, params.clean)) for doc in documents]
        cleaned = [doc for doc in cleaned if doc]
        rng.shuffle(cleaned)
        n_dev = round(len(cleaned) * params.dev_fraction)
        parts = {"dev": cleaned[:n_dev], "train": cleaned[n_dev:]}
        stats[source] = {}
        for split, docs in parts.items():
            split_docs[split].extend(docs)
            lines = [line for doc in docs for line in doc]
            stats[source][split] = {"documents": len(docs), "lines": len(lines),
                                    "bytes": sum(len(line) + 1 for line in lines)}
    splits = {}
    for split in SPLITS:
        rng.shuffle(split_docs[split])
        splits[split] = [line for doc in split_docs[split] for line in doc]
    return splits, stats


def _write_atomic(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="ascii")
    os.replace(tmp, path)


def build(out_dir=None, params: BuildParams = BuildParams(),
          paths: SourcePaths = SourcePaths()) -> dict:
    """Builds the corpus into out_dir; returns the stats written to stats.json."""
    out = pathlib.Path(out_dir) if out_dir else default_out_dir()
    versions = ensure_packages()
    splits, per_source = assemble(read_all(paths), params)
    out.mkdir(parents=True, exist_ok=True)
    for split, lines in splits.items():
        _write_atomic(out / f"{split}.txt", "".join(line + "\n" for line in lines))
    stats = {"sources": per_source, "packages": versions, "params": asdict(params),
             "total": {split: {"lines": len(lines), "bytes": sum(len(x) + 1 for x in lines)}
                       for split, lines in splits.items()}}
    _write_atomic(out / "stats.json", json.dumps(stats, indent=1, sort_keys=True) + "\n")
    return stats


# ---- module API -----------------------------------------------------------------------------

def load_corpus(split: str, out_dir=None) -> str:
    """The text of one split ("train" or "dev"), building the corpus first if needed."""
    if split not in SPLITS:
        raise ValueError(f"unknown corpus split {split!r}; expected one of {SPLITS}")
    out = pathlib.Path(out_dir) if out_dir else default_out_dir()
    if not (out / "stats.json").exists():
        build(out)
    return (out / f"{split}.txt").read_text(encoding="ascii")


_FILLER_CACHE: dict[tuple[str, str], list[str]] = {}
_FILLER_SENTENCE = re.compile(r"^[A-Z][^0-9()/<>=@]*[.!?][\"')]?$")
_DICTIONARY_STYLE = re.compile(r"^[\w' -]{1,40}: |--")    # "Headword: ..." and "-- used of"


def filler_pool(text: str, min_words: int = 4, max_words: int = 40) -> list[str]:
    """Prose sentences of a corpus text in corpus order: capitalised, ending in . ! ?, without
    digits (so filler never holds something that looks like a pass key), parentheses or
    dictionary-style headwords."""
    pool = []
    for line in text.splitlines():
        for sentence in split_sentences(line):
            if (min_words <= len(sentence.split()) <= max_words
                    and _FILLER_SENTENCE.match(sentence)
                    and not _DICTIONARY_STYLE.search(sentence)):
                pool.append(sentence)
    return pool


def filler_sentences(rng: random.Random, split: str = "train", out_dir=None,
                     run_length: tuple[int, int] = (3, 12)) -> Iterator[str]:
    """Endless filler: runs of consecutive corpus sentences from random places, so that the
    text reads naturally for a few sentences and then changes subject."""
    key = (str(out_dir or default_out_dir()), split)
    if key not in _FILLER_CACHE:
        _FILLER_CACHE[key] = filler_pool(load_corpus(split, out_dir))
    pool = _FILLER_CACHE[key]
    while True:
        start = rng.randrange(len(pool))
        yield from pool[start:start + rng.randint(*run_length)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None, help="output directory (default build/corpus)")
    parser.add_argument("--seed", type=int, default=BuildParams.seed)
    args = parser.parse_args()
    try:
        stats = build(args.out, BuildParams(seed=args.seed))
    except CorpusUnavailable as error:
        print(f"build_corpus: {error}", file=sys.stderr)
        return 1
    for source, splits in stats["sources"].items():
        print(f"{source:9s} " + "  ".join(
            f"{split} {s['documents']} docs {s['lines']} lines {s['bytes']} bytes"
            for split, s in splits.items()))
    print("total     " + "  ".join(f"{split} {s['lines']} lines {s['bytes']} bytes"
                                   for split, s in stats["total"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
