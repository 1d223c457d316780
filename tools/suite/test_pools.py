"""The held-out pool shares no name, place word, attribute kind or template with the training
pool, in the pools and in generated episodes."""
import pathlib
import re
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from episodes import generate  # noqa: E402
from pools import HELDOUT, MONTHS, TRAIN, pool_for  # noqa: E402


def name_words(pool):
    return {w.lower() for w in pool.first_names + pool.last_names +
            pool.place_heads + pool.place_tails}


def templates(pool):
    out = set(pool.passkey_records) | set(pool.passkey_questions)
    for kind in pool.kinds:
        out |= set(kind.records + kind.questions + kind.np + kind.inverse_questions +
                   kind.inverse_np)
    return out


def skeleton(template):
    """A template with its placeholders blanked, lower case, so "{s} code {v} ." and
    "{x} code {k} ." count as the same template."""
    return re.sub(r"\{\w\}", "_", template).lower()


def value_words(pool):
    words = {m.lower() for m in MONTHS}
    for kind in pool.kinds:
        if isinstance(kind.value, tuple):
            words |= set(kind.value)
    return words


class PoolDisjointnessTest(unittest.TestCase):
    def test_names_and_place_words_are_disjoint(self):
        self.assertEqual(name_words(TRAIN) & name_words(HELDOUT), set())

    def test_attribute_kinds_and_labels_are_disjoint(self):
        self.assertEqual({k.name for k in TRAIN.kinds} & {k.name for k in HELDOUT.kinds}, set())
        self.assertEqual({k.label for k in TRAIN.kinds} & {k.label for k in HELDOUT.kinds}, set())
        self.assertNotEqual(TRAIN.passkey_label, HELDOUT.passkey_label)

    def test_templates_are_disjoint(self):
        train = {skeleton(t) for t in templates(TRAIN)}
        heldout = {skeleton(t) for t in templates(HELDOUT)}
        self.assertEqual(train & heldout, set())

    def test_several_templates_per_kind(self):
        for pool in (TRAIN, HELDOUT):
            for kind in pool.kinds:
                self.assertGreaterEqual(len(kind.records), 3, kind.name)
                self.assertGreaterEqual(len(kind.questions), 2, kind.name)

    def test_names_never_collide_with_values_or_template_words(self):
        for pool in (TRAIN, HELDOUT):
            words = {w.lower() for t in templates(pool) for w in t.split()}
            self.assertEqual(name_words(pool) & value_words(pool), set(), pool.name)
            self.assertEqual(name_words(pool) & words, set(), pool.name)

    def test_split_to_pool(self):
        self.assertIs(pool_for("heldout"), HELDOUT)
        for split in ("train", "dev", "test"):
            self.assertIs(pool_for(split), TRAIN)
        with self.assertRaises(ValueError):
            pool_for("valid")


class GeneratedDisjointnessTest(unittest.TestCase):
    def words_of(self, split):
        words = set()
        for family in ("facts", "multi_fact"):
            for e in generate(split, family, 200, 11):
                text = " ".join([e.sharer_context, e.receiver_context, e.question, e.answer])
                words |= {w.lower() for w in text.split()}
        return words

    def test_heldout_names_never_reach_train_episodes_and_back(self):
        train_words, heldout_words = self.words_of("train"), self.words_of("heldout")
        self.assertEqual(train_words & name_words(HELDOUT), set())
        self.assertEqual(heldout_words & name_words(TRAIN), set())
        self.assertEqual(train_words & {k.label for k in HELDOUT.kinds}, set())


if __name__ == "__main__":
    unittest.main()
