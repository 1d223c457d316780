"""Episodes: determinism, answers where they belong, shared variants, split disjointness."""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from episodes import FAMILIES, SPLITS, Episode, from_json, generate, to_json  # noqa: E402
from pools import pool_for  # noqa: E402
from score import contains_phrase  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parent / "data"


def synthetic_filler(rng):
    """Corpus-free filler: numbered-free prose sentences of 8 words."""
    words = ("apple", "river", "stone", "quiet", "house", "lamp", "field", "cloud", "green")
    while True:
        yield "The " + " ".join(rng.choice(words) for _ in range(6)) + " slept."


def make(split, family, n, seed=0, **opts):
    if family.endswith("passkey"):
        opts.setdefault("filler", synthetic_filler)
        opts.setdefault("context_tokens", (80, 120))
    return generate(split, family, n, seed, **opts)


class DeterminismTest(unittest.TestCase):
    def test_same_arguments_same_episodes(self):
        for family in FAMILIES:
            self.assertEqual(make("dev", family, 20, 3), make("dev", family, 20, 3), family)

    def test_other_seed_or_split_other_episodes(self):
        a = make("train", "facts", 20, 1)
        self.assertNotEqual([e.sharer_context for e in a],
                            [e.sharer_context for e in make("train", "facts", 20, 2)])
        self.assertNotEqual([e.sharer_context for e in a],
                            [e.sharer_context for e in make("dev", "facts", 20, 1)])

    def test_fewer_episodes_are_a_prefix(self):
        self.assertEqual(make("test", "multi_fact", 5, 9), make("test", "multi_fact", 12, 9)[:5])

    def test_json_round_trip(self):
        for e in make("heldout", "passkey", 3) + make("test", "multi_fact", 3):
            self.assertEqual(from_json(to_json(e)), e)


class ContentTest(unittest.TestCase):
    def test_fields_ids_and_flags(self):
        for split in SPLITS:
            for family in FAMILIES:
                episodes = make(split, family, 10)
                self.assertEqual(len({e.id for e in episodes}), 10)
                for e in episodes:
                    self.assertIsInstance(e, Episode)
                    self.assertEqual((e.split, e.family), (split, family))
                    self.assertEqual(e.shared_context, family.startswith("shared_"))
                    self.assertTrue(e.question.endswith("?"))

    def test_answer_in_sharer_context_and_never_in_receiver_context(self):
        for split in SPLITS:
            for family in ("facts", "multi_fact", "passkey"):
                for e in make(split, family, 150, seed=5):
                    self.assertTrue(contains_phrase(e.sharer_context, e.answer), e.id)
                    self.assertFalse(contains_phrase(e.receiver_context, e.answer), e.id)
                    self.assertNotEqual(e.receiver_context, e.sharer_context)

    def test_receiver_records_never_name_the_sharers_entities(self):
        for e in make("train", "facts", 100, 4):
            for subject, _, value in e.meta["records"]:
                for entity in (subject, value):
                    if entity[0].isupper():
                        self.assertFalse(contains_phrase(e.receiver_context, entity), e.id)

    def test_shared_variants_give_the_receiver_the_sharers_context(self):
        for family in ("shared_facts", "shared_multi_fact", "shared_passkey"):
            for e in make("test", family, 20):
                self.assertTrue(e.shared_context)
                self.assertEqual(e.receiver_context, e.sharer_context)
                self.assertTrue(contains_phrase(e.receiver_context, e.answer))

    def test_facts_answer_is_the_target_record(self):
        for split in ("train", "heldout"):
            pool = pool_for(split)
            for e in make(split, "facts", 200, 2):
                records = e.meta["records"]
                subject, kind, value = records[e.meta["target"]]
                asked, answer = (value, subject) if e.meta["inverse"] else (subject, value)
                self.assertEqual(e.answer, answer)
                self.assertIn(asked, e.question)
                self.assertIn(kind, [k.name for k in pool.kinds])
                sentences = e.sharer_context.split(" . ")
                self.assertEqual(len(sentences), len(records))
                for sentence, (s, _, v) in zip(sentences, records):
                    self.assertIn(s, sentence)
                    self.assertIn(v, sentence)

    def test_record_count_digits_and_kinds_options(self):
        for e in make("train", "facts", 30, n_records=12, code_digits=6, kinds=["code"]):
            self.assertEqual(len(e.meta["records"]), 12)
            self.assertEqual({r[1] for r in e.meta["records"]}, {"code"})
            self.assertEqual(len(e.answer.split()), 6)
        counts = {len(e.meta["records"]) for e in make("train", "facts", 300)}
        self.assertEqual(min(counts), 4)
        self.assertEqual(max(counts), 40)

    def test_digits_are_separate_tokens(self):
        for e in make("test", "facts", 100, kinds=["code"]):
            self.assertRegex(e.answer, r"^\d( \d)+$")

    def test_bad_arguments_raise(self):
        with self.assertRaises(ValueError):
            generate("valid", "facts", 1, 0)
        with self.assertRaises(ValueError):
            generate("test", "lookup", 1, 0)
        with self.assertRaises(TypeError):
            generate("test", "facts", 1, 0, n_record=5)
        with self.assertRaises(ValueError):
            generate("heldout", "facts", 1, 0, kinds=["code"])    # a training kind


class SplitDisjointnessTest(unittest.TestCase):
    def test_no_context_question_pair_of_test_or_dev_appears_in_train(self):
        for family in ("facts", "multi_fact", "shared_facts"):
            train = {(e.sharer_context, e.question) for e in make("train", family, 3000, 0)}
            for split in ("dev", "test"):
                held = {(e.sharer_context, e.question) for e in make(split, family, 300, 0)}
                self.assertEqual(train & held, set(), (family, split))

    def test_committed_test_split_is_disjoint_from_train(self):
        committed = [from_json(line) for line in (DATA / "test.jsonl").read_text().splitlines()]
        train = set()
        for family in ("facts", "multi_fact", "shared_facts"):
            train |= {(e.sharer_context, e.question) for e in make("train", family, 2000, 0)}
        self.assertEqual(train & {(e.sharer_context, e.question) for e in committed}, set())


if __name__ == "__main__":
    unittest.main()
