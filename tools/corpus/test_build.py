"""Corpus assembly (dedup, shuffle, split, stats) and the module API on synthetic input."""
import json
import pathlib
import random
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import build_corpus  # noqa: E402
from build_corpus import (BuildParams, CorpusUnavailable, assemble, filler_pool,  # noqa: E402
                          filler_sentences, load_corpus)


def synthetic_sources():
    bible = [[f"Verse {c} {v} of the chapter, and it came to pass in the land." for v in "abc"]
             for c in range(52)]
    fortunes = [[f"Fortune {i} says that a clean desk is a sign of {i}."] for i in "abcdefghij"]
    fortunes.append(["VERSE 7 A of the chapter, and it came to pass in the land."])  # duplicate
    fortunes.append(["+-+-+-+-+-+-+-+"])                                             # garbage
    return {"bible": bible, "fortunes": fortunes}


class AssembleTest(unittest.TestCase):
    def test_same_seed_same_corpus_other_seed_other_order(self):
        a, _ = assemble(synthetic_sources(), BuildParams(seed=7))
        b, _ = assemble(synthetic_sources(), BuildParams(seed=7))
        c, _ = assemble(synthetic_sources(), BuildParams(seed=8))
        self.assertEqual(a, b)
        self.assertNotEqual(a["train"], c["train"])
        self.assertEqual(sorted(a["train"] + a["dev"]), sorted(c["train"] + c["dev"]))

    def test_duplicates_and_garbage_are_dropped(self):
        splits, stats = assemble(synthetic_sources())
        lines = splits["train"] + splits["dev"]
        self.assertEqual(len(lines), len(set(lines)))
        self.assertEqual(len(lines), 52 * 3 + 10)
        self.assertFalse(any("+-+" in line for line in lines))
        self.assertEqual(stats["fortunes"]["train"]["documents"] +
                         stats["fortunes"]["dev"]["documents"], 10)

    def test_documents_stay_whole_and_each_source_gives_dev_its_share(self):
        splits, stats = assemble(synthetic_sources(), BuildParams(dev_fraction=0.1))
        self.assertEqual(stats["bible"]["dev"]["documents"], round(52 * 0.1))
        self.assertEqual(stats["fortunes"]["dev"]["documents"], 1)
        for split, lines in splits.items():
            for i, line in enumerate(lines):
                if line.startswith("Verse") and " a of " in line:    # first verse of a chapter
                    self.assertEqual(lines[i + 1], line.replace(" a of ", " b of "))

    def test_stats_count_lines_and_bytes(self):
        splits, stats = assemble(synthetic_sources())
        for split, lines in splits.items():
            self.assertEqual(sum(s[split]["lines"] for s in stats.values()), len(lines))
            self.assertEqual(sum(s[split]["bytes"] for s in stats.values()),
                             len("".join(line + "\n" for line in lines)))


class ModuleApiTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = pathlib.Path(self.tmp.name)
        text = ("In the beginning was the word and the word was good. It rained for 40 days. "
                "Then the flood went down again slowly.\nbad: lowercase start here.\n"
                "The sun rose over the quiet hills of the north. And the people slept well.\n")
        for split in ("train", "dev"):
            (self.out / f"{split}.txt").write_text(text)
        (self.out / "stats.json").write_text(json.dumps({}))

    def tearDown(self):
        self.tmp.cleanup()

    def test_load_corpus_reads_a_built_split(self):
        self.assertTrue(load_corpus("dev", self.out).startswith("In the beginning"))
        with self.assertRaises(ValueError):
            load_corpus("test", self.out)

    def test_filler_pool_keeps_prose_sentences_without_digits(self):
        pool = filler_pool(load_corpus("train", self.out))
        self.assertEqual(pool, ["In the beginning was the word and the word was good.",
                                "Then the flood went down again slowly.",
                                "The sun rose over the quiet hills of the north.",
                                "And the people slept well."])
        self.assertEqual(filler_pool("Headword: A definition of it is here."), [])

    def test_filler_sentences_are_endless_and_seeded(self):
        def take(seed):
            it = filler_sentences(random.Random(seed), "train", self.out)
            return [next(it) for _ in range(50)]
        self.assertEqual(take(1), take(1))
        self.assertNotEqual(take(1), take(2))
        self.assertLessEqual(set(take(3)), set(filler_pool(load_corpus("train", self.out))))

    def test_missing_packages_without_root_are_named(self):
        with mock.patch.object(build_corpus, "package_versions",
                               return_value={"bible-kjv": "4.38", "dict-gcide": None}), \
                mock.patch.object(build_corpus.os, "geteuid", return_value=1000):
            with self.assertRaisesRegex(CorpusUnavailable, "dict-gcide"):
                build_corpus.ensure_packages()


if __name__ == "__main__":
    unittest.main()
