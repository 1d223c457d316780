#!/usr/bin/python3
"""Writes the committed evaluation splits of the handoff suite:

    /usr/bin/python3 tools/suite/make_splits.py [--out tools/suite/data]

-> test.jsonl and heldout.jsonl (one Episode per line, see episodes.py) and manifest.json
(sha256 and counts of each file, the corpus dev text the passkey filler came from). The
result is deterministic: the same corpus gives byte-identical files (test_splits.py checks
the committed ones against a fresh run).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys
from collections import Counter

_HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
from episodes import generate, to_json  # noqa: E402

DATA_DIR = _HERE / "data"
EVAL_SPLITS = ("test", "heldout")

# (family, episodes, seed, options): 100 per family, short passkeys of 400-500 words, and
# three long ones at each of four lengths (about 1k to 4k tokens).
PLAN = (
    ("facts", 100, 0, {}),
    ("multi_fact", 100, 0, {}),
    ("passkey", 100, 0, {"context_tokens": (400, 500)}),
    ("passkey", 3, 1, {"context_tokens": 800}),
    ("passkey", 3, 2, {"context_tokens": 1500}),
    ("passkey", 3, 3, {"context_tokens": 2300}),
    ("passkey", 3, 4, {"context_tokens": 3000}),
    ("shared_facts", 100, 0, {}),
)


def split_lines(split: str, families: tuple[str, ...] | None = None) -> list[str]:
    """The JSON lines of one split (optionally only some families), in PLAN order."""
    lines = []
    for family, n, seed, opts in PLAN:
        if families is None or family in families:
            lines += [to_json(e) for e in generate(split, family, n, seed, **opts)]
    return lines


def corpus_fingerprint() -> str:
    """sha256 of the corpus dev text that test and heldout passkeys draw filler from."""
    sys.path.insert(0, str(_HERE.parent / "corpus"))
    from build_corpus import load_corpus
    return hashlib.sha256(load_corpus("dev").encode("ascii")).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(DATA_DIR))
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"command": "/usr/bin/python3 tools/suite/make_splits.py",
                "corpus_dev_sha256": corpus_fingerprint(), "files": {}}
    for split in EVAL_SPLITS:
        lines = split_lines(split)
        data = "".join(line + "\n" for line in lines).encode("ascii")
        (out / f"{split}.jsonl").write_bytes(data)
        families = Counter(json.loads(line)["family"] for line in lines)
        manifest["files"][f"{split}.jsonl"] = {
            "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "episodes": len(lines), "families": dict(sorted(families.items()))}
        print(f"{split}.jsonl: {len(lines)} episodes, {len(data)} bytes, {dict(families)}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
